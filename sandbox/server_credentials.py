"""Where the store's server is, and a sandbox user's MLflow credentials for it (`sandbox server token`)."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass

from . import procs
from .access import Actor
from .errors import InvalidInput, SandboxError
from .mlflow_identity import as_user
from .server_config import RUNTIME_FILE
from .server_secrets import mlflow_password
from .store import Store


# -- where the server is --------------------------------------------------------
def running_server(store: Store) -> dict | None:
    """The server this store started, if its process still runs."""
    path = store.state / RUNTIME_FILE
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
        pid = int(info["pid"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return info if procs.alive(pid) else None


def server_url(store: Store, url: str | None = None) -> str | None:
    """The tracking server to talk to: `url`, else $SANDBOX_TRACKING_URI, else the store's running server."""
    url = (url or os.environ.get("SANDBOX_TRACKING_URI", "")).strip()
    if url:
        if not url.startswith(("http://", "https://")):
            raise InvalidInput("url", f"{url!r} is not an MLflow server address", "use http://HOST:PORT")
        return url.rstrip("/")
    info = running_server(store)
    return info["url"] if info else None


# -- credentials ----------------------------------------------------------------
@dataclass(frozen=True)
class Credentials:
    username: str
    password: str
    tracking_uri: str | None

    def to_dict(self) -> dict:
        return asdict(self)

    def env(self) -> dict[str, str]:
        out = {"MLFLOW_TRACKING_USERNAME": self.username, "MLFLOW_TRACKING_PASSWORD": self.password}
        if self.tracking_uri:
            out.update({"MLFLOW_TRACKING_URI": self.tracking_uri, "SANDBOX_TRACKING_URI": self.tracking_uri})
        return out


def credentials(store: Store, actor: Actor, url: str | None = None) -> Credentials:
    """The MLflow credentials of an (already authenticated) sandbox user. Audited, never logged."""
    cred = Credentials(actor.name, mlflow_password(store, actor.name), server_url(store, url))
    store.platform_audit().append("server.token", actor.name, user=actor.name)
    return cred


mlflow_identity = as_user  # a block as another MLflow user (sandbox/mlflow_identity.py holds the process's identity)


def use_credentials(store: Store, actor: Actor, url: str | None = None) -> Credentials:
    """Make this process's MLflow client act as `actor` on the server (sets MLFLOW_TRACKING_* in os.environ)."""
    cred = credentials(store, actor, url)
    if cred.tracking_uri is None:
        raise SandboxError(
            "no MLflow server is running for this store",
            "start one with `sandbox server` (admin) or set SANDBOX_TRACKING_URI",
        )
    os.environ.update(cred.env())
    return cred
