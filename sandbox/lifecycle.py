"""A model version's life under supervision: candidate -> submitted -> approved (or changes requested) -> champion.

The sandbox's ledger (the bank's hash-chained audit log, `sandbox/ledger.py`) is the truth. Every transition
is one audit entry of a registered kind, appended by the workspace context after its access check:

    models.candidate  training registered a version; its gate results are recorded with it (subject usecase:version)
    models.submit     a bank scientist asks for review (subject usecase:version)
    models.review     an HKMA reviewer approves or requests changes, always with a comment (subject usecase:version)
    models.promote    an approved version that passed its gates becomes the champion (subject usecase);
                      the champion it replaces becomes `previous`
    models.rollback   the previous champion is restored (one step)
    models.gates      a bank (tighten only) or the admin sets gate thresholds (subject usecase; sandbox/gates.py)

MLflow's registry aliases `champion` / `previous` and the version tag `sandbox.stage` only mirror it for the
stock MLflow UI: written best-effort after the ledger entry, never read back as truth; `mirror()` compares them
with the ledger and says "consistent", "absent" or "tampered".

Scoring (`fraud score`, `risk explain`) uses `champion()`; with none it says which command makes one. A chat
version is an evaluated answering configuration (backend, model, retrieval); `chat ask` answers with the
champion's (usecases/chat/versions.py).
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from . import atomic, tracking
from . import ledger as _ledger
from .errors import InvalidInput, NotFound, SandboxError
from .gates import (
    FAIRNESS_METRIC,
    LIFECYCLE_USECASES,
    GateResult,
    check_usecase,
    evaluate,
    gates_for,
    validate_settings,
)

__all__ = [
    "ModelVersion",
    "GateResult",
    "versions",
    "champion",
    "resolve",
    "history",
    "record_candidate",
    "submit",
    "review",
    "promote",
    "rollback",
    "set_gates",
    "current_gates",
    "mirror",
    "LIFECYCLE_USECASES",
    "STAGES",
]

CANDIDATE, SUBMITTED, APPROVED, CHANGES, CHAMPION, PREVIOUS = (
    "candidate",
    "submitted",
    "approved",
    "changes_requested",
    "champion",
    "previous",
)
STAGES = (CANDIDATE, SUBMITTED, APPROVED, CHANGES, CHAMPION, PREVIOUS)
DECISIONS = (APPROVED, CHANGES)
ALIASES = (CHAMPION, PREVIOUS)
TAG_STAGE = "sandbox.stage"

_MODEL_KEEP = ("usecase", "version", "run_id", "gates", "gates_passed", "comment", "explanation", "config", "at")
MODEL_KINDS = (
    _ledger.Kind("models.candidate", "model", "subject", "stage", keep=_MODEL_KEEP),
    _ledger.Kind("models.submit", "model", "subject", "stage", keep=_MODEL_KEEP),
    _ledger.Kind("models.review", "model", "subject", "stage", keep=_MODEL_KEEP),
)
CHAMPION_KINDS = (
    _ledger.Kind("models.promote", "champion", "usecase", "version", keep=("previous", "replaced", "comment", "at")),
    _ledger.Kind("models.rollback", "champion", "usecase", "version", keep=("previous", "replaced", "comment", "at")),
)
GATES_KIND = _ledger.Kind("models.gates", "gates", "usecase", "thresholds", keep=("at",))
for _k in (*MODEL_KINDS, *CHAMPION_KINDS, GATES_KIND):
    _ledger.register(_k)


class LifecycleRefused(SandboxError):
    """A transition the rules do not allow (promote unapproved, submit twice ...)."""

    exit_code = 8


@dataclass(frozen=True)
class ModelVersion:
    usecase: str
    version: str
    run_id: str
    stage: str  # candidate | submitted | approved | changes_requested | champion | previous
    gates: tuple[GateResult, ...]
    gates_passed: bool
    review: dict | None  # {"decision", "by", "comment", "at"} of the latest review, from the ledger
    created_at: str
    by: str = ""  # who trained it (the actor of the candidate entry)
    submitted_by: str = ""
    mirror: str = ""  # "", or consistent | absent | tampered once mirror() looked at MLflow
    mirror_claims: dict = field(default_factory=dict)
    config: dict = field(default_factory=dict)  # chat: the answering configuration (backend, model id, k), as recorded

    @property
    def is_champion(self) -> bool:
        return self.stage == CHAMPION

    def label(self) -> str:
        """How scoring output names the model: 'champion v3' or 'candidate v4 (not the champion)'."""
        return f"champion v{self.version}" if self.is_champion else f"{self.stage} v{self.version} (not the champion)"

    def to_dict(self) -> dict:
        d = asdict(self)
        d["gates"] = [g.to_dict() for g in self.gates]
        return d


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _subject(usecase: str, version: str) -> str:
    return f"{usecase}:{version}"


def _book(ctx) -> _ledger.Ledger:
    """The bank's ledger, without an access check of its own (each caller has required its action)."""
    return _ledger.read(ctx.audit_log.path)


