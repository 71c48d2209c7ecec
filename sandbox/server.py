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
"""
from __future__ import annotations

import base64
import errno
import hashlib
import hmac
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

from . import atomic, procs, tracking
from .access import Actor, can, require
from .errors import InvalidInput, SandboxError, StoreError
from .mlflow_identity import as_user
from .store import Store

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
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _require_admin(store: Store, actor: Actor, what: str) -> None:
    decision = can(actor, "server.run")
    require(actor, "server.run", audit=store.platform_audit(), message=f"{actor.name} may not {what} ({decision.reason})",
            fix="ask a sandbox admin to run `sandbox server`; get your own credentials with `sandbox server token`")


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
        data = {"admin_password": secrets.token_urlsafe(32), "flask_secret_key": secrets.token_hex(32),
                "password_key": secrets.token_hex(32), "created": _now()}
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
        raise StoreError(f"the server secrets file {path} is corrupted",
                         f"stop the server, delete {path} and {store.state / AUTH_DB_FILE}, and start it again "
                         "(users' MLflow passwords change; they fetch new ones with `sandbox server token`)") from None


def mlflow_password(store: Store, username: str, secrets_: ServerSecrets | None = None) -> str:
    key = bytes.fromhex((secrets_ or load_secrets(store)).password_key)
    digest = hmac.new(key, b"mlflow-password\0" + username.encode("utf-8"), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


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
        raise SandboxError("no MLflow server is running for this store",
                           "start one with `sandbox server` (admin) or set SANDBOX_TRACKING_URI")
    os.environ.update(cred.env())
    return cred


# -- talking to the server as the sync account ------------------------------------
def _host_creds(url: str, username: str, password: str):
    from mlflow.utils.credentials import get_default_host_creds

    creds = get_default_host_creds(url)  # keeps TLS settings from the environment
    creds.username, creds.password, creds.token = username, password, None
    return creds


def _auth_client(url: str, username: str, password: str):
    """MLflow's basic-auth app client, with explicit credentials instead of process-wide env vars."""
    import warnings

    with warnings.catch_warnings():  # mlflow.server imports starlette's deprecated WSGI shim: noise for CLI users
        warnings.filterwarnings("ignore", message=".*starlette.middleware.wsgi is deprecated.*")
        from mlflow.server import get_app_client
    from mlflow.utils.rest_utils import http_request, verify_rest_response

    base = type(get_app_client("basic-auth", tracking_uri=url))
    creds = _host_creds(url, username, password)

    class _Client(base):  # type: ignore[misc, valid-type]
        def _request(self, endpoint, method, *, expected_status: int = 200, **kwargs):
            resp = http_request(creds, endpoint, method, **kwargs)
            resp = verify_rest_response(resp, endpoint, expected_status=expected_status)
            if resp.status_code == 204 or not resp.content:
                return {}
            return resp.json()

    return _Client(url)


def _error_code(exc: Exception) -> str:
    return str(getattr(exc, "error_code", "") or "")


def _http_status(exc: Exception) -> int | None:
    getter = getattr(exc, "get_http_status_code", None)
    try:
        return int(getter()) if getter else None
    except (TypeError, ValueError):
        return None


def health(url: str, timeout: float = 2.0) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=timeout) as resp:
            return resp.status == 200
    except (urllib.error.URLError, OSError, ValueError):
        return False


# -- sync -------------------------------------------------------------------------
@dataclass
class SyncResult:
    url: str
    users_created: list[str] = field(default_factory=list)
    passwords_reset: list[str] = field(default_factory=list)
    admins_demoted: list[str] = field(default_factory=list)
    experiments_created: list[str] = field(default_factory=list)
    models_created: list[str] = field(default_factory=list)
    reclaimed: list[str] = field(default_factory=list)  # "experiment delta-bank/fraud (7) -> _reclaimed/...: why"
    granted: list[str] = field(default_factory=list)  # "user experiment harbour-bank/fraud EDIT"
    revoked: list[str] = field(default_factory=list)
    unchanged: int = 0
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def changed(self) -> bool:
        return bool(self.users_created or self.passwords_reset or self.admins_demoted or self.experiments_created
                    or self.models_created or self.reclaimed or self.granted or self.revoked)

    def to_dict(self) -> dict:
        return {**asdict(self), "changed": self.changed}

    def summary(self) -> str:
        parts = [f"{len(v)} {k.replace('_', ' ')}" for k, v in
                 (("users_created", self.users_created), ("passwords_reset", self.passwords_reset),
                  ("admins_demoted", self.admins_demoted), ("experiments_created", self.experiments_created),
                  ("models_created", self.models_created), ("reclaimed", self.reclaimed), ("grants_added", self.granted),
                  ("grants_revoked", self.revoked)) if v]
        head = (f"synced: {', '.join(parts)} ({self.unchanged} unchanged)" if parts
                else f"permissions in sync ({self.unchanged} grants checked)")
        return "\n".join([head, *(f"  reclaimed: {r}" for r in self.reclaimed), *(f"  warning: {w}" for w in self.warnings)])


