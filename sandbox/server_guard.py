"""The sandbox's MLflow server app: MLflow's basic-auth app plus the sandbox's own rules.

`sandbox server` runs `mlflow server --app-name sandbox`; the name resolves through the
`mlflow.app` entry point in pyproject.toml to `create_app()` here, which builds MLflow's
basic-auth app (users, grants, default permission none) and adds the checks MLflow's
grants cannot express. They apply to every MLflow user except MLflow admins (only the
sync account, `_sandbox-sync`, is one; the sync demotes any other):

names       A scientist may create only her own bank's experiments `<bank>/<usecase>`
            and registered models `<bank>.<usecase>`, spelled exactly (use case one of
            fraud, risk, chat); reviewers and sandbox admins create none. So nobody
            claims a bank that does not exist yet, or another bank's name, or a
            look-alike (`beta-bank/fraud `, `beta-bank/FRAUD`, `beta-bank.fraud2`).
            A client may not choose an experiment's artifact_location (the server's
            proxied root is the only one, so every artifact read and write is checked
            against the experiment's grants), and nobody but the sync renames
            experiments or registered models (a rename could move a name into or out
            of the sandbox's).
artifacts   A user who holds only READ on an experiment (a reviewer) reads evidence,
            not models or data: run artifacts under `REVIEWABLE_PREFIXES` (plots/,
            model_card.md, model_card.json, reports/, evaluation/) and nothing else.
            Model files, input examples, logged-model artifacts, model-version
            downloads and download URIs, and trace artifacts under the experiment are
            refused; listings show only the evidence entries. EDIT (the bank's own
            scientists) reads everything of its bank, as before.
users       Non-admins may not enumerate users or roles (`users/list`, other users'
            permissions and roles, `roles/*`, review queues whose names must not
            shadow users), nor run MLflow's demo generator (it creates experiments).

The sandbox's records are the truth: who is a scientist of which bank comes from the
store's users file (`SANDBOX_HOME`, set by `sandbox server`), read again when it changes.
A refusal is a 403 with one line naming the rule and what to do instead, and goes into
the platform audit log as `server.denied`.

How it hooks in: a Flask `before_request` registered after basic auth's (so the caller is
authenticated and known, and MLflow's own grant check has passed), a Flask `after_request`
that filters artifact listings, and, when MLflow serves through uvicorn (its default), an
ASGI layer in front of the FastAPI app for the artifact downloads FastAPI serves natively
(`GET /api/2.0/mlflow-artifacts/artifacts/<path>`), which never reach Flask. Both layers
make the same decision (`artifact_refusal`).

It leans on a few of MLflow's auth internals (`_get_experiment_permission`,
`_authenticate_cached`, `g.mlflow_authenticated_user`); tests/security/test_server_guard.py
drives each rule through a real server, so an MLflow upgrade that moves them fails there.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import posixpath
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .access import Actor, can
from .review import REVIEWABLE_PREFIXES
from .tracking import USECASES

_logger = logging.getLogger(__name__)

_API_PREFIX = re.compile(r"^/(?:ajax-)?api/\d+\.\d+(?=/)")
_RUN_ID = re.compile(r"[0-9a-f]{32}")
_EXPERIMENT_ID = re.compile(r"[0-9]+")
EVIDENCE_FILES = tuple(p for p in REVIEWABLE_PREFIXES if not p.endswith("/"))
EVIDENCE_DIRS = tuple(p for p in REVIEWABLE_PREFIXES if p.endswith("/"))
NATIVE_DOWNLOAD_PREFIXES = ("/api/2.0/mlflow-artifacts/artifacts/", "/ajax-api/2.0/mlflow-artifacts/artifacts/")
_RENAME_FIX = "names are the sandbox's: an admin renames through the sync, never a client"


# -- who is asking (the sandbox's records) --------------------------------------------------
@dataclass(frozen=True)
class Caller:
    name: str
    role: str | None  # None: an MLflow user the sandbox does not know
    bank: str | None

    def writes_bank(self) -> bool:
        """May this caller start runs in their bank? The sandbox's one decision (`access.can`, `runs.write`)."""
        if self.role is None or not self.bank:
            return False
        return bool(can(Actor(self.name, self.role, self.bank), "runs.write", self.bank))

    def experiment_names(self) -> frozenset[str]:
        return frozenset(f"{self.bank}/{uc}" for uc in USECASES) if self.writes_bank() else frozenset()

    def model_names(self) -> frozenset[str]:
        return frozenset(f"{self.bank}.{uc}" for uc in USECASES) if self.writes_bank() else frozenset()