def _check_version(version: Any) -> str:
    text = str(version).strip() if version is not None else ""
    if isinstance(version, bool) or not re.fullmatch(r"[1-9][0-9]{0,8}", text):
        raise InvalidInput(
            "version",
            f"{str(version)[:40]!r} is not a model version",
            "give a number listed by `sandbox models list BANK USECASE`",
        )
    return text


# -- reading ------------------------------------------------------------------
def _build(book: _ledger.Ledger, usecase: str, version: str) -> ModelVersion | None:
    hist = book.history("model", _subject(usecase, version))
    cand = next((s for s in hist if s.state == CANDIDATE and "run_id" in s.data), None)
    if cand is None:
        return None
    gates = tuple(GateResult(**g) for g in cand.data.get("gates") or [] if isinstance(g, dict))
    subs = [s for s in hist if s.state == SUBMITTED]
    explanation = str(subs[-1].data.get("explanation") or "") if subs else ""
    if explanation:  # fairness flags explained at submission: the gate passes, saying by whom and why
        gates = tuple(
            GateResult(
                g.name,
                g.metric,
                g.op,
                g.threshold,
                g.value,
                True,
                f"{g.why}; explained by {subs[-1].by}: {explanation}",
            )
            if g.metric == FAIRNESS_METRIC and not g.passed
            else g
            for g in gates
        )
    reviews = [s for s in hist if s.state in DECISIONS]
    review = (
        {
            "decision": reviews[-1].state,
            "by": reviews[-1].by,
            "comment": str(reviews[-1].data.get("comment", "")),
            "at": str(reviews[-1].data.get("at") or reviews[-1].ts),
        }
        if reviews
        else None
    )
    stage = hist[-1].state
    champ = book.state("champion", usecase)
    if champ is not None and champ.state == version:
        stage = CHAMPION
    elif champ is not None and str(champ.data.get("previous", "")) == version:
        stage = PREVIOUS
    return ModelVersion(
        usecase,
        version,
        str(cand.data["run_id"]),
        stage,
        gates,
        bool(gates) and all(g.passed for g in gates),
        review,
        str(cand.data.get("at") or cand.ts),
        by=cand.by,
        submitted_by=subs[-1].by if subs else "",
        config=dict(cand.data.get("config") or {}) if isinstance(cand.data.get("config"), dict) else {},
    )


def versions(ctx, usecase: str) -> list[ModelVersion]:
    """Every registered version of the bank's `usecase` model, oldest first, as the ledger holds them."""
    ctx.require("models.read")
    check_usecase(usecase)
    book = _book(ctx)
    prefix = f"{usecase}:"
    nums = sorted(
        int(s[len(prefix) :]) for s in book.subjects("model") if s.startswith(prefix) and s[len(prefix) :].isdigit()
    )
    return [mv for n in nums if (mv := _build(book, usecase, str(n))) is not None]


def champion(ctx, usecase: str) -> ModelVersion | None:
    """The bank's champion of `usecase` (the ledger's), or None."""
    ctx.require("models.read")
    check_usecase(usecase)
    book = _book(ctx)
    st = book.state("champion", usecase)
    return _build(book, usecase, st.state) if st is not None and st.state else None