def desired_grants(users: dict[str, dict], banks: list[str]) -> dict[str, dict[tuple[str, str], str]]:
    """user -> {(resource_type, name): permission} for the sandbox's own experiments and models."""
    out: dict[str, dict[tuple[str, str], str]] = {}
    for name, u in users.items():
        grants: dict[tuple[str, str], str] = {}
        if u["role"] == "scientist" and u.get("bank") in banks:
            targets, level = [u["bank"]], SCIENTIST_PERMISSION
        elif u["role"] == "reviewer":
            targets, level = banks, REVIEWER_PERMISSION
        else:
            targets, level = [], ""
        for bank in targets:
            for uc in tracking.USECASES:
                grants[(EXPERIMENT, tracking.experiment_name(bank, uc))] = level
                grants[(REGISTERED_MODEL, tracking.registered_model_name(bank, uc))] = level
        out[name] = grants
    return out


def sync(store: Store, actor: Actor, url: str | None = None) -> SyncResult:
    """Mirror the sandbox's users and roles into the MLflow server's users and grants (idempotent)."""
    _require_admin(store, actor, "sync the MLflow server's permissions")
    from mlflow.entities import ExperimentTag
    from mlflow.entities.model_registry import RegisteredModelTag
    from mlflow.exceptions import MlflowException
    from mlflow.store.model_registry.rest_store import RestStore as RegistryRestStore
    from mlflow.store.tracking.rest_store import RestStore

    t0 = time.perf_counter()
    url = server_url(store, url)
    if url is None:
        raise SandboxError("no MLflow server is running for this store", "start it with `sandbox server`, or pass --url")
    if not health(url):
        raise SandboxError(f"the MLflow server at {url} does not answer /health",
                           "start it with `sandbox server`, or check the address")
    sec = load_secrets(store)
    auth = _auth_client(url, ADMIN_USERNAME, sec.admin_password)
    creds = _host_creds(url, ADMIN_USERNAME, sec.admin_password)
    tracking_store = RestStore(lambda: creds)
    registry = RegistryRestStore(lambda: creds)
    try:
        if not auth.get_user(ADMIN_USERNAME).is_admin:
            raise MlflowException("the sync account is not an MLflow admin")
    except MlflowException as exc:
        raise SandboxError(f"the MLflow server at {url} refused the sandbox's admin account ({_http_status(exc) or exc})",
                           f"it must be this store's server: stop it, delete {store.state / AUTH_DB_FILE} "
                           "and run `sandbox server` again") from None

    users = store.users()
    bank_records = store.banks()
    banks = sorted(bank_records)
    result = SyncResult(url=url)

    # 1. experiments and registered models, up front, so grants have something to point at; a squatter's are
    #    reclaimed first (renamed away), so the bank's are always the sandbox's own
    ids: dict[tuple[str, str], str] = {}
    for bank in banks:
        created_ms = _created_ms(bank_records.get(bank, {}))
        for uc in tracking.USECASES:
            name = tracking.experiment_name(bank, uc)
            exp = tracking_store.get_experiment_by_name(name)
            why = _squatted_experiment(store, exp, bank, uc, created_ms) if exp is not None else None
            if why:
                moved = _reclaim_experiment(tracking_store, exp, name)
                result.reclaimed.append(f"experiment {name} ({exp.experiment_id}) -> {moved}: {why}")
                _audit_reclaim(store, actor, bank, "experiment", name, moved, why, experiment_id=str(exp.experiment_id),
                               artifact_location=str(exp.artifact_location))
                exp = None
            if exp is None:
                try:
                    exp_id = tracking_store.create_experiment(
                        name, tags=[ExperimentTag(tracking.TAG_BANK, bank), ExperimentTag(tracking.TAG_USECASE, uc)])
                    result.experiments_created.append(name)
                except MlflowException as exc:
                    if _error_code(exc) != "RESOURCE_ALREADY_EXISTS":
                        raise
                    exp_id = tracking_store.get_experiment_by_name(name).experiment_id
            else:
                exp_id = exp.experiment_id
                if not str(exp.artifact_location).startswith(("mlflow-artifacts:", "http:", "https:")):
                    result.warnings.append(
                        f"{name} keeps its artifacts at {exp.artifact_location} (created in local mode): "
                        "clients on this host read and write them directly, not through the server's checks")
            ids[(EXPERIMENT, name)] = str(exp_id)
            model = tracking.registered_model_name(bank, uc)
            try:
                existing = registry.get_registered_model(model)
            except MlflowException as exc:
                if _error_code(exc) != "RESOURCE_DOES_NOT_EXIST":
                    raise
                existing = None
            stamp = getattr(existing, "creation_timestamp", None)
            if existing is not None and created_ms is not None and stamp is not None and int(stamp) < created_ms:
                why, moved = "it was created before the bank", f"_reclaimed.{model}.{int(stamp)}"
                registry.rename_registered_model(model, moved)
                result.reclaimed.append(f"registered model {model} -> {moved}: {why}")
                _audit_reclaim(store, actor, bank, "registered_model", model, moved, why)
                existing = None
            if existing is None:
                try:
                    registry.create_registered_model(
                        model, tags=[RegisteredModelTag(tracking.TAG_BANK, bank), RegisteredModelTag(tracking.TAG_USECASE, uc)],
                        description=f"{uc} models of {bank} (registered through the sandbox)")
                    result.models_created.append(model)
                except MlflowException as exc2:
                    if _error_code(exc2) != "RESOURCE_ALREADY_EXISTS":
                        raise
            ids[(REGISTERED_MODEL, model)] = model
    managed = set(ids.values())

    # 2. users, with their derived passwords; never MLflow admins
    for name in sorted(users):
        password = mlflow_password(store, name, sec)
        try:
            mlflow_user = auth.get_user(name)
        except MlflowException as exc:
            if _error_code(exc) != "RESOURCE_DOES_NOT_EXIST":
                raise
            auth.create_user(name, password)
            result.users_created.append(name)
            continue
        if mlflow_user.is_admin:
            auth.update_user_admin(name, False)
            result.admins_demoted.append(name)
        if not can_log_in(url, name, password):
            auth.update_user_password(name, password)
            result.passwords_reset.append(name)

    # 3. grants: add what is missing, fix what differs, revoke what a user should not hold
    want = desired_grants(users, banks)
    for name in sorted(users):
        target = {(rtype, ids[(rtype, rname)]): perm for (rtype, rname), perm in want[name].items()}
        have, via_roles = _user_grants(auth, name)
        for row in via_roles:
            if row["resource_pattern"] == "*" or row["resource_pattern"] in managed:
                result.warnings.append(
                    f"{name} holds {row['permission']} on {row['resource_type']} {row['resource_pattern']} through "
                    f"MLflow role {row['role_name']!r}, which the sandbox does not manage: unassign it if unintended")
        for (rtype, rid), perm in sorted(target.items()):
            current = have.get((rtype, rid))
            if current == perm:
                result.unchanged += 1
                continue
            if current is not None:
                auth.revoke_user_permission(name, rtype, rid)
            auth.grant_user_permission(name, rtype, rid, perm)
            result.granted.append(f"{name} {rtype} {rid} {perm}")
        for (rtype, rid), perm in sorted(have.items()):
            if (rtype, rid) not in target and (rid in managed or rid == "*"):
                auth.revoke_user_permission(name, rtype, rid)
                result.revoked.append(f"{name} {rtype} {rid} {perm}")

    result.seconds = round(time.perf_counter() - t0, 3)
    store.platform_audit().append("server.sync", actor.name, url=url, users_created=result.users_created,
                                  passwords_reset=result.passwords_reset, granted=len(result.granted),
                                  revoked=len(result.revoked), experiments_created=result.experiments_created,
                                  models_created=result.models_created, reclaimed=result.reclaimed)
    return result


