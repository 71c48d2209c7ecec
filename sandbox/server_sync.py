"""The sync: the sandbox's users, banks and roles turned into MLflow users and grants (idempotent);
squatted names reclaimed. Read sandbox/server.py for the mapping."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from . import tracking
from .access import Actor, can, require
from .errors import SandboxError
from .server_client import (
    _auth_client,
    _error_code,
    _host_creds,
    _http_status,
    _user_grants,
    can_log_in,
    health,
)
from .server_config import (
    ADMIN_USERNAME,
    AUTH_DB_FILE,
    EXPERIMENT,
    REGISTERED_MODEL,
    REVIEWER_PERMISSION,
    SCIENTIST_PERMISSION,
)
from .server_credentials import server_url
from .server_secrets import load_secrets, mlflow_password
from .store import Store


def _require_admin(store: Store, actor: Actor, what: str) -> None:
    decision = can(actor, "server.run")
    require(
        actor,
        "server.run",
        audit=store.platform_audit(),
        message=f"{actor.name} may not {what} ({decision.reason})",
        fix="ask a sandbox admin to run `sandbox server`; get your own credentials with `sandbox server token`",
    )


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
    wall_s: float = 0.0

    @property
    def changed(self) -> bool:
        return bool(
            self.users_created
            or self.passwords_reset
            or self.admins_demoted
            or self.experiments_created
            or self.models_created
            or self.reclaimed
            or self.granted
            or self.revoked
        )

    def to_dict(self) -> dict:
        return {**asdict(self), "changed": self.changed}

    def summary(self) -> str:
        parts = [
            f"{len(v)} {k.replace('_', ' ')}"
            for k, v in (
                ("users_created", self.users_created),
                ("passwords_reset", self.passwords_reset),
                ("admins_demoted", self.admins_demoted),
                ("experiments_created", self.experiments_created),
                ("models_created", self.models_created),
                ("reclaimed", self.reclaimed),
                ("grants_added", self.granted),
                ("grants_revoked", self.revoked),
            )
            if v
        ]
        head = (
            f"synced: {', '.join(parts)} ({self.unchanged} unchanged)"
            if parts
            else f"permissions in sync ({self.unchanged} grants checked)"
        )
        return "\n".join(
            [head, *(f"  reclaimed: {r}" for r in self.reclaimed), *(f"  warning: {w}" for w in self.warnings)]
        )


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


@dataclass
class _Server:
    """The server as the sync account reaches it: its URL, the store's secrets, the auth client and REST stores."""

    url: str
    secrets: Any
    auth: Any
    tracking: Any
    registry: Any


def sync(store: Store, actor: Actor, url: str | None = None) -> SyncResult:
    """Mirror the sandbox's users and roles into the MLflow server's users and grants (idempotent)."""
    _require_admin(store, actor, "sync the MLflow server's permissions")
    t0 = time.perf_counter()
    srv = _connect(store, url)
    users, bank_records = store.users(), store.banks()  # read once: every step works on the same picture
    result = SyncResult(url=srv.url)
    ids = _sync_names(store, actor, srv, bank_records, result)
    _sync_users(store, srv, users, result)
    _sync_grants(srv, users, sorted(bank_records), ids, result)
    result.wall_s = round(time.perf_counter() - t0, 3)
    store.platform_audit().append(
        "server.sync",
        actor.name,
        url=srv.url,
        users_created=result.users_created,
        passwords_reset=result.passwords_reset,
        granted=len(result.granted),
        revoked=len(result.revoked),
        experiments_created=result.experiments_created,
        models_created=result.models_created,
        reclaimed=result.reclaimed,
    )
    return result


def _connect(store: Store, url: str | None) -> _Server:
    """The store's running server, answering, with the sync account still its MLflow admin."""
    from mlflow.exceptions import MlflowException
    from mlflow.store.model_registry.rest_store import RestStore as RegistryRestStore
    from mlflow.store.tracking.rest_store import RestStore

    url = server_url(store, url)
    if url is None:
        raise SandboxError(
            "no MLflow server is running for this store", "start it with `sandbox server`, or pass --url"
        )
    if not health(url):
        raise SandboxError(
            f"the MLflow server at {url} does not answer /health",
            "start it with `sandbox server`, or check the address",
        )
    sec = load_secrets(store)
    auth = _auth_client(url, ADMIN_USERNAME, sec.admin_password)
    creds = _host_creds(url, ADMIN_USERNAME, sec.admin_password)
    try:
        if not auth.get_user(ADMIN_USERNAME).is_admin:
            raise MlflowException("the sync account is not an MLflow admin")
    except MlflowException as exc:
        raise SandboxError(
            f"the MLflow server at {url} refused the sandbox's admin account ({_http_status(exc) or exc})",
            f"it must be this store's server: stop it, delete {store.state / AUTH_DB_FILE} "
            "and run `sandbox server` again",
        ) from None
    return _Server(url, sec, auth, RestStore(lambda: creds), RegistryRestStore(lambda: creds))


def _sync_names(
    store: Store, actor: Actor, srv: _Server, bank_records: dict[str, dict], result: SyncResult
) -> dict[tuple[str, str], str]:
    """1. Experiments and registered models, up front, so grants have something to point at; a squatter's are
    reclaimed first (renamed away), so the bank's are always the sandbox's own. Returns their ids by kind and name."""
    ids: dict[tuple[str, str], str] = {}
    for bank in sorted(bank_records):
        created_ms = _created_ms(bank_records.get(bank, {}))
        for uc in tracking.USECASES:
            name = tracking.experiment_name(bank, uc)
            ids[(EXPERIMENT, name)] = _sync_experiment(store, actor, srv, result, bank, uc, created_ms)
            model = tracking.registered_model_name(bank, uc)
            _sync_model(store, actor, srv, result, bank, uc, created_ms)
            ids[(REGISTERED_MODEL, model)] = model
    return ids


