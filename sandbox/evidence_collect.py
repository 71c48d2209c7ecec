"""What goes into an evidence pack: the model version, its run's evidence, its ledger history, its audit entries.

Only evidence a reviewer may read is collected (the run's reports, plots and model card, through the workspace
door), and of that only a fixed list per use case: reports that hold aggregates, never row-level output, no
`model/` files, no data sets, no document text (the chat evaluation's per-question rows are left out). The
audit entries are the ones that make the version's history (its run, its training, its lifecycle and reviews),
not its use (scoring, explanations), so that a pack of the same version built later says the same thing
unless the version's history itself moved.

Everything here is a pure read: it builds bytes, writes nothing.
"""

from __future__ import annotations

import csv
import io
import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

from . import ledger as _ledger
from . import tracking
from .errors import InvalidInput, NotFound

REPORTS: dict[str, tuple[str, ...]] = {
    "fraud": (
        "metrics",
        "folds",
        "recall_per_scenario",
        "alert_budget",
        "feature_importance",
        "calibration",
        "pr_curve",
    ),
    "risk": ("metrics", "fairness", "psi", "monotonicity", "calibration", "scorecard", "roc"),
    "chat": ("eval",),
}
HISTORY_EVENTS = (".run.start", ".run", ".run.failed", ".train", ".eval")  # suffixes of a run's own history
LIFECYCLE_EVENTS = ("models.candidate", "models.submit", "models.review")
CHAMPION_EVENTS = ("models.promote", "models.rollback")
VOLATILE_METRICS = ("compute_wall_seconds", "compute_cpu_seconds")  # written after the run by a background writer


@dataclass(frozen=True)
class Subject:
    """The model a pack is about: a use case's version (fraud, risk) or an evaluation run (chat)."""

    bank: str
    usecase: str
    run_id: str
    version: str | None
    model: Any  # lifecycle.ModelVersion, or None (chat; a run without a registered version)

    @property
    def stage(self) -> str:
        return self.model.stage if self.model is not None else "evaluation"


def resolve(ctx, usecase: str, version: str | None = None, run_id: str | None = None) -> Subject:
    """The version to pack: the champion by default, a numbered version, or the version of a run (`run_id`).
    Chat with no champion yet: its latest finished evaluation run."""
    from . import lifecycle

    tracking.check_usecase(usecase)
    ctx.require("evidence.build")
    if version is not None and run_id is not None:
        raise InvalidInput("--version", "give a version or a run, not both", "drop --run to pack a version")
    if usecase == "chat" and version is None and run_id is None and lifecycle.champion(ctx, usecase) is None:
        return Subject(ctx.bank, usecase, latest_eval(ctx, usecase), None, None)  # no chat champion yet
    if run_id is None:
        mv = lifecycle.resolve(ctx, usecase, version)
        return Subject(ctx.bank, usecase, mv.run_id, mv.version, mv)
    run = ctx.get_run(run_id)
    owner = tracking.experiment_owner(ctx.client(), run.info.experiment_id)
    if owner is None or owner[1] != usecase:
        raise NotFound(
            f"run {run_id} is not a {usecase} run of {ctx.bank}",
            f"list them: `sandbox runs list {ctx.bank} --usecase {usecase}`",
        )
    mv = next((v for v in lifecycle.versions(ctx, usecase) if v.run_id == run.info.run_id), None)
    return Subject(ctx.bank, usecase, run.info.run_id, mv.version if mv else None, mv)


def latest_eval(ctx, usecase: str) -> str:
    for run in ctx.runs(usecase, max_results=50):
        if run.info.status == "FINISHED" and run.data.metrics:
            return run.info.run_id
    raise NotFound(
        f"bank {ctx.bank} has no finished {usecase} evaluation", f"run one: `sandbox {usecase} eval {ctx.bank}`"
    )


def jdump(obj: Any) -> bytes:
    """Canonical JSON bytes (sorted keys, fixed indent): the same object always gives the same bytes."""
    return (json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False, default=str) + "\n").encode("utf-8")


def run_record(ctx, subject: Subject) -> dict:
    """run.json: what the run was, from MLflow, with who ran it from the ledger (tags are claims)."""
    run = ctx.get_run(subject.run_id)
    tags = run.data.tags
    record = ctx.read_ledger().run(subject.run_id)
    try:
        versions = json.loads(tags.get(tracking.TAG_VERSIONS) or "{}")
    except ValueError:
        versions = {}
    return {
        "bank": subject.bank,
        "usecase": subject.usecase,
        "run_id": subject.run_id,
        "run_name": run.info.run_name,
        "status": run.info.status,
        "start_time": run.info.start_time,
        "end_time": run.info.end_time,
        "trained_by": record.actor if record else None,
        "recorded": record is not None,
        "params": dict(sorted(run.data.params.items())),
        "metrics": {k: v for k, v in sorted(run.data.metrics.items()) if k not in VOLATILE_METRICS},
        "seed": tags.get(tracking.TAG_SEED, ""),
        "data_hash": tags.get(tracking.TAG_DATA_HASH, ""),
        "code_commit": tags.get(tracking.TAG_GIT, ""),
        "library_versions": versions if isinstance(versions, dict) else {},
        "device": tags.get(tracking.TAG_DEVICE, ""),
    }