def _created_ms(record: dict) -> int | None:
    """A bank's creation time in ms (its record keeps whole seconds, rounded down)."""
    try:
        return int(datetime.fromisoformat(str(record["created"])).timestamp() * 1000)
    except (KeyError, TypeError, ValueError):
        return None


def _squatted_experiment(store: Store, exp, bank: str, usecase: str, created_ms: int | None) -> str | None:
    """Why an experiment named for (bank, usecase) is not the sandbox's own, or None when it is."""
    location = str(exp.artifact_location or "").rstrip("/")
    own = {f"mlflow-artifacts:/{exp.experiment_id}", (store.mlruns.resolve() / "artifacts" / bank / usecase).as_uri()}
    if location not in own:
        return f"its artifacts go to {exp.artifact_location}, not the server's artifact root"
    created = getattr(exp, "creation_time", None)
    if created_ms is not None and created is not None and int(created) < created_ms:
        return "it was created before the bank"
    return None


def _reclaim_experiment(tracking_store, exp, name: str) -> str:
    """Rename a squatter's experiment out of the bank's name (restoring a deleted one for the rename)."""
    moved = f"_reclaimed/{name}/{exp.experiment_id}"
    deleted = str(getattr(exp, "lifecycle_stage", "active")) == "deleted"
    if deleted:
        tracking_store.restore_experiment(exp.experiment_id)
    tracking_store.rename_experiment(exp.experiment_id, moved)
    if deleted:
        tracking_store.delete_experiment(exp.experiment_id)
    return moved