def _sync_experiment(
    store: Store, actor: Actor, srv: _Server, result: SyncResult, bank: str, uc: str, created_ms: int | None
) -> str:
    """The bank's experiment for `uc`, reclaimed from a squatter or created when missing; its id."""
    from mlflow.entities import ExperimentTag
    from mlflow.exceptions import MlflowException

    name = tracking.experiment_name(bank, uc)
    exp = srv.tracking.get_experiment_by_name(name)
    why = _squatted_experiment(store, exp, bank, uc, created_ms) if exp is not None else None
    if why:
        moved = _reclaim_experiment(srv.tracking, exp, name)
        result.reclaimed.append(f"experiment {name} ({exp.experiment_id}) -> {moved}: {why}")
        _audit_reclaim(
            store,
            actor,
            bank,
            "experiment",
            name,
            moved,
            why,
            experiment_id=str(exp.experiment_id),
            artifact_location=str(exp.artifact_location),
        )
        exp = None
    if exp is not None:
        if not str(exp.artifact_location).startswith(("mlflow-artifacts:", "http:", "https:")):
            result.warnings.append(
                f"{name} keeps its artifacts at {exp.artifact_location} (created in local mode): "
                "clients on this host read and write them directly, not through the server's checks"
            )
        return str(exp.experiment_id)
    try:
        exp_id = srv.tracking.create_experiment(
            name, tags=[ExperimentTag(tracking.TAG_BANK, bank), ExperimentTag(tracking.TAG_USECASE, uc)]
        )
        result.experiments_created.append(name)
    except MlflowException as exc:
        if _error_code(exc) != "RESOURCE_ALREADY_EXISTS":
            raise
        exp_id = srv.tracking.get_experiment_by_name(name).experiment_id
    return str(exp_id)


def _sync_model(
    store: Store, actor: Actor, srv: _Server, result: SyncResult, bank: str, uc: str, created_ms: int | None
) -> None:
    """The bank's registered model for `uc`: one made before the bank is reclaimed; a missing one created."""
    from mlflow.entities.model_registry import RegisteredModelTag
    from mlflow.exceptions import MlflowException

    model = tracking.registered_model_name(bank, uc)
    try:
        existing = srv.registry.get_registered_model(model)
    except MlflowException as exc:
        if _error_code(exc) != "RESOURCE_DOES_NOT_EXIST":
            raise
        existing = None
    stamp = getattr(existing, "creation_timestamp", None)
    if existing is not None and created_ms is not None and stamp is not None and int(stamp) < created_ms:
        why, moved = "it was created before the bank", f"_reclaimed.{model}.{int(stamp)}"
        srv.registry.rename_registered_model(model, moved)
        result.reclaimed.append(f"registered model {model} -> {moved}: {why}")
        _audit_reclaim(store, actor, bank, "registered_model", model, moved, why)
        existing = None
    if existing is None:
        try:
            srv.registry.create_registered_model(
                model,
                tags=[RegisteredModelTag(tracking.TAG_BANK, bank), RegisteredModelTag(tracking.TAG_USECASE, uc)],
                description=f"{uc} models of {bank} (registered through the sandbox)",
            )
            result.models_created.append(model)
        except MlflowException as exc:
            if _error_code(exc) != "RESOURCE_ALREADY_EXISTS":
                raise


def _sync_users(store: Store, srv: _Server, users: dict[str, dict], result: SyncResult) -> None:
    """2. Users, with their derived passwords; never MLflow admins."""
    from mlflow.exceptions import MlflowException

    for name in sorted(users):
        password = mlflow_password(store, name, srv.secrets)
        try:
            mlflow_user = srv.auth.get_user(name)
        except MlflowException as exc:
            if _error_code(exc) != "RESOURCE_DOES_NOT_EXIST":
                raise
            srv.auth.create_user(name, password)
            result.users_created.append(name)
            continue
        if mlflow_user.is_admin:
            srv.auth.update_user_admin(name, False)
            result.admins_demoted.append(name)
        if not can_log_in(srv.url, name, password):
            srv.auth.update_user_password(name, password)
            result.passwords_reset.append(name)


def _sync_grants(
    srv: _Server, users: dict[str, dict], banks: list[str], ids: dict[tuple[str, str], str], result: SyncResult
) -> None:
    """3. Grants: add what is missing, fix what differs, revoke what a user should not hold."""
    managed = set(ids.values())
    want = desired_grants(users, banks)
    for name in sorted(users):
        target = {(rtype, ids[(rtype, rname)]): perm for (rtype, rname), perm in want[name].items()}
        have, via_roles = _user_grants(srv.auth, name)
        for row in via_roles:
            if row["resource_pattern"] == "*" or row["resource_pattern"] in managed:
                result.warnings.append(
                    f"{name} holds {row['permission']} on {row['resource_type']} {row['resource_pattern']} through "
                    f"MLflow role {row['role_name']!r}, which the sandbox does not manage: unassign it if unintended"
                )
        for (rtype, rid), perm in sorted(target.items()):
            current = have.get((rtype, rid))
            if current == perm:
                result.unchanged += 1
                continue
            if current is not None:
                srv.auth.revoke_user_permission(name, rtype, rid)
            srv.auth.grant_user_permission(name, rtype, rid, perm)
            result.granted.append(f"{name} {rtype} {rid} {perm}")
        for (rtype, rid), perm in sorted(have.items()):
            if (rtype, rid) not in target and (rid in managed or rid == "*"):
                srv.auth.revoke_user_permission(name, rtype, rid)
                result.revoked.append(f"{name} {rtype} {rid} {perm}")


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
