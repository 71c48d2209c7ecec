"""Server mode: one multi-user MLflow tracking server over the sandbox's own store.

`start()` runs `mlflow server --app-name sandbox` on a loopback address with
the store's SQLite database (`mlruns/mlflow.db`) as backend, or a PostgreSQL
database (`backend_store_uri="postgresql://..."`), and artifacts proxied from
`mlruns/artifacts/`; `sync()` turns the sandbox's users and roles into MLflow
users and grants; `credentials()` gives a sandbox user their MLflow user name
and password.

The `sandbox` app (sandbox/server_guard.py) is MLflow's basic-auth app plus the
checks grants cannot express: a scientist creates only her own bank's exact
names and never chooses an artifact_location, nobody but the sync renames
experiments or registered models, a user with READ only (a reviewer) reads
evidence artifacts (plots/, model cards, reports/, evaluation/) and no model
file or input example, and non-admins cannot list users. Read its docstring.

Backends. Tracking data goes to SQLite by default, or to PostgreSQL with
`--backend-store-uri postgresql://USER[:PASSWORD]@HOST[:PORT]/DB` (psycopg2
driver; the URI reaches MLflow through its environment, never its command
line, and is written nowhere with its password). The auth database (MLflow
users and grants) stays SQLite in `state/mlflow-auth.db` either way: it is
small, written only by the sync, and the server runs one worker; what a
Postgres deployment gains (concurrent writers, a managed database, backups)
is for the tracking data. Once a store is served from PostgreSQL, local mode
(which reads `mlruns/mlflow.db`) no longer sees its runs: point every user at
the server.

How the permissions map (default permission NO_PERMISSIONS: no grant, no access)

    scientist of bank B   EDIT on experiments B/fraud, B/risk, B/chat and on
                          registered models B.fraud, B.risk, B.chat; nothing else
    reviewer              READ on every bank's experiments and registered models
    sandbox admin         an MLflow user with no grants: admins run the
                          platform, they do not read bank data
    `_sandbox-sync`       the MLflow admin account; only the sync uses it (its name
                          is not a valid sandbox user name, so no user can take it)

The bank's experiments and registered models are created up front by the sync
(with the server's proxied artifact root, `mlflow-artifacts:/<experiment id>`,
which is what lets the server check artifact reads and writes against the
experiment's grants), so a grant exists before the first run. Scientists get
EDIT, not MANAGE: they cannot re-share their bank's data; sharing stays an
admin decision. The sync is idempotent: it creates what is missing, corrects
what differs (a changed password, a grant at the wrong level, an MLflow admin
flag) and revokes grants on sandbox-managed names, or wildcard grants, that a
user should not hold; running it twice changes nothing. That also undoes
squatting, and the server refuses the squat in the first place. An experiment
or registered model that carries a bank's name but that the sandbox did not
make for it (one created before the bank was, or an experiment whose artifacts
go anywhere but the server's proxied root `mlflow-artifacts:/<id>` or the
store's own local-mode folder) is reclaimed: renamed to `_reclaimed/<name>/<id>`
(models: `_reclaimed.<name>.<created ms>`; the squatter keeps it, renamed) and
a fresh one is created, so a squatter's folder never receives the bank's
artifacts; each reclaim is in the platform's and the bank's audit logs.
Grants on experiments users created under other names (before the guard) are
left alone; grants through hand-made MLflow roles are reported as warnings,
not removed. `sandbox server` re-syncs when the store's users
file changes, so a bank or user added while it runs gets its grants.

Experiments created in local mode before the store was first served keep
their `file://` artifact locations: clients on this host then read and write
those artifacts directly, and the sync warns about each. Conversely, local
mode (no SANDBOX_TRACKING_URI) cannot reach the `mlflow-artifacts:/` artifacts
of experiments the server created; once a store is served, point every user at
the server.

The server runs one worker (so MLflow's password-check cache, which a password
change clears only in the worker that handled it, is never stale) and without
MLflow's GenAI job runner, which the sandbox does not use and which would add
eight processes.

Passwords. The sandbox keeps only argon2 hashes, so it cannot hand users'
passwords to MLflow. Each user's MLflow password is derived instead:
HMAC-SHA256(a random 256-bit key kept in `state/mlflow-server-secrets.json`,
mode 0600, "mlflow-password\\0" + user name), 43 URL-safe characters.
Nothing per user is stored, the sync can always (re)set the right password,
and rotating the key (delete the secrets file and the auth database, then
restart) rotates every password at once. A user gets theirs from
`sandbox server token`, which authenticates them with their sandbox password
first; `--env` prints the `MLFLOW_TRACKING_*` lines for the shell, and the
same environment variables make the sandbox's own MLflow client act as that
user when `SANDBOX_TRACKING_URI` points at the server. Whoever can read
`state/` can mint any user's MLflow password; that is the same trust as
reading `state/` at all (it holds the users file and every audit log), so the
server's permissions protect users who hold only their MLflow credentials.

The MLflow admin password and the Flask session key are random too, kept in
the same 0600 file, and passed to the server in its environment; MLflow ships
no default admin password and none is ever written to the auth config, whose
`database_uri` is an absolute path to `state/mlflow-auth.db`.

The server listens on loopback only: basic auth over plain HTTP sends
passwords in the clear, so to reach it from other machines put a
TLS-terminating reverse proxy in front.

Modules (this one is their facade: `from sandbox import server; server.start(...)`):

    server_config.py       names and settings: state files, the sync account, grant levels, loopback hosts
    server_secrets.py      the store's server secrets and each user's derived MLflow password
    server_credentials.py  where the server is; a user's MLflow credentials (`sandbox server token`)
    server_client.py       the REST client the sync account talks through, and login checks
    server_sync.py         users, banks and roles -> MLflow users and grants; squatted names reclaimed
    server_process.py      the server process: checks, auth config, backend URI, start and wait
    server_guard.py        the `sandbox` MLflow app: the rules grants cannot express
"""