def _audit_reclaim(store: Store, actor: Actor, bank: str, kind: str, name: str, moved: str, why: str, **data) -> None:
    for log in (store.platform_audit(), store.bank_audit(bank)):
        log.append("server.reclaim", actor.name, bank=bank, kind=kind, name=name, renamed_to=moved, reason=why, **data)


def can_log_in(url: str, username: str, password: str) -> bool:
    """True when the server accepts these credentials."""
    req = urllib.request.Request(f"{url}/api/2.0/mlflow/users/current")
    token = base64.b64encode(f"{username}:{password}".encode()).decode()
    req.add_header("Authorization", f"Basic {token}")
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status == 200
    except urllib.error.HTTPError as exc:
        if exc.code in (401, 403):
            return False
        if exc.code == 404:  # an older server without /users/current: fall back to a cheap authenticated read
            return _login_by_search(url, token)
        raise
    except (urllib.error.URLError, OSError):
        return False


def _login_by_search(url: str, token: str) -> bool:
    req = urllib.request.Request(f"{url}/api/2.0/mlflow/experiments/search?max_results=1")
    req.add_header("Authorization", f"Basic {token}")
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status == 200
    except urllib.error.HTTPError as exc:
        return exc.code != 401


def _user_grants(auth, username: str) -> tuple[dict[tuple[str, str], str], list[dict]]:
    """The user's own grants (their synthetic role) as {(resource_type, resource_id): permission},
    and the rows they hold through other (hand-made) MLflow roles."""
    from mlflow.server.auth.routes import LIST_USER_PERMISSIONS

    rows = auth._request(LIST_USER_PERMISSIONS, "GET", params={"username": username}).get("permissions", [])
    own = [r for r in rows if str(r.get("role_name", "")).startswith("__user_")]
    return ({(r["resource_type"], str(r["resource_pattern"])): r["permission"] for r in own},
            [r for r in rows if r not in own])


# -- the server process ---------------------------------------------------------------
def _check_host(host: str) -> str:
    if host not in LOOPBACK_HOSTS:
        raise InvalidInput("host", f"{host!r} is not a loopback address; basic auth over plain HTTP would send passwords in the clear",
                           "serve on 127.0.0.1 and put a TLS-terminating reverse proxy in front to reach it from other machines")
    return host


def _check_port_free(host: str, port: int) -> None:
    if not (0 < port < 65536):
        raise InvalidInput("port", f"{port} is not a TCP port", "use a number from 1024 to 65535, e.g. --port 5000")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server's own listener does
        try:
            s.bind((host, port))
        except OSError as exc:
            if exc.errno in (errno.EADDRINUSE, errno.EACCES):
                raise SandboxError(f"port {port} on {host} is in use (or not allowed)",
                                   "pick a free one with --port N, or stop the process that holds it") from None
            raise


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def write_auth_config(store: Store) -> Path:
    """The basic-auth config: no default permission, an absolute auth DB path, no password inside."""
    path = store.state / AUTH_CONFIG_FILE
    db = (store.state / AUTH_DB_FILE).resolve()
    text = (
        "# Written by `sandbox server` on each start; edits are overwritten.\n"
        "# The admin password is not here: it is passed in the environment (see sandbox/server.py).\n"
        "[mlflow]\n"
        "default_permission = NO_PERMISSIONS\n"
        f"database_uri = sqlite:///{db}\n"
        f"admin_username = {ADMIN_USERNAME}\n"
        "authorization_function = mlflow.server.auth:authenticate_request_basic_auth\n"
        "grant_default_workspace_access = false\n"
        "# One worker process (--workers 1), so a password change invalidates the only cache at once.\n"
        f"auth_cache_ttl_seconds = {AUTH_CACHE_TTL_S}\n"
    )
    atomic.write_text(path, text, mode=0o600)
    return path