class _Directory:
    """The store's users and banks, re-read when the users file changes."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._stamp: tuple | None = None
        self._users: dict[str, dict] = {}
        self._banks: set[str] = set()

    def caller(self, username: str) -> Caller:
        from .store import Store

        store = Store(os.environ.get("SANDBOX_HOME") or None)
        st = store.file.stat()  # a missing store raises: the caller then gets a refusal, not a pass
        stamp = (st.st_mtime_ns, st.st_size, st.st_ino)
        with self._lock:
            if stamp != self._stamp:
                self._users, self._banks, self._stamp = store.users(), set(store.banks()), stamp
            u = self._users.get(username)
            banks = self._banks
        if u is None:
            return Caller(username, None, None)
        bank = u.get("bank") if u.get("bank") in banks else None
        return Caller(username, u.get("role"), bank)


_directory = _Directory()


def _audit_denied(username: str, rule: str, **data: Any) -> None:
    try:
        from .store import Store

        Store(os.environ.get("SANDBOX_HOME") or None).platform_audit().append(
            "server.denied", username, rule=rule, **data
        )
    except Exception as exc:  # the refusal stands even when the audit log cannot be written; say so in the server log
        _logger.warning("could not audit a refused request (%s: %s)", type(exc).__name__, exc)


# -- the rules (pure: a reason string means refused) ------------------------------------------
def experiment_create_refusal(caller: Caller, name: Any, artifact_location: Any) -> str | None:
    if artifact_location not in (None, ""):
        return (
            "a client may not choose an experiment's artifact_location (the server's proxied root is the only "
            "one); create the experiment without it"
        )
    if not isinstance(name, str) or name not in caller.experiment_names():
        own = ", ".join(sorted(caller.experiment_names())) or "none (only scientists of a bank create experiments)"
        return f"experiment name {name!r} is not one of yours: you may create {own}"
    return None


def model_create_refusal(caller: Caller, name: Any) -> str | None:
    if not isinstance(name, str) or name not in caller.model_names():
        own = ", ".join(sorted(caller.model_names())) or "none (only scientists of a bank register models)"
        return f"registered model name {name!r} is not one of yours: you may create {own}"
    return None


def _clean_segments(rel: str) -> list[str] | None:
    parts = rel.split("/")
    if any(p in ("", ".", "..") or "\\" in p or "%" in p for p in parts):
        return None
    return parts


def is_evidence_file(rel: str) -> bool:
    """A run-relative artifact path a READ-only user may download."""
    if not rel or _clean_segments(rel) is None:
        return False
    return rel in EVIDENCE_FILES or any(rel.startswith(d) and len(rel) > len(d) for d in EVIDENCE_DIRS)


def is_evidence_listing(rel: str) -> bool:
    """A run-relative path a READ-only user may list: the run's root, an evidence folder or an evidence file."""
    if rel == "":
        return True
    if _clean_segments(rel) is None:
        return False
    return is_evidence_file(rel) or any(f"{rel}/".startswith(d) for d in EVIDENCE_DIRS)


def _entry_visible(full: str, is_dir: bool) -> bool:
    return any(f"{full}/".startswith(d) for d in EVIDENCE_DIRS) if is_dir else is_evidence_file(full)


def proxy_path_refusal(canonical: str, listing: bool) -> tuple[str | None, str | None]:
    """For a READ-only user and a proxied artifact path `<experiment>/<run>/artifacts/<rel>`: (refusal, run-relative
    path to filter a listing by). Only run artifacts that are evidence pass; models/ and traces/ never do."""
    parts = canonical.strip("/").split("/")
    if not parts or not _EXPERIMENT_ID.fullmatch(parts[0]):
        return "artifacts outside an experiment's runs are not evidence", None
    if len(parts) == 1 and listing:
        return None, None  # the experiment root lists run ids and the models/traces folders: names, no content
    if len(parts) >= 2 and _RUN_ID.fullmatch(parts[1]):
        if len(parts) == 2 and listing:
            return None, None  # a run folder holds `artifacts`
        if len(parts) >= 3 and parts[2] == "artifacts":
            rel = "/".join(parts[3:])
            ok = is_evidence_listing(rel) if listing else is_evidence_file(rel)
            return (None, rel) if ok else (_evidence_only(rel), None)
    return _evidence_only("/".join(parts[1:])), None


