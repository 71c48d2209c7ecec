"""The one door: a workspace context binds an actor to one bank.

Everything a use case does goes through it: the access check (audited on
denial), the bank's files (`path()` never resolves outside the bank's root),
its MLflow runs and registered models, its audit trail and its compute quota.
A reviewer's context is read-only by construction: every write action is
denied by `access.can`, and `path()` needs `data.read`, which reviewers lack.

It is a facade: each method checks access here, at the door, then hands the
work to the module whose name says the job:

    access.py          who may do what; `require` decides, audits a refusal and raises
    confine.py         paths that stay inside the bank's root
    userfile.py        files and folders the user names, opened once and checked by descriptor
    bank_runs.py       the bank's MLflow runs (tagged, metered, recorded), artifacts, registered models
    review.py          reviewer sign-off: its rules, its ledger entry, its MLflow mirror; what is evidence
    mlflow_identity.py which MLflow user the process acts as on the store's own server
    metric_writer.py   compute figures written to finished runs in the background
    compute.py         device, metering, usage and quotas
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from . import bank_runs, confine, review, tracking, userfile
from . import ledger as _ledger
from .access import Actor, can, require
from .audit import AuditLog
from .compute import Meter, UsageLedger, check_quota, detect_device, outermost, usage_summary
from .errors import AccessDenied, InvalidInput, NotFound
from .metric_writer import flush_tracking
from .mlflow_identity import IDENTITY
from .review import (
    REVIEW_DECISIONS,
    REVIEWABLE_PREFIXES,
    TAG_REVIEW_AT,
    TAG_REVIEW_BY,
    TAG_REVIEW_COMMENT,
    TAG_REVIEW_STATUS,
)
from .store import Store, validate_bank_id

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("DO_NOT_TRACK", "true")

__all__ = [
    "REVIEWABLE_PREFIXES",
    "REVIEW_DECISIONS",
    "TAG_REVIEW_AT",
    "TAG_REVIEW_BY",
    "TAG_REVIEW_COMMENT",
    "TAG_REVIEW_STATUS",
    "WorkspaceContext",
    "flush_tracking",
    "open_workspace",
]


class WorkspaceContext:
    def __init__(self, store: Store, bank: str, actor: Actor):
        self.store = store
        self.bank = bank
        self.actor = actor
        self.root = (store.workspaces / bank).resolve()
        self._client = None
        self._experiments: dict[str, str] = {}

    def __repr__(self) -> str:
        return f"WorkspaceContext(bank={self.bank!r}, actor={self.actor.name!r}, role={self.actor.role!r})"

    # -- access ----------------------------------------------------------
    def can(self, action: str) -> bool:
        return bool(can(self.actor, action, self.bank))

    def require(
        self,
        action: str,
        *,
        refusal: str | None = None,
        message: str | None = None,
        fix: str | None = None,
        **detail: Any,
    ) -> None:
        """Refuse (audited, AccessDenied) unless the actor may `action` in this bank; see `access.require`."""
        require(
            self.actor,
            action,
            self.bank,
            audit=self.store.platform_audit(),
            refusal=refusal,
            message=message,
            fix=fix,
            **detail,
        )

    # -- files -----------------------------------------------------------
    def path(self, *parts: str, create: bool = False) -> Path:
        """A path inside the bank's root. Refuses '..', absolute parts and symlinks that lead out.

        `create=True` makes the parent folder (for writing a file) when the last part has a
        suffix, else the folder itself.
        """
        self.require("data.read")
        resolved = confine.confined(self.root, parts)
        if resolved is None:
            self.require(
                "path",
                refusal="path escapes the workspace",
                parts=[str(p) for p in parts],
                message=f"path {'/'.join(map(str, parts))!r} leaves the workspace of {self.bank}",
                fix="use a relative path inside the workspace, without '..' or links that point out",
            )
        if create:
            (resolved.parent if resolved.suffix else resolved).mkdir(parents=True, exist_ok=True)
        return resolved

    def user_file(self, path: str | Path, field: str = "file") -> userfile.UserFile:
        """A file the user brings in (import, score, explain, a model file): their own files anywhere, or this
        bank's workspace, never another bank's workspace or the platform's state and runs. Opened ONCE and
        checked by its descriptor (sandbox/userfile.py): read it from the returned object, never reopen the
        name. A refusal is audited."""
        return userfile.open_file(self, path, field)

    def user_folder(self, path: str | Path, field: str = "folder", create: bool = False) -> userfile.UserFolder:
        """A folder the user names (ingest, corpus), opened once and checked before anything in it is listed."""
        return userfile.open_folder(self, path, field, create)

    def user_output(self, path: str | Path, field: str = "output") -> userfile.UserOutput:
        """Where the user wants a file written (score --output): its folder opened once and checked; write
        with `.writing()` (temp file by descriptor, then renamed)."""
        return userfile.open_output(self, path, field)

    # -- audit -----------------------------------------------------------
    @property
    def audit_log(self) -> AuditLog:
        return self.store.bank_audit(self.bank)

    def audit(self, event: str, **data: Any) -> dict:
        if event in _ledger.KINDS or event in _ledger.RUN_OUTCOMES:  # the ledger's events: only the door writes them
            raise InvalidInput("event", f"{event!r} is a ledger event", "use ctx.run or ctx.sign_off, which record it")
        return self.audit_log.append(event, self.actor.name, **data)

    def _record(self, event: str, **data: Any) -> dict:
        """Append one of the ledger's own events (run records, sign-offs): only the platform's modules call it."""
        return self.audit_log.append(event, self.actor.name, **data)

    def read_ledger(self) -> _ledger.Ledger:
        """The sandbox's own record of this bank's runs (who ran each, its review): the truth MLflow tags mirror."""
        self.require("runs.read")
        return _ledger.read(self.audit_log.path)

    def audit_entries(self, n: int | None = None) -> list[dict]:
        self.require("audit.read")
        entries = self.audit_log.entries()
        return entries if n is None else entries[-n:]

    def verify_audit(self):
        self.require("audit.read")
        return self.audit_log.verify()

    # -- compute ---------------------------------------------------------
    @property
    def ledger(self) -> UsageLedger:
        return UsageLedger(self.store.state / "usage")

    def usage(self) -> dict:
        self.require("usage.read")
        return usage_summary(self.ledger.usage(self.bank), self.store.quota(self.bank))

    def usage_records(self, since: str | None = None, until: str | None = None) -> list[dict]:
        """The bank's usage records with since <= time < until (ISO, UTC): the rows a centre bills or audits."""
        self.require("usage.read")
        return self.ledger.records(self.bank, since, until)

    @contextmanager
    def metered(self, usecase: str, kind: str, units: int = 1) -> Iterator[Meter]:
        """Work outside an MLflow run (a simulation, an import, a question, a batch of scores), refused over quota
        before it starts and recorded against the bank and the user after, failed or not. Nested work counts once."""
        with outermost() as first:
            if first:
                self.check_quota()
            meter = Meter()
            refused = False
            try:
                with meter:
                    yield meter
            except AccessDenied:
                refused = True  # refused at the door: no work was done for the bank
                raise
            finally:
                if first and not refused:
                    self.ledger.record(
                        self.bank, self.actor.name, usecase=usecase, run_id=None, meter=meter, kind=kind, units=units
                    )

    def check_quota(self) -> None:
        used = self.ledger.usage(self.bank)["wall_s"]
        try:
            check_quota(self.bank, used, self.store.quota(self.bank))
        except Exception:
            self.audit("quota.refused", used_s=round(used, 3))
            raise

    @property
    def device(self) -> str:
        return detect_device()

    # -- tracking --------------------------------------------------------
    def client(self):
        IDENTITY.act_as(self.store, self.actor)
        if self._client is None:
            self._client = tracking.client(self.store.mlruns)
        return self._client

    def experiment_id(self, usecase: str) -> str:
        if usecase not in self._experiments:
            self._experiments[usecase] = tracking.ensure_experiment(
                self.client(), self.store.mlruns, self.bank, usecase
            )
        return self._experiments[usecase]

    @contextmanager
    def run(
        self,
        usecase: str,
        run_name: str | None = None,
        *,
        seed: int | None = None,
        data_hash: str | None = None,
        params: dict | None = None,
        tags: dict | None = None,
    ) -> Iterator[Any]:
        """Start an MLflow run in <bank>/<usecase>, tagged and metered; refused over quota."""
        self.require("runs.write")
        tracking.check_usecase(usecase)
        self.check_quota()
        IDENTITY.act_as(self.store, self.actor)
        with bank_runs.start_run(
            self, usecase, run_name, seed=seed, data_hash=data_hash, params=params, tags=tags
        ) as active:
            yield active

    def runs(self, usecase: str | None = None, filter_string: str = "", max_results: int = 200) -> list:
        self.require("runs.read")
        return tracking.search_runs(self.client(), self.store.mlruns, [self.bank], usecase, filter_string, max_results)

    def get_run(self, run_id: str):
        self.require("runs.read")
        return tracking.get_run_of_bank(self.client(), run_id, self.bank)

    def summaries(self, runs: list) -> list[dict]:
        """Plain summaries of this bank's runs (`tracking.run_summary`): actor and review from the ledger, read once."""
        book = self.read_ledger()
        out = []
        for run in runs:
            owner = tracking.experiment_owner(self.client(), run.info.experiment_id)
            if owner is None or owner[0] != self.bank:  # runs come from ctx.runs/get_run: never another bank's
                raise NotFound(
                    f"run {run.info.run_id} not found in bank {self.bank}",
                    "list the bank's runs with `sandbox runs list BANK`",
                )
            out.append(tracking.run_summary(run, owner, book))
        return out

    def summary(self, run) -> dict:
        return self.summaries([run])[0]

    def list_artifacts(self, run_id: str, path: str | None = None) -> list[str]:
        run = self.get_run(run_id)
        return [p for p in bank_runs.artifact_paths(self.client(), run.info.run_id, path) if self._artifact_visible(p)]

    def _artifact_visible(self, artifact_path: str) -> bool:
        return self.can("data.read") or review.is_evidence(artifact_path)

    def artifact_local_path(self, run_id: str, artifact_path: str) -> Path:
        """Download (or locate) one artifact; reviewers only get evidence, never models or data."""
        run = self.get_run(run_id)
        if not confine.run_relative(artifact_path):
            raise InvalidInput(
                "artifact", f"{artifact_path!r} is not a run-relative path", "use a path listed by the run"
            )
        if not self._artifact_visible(artifact_path):
            self.require("data.read")
        return bank_runs.download_artifact(self.store.mlruns, run.info.run_id, artifact_path)

    def read_artifact_text(self, run_id: str, artifact_path: str) -> str:
        return self.artifact_local_path(run_id, artifact_path).read_text(encoding="utf-8")

    def register_model(self, usecase: str, model_uri: str, run_id: str | None = None):
        """Register as <bank>.<usecase>; only this bank's runs may be registered under its name."""
        self.require("runs.write")
        if run_id is not None:
            self.get_run(run_id)
        return bank_runs.register(self.bank, usecase, model_uri)

    def register_artifacts(self, usecase: str, run_id: str, artifact_path: str):
        """Register a folder of this bank's run (not an MLflow model: a chat configuration) as <bank>.<usecase>."""
        self.require("runs.write")
        run = self.get_run(run_id)
        return bank_runs.register_artifacts(
            self.client(), self.bank, usecase, f"{run.info.artifact_uri}/{artifact_path}", run.info.run_id
        )

    def model_versions(self, usecase: str) -> list:
        self.require("models.read")
        name = tracking.registered_model_name(self.bank, usecase)
        return list(self.client().search_model_versions(f"name = '{name}'"))

    def model_uri(self, usecase: str, version: str | int | None = None) -> str:
        """URI of this bank's registered model; another bank's name is never produced here."""
        self.require("models.load")
        versions = self.model_versions(usecase)
        if not versions:
            raise NotFound(
                f"bank {self.bank} has no registered {usecase} model",
                f"train one: `sandbox {usecase} train {self.bank}`",
            )
        if version is None:
            version = max(int(v.version) for v in versions)
        return f"models:/{tracking.registered_model_name(self.bank, usecase)}/{version}"

    # -- review ----------------------------------------------------------
    def sign_off(self, run_id: str, decision: str, comment: str = "") -> dict:
        """A reviewer approves a run or requests changes, always with a comment (what was checked, what to change):
        a `review.sign` entry in the bank's audit chain (the ledger, the only record believed), then MLflow tags
        mirroring it for the stock UI (sandbox/review.py)."""
        self.require("review.sign")
        return review.sign_off(self, run_id, decision, comment)


def open_workspace(bank: str, actor: Actor, store: Store | None = None) -> WorkspaceContext:
    """The door to a bank. Refuses actors with no business in it (audited): `workspace.open` decides."""
    store = store or Store()
    validate_bank_id(bank)
    store.require_bank(bank)
    require(
        actor,
        "workspace.open",
        bank,
        audit=store.platform_audit(),
        message=f"{actor.name} has no access to bank {bank}",
        fix="use your own bank's workspace",
    )
    return WorkspaceContext(store, bank, actor)