from __future__ import annotations

from .server_client import _auth_client, can_log_in, health
from .server_config import (
    ADMIN_USERNAME,
    AUTH_CACHE_TTL_S,
    AUTH_CONFIG_FILE,
    AUTH_DB_FILE,
    EXPERIMENT,
    LOG_FILE,
    LOOPBACK_HOSTS,
    REGISTERED_MODEL,
    REVIEWER_PERMISSION,
    RUNTIME_FILE,
    SCIENTIST_PERMISSION,
    SECRETS_FILE,
)
from .server_credentials import (
    Credentials,
    credentials,
    mlflow_identity,
    running_server,
    server_url,
    use_credentials,
)
from .server_process import (
    MlflowServer,
    check_backend_store_uri,
    free_port,
    redact_uri,
    start,
    write_auth_config,
)
from .server_secrets import ServerSecrets, load_secrets, mlflow_password
from .server_sync import SyncResult, desired_grants, sync

__all__ = [
    "ADMIN_USERNAME",
    "AUTH_CACHE_TTL_S",
    "AUTH_CONFIG_FILE",
    "AUTH_DB_FILE",
    "Credentials",
    "EXPERIMENT",
    "LOG_FILE",
    "LOOPBACK_HOSTS",
    "MlflowServer",
    "REGISTERED_MODEL",
    "REVIEWER_PERMISSION",
    "RUNTIME_FILE",
    "SCIENTIST_PERMISSION",
    "SECRETS_FILE",
    "ServerSecrets",
    "SyncResult",
    "_auth_client",
    "can_log_in",
    "check_backend_store_uri",
    "credentials",
    "desired_grants",
    "free_port",
    "health",
    "load_secrets",
    "mlflow_identity",
    "mlflow_password",
    "redact_uri",
    "running_server",
    "server_url",
    "start",
    "sync",
    "use_credentials",
    "write_auth_config",
]
