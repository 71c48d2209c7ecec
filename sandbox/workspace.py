"""The one door: a workspace context binds an actor to one bank.

Everything a use case does goes through it: the access check (audited on
denial), the bank's files (`path()` never resolves outside the bank's root),
its MLflow runs and registered models, its audit trail and its compute quota.
A reviewer's context is read-only by construction: every write action is
denied by `access.can`, and `path()` needs `data.read`, which reviewers lack.
"""
from __future__ import annotations

import atexit
import contextlib
import logging
import os
import queue
import sys
import threading
import time
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path, PurePosixPath
from typing import Any, Iterator

from . import ledger as _ledger
from . import tracking, userfile
from .access import Actor, can
from .audit import AuditLog
from .compute import Meter, UsageLedger, _cpu_seconds, check_quota, detect_device, usage_summary
from .errors import AccessDenied, InvalidInput, NotFound
from .store import Store, validate_bank_id

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("DO_NOT_TRACK", "true")

# Artifacts a reviewer may read: evidence, never data. Models (with their input
# examples) and anything else stay with the bank.
REVIEWABLE_PREFIXES = ("plots/", "model_card.md", "model_card.json", "reports/", "evaluation/")
REVIEW_DECISIONS = ("approved", "changes_requested")
_ENV_USER: str | None = None  # the actor whose server credentials this process last set
TAG_REVIEW_STATUS, TAG_REVIEW_BY, TAG_REVIEW_COMMENT, TAG_REVIEW_AT = tracking.REVIEW_TAGS


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

    def require(self, action: str) -> None:
        decision = can(self.actor, action, self.bank)
        if not decision:
            self.store.platform_audit().append("access.denied", self.actor.name, action=action, bank=self.bank,
                                               role=self.actor.role, reason=decision.reason)
            fix = ("admins manage banks, users and quotas, not a bank's data: sign in as one of the bank's users"
                   if self.actor.role == "admin" else "ask an admin for the right role, or use your own bank")
            raise AccessDenied(f"{self.actor.name} may not {action} in bank {self.bank} ({decision.reason})", fix)

    # -- files -----------------------------------------------------------
    def path(self, *parts: str, create: bool = False) -> Path:
        """A path inside the bank's root. Refuses '..', absolute parts and symlinks that lead out.

        `create=True` makes the parent folder (for writing a file) when the last part has a
        suffix, else the folder itself.
        """
        self.require("data.read")
        for part in parts:
            p = PurePosixPath(str(part))
            if not str(part) or "\x00" in str(part) or p.is_absolute() or ".." in p.parts or "\\" in str(part):
                self._deny_path(parts)
        target = self.root.joinpath(*map(str, parts))
        resolved = target.resolve()
        if resolved != self.root and not resolved.is_relative_to(self.root):
            self._deny_path(parts)
        if create:
            (resolved.parent if resolved.suffix else resolved).mkdir(parents=True, exist_ok=True)
        return resolved

    def user_file(self, path: str | Path, field: str = "file") -> "userfile.UserFile":
        """A file the user brings in (import, score, explain, a model file): their own files anywhere, or this
        bank's workspace, never another bank's workspace or the platform's state and runs. Opened ONCE and
        checked by its descriptor (sandbox/userfile.py): read it from the returned object, never reopen the
        name. A refusal is audited."""
        return userfile.open_file(self, path, field)

    def user_folder(self, path: str | Path, field: str = "folder", create: bool = False) -> "userfile.UserFolder":
        """A folder the user names (ingest, corpus), opened once and checked before anything in it is listed."""
        return userfile.open_folder(self, path, field, create)

    def user_output(self, path: str | Path, field: str = "output") -> "userfile.UserOutput":
        """Where the user wants a file written (score --output): its folder opened once and checked; write
        with `.writing()` (temp file by descriptor, then renamed)."""
        return userfile.open_output(self, path, field)

    def _deny_path(self, parts: tuple) -> None:
        self.store.platform_audit().append("access.denied", self.actor.name, action="path", bank=self.bank,
                                           parts=[str(p) for p in parts], reason="path escapes the workspace")
        raise AccessDenied(f"path {'/'.join(map(str, parts))!r} leaves the workspace of {self.bank}",
                           "use a relative path inside the workspace, without '..' or links that point out")

    # -- audit -----------------------------------------------------------
    @property
    def audit_log(self) -> AuditLog:
        return self.store.bank_audit(self.bank)

    def audit(self, event: str, **data: Any) -> dict:
        if event in _ledger.KINDS or event in _ledger.RUN_OUTCOMES:  # the ledger's events: only the door writes them
            raise InvalidInput("event", f"{event!r} is a ledger event", "use ctx.run or ctx.sign_off, which record it")
        return self.audit_log.append(event, self.actor.name, **data)

    def _record(self, event: str, **data: Any) -> dict:
        """Append one of the ledger's own events (run records, sign-offs): only this class calls it."""
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
        self._act_on_server()
        if self._client is None:
            self._client = tracking.client(self.store.mlruns)
        return self._client

    def _own_server(self) -> bool:
        from . import server

        return bool(os.environ.get("SANDBOX_TRACKING_URI")) and (self.store.state / server.SECRETS_FILE).exists()

    def _act_on_server(self) -> None:
        """Server mode: talk to the store's own MLflow server as this actor (derived credentials).

        Credentials a user exported by hand are left alone; ones the sandbox set for another
        actor earlier in this process are replaced.
        """
        global _ENV_USER
        if not self._own_server():
            return
        current = os.environ.get("MLFLOW_TRACKING_USERNAME")
        if current is None or (current == _ENV_USER and current != self.actor.name):
            from . import server

            server.use_credentials(self.store, self.actor)
            _ENV_USER = self.actor.name

    @contextmanager
    def _as_sync_account(self) -> Iterator[None]:
        """Reviewers hold READ on MLflow; their sign-off tags are written by the sync account,
        after the sandbox itself checked `review.sign`."""
        if not self._own_server():
            yield
            return
        from . import server

        with server.mlflow_identity(server.ADMIN_USERNAME, server.load_secrets(self.store).admin_password):
            yield

    def experiment_id(self, usecase: str) -> str:
        if usecase not in self._experiments:
            self._experiments[usecase] = tracking.ensure_experiment(self.client(), self.store.mlruns, self.bank, usecase)
        return self._experiments[usecase]

    @contextmanager
    def run(self, usecase: str, run_name: str | None = None, *, seed: int | None = None,
            data_hash: str | None = None, params: dict | None = None, tags: dict | None = None) -> Iterator[Any]:
        """Start an MLflow run in <bank>/<usecase>, tagged and metered; refused over quota."""
        import mlflow

        self.require("runs.write")
        tracking.check_usecase(usecase)
        self.check_quota()
        self._act_on_server()
        uri = tracking.tracking_uri(self.store.mlruns)
        mlflow.set_tracking_uri(uri)
        mlflow.set_registry_uri(uri)
        exp_id = self.experiment_id(usecase)
        device = detect_device()
        all_tags = tracking.run_tags(self.bank, usecase, self.actor.name, seed, data_hash, device)
        all_tags.update(tags or {})
        t0, c0 = time.perf_counter(), _cpu_seconds()
        status = "FINISHED"
        with mlflow.start_run(experiment_id=exp_id, run_name=run_name, tags=all_tags) as active:
            run_id = active.info.run_id
            self._record(f"{usecase}.run.start", run_id=run_id, run_name=run_name)  # who ran it: the ledger's word
            if params:
                mlflow.log_params(params)
            try:
                yield active
            except BaseException as exc:
                status = "FAILED"
                self._record(f"{usecase}.run.failed", run_id=run_id, error=type(exc).__name__)
                raise
            finally:
                meter = Meter(device=device, wall_s=time.perf_counter() - t0, cpu_s=_cpu_seconds() - c0)
                self._log_compute(run_id, meter)
                self.ledger.record(self.bank, self.actor.name, usecase=usecase, run_id=run_id, meter=meter)
                if status == "FINISHED":
                    self._record(f"{usecase}.run", run_id=run_id, run_name=run_name, device=device,
                               wall_s=round(meter.wall_s, 3), cpu_s=round(meter.cpu_s, 3))

    def _log_compute(self, run_id: str, meter: Meter) -> None:
        """Compute figures reach the run from a background writer (flushed before the process exits).

        The usage ledger, written synchronously, is the record quotas are checked against; a fifth
        synchronous SQLite transaction here would cost about a quarter of a bare run.
        """
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        _COMPUTE_WRITER.submit(self.client(), run_id, [Metric("compute_wall_seconds", meter.wall_s, now, 0),
                                                       Metric("compute_cpu_seconds", meter.cpu_s, now, 0)])

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
                raise NotFound(f"run {run.info.run_id} not found in bank {self.bank}",
                               "list the bank's runs with `sandbox runs list BANK`")
            out.append(tracking.run_summary(run, owner, book))
        return out

    def summary(self, run) -> dict:
        return self.summaries([run])[0]

    def list_artifacts(self, run_id: str, path: str | None = None) -> list[str]:
        run = self.get_run(run_id)
        out: list[str] = []

        def walk(p):
            for info in self.client().list_artifacts(run.info.run_id, p):
                if info.is_dir:
                    walk(info.path)
                else:
                    out.append(info.path)

        walk(path)
        return [p for p in out if self._artifact_visible(p)]

    def _artifact_visible(self, artifact_path: str) -> bool:
        return self.can("data.read") or artifact_path.startswith(REVIEWABLE_PREFIXES)

    def artifact_local_path(self, run_id: str, artifact_path: str) -> Path:
        """Download (or locate) one artifact; reviewers only get evidence, never models or data."""
        run = self.get_run(run_id)
        p = PurePosixPath(artifact_path)
        if p.is_absolute() or ".." in p.parts:
            raise InvalidInput("artifact", f"{artifact_path!r} is not a run-relative path", "use a path listed by the run")
        if not self._artifact_visible(artifact_path):
            self.require("data.read")
        import mlflow

        return Path(mlflow.artifacts.download_artifacts(run_id=run.info.run_id, artifact_path=artifact_path,
                                                        tracking_uri=tracking.tracking_uri(self.store.mlruns)))

    def read_artifact_text(self, run_id: str, artifact_path: str) -> str:
        return self.artifact_local_path(run_id, artifact_path).read_text(encoding="utf-8")

    def register_model(self, usecase: str, model_uri: str, run_id: str | None = None):
        """Register as <bank>.<usecase>; only this bank's runs may be registered under its name."""
        self.require("runs.write")
        import mlflow

        if run_id is not None:
            self.get_run(run_id)
        name = tracking.registered_model_name(self.bank, usecase)
        with contextlib.redirect_stdout(sys.stderr):  # MLflow prints "Successfully registered..." (breaks --json)
            return mlflow.register_model(model_uri, name, tags={tracking.TAG_BANK: self.bank})

    def model_versions(self, usecase: str) -> list:
        self.require("models.read")
        name = tracking.registered_model_name(self.bank, usecase)
        return list(self.client().search_model_versions(f"name = '{name}'"))

    def model_uri(self, usecase: str, version: str | int | None = None) -> str:
        """URI of this bank's registered model; another bank's name is never produced here."""
        self.require("models.load")
        versions = self.model_versions(usecase)
        if not versions:
            raise NotFound(f"bank {self.bank} has no registered {usecase} model", f"train one: `sandbox {usecase} train {self.bank}`")
        if version is None:
            version = max(int(v.version) for v in versions)
        return f"models:/{tracking.registered_model_name(self.bank, usecase)}/{version}"

    # -- review ----------------------------------------------------------
    def sign_off(self, run_id: str, decision: str, comment: str = "") -> dict:
        """A reviewer approves a run or requests changes, always with a comment (what was checked, what to change):
        a `review.sign` entry in the bank's audit chain (the ledger, the only record believed), then MLflow tags
        mirroring it for the stock UI."""
        self.require("review.sign")
        if decision not in REVIEW_DECISIONS:
            raise InvalidInput("decision", f"{decision!r} is not a decision", f"use one of {', '.join(REVIEW_DECISIONS)}")
        if decision == "changes_requested" and not comment.strip():
            raise InvalidInput("comment", "a change request needs a comment", "say what the bank should change")
        run = self.get_run(run_id)  # a run of another bank's experiment is NotFound, whatever its tags say
        run_id = run.info.run_id
        held = self.read_ledger().review(run_id)
        before = held.state if held else ""
        if before and before != decision and not comment.strip():  # the record must say why a decision turned
            raise InvalidInput("comment", f"the run is already marked {before}; reversing that needs a comment",
                               "say what changed, e.g. --comment 'fairness breach fixed in run ...'")
        if not comment.strip():  # an approval is a judgement too: the record says on what evidence
            raise InvalidInput("comment", "every review decision needs a comment, an approval too",
                               "say what you checked, e.g. --comment 'Gini 0.52 and KS 0.44 out of time; model card complete'")
        at = datetime.now(timezone.utc).isoformat(timespec="seconds")
        self._record("review.sign", run_id=run_id, decision=decision, comment=comment[:4000], at=at)
        self.store.platform_audit().append("review.sign", self.actor.name, bank=self.bank, run_id=run_id, decision=decision)
        from mlflow.exceptions import MlflowException

        mirror = "written"
        try:
            c = self.client()
            with self._as_sync_account():
                for key, value in ((TAG_REVIEW_STATUS, decision), (TAG_REVIEW_BY, self.actor.name),
                                   (TAG_REVIEW_COMMENT, comment[:4000]), (TAG_REVIEW_AT, at)):
                    c.set_tag(run_id, key, value)
        except MlflowException as err:  # the decision stands (it is in the ledger); the stock UI lags behind
            logging.getLogger(__name__).warning("review of run %s recorded, but its MLflow mirror failed: %s", run_id, err)
            mirror = "failed"
        return {"run_id": run_id, "status": decision, "by": self.actor.name, "comment": comment, "at": at,
                "mirror": mirror}