def _evidence_only(what: str) -> str:
    shown = ", ".join(REVIEWABLE_PREFIXES)
    return (
        f"{what!r} is not evidence: with read-only access you may read a run's {shown}; "
        "model files, input examples and data stay with the bank"
    )


def _status_of_mlflow_exception(exc: Exception) -> str:
    return str(getattr(exc, "error_code", "") or "")


# -- MLflow glue ------------------------------------------------------------------------------
def _auth():
    from mlflow.server import auth

    return auth


def _is_mlflow_admin(username: str) -> bool:
    from mlflow.exceptions import MlflowException

    try:
        return bool(_auth().store.get_user(username).is_admin)
    except MlflowException:
        return False


def _experiment_permission(experiment_id: str, username: str):
    return _auth()._get_experiment_permission(str(experiment_id), username)


def _registered_model_permission(name: str, username: str):
    from mlflow.server.handlers import _get_model_registry_store

    auth = _auth()
    return auth._get_role_permission_or_default(
        auth._role_permission_for(
            username=username,
            resource_type="registered_model",
            resource_key=name,
            workspace_lookup_id=name,
            workspace_fetcher=_get_model_registry_store().get_registered_model,
            workspace_label="registered model",
        )
    )


def _read_only(permission) -> bool:
    """READ but not EDIT: evidence only. (No READ at all is MLflow's own 403, already given.)"""
    return bool(permission.can_read) and not bool(permission.can_update)


def artifact_refusal(username: str, canonical: str, listing: bool) -> tuple[str | None, str | None]:
    """The decision for a proxied artifact path, shared by the Flask and the ASGI layer."""
    parts = canonical.strip("/").split("/")
    if not parts or not _EXPERIMENT_ID.fullmatch(parts[0]):
        return None, None  # no experiment to judge: MLflow's own proxy check decides (default permission: none)
    if not _read_only(_experiment_permission(parts[0], username)):
        return None, None
    return proxy_path_refusal(canonical, listing)


def _refuse(username: str, rule: str, message: str, **data: Any):
    from flask import make_response

    _audit_denied(username, rule, **data)
    resp = make_response(json.dumps({"error_code": "PERMISSION_DENIED", "message": f"sandbox: {message}"}), 403)
    resp.mimetype = "application/json"
    return resp


def _route(path: str) -> str:
    prefix = os.environ.get("_MLFLOW_STATIC_PREFIX", "").rstrip("/")
    if prefix and path.startswith(prefix):
        path = path[len(prefix) :]
    return _API_PREFIX.sub("", path, count=1)


def _json_body() -> dict:
    """The body as MLflow's handlers read it (forced JSON, double-encoded strings decoded)."""
    from flask import request

    body = request.get_json(force=True, silent=True)
    if isinstance(body, str):
        try:
            body = json.loads(body)
        except ValueError:
            body = None
    return body if isinstance(body, dict) else {}


def _param(name: str) -> Any:
    from flask import request

    if request.method == "GET":
        return request.args.get(name)
    return _json_body().get(name)


def _caller(username: str) -> Caller:
    try:
        return _directory.caller(username)
    except Exception as exc:  # no readable store: the caller may create nothing (fail closed)
        _logger.warning("store unreadable (%s: %s)", type(exc).__name__, exc)
        return Caller(username, None, None)


_USER_LISTS = ("/mlflow/users/list",)
_SELF_ONLY = ("/mlflow/users/permissions/list", "/mlflow/users/roles/list")
_ADMIN_FAMILIES = ("/mlflow/roles/", "/mlflow/review-queues/", "/mlflow/demo/")