def no_champion(ctx, usecase: str, any_version: bool = True) -> NotFound:
    """The one-line answer when scoring finds no champion: the command that makes one."""
    if not any_version:
        return NotFound(
            f"bank {ctx.bank} has no {usecase} model yet",
            f"train one (`sandbox {usecase} train {ctx.bank}`), submit it for review, then "
            f"`sandbox models promote {ctx.bank} {usecase} VERSION`",
        )
    return NotFound(
        f"bank {ctx.bank} has no {usecase} champion",
        f"promote an approved version: `sandbox models promote {ctx.bank} {usecase} VERSION` "
        f"(see `sandbox models list {ctx.bank} {usecase}`)",
    )


def resolve(ctx, usecase: str, version: str | int | None = None) -> ModelVersion:
    """The version to use: the champion (None), or the numbered one; a one-line error naming the fix otherwise."""
    check_usecase(usecase)
    if version is None:
        mv = champion(ctx, usecase)
        if mv is None:
            raise no_champion(ctx, usecase, any(s.startswith(f"{usecase}:") for s in _book(ctx).subjects("model")))
        return mv
    text = _check_version(version)
    ctx.require("models.read")
    mv = _build(_book(ctx), usecase, text)
    if mv is None:
        raise NotFound(
            f"bank {ctx.bank} has no {usecase} model version {text}",
            f"list them: `sandbox models list {ctx.bank} {usecase}`",
        )
    return mv


def history(ctx, usecase: str, version: str | int) -> list[dict]:
    """Every ledger transition of one version, oldest first: registered (with its gates), submitted, reviewed,
    promoted, rolled back; each {"event", "state", "by", "ts", "seq", "data"} (for evidence packs and the console)."""
    mv = resolve(ctx, usecase, version)
    book = _book(ctx)
    out = [
        {
            "event": f"models.{'candidate' if s.state == CANDIDATE else 'submit' if s.state == SUBMITTED else 'review'}",
            "state": s.state,
            "by": s.by,
            "ts": s.ts,
            "seq": s.seq,
            "data": dict(s.data),
        }
        for s in book.history("model", _subject(usecase, mv.version))
    ]
    for s in book.history("champion", usecase):
        replaced = str(s.data.get("replaced", ""))
        if mv.version in (s.state, replaced):
            # a promotion keeps the replaced champion as `previous`; a rollback leaves none
            event = "models.promote" if str(s.data.get("previous", "")) == replaced else "models.rollback"
            state = CHAMPION if s.state == mv.version else "replaced"
            out.append({"event": event, "state": state, "by": s.by, "ts": s.ts, "seq": s.seq, "data": dict(s.data)})
    return sorted(out, key=lambda e: e["seq"])


def current_gates(ctx, usecase: str):
    """The gates in force for this bank's `usecase` (sandbox defaults with the bank's settings)."""
    if not ctx.can("models.read"):
        ctx.require("models.gates")  # the admin sets gates without reading the bank's models
    check_usecase(usecase)
    return gates_for(_book(ctx), usecase)


# -- transitions (each: access check, rules, ledger entry, then the mirror) --------------------
def record_candidate(
    ctx,
    usecase: str,
    version: str | int,
    run_id: str,
    metrics: Mapping[str, Any],
    flags: tuple[str, ...] | list[str] = (),
    config: Mapping[str, Any] | None = None,
) -> ModelVersion:
    """Training registered `version` of the run: evaluate the bank's gates on the metrics the training just
    computed, and record the candidate with its gate results (and, for chat, the configuration it evaluated: the
    ledger's copy is what serving uses, never the run's artifact)."""
    ctx.require("runs.write")
    check_usecase(usecase)
    version = _check_version(version)
    results = evaluate(gates_for(_book(ctx), usecase), metrics, tuple(flags))
    passed = all(g.passed for g in results)
    ctx._record(
        "models.candidate",
        subject=_subject(usecase, version),
        stage=CANDIDATE,
        usecase=usecase,
        version=version,
        run_id=run_id,
        gates=[g.to_dict() for g in results],
        gates_passed=passed,
        **({"config": dict(config)} if config else {}),
        at=_now(),
    )
    _mirror_write(ctx, usecase, {version: CANDIDATE})
    return resolve(ctx, usecase, version)


