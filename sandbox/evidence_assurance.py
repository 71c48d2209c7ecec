"""AI-vs-AI assurance in an evidence pack: the latest adversarial fraud campaign against the packed version, and
the latest red team of the bank's assistant (issue 16), as aggregates only.

Each is its own MLflow run in the use case's experiment, tagged `sandbox.assure`; what a pack takes from its
report is a whitelist of aggregate fields: the rounds' detection and HKD figures, the campaigns found in plain
words, attack success rates by category, language and obfuscation, leak counts, targets and the taxonomy. Never
the red team's worst examples (they quote document text) nor any transaction or customer row.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from mlflow.exceptions import MlflowException

from .errors import SandboxError

TAG = "sandbox.assure"


@dataclass(frozen=True)
class Kind:
    tag: str  # the run's sandbox.assure tag
    artifact: str  # the report in the run
    name: str  # the file in the pack
    keep: tuple[str, ...]  # aggregate fields copied into the pack
    per_version: bool  # only a campaign against the packed version counts


KINDS: dict[str, Kind] = {
    "fraud": Kind(
        "fraud-attack",
        "reports/fraud_attack.json",
        "assurance/fraud_attack.json",
        (
            "run_id",
            "model_version",
            "budget",
            "rounds",
            "seed",
            "observe",
            "searched",
            "not_searched",
            "arms_race",
            "found",
            "targets",
        ),
        per_version=True,
    ),
    "chat": Kind(
        "chat-redteam",
        "reports/redteam.json",
        "assurance/redteam.json",
        (
            "run_id",
            "attacks",
            "seed",
            "backends",
            "overall",
            "by_category",
            "by_language",
            "by_obfuscation",
            "canary_leaks",
            "pii_leaks",
            "decoy_control",
            "targets",
            "taxonomy",
        ),
        per_version=False,
    ),
}


def latest(ctx, usecase: str, version: str | None) -> tuple[str, dict] | None:
    """(pack file name, aggregates) of the newest finished assurance run for this use case (and version), or None."""
    kind = KINDS.get(usecase)
    if kind is None:
        return None
    try:
        runs = ctx.runs(
            usecase, filter_string=f"tags.`{TAG}` = '{kind.tag}' and attributes.status = 'FINISHED'", max_results=20
        )
    except MlflowException:
        return None
    for run in runs:
        try:
            report = json.loads(ctx.read_artifact_text(run.info.run_id, kind.artifact))
        except (SandboxError, OSError, ValueError, MlflowException):
            continue
        if not isinstance(report, dict):
            continue
        if kind.per_version and str(report.get("model_version")) != str(version):
            continue
        return kind.name, {k: report[k] for k in kind.keep if k in report}
    return None


def rows(name: str, data: dict[str, Any]) -> tuple[tuple[str, tuple[str, ...], tuple[tuple, ...]], ...]:
    """(heading, columns, rows) tables of the report's assurance section."""
    if name.endswith("fraud_attack.json"):
        race = tuple(
            (
                r.get("round"),
                r.get("queries"),
                r.get("evasion_rate"),
                r.get("hkd_undetected"),
                r.get("model_recall"),
                r.get("campaign_recall"),
                r.get("defended_campaign_recall"),
            )
            for r in data.get("arms_race", [])
        )
        found = tuple(
            (i, f.get("words", ""), f.get("recall_replayed"), f.get("recall_after_defence"))
            for i, rnd in enumerate(data.get("found", []), start=1)
            for f in rnd
        )
        return (
            (
                "Adversarial fraud campaigns: rounds",
                (
                    "round",
                    "queries",
                    "evasion rate",
                    "HKD undetected",
                    "model recall",
                    "campaign recall",
                    "after defence",
                ),
                race,
            ),
            ("Campaigns found, in words", ("round", "campaign", "recall", "recall after defence"), found),
        )
    overall = tuple(
        (b, m.get("attacks"), m.get("successes"), m.get("attack_success_rate", m.get("rate")))
        for b, m in data.get("overall", {}).items()
    )
    cats = tuple(
        (b, c, v if not isinstance(v, dict) else v.get("rate"))
        for b, by in data.get("by_category", {}).items()
        for c, v in by.items()
    )
    return (
        ("Red team of the assistant", ("backend", "attacks", "successes", "success rate"), overall),
        ("Success rate by category", ("backend", "category", "rate"), cats),
        ("Leaks", ("cross-bank canary leaks", "PII leaks"), ((data.get("canary_leaks"), data.get("pii_leaks")),)),
    )