def artifacts(ctx, subject: Subject) -> dict[str, bytes]:
    """The run's model card, whitelisted reports and plots, by their path in the run (= in the pack)."""
    wanted = {f"reports/{n}.json" for n in REPORTS[subject.usecase]} | {"model_card.md"}
    paths = [
        path
        for path in ctx.list_artifacts(subject.run_id)
        if path in wanted
        or (PurePosixPath(path).parts[0] == "plots" and len(PurePosixPath(path).parts) == 2 and path.endswith(".png"))
    ]
    # One download through the door per folder ("reports/", "plots/", both evidence a reviewer may read) and
    # per top-level file: MLflow looks the run up again for every download (~0.2 s), so a risk run's twelve
    # files cost three lookups, not twelve. The folders' other files are left out of the pack.
    fetches = sorted({path.split("/", 1)[0] + "/" if "/" in path else path for path in paths})
    with ThreadPoolExecutor(max_workers=3) as pool:
        local = dict(zip(fetches, pool.map(lambda f: ctx.artifact_local_path(subject.run_id, f), fetches)))
    out = {}
    for path in paths:
        folder, _, name = path.rpartition("/")
        out[path] = (local[folder + "/"] / name if folder else local[path]).read_bytes()
    return out


def review_history(ctx, subject: Subject) -> list[dict]:
    """The run's sign-offs and every lifecycle transition of the version (`lifecycle.history`), in the log's
    order: {"event", "state", "by", "ts", "seq", "data"} (gate results are in gates.json, not repeated here)."""
    from . import lifecycle

    rows = [
        {
            "event": _ledger.REVIEW.event,
            "state": st.state,
            "by": st.by,
            "ts": st.ts,
            "seq": st.seq,
            "data": dict(st.data),
        }
        for st in ctx.read_ledger().history(_ledger.REVIEW.kind, subject.run_id)
    ]
    if subject.version is not None:
        rows += lifecycle.history(ctx, subject.usecase, subject.version)
    return [
        {**r, "data": {k: v for k, v in r["data"].items() if k != "gates"}}
        for r in sorted(rows, key=lambda r: r["seq"])
    ]


def _relevant(entry: dict, subject: Subject) -> bool:
    event, data = str(entry.get("event", "")), entry.get("data") or {}
    if not isinstance(data, dict):
        return False
    if data.get("run_id") == subject.run_id:
        return event == "review.sign" or event.startswith(subject.usecase + ".") and event.endswith(HISTORY_EVENTS)
    if subject.version is None:
        return False
    if event in LIFECYCLE_EVENTS:
        return data.get("subject") == f"{subject.usecase}:{subject.version}"
    if event in CHAMPION_EVENTS:
        return data.get("usecase") == subject.usecase and subject.version in (
            str(data.get("version", "")),
            str(data.get("previous", "")),
            str(data.get("replaced", "")),
        )
    return False


def audit_entries(ctx, subject: Subject) -> list[dict]:
    """The bank's audit entries that make this version's history, as written (hashes and MACs included)."""
    return [e for e in ctx.audit_entries() if _relevant(e, subject)]


def gates_record(subject: Subject) -> dict:
    mv = subject.model
    if mv is None:
        return {
            "recorded": False,
            "why": "no model version with gate results (chat evaluations and unregistered runs)",
            "gates": [],
        }
    return {
        "recorded": True,
        "version": mv.version,
        "stage": mv.stage,
        "gates_passed": mv.gates_passed,
        "gates": [g.to_dict() for g in mv.gates],
    }


def _csv(columns: list[str], rows: list[list[Any]]) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(columns)
    w.writerows([["" if v is None else repr(v) if isinstance(v, float) else v for v in r] for r in rows])
    return buf.getvalue().encode("utf-8")


def fairness_table(report: dict) -> tuple[list[str], list[list[Any]]]:
    """One row per model, attribute and group: rates, and the attribute's gaps and flags."""
    cols = [
        "model",
        "attribute",
        "group",
        "count",
        "approval_rate",
        "false_positive_rate",
        "true_positive_rate",
        "demographic_parity_difference",
        "equalized_odds_difference",
        "fpr_ratio",
        "flags",
    ]
    rows = []
    for model in sorted(k for k, v in report.items() if isinstance(v, dict) and "attributes" in v):
        for a in report[model]["attributes"]:
            for g in a.get("groups", []):
                rows.append(
                    [
                        model,
                        a["attribute"],
                        g.get("group"),
                        g.get("count"),
                        g.get("approval_rate"),
                        g.get("false_positive_rate"),
                        g.get("true_positive_rate"),
                        a.get("demographic_parity_difference"),
                        a.get("equalized_odds_difference"),
                        a.get("fpr_ratio"),
                        ";".join(a.get("flags") or []),
                    ]
                )
    return cols, rows


def stability_table(psi: dict) -> tuple[list[str], list[list[Any]]]:
    """One row per feature and per model score: PSI by vintage against the training sample, and the flag."""
    vintages = [str(v) for v in psi.get("vintages", [])]
    flags = set(psi.get("flags", [])) | {f"score:{s}" for s in psi.get("score_flags", [])}
    rows = []
    for kind, key in (("feature", "features"), ("score", "score")):
        for name, values in sorted((psi.get(key) or {}).items()):
            tag = name if kind == "feature" else f"score:{name}"
            rows.append([kind, name, *values, "yes" if tag in flags or name in flags else ""])
    return ["kind", "name", *vintages, "flagged"], rows


def tables(files: dict[str, bytes]) -> dict[str, bytes]:
    """tables/fairness.csv and tables/stability.csv from the risk reports (other use cases have none)."""
    out = {}
    if "reports/fairness.json" in files:
        out["tables/fairness.csv"] = _csv(*fairness_table(json.loads(files["reports/fairness.json"])))
    if "reports/psi.json" in files:
        out["tables/stability.csv"] = _csv(*stability_table(json.loads(files["reports/psi.json"])))
    return out