@contextmanager
def _serialised(ctx, usecase: str) -> Iterator[None]:
    """One transition of a bank's use case at a time: each reads the ledger, decides, then appends, and two
    promotions interleaved that way would both name the same `previous` (first use is concurrent use)."""
    check_usecase(usecase)  # also keeps the lock's file name to a known word
    folder = ctx.store.state / "locks"
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(folder / f"lifecycle-{ctx.bank}-{usecase}.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        atomic.flock_with_timeout(
            fd,
            15.0,
            f"another model transition of {ctx.bank} {usecase} is in progress",
            "wait for it to finish and retry; nothing was changed",
        )
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def submit(ctx, usecase: str, version: str | int, comment: str = "", explanation: str = "") -> ModelVersion:
    """A bank scientist asks the reviewers to look at a candidate (or at one sent back for changes).
    `explanation` accounts for the run's fairness flags (shown to the reviewer beside them)."""
    with _serialised(ctx, usecase):
        return _submit_locked(ctx, usecase, version, comment, explanation)


def _submit_locked(ctx, usecase: str, version: str | int, comment: str = "", explanation: str = "") -> ModelVersion:
    """The transition itself, under `_serialised`."""
    ctx.require("models.submit")
    mv = resolve(ctx, usecase, version)
    if mv.stage not in (CANDIDATE, CHANGES):
        raise LifecycleRefused(
            f"{usecase} v{mv.version} is {mv.stage}; only a candidate or a version sent back "
            "for changes can be submitted",
            f"see `sandbox models show {ctx.bank} {usecase} {mv.version}`",
        )
    explanation = explanation.strip()[:2000]
    failing = [g for g in mv.gates if not g.passed and not (explanation and g.metric == FAIRNESS_METRIC)]
    if failing:
        raise LifecycleRefused(
            f"{usecase} v{mv.version} fails its gates ({'; '.join(g.why for g in failing)})",
            "train a better model; fairness flags can be explained with --explain",
        )
    ctx._record(
        "models.submit",
        subject=_subject(usecase, mv.version),
        stage=SUBMITTED,
        comment=comment.strip()[:4000],
        explanation=explanation,
        at=_now(),
    )
    _mirror_write(ctx, usecase, {mv.version: SUBMITTED})
    return resolve(ctx, usecase, mv.version)


def review(ctx, usecase: str, version: str | int, decision: str, comment: str) -> ModelVersion:
    """An HKMA reviewer approves a submitted version or requests changes, with a comment either way (the same
    rules as `WorkspaceContext.sign_off`, which also records the decision on the version's run)."""
    with _serialised(ctx, usecase):
        return _review_locked(ctx, usecase, version, decision, comment)


def _review_locked(ctx, usecase: str, version: str | int, decision: str, comment: str) -> ModelVersion:
    """The transition itself, under `_serialised`."""
    ctx.require("review.sign")
    if decision not in DECISIONS:
        raise InvalidInput("decision", f"{decision!r} is not a decision", f"use one of {', '.join(DECISIONS)}")
    if not comment or not comment.strip():
        raise InvalidInput(
            "comment",
            "every review decision needs a comment, an approval too",
            "say what you checked, e.g. --comment 'AP 0.41 on the held-out window; model card complete'",
        )
    mv = resolve(ctx, usecase, version)
    if mv.stage != SUBMITTED:
        raise LifecycleRefused(
            f"{usecase} v{mv.version} is {mv.stage}, not submitted for review",
            f"review a submitted version: `sandbox models list {ctx.bank} {usecase}`",
        )
    ctx._record(
        "models.review",
        subject=_subject(usecase, mv.version),
        stage=decision,
        comment=comment.strip()[:4000],
        at=_now(),
    )
    ctx.sign_off(mv.run_id, decision, comment.strip())  # the run's review (and its MLflow mirror) says the same
    _mirror_write(ctx, usecase, {mv.version: decision})
    return resolve(ctx, usecase, mv.version)


