"""The MLflow server's names and settings: its files in the store's state/, the sync account, the grant
levels, the addresses it may listen on. Read sandbox/server.py for how they fit together."""

from __future__ import annotations

from datetime import UTC, datetime

ADMIN_USERNAME = "_sandbox-sync"  # not a valid sandbox user name: no sandbox user can be it
SECRETS_FILE = "mlflow-server-secrets.json"
AUTH_CONFIG_FILE = "mlflow-auth.ini"
AUTH_DB_FILE = "mlflow-auth.db"
RUNTIME_FILE = "mlflow-server.json"
LOG_FILE = "mlflow-server.log"
SCIENTIST_PERMISSION = "EDIT"
REVIEWER_PERMISSION = "READ"
AUTH_CACHE_TTL_S = 300  # skip re-hashing a known-good password on every request (~0.25 s each otherwise)
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
EXPERIMENT, REGISTERED_MODEL = "experiment", "registered_model"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