def _mlflow_command() -> list[str]:
    exe = Path(sys.executable).with_name("mlflow")
    if exe.exists():
        return [str(exe)]
    found = shutil.which("mlflow")
    return [found] if found else [sys.executable, "-m", "mlflow"]


def check_backend_store_uri(uri: str | None, store: Store) -> str:
    """The tracking backend: the store's SQLite file by default, or a PostgreSQL URI (psycopg2 driver)."""
    if uri is None or not uri.strip():
        return f"sqlite:///{(store.mlruns / 'mlflow.db').resolve()}"
    uri = uri.strip()
    scheme = uri.split(":", 1)[0].lower()
    if scheme not in ("sqlite", "postgresql", "postgresql+psycopg2", "postgres"):
        raise InvalidInput("backend-store-uri", f"{redact_uri(uri)!r} is not a SQLite or PostgreSQL URI",
                           "use postgresql://USER[:PASSWORD]@HOST[:PORT]/DB, or leave it out for the store's SQLite file")
    if scheme in ("postgres", "postgresql"):  # name the driver: SQLAlchemy 2.1 defaults to psycopg 3, not installed
        uri = "postgresql+psycopg2" + uri[len(scheme):]
    if scheme.startswith("postgres"):
        try:
            import psycopg2  # noqa: F401
        except ImportError:
            raise SandboxError("the PostgreSQL driver psycopg2 is not installed",
                               "pip install psycopg2-binary (it is in the sandbox's dependencies)") from None
    return uri


def redact_uri(uri: str) -> str:
    """A database URI with its password hidden, for messages and records."""
    return re.sub(r"(://[^:/@]+:)[^/]*@", r"\1***@", uri)