class _BackgroundWriter:
    """One long-lived thread that writes compute metrics after their run ended; flush() waits for it."""

    def __init__(self) -> None:
        self._queue: queue.Queue = queue.Queue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def submit(self, client, run_id: str, metrics: list) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._work, name="sandbox-compute-metrics", daemon=True)
                self._thread.start()
                atexit.register(self.flush)
        self._queue.put((client, run_id, metrics))

    def _work(self) -> None:
        import logging

        while True:
            client, run_id, metrics = self._queue.get()
            try:
                client.log_batch(run_id, metrics=metrics, synchronous=True)
            except Exception as exc:  # noqa: BLE001 - the ledger holds the figures; say so and go on
                logging.getLogger(__name__).warning("could not log compute metrics to run %s: %s", run_id, exc)
            finally:
                self._queue.task_done()

    def flush(self) -> None:
        self._queue.join()


_COMPUTE_WRITER = _BackgroundWriter()


def flush_tracking() -> None:
    """Wait until every finished run's compute metrics are in MLflow."""
    _COMPUTE_WRITER.flush()


def open_workspace(bank: str, actor: Actor, store: Store | None = None) -> WorkspaceContext:
    """The door to a bank. Refuses actors with no business in it (audited)."""
    store = store or Store()
    validate_bank_id(bank)
    store.require_bank(bank)
    allowed = actor.role in ("reviewer", "admin") or (actor.role == "scientist" and actor.bank == bank)
    if not allowed:
        store.platform_audit().append("access.denied", actor.name, action="workspace.open", bank=bank,
                                      role=actor.role, reason="not a member of this bank")
        raise AccessDenied(f"{actor.name} has no access to bank {bank}", "use your own bank's workspace")
    return WorkspaceContext(store, bank, actor)