def _guard_flask():
    """before_request, after basic auth: the sandbox's rules for non-admins on Flask routes."""
    from flask import g, request
    from mlflow.exceptions import MlflowException

    username = getattr(g, "mlflow_authenticated_user", None)
    if not username or _is_mlflow_admin(username):
        return None  # unprotected routes (health, static) and the sync account
    route, method = _route(request.path), request.method

    # names (findings 3, 16)
    if route == "/mlflow/experiments/create" and method == "POST":
        body = _json_body()
        if why := experiment_create_refusal(_caller(username), body.get("name"), body.get("artifact_location")):
            return _refuse(username, "experiment.create", why, name=str(body.get("name"))[:200])
        return None
    if route == "/mlflow/registered-models/create" and method == "POST":
        name = _json_body().get("name")
        if why := model_create_refusal(_caller(username), name):
            return _refuse(username, "registered_model.create", why, name=str(name)[:200])
        return None
    if route in ("/mlflow/experiments/update", "/mlflow/registered-models/rename") and method == "POST":
        return _refuse(
            username, "rename", f"renaming experiments or registered models is refused ({_RENAME_FIX})", route=route
        )

    # user enumeration (finding 16)
    if route in _USER_LISTS or route.startswith(_ADMIN_FAMILIES):
        return _refuse(username, "users.list", "user and role listings are for admins", route=route)
    if route in _SELF_ONLY and (_param("username") or username) != username:
        return _refuse(username, "users.list", "you may list only your own permissions and roles", route=route)

    # artifacts (finding 6)
    try:
        return _guard_artifacts(username, route, method)
    except MlflowException as exc:
        if _status_of_mlflow_exception(exc) in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE"):
            return None  # nothing there to leak: MLflow's handler answers 404/400
        raise


def _guard_artifacts(username: str, route: str, method: str):
    from flask import g, request
    from mlflow.server.handlers import _get_tracking_store
    from mlflow.utils.uri import validate_path_is_safe

    def run_experiment(run_id: Any) -> str:
        return _get_tracking_store().get_run(str(run_id)).info.experiment_id

    if method not in ("GET", "HEAD", "POST"):
        return None
    if route == "/get-artifact" or (route == "/mlflow/artifacts/list" and method == "GET"):
        run_id = request.args.get("run_id") or request.args.get("run_uuid")
        if not run_id or not _read_only(_experiment_permission(run_experiment(run_id), username)):
            return None
        rel = request.args.get("path") or ""
        try:
            rel = validate_path_is_safe(rel).strip("/") if rel else ""
        except Exception:  # noqa: BLE001 -- MLflow's handler refuses the same path with a 400
            return None
        listing = route != "/get-artifact"
        ok = is_evidence_listing(rel) if listing else is_evidence_file(rel)
        if not ok:
            return _refuse(username, "artifact.read", _evidence_only(rel), run_id=str(run_id), path=rel)
        if listing:
            g.sandbox_list_filter = ("run", rel)
        return None
    if route == "/mlflow/artifacts/presigned-download-url" and method == "POST":
        run_id = _json_body().get("run_id")
        if run_id and not _read_only(_experiment_permission(run_experiment(run_id), username)):
            return None
        return _refuse(username, "artifact.read", "presigned downloads are for the bank's own scientists")
    if route in ("/model-versions/get-artifact", "/mlflow/model-versions/get-download-uri") and method == "GET":
        name = request.args.get("name")
        if name and _read_only(_registered_model_permission(name, username)):
            return _refuse(
                username,
                "artifact.read",
                f"model versions of {name!r} are model files, not evidence",
                name=str(name)[:200],
            )
        return None
    m = re.fullmatch(r"/mlflow/logged-models/([^/]+)/artifacts/(files|directories)", route)
    if m and method == "GET":
        experiment_id = _get_tracking_store().get_logged_model(m.group(1)).experiment_id
        if _read_only(_experiment_permission(experiment_id, username)):
            return _refuse(
                username, "artifact.read", "logged-model artifacts are model files, not evidence", model_id=m.group(1)
            )
        return None
    if route.startswith(("/mlflow/get-trace-artifact",)) and method == "GET":
        return None  # traces: MLflow's trace grants (the sandbox logs no traces to the server)
    proxied = None
    if route.startswith("/mlflow-artifacts/artifacts/") and method in ("GET", "HEAD"):
        proxied, listing = route[len("/mlflow-artifacts/artifacts/") :], False
    elif route == "/mlflow-artifacts/artifacts" and method == "GET":
        proxied, listing = request.args.get("path") or "", True
    elif route.startswith("/mlflow-artifacts/presigned/") and method == "GET":
        proxied, listing = route[len("/mlflow-artifacts/presigned/") :], False
    if proxied is None or (listing and not proxied):
        return None
    try:
        canonical = validate_path_is_safe(proxied)
    except Exception:  # noqa: BLE001 -- MLflow refuses the same path
        return None
    why, rel = artifact_refusal(username, canonical, listing)
    if why:
        return _refuse(username, "artifact.read", why, path=canonical[:300])
    if listing and rel is not None:
        g.sandbox_list_filter = ("proxy", rel)
    return None