def promote(ctx, usecase: str, version: str | int, comment: str = "") -> ModelVersion:
    """Make an approved version that passed its gates the champion; the champion it replaces becomes `previous`."""
    with _serialised(ctx, usecase):
        return _promote_locked(ctx, usecase, version, comment)


def _promote_locked(ctx, usecase: str, version: str | int, comment: str = "") -> ModelVersion:
    """The transition itself, under `_serialised`."""
    ctx.require("models.promote")
    mv = resolve(ctx, usecase, version)
    if mv.stage == CHAMPION:
        raise LifecycleRefused(f"{usecase} v{mv.version} is already the champion", "nothing to do")
    if not mv.gates_passed:
        failing = "; ".join(g.why for g in mv.gates if not g.passed) or "no gate results recorded"
        raise LifecycleRefused(f"{usecase} v{mv.version} fails its gates ({failing})", "train a better candidate")
    review_state = mv.review["decision"] if mv.review else ""
    if mv.stage not in (APPROVED, PREVIOUS) or review_state != APPROVED:
        raise LifecycleRefused(
            f"{usecase} v{mv.version} is {mv.stage}, not approved by a reviewer",
            f"submit it (`sandbox models submit {ctx.bank} {usecase} {mv.version}`) and wait for approval",
        )
    held = _book(ctx).state("champion", usecase)
    prev = held.state if held is not None else ""
    retired = str(held.data.get("previous", "")) if held is not None else ""  # was `previous`, now just approved
    ctx._record(
        "models.promote",
        usecase=usecase,
        version=mv.version,
        previous=prev,
        replaced=prev,
        comment=comment.strip()[:4000],
        at=_now(),
    )
    stages = {**({retired: APPROVED} if retired else {}), **({prev: PREVIOUS} if prev else {}), mv.version: CHAMPION}
    _mirror_write(ctx, usecase, stages, {CHAMPION: mv.version, PREVIOUS: prev or None})
    return resolve(ctx, usecase, mv.version)


def rollback(ctx, usecase: str, comment: str = "") -> ModelVersion:
    """Restore the previous champion (one step); the rolled-back version keeps its approval but is no longer live."""
    with _serialised(ctx, usecase):
        return _rollback_locked(ctx, usecase, comment)


def _rollback_locked(ctx, usecase: str, comment: str = "") -> ModelVersion:
    """The transition itself, under `_serialised`."""
    ctx.require("models.promote")
    check_usecase(usecase)
    st = _book(ctx).state("champion", usecase)
    prev = str(st.data.get("previous", "")) if st is not None else ""
    if not prev:
        raise LifecycleRefused(
            f"bank {ctx.bank} has no previous {usecase} champion to roll back to",
            f"promote an approved version instead: `sandbox models promote {ctx.bank} {usecase} VERSION`",
        )
    ctx._record(
        "models.rollback",
        usecase=usecase,
        version=prev,
        previous="",
        replaced=st.state,
        comment=comment.strip()[:4000],
        at=_now(),
    )
    _mirror_write(ctx, usecase, {prev: CHAMPION, st.state: APPROVED}, {CHAMPION: prev, PREVIOUS: None})
    return resolve(ctx, usecase, prev)


def set_gates(ctx, usecase: str, thresholds: Mapping[str, Any]) -> dict[str, float]:
    """Set this bank's gate thresholds: a scientist of the bank may tighten them, the admin may also loosen them.
    Applies to versions registered from now on (recorded gate results are never re-evaluated)."""
    ctx.require("models.gates")
    new = validate_settings(
        usecase, thresholds, gates_for(_book(ctx), usecase), may_loosen=ctx.can("models.gates.loosen")
    )
    ctx._record("models.gates", usecase=usecase, thresholds=json.dumps(new, sort_keys=True), at=_now())
    return new