def _check_database(uri: str, timeout: int = 5) -> None:
    """Fail fast, in one line, when the PostgreSQL backend cannot be reached."""
    if not uri.startswith("postgresql"):
        return
    import sqlalchemy

    engine = sqlalchemy.create_engine(uri, connect_args={"connect_timeout": timeout}, poolclass=sqlalchemy.pool.NullPool)
    try:
        with engine.connect() as conn:
            conn.execute(sqlalchemy.text("select 1"))
    except sqlalchemy.exc.SQLAlchemyError as exc:
        first = str(getattr(exc, "orig", exc) or exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise SandboxError(f"cannot reach the PostgreSQL backend {redact_uri(uri)}: {first}",
                           "start PostgreSQL, create the database and check the user, password, host and port") from None
    finally:
        engine.dispose()


class MlflowServer:
    """A running `mlflow server --app-name sandbox` in its own process group."""

    def __init__(self, store: Store, host: str, port: int, proc: subprocess.Popen, log_path: Path):
        self.store = store
        self.host = host
        self.port = port
        self.proc = proc
        self.log_path = log_path
        self.url = f"http://{'[::1]' if host == '::1' else host}:{port}"
        self.startup_s: float | None = None
        self.backend: str | None = None  # the tracking backend's URI, password hidden

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def log_tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.log_path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the server and every process it started (its process group, and any descendant that left it),
        holding stop signals meanwhile: a second Ctrl-C must not leave its workers running."""
        with procs.shielded(reraise=False):
            procs.stop_processes([self.proc], timeout)
        runtime = self.store.state / RUNTIME_FILE
        info = running_server(self.store)
        if info is None or int(info.get("pid", -1)) == self.proc.pid:
            runtime.unlink(missing_ok=True)

    def __enter__(self) -> "MlflowServer":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def start(store: Store, actor: Actor, *, host: str = "127.0.0.1", port: int = 5000, timeout: float = 180.0,
          progress: Callable[[float, str], None] | None = None, backend_store_uri: str | None = None) -> MlflowServer:
    """Start the store's MLflow server and wait until it answers /health (admin only; does not sync).
    `backend_store_uri`: a PostgreSQL URI for the tracking data (default: the store's SQLite file)."""
    _require_admin(store, actor, "run the MLflow server")
    store.banks()  # a missing or corrupted store fails here, with its fix
    _check_host(host)
    info = running_server(store)
    if info is not None:
        raise SandboxError(f"this store's MLflow server already runs at {info['url']} (pid {info['pid']})",
                           f"use it, or stop it first (kill {info['pid']})")
    _check_port_free(host, port)
    backend = check_backend_store_uri(backend_store_uri, store)
    _check_database(backend)
    sec = load_secrets(store)
    config = write_auth_config(store)
    (store.mlruns / "artifacts").mkdir(parents=True, exist_ok=True)
    from . import trackdb  # the server must not migrate a database while CLI processes do (under the store's lock)

    if not (backend_store_uri or "").strip():
        trackdb.ensure_schema(store.mlruns)
    trackdb.ensure_auth_schema(store.state / AUTH_DB_FILE, store.state)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_TRACKING_", "MLFLOW_AUTH_"))}
    env.update({
        "MLFLOW_AUTH_CONFIG_PATH": str(config),
        "MLFLOW_AUTH_ADMIN_USERNAME": ADMIN_USERNAME,
        "MLFLOW_AUTH_ADMIN_PASSWORD": sec.admin_password,
        "MLFLOW_FLASK_SERVER_SECRET_KEY": sec.flask_secret_key,
        "MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "true",
        "MLFLOW_BACKEND_STORE_URI": backend,  # in the environment, not argv: `ps` shows no database password
        "SANDBOX_HOME": str(store.home),  # the guard reads the store's users and banks (sandbox/server_guard.py)
    })
    # MLflow's GenAI job runner (scorers, LLM judges) starts ~8 more Python processes; the sandbox
    # uses none of it. An operator who wants it sets MLFLOW_SERVER_ENABLE_JOB_EXECUTION=true.
    env.setdefault("MLFLOW_SERVER_ENABLE_JOB_EXECUTION", "false")
    cmd = [*_mlflow_command(), "server", "--app-name", "sandbox",
           "--artifacts-destination", str((store.mlruns / "artifacts").resolve()),
           "--serve-artifacts", "--host", host, "--port", str(port), "--workers", "1"]
    log_path = store.state / LOG_FILE
    t0 = time.perf_counter()
    server: MlflowServer | None = None
    try:
        with open(os.open(log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600), "ab") as log:
            log.write(f"\n--- {_now()} sandbox server starting on {host}:{port} (backend {redact_uri(backend)})\n".encode())
            log.flush()
            with procs.shielded():  # a stop signal (under procs.stop_signals) lands once `server` holds the process
                proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=env,
                                        cwd=store.state, start_new_session=True, umask=0o077)  # its files 0600
                server = MlflowServer(store, host, port, proc, log_path)
        deadline = time.monotonic() + timeout
        while not health(server.url, timeout=1.0):
            if not server.alive():
                tail = server.log_tail()
                if "address already in use" in tail.lower():
                    raise SandboxError(f"port {port} on {host} is in use", "pick a free one with --port N")
                raise SandboxError(f"the MLflow server exited while starting (code {proc.returncode}); last log lines:\n{tail}",
                                   f"read {log_path}")
            if time.monotonic() > deadline:
                raise SandboxError(f"the MLflow server did not answer /health within {timeout:.0f} s",
                                   f"read {log_path}; on a busy machine try again")
            if progress:
                progress(min(0.95, (time.perf_counter() - t0) / 30.0), "waiting for the MLflow server")
            time.sleep(0.25)
    except BaseException:
        if server is not None:
            server.stop()
        raise
    server.startup_s = round(time.perf_counter() - t0, 2)
    server.backend = redact_uri(backend)
    atomic.write_json(store.state / RUNTIME_FILE, {"url": server.url, "pid": proc.pid, "host": host, "port": port,
                                                   "backend": server.backend, "started": _now(), "by": actor.name},
                      mode=0o600)
    store.platform_audit().append("server.start", actor.name, url=server.url, pid=proc.pid, startup_s=server.startup_s,
                                  backend=server.backend)
    if progress:
        progress(1.0, f"MLflow server ready at {server.url}")
    return server