def _filter_listing(resp):
    """after_request: a READ-only user's listing shows only evidence entries."""
    from flask import g

    spec = getattr(g, "sandbox_list_filter", None)
    if spec is None or resp.status_code != 200:
        return resp
    kind, rel = spec
    try:
        data = json.loads(resp.get_data(as_text=True) or "{}")
    except ValueError:
        return resp
    files = data.get("files")
    if not isinstance(files, list):
        return resp
    kept = []
    for f in files:
        path = str(f.get("path", ""))
        full = path if kind == "run" else posixpath.join(rel, path) if rel else path
        if _entry_visible(full, bool(f.get("is_dir"))):
            kept.append(f)
    data["files"] = kept
    resp.set_data(json.dumps(data))
    return resp


# -- the ASGI layer for FastAPI's native artifact downloads ------------------------------------
def _basic_credentials(headers: list[tuple[bytes, bytes]]) -> tuple[str, str] | None:
    for key, value in headers:
        if key.lower() == b"authorization":
            try:
                scheme, token = value.decode("latin-1").split(None, 1)
                if scheme.lower() != "basic":
                    return None
                user, _, password = base64.b64decode(token.strip()).decode("utf-8").partition(":")
                return user, password
            except (ValueError, UnicodeDecodeError):
                return None
    return None


def native_download_refusal(headers: list[tuple[bytes, bytes]], artifact_path: str) -> tuple[str, str] | None:
    """(username, reason) when a native download must be refused; None lets MLflow's own checks decide."""
    from mlflow.utils.uri import validate_path_is_safe

    creds = _basic_credentials(headers)
    if creds is None:
        return None  # MLflow answers 401
    user = _auth()._authenticate_cached(*creds)
    if user is None or user.is_admin:
        return None
    try:
        canonical = validate_path_is_safe(artifact_path)
    except Exception:  # noqa: BLE001 -- MLflow refuses the same path
        return None
    why, _ = artifact_refusal(user.username, canonical, listing=False)
    return (user.username, why) if why else None


class GuardedAsgiApp:
    """MLflow's FastAPI app, with the evidence rule in front of the downloads FastAPI serves itself."""

    def __init__(self, app: Callable) -> None:
        self.app = app

    def __getattr__(self, name: str) -> Any:
        return getattr(self.app, name)

    async def __call__(self, scope, receive, send) -> None:
        if scope.get("type") == "http" and scope.get("method") in ("GET", "HEAD"):
            path = scope.get("path", "")
            prefix = os.environ.get("_MLFLOW_STATIC_PREFIX", "").rstrip("/")
            if prefix and path.startswith(prefix):
                path = path[len(prefix) :]
            for start in NATIVE_DOWNLOAD_PREFIXES:
                if path.startswith(start):
                    import anyio

                    try:
                        refused = await anyio.to_thread.run_sync(
                            native_download_refusal, scope.get("headers", []), path[len(start) :]
                        )
                    except Exception as exc:  # fail closed: an unjudged download is not served
                        _logger.warning("artifact guard failed (%s: %s)", type(exc).__name__, exc)
                        refused = ("?", "the sandbox could not check this download; try again")
                    if refused:
                        username, why = refused
                        await anyio.to_thread.run_sync(
                            lambda u=username, p=path: _audit_denied(u, "artifact.read", path=p[:300])
                        )
                        body = json.dumps({"error_code": "PERMISSION_DENIED", "message": f"sandbox: {why}"}).encode()
                        await send(
                            {
                                "type": "http.response.start",
                                "status": 403,
                                "headers": [
                                    (b"content-type", b"application/json"),
                                    (b"content-length", str(len(body)).encode()),
                                ],
                            }
                        )
                        await send({"type": "http.response.body", "body": body})
                        return
                    break
        await self.app(scope, receive, send)


def create_app():
    """The `sandbox` MLflow app (entry point `mlflow.app`): basic auth, then the sandbox's rules."""
    from mlflow.server import app as flask_app
    from mlflow.server.auth import create_app as create_basic_auth_app

    served = create_basic_auth_app(flask_app)
    flask_app.before_request(_guard_flask)  # after basic auth's: the caller is known and MLflow's check passed
    flask_app.after_request(_filter_listing)
    return served if served is flask_app else GuardedAsgiApp(served)
