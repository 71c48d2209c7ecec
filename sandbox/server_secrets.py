"""The server's secrets (admin password, Flask key, the key users' MLflow passwords derive from), created
once per store, mode 0600; and each user's derived MLflow password."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
from dataclasses import dataclass

from . import atomic
from .errors import StoreError
from .server_config import AUTH_DB_FILE, SECRETS_FILE, _now
from .store import Store


# -- secrets ------------------------------------------------------------------
@dataclass(frozen=True)
class ServerSecrets:
    admin_password: str
    flask_secret_key: str
    password_key: str  # HMAC key for users' derived MLflow passwords


def load_secrets(store: Store) -> ServerSecrets:
    """The store's server secrets, created once (mode 0600); concurrent creators agree on one file."""
    store.banks()  # raises StoreError when the store does not exist
    path = store.state / SECRETS_FILE
    if not path.exists():
        data = {
            "admin_password": secrets.token_urlsafe(32),
            "flask_secret_key": secrets.token_hex(32),
            "password_key": secrets.token_hex(32),
            "created": _now(),
        }
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        atomic.write_json(tmp, data, mode=0o600)
        try:
            os.link(tmp, path)  # create-if-absent: the first writer wins, the others read its file
        except FileExistsError:
            pass
        finally:
            tmp.unlink(missing_ok=True)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return ServerSecrets(str(data["admin_password"]), str(data["flask_secret_key"]), str(data["password_key"]))
    except (ValueError, KeyError, TypeError):
        raise StoreError(
            f"the server secrets file {path} is corrupted",
            f"stop the server, delete {path} and {store.state / AUTH_DB_FILE}, and start it again "
            "(users' MLflow passwords change; they fetch new ones with `sandbox server token`)",
        ) from None


def mlflow_password(store: Store, username: str, secrets_: ServerSecrets | None = None) -> str:
    key = bytes.fromhex((secrets_ or load_secrets(store)).password_key)
    digest = hmac.new(key, b"mlflow-password\0" + username.encode("utf-8"), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")