# -- the MLflow mirror ------------------------------------------------------------------------
def _sync_account(ctx):
    """Server mode: the mirror is written by the sync account (reviewers hold READ on MLflow), after the sandbox's
    own check; local mode: a no-op. (Where that identity lives moved in issue 12; either place works.)"""
    legacy = getattr(ctx, "_as_sync_account", None)
    if legacy is not None:
        return legacy()
    from .mlflow_identity import IDENTITY

    return IDENTITY.sync_account(ctx.store)


def _mirror_write(
    ctx, usecase: str, stages: Mapping[str, str], aliases: Mapping[str, str | None] | None = None
) -> bool:
    """Best-effort: tag versions with their stage and move the aliases. The ledger entry already stands."""
    try:
        from mlflow.exceptions import MlflowException
    except ImportError:  # pragma: no cover - mlflow is a core dependency
        return False
    name = tracking.registered_model_name(ctx.bank, usecase)
    try:
        client = ctx.client()
        with _sync_account(ctx):
            for version, stage in stages.items():
                client.set_model_version_tag(name, version, TAG_STAGE, stage)
            for alias, version in (aliases or {}).items():
                if version:
                    client.set_registered_model_alias(name, alias, version)
                else:
                    try:
                        client.delete_registered_model_alias(name, alias)
                    except MlflowException:
                        pass  # it was not set
    except MlflowException as err:
        logging.getLogger(__name__).warning(
            "%s lifecycle recorded in the ledger, but its MLflow mirror failed: %s", usecase, err
        )
        return False
    return True


def mirror(ctx, usecase: str, listed: list[ModelVersion] | None = None) -> dict:
    """The ledger's versions beside what MLflow's aliases and version tags claim.

    Returns {"aliases": {alias: {"ledger", "mirror", "status"}}, "versions": [ModelVersion with mirror set],
    "status": worst of all}. A claim the ledger does not hold is "tampered" (shown, never believed)."""
    ctx.require("models.read")
    listed = versions(ctx, usecase) if listed is None else listed
    name = tracking.registered_model_name(ctx.bank, usecase)
    try:
        client = ctx.client()
        from mlflow.exceptions import MlflowException

        try:
            alias_map = {str(k): str(v) for k, v in (client.get_registered_model(name).aliases or {}).items()}
            tags = {str(v.version): dict(v.tags or {}) for v in client.search_model_versions(f"name = '{name}'")}
        except MlflowException:
            alias_map, tags = {}, {}
    except ImportError:  # pragma: no cover
        alias_map, tags = {}, {}
    champ = next((v.version for v in listed if v.stage == CHAMPION), "")
    prev = next((v.version for v in listed if v.stage == PREVIOUS), "")
    aliases = {}
    for alias, held in ((CHAMPION, champ), (PREVIOUS, prev)):
        claim = alias_map.get(alias, "")
        status = (
            _ledger.MIRROR_ABSENT
            if not claim and not held
            else _ledger.MIRROR_CONSISTENT
            if claim == held
            else _ledger.MIRROR_ABSENT
            if not claim
            else _ledger.MIRROR_TAMPERED
        )
        aliases[alias] = {"ledger": held, "mirror": claim, "status": status}
    out = []
    for mv in listed:
        claim = tags.get(mv.version, {}).get(TAG_STAGE, "")
        claims = {}
        if claim and claim != mv.stage:
            claims["tag"] = claim
        for alias, info in aliases.items():
            if info["mirror"] == mv.version and info["ledger"] != mv.version:
                claims[f"alias_{alias}"] = mv.version
        status = _ledger.MIRROR_TAMPERED if claims else _ledger.MIRROR_CONSISTENT if claim else _ledger.MIRROR_ABSENT
        out.append(
            ModelVersion(
                **{**{f: getattr(mv, f) for f in mv.__dataclass_fields__}, "mirror": status, "mirror_claims": claims}
            )
        )
    statuses = [a["status"] for a in aliases.values()] + [v.mirror for v in out]
    worst = (
        _ledger.MIRROR_TAMPERED
        if _ledger.MIRROR_TAMPERED in statuses
        else _ledger.MIRROR_CONSISTENT
        if _ledger.MIRROR_CONSISTENT in statuses
        else _ledger.MIRROR_ABSENT
    )
    return {"aliases": aliases, "versions": out, "status": worst}
