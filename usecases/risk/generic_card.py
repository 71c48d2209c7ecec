"""The model card of a run on a bank's imported data: its schema, the holdout, both models, the recommendation
(the scorecard when the GBM does not beat it), stability by period or why there is none, fairness or why there is none."""

from __future__ import annotations

from typing import Any

import pandas as pd

from . import dataset_schema as ds
from .card import _METRICS, _fmt


def render(
    *,
    bank: str,
    run_id: str,
    data: dict,
    split: dict,
    metrics: dict,
    scorecard: pd.DataFrame,
    psi: dict,
    fairness: dict,
    cutoffs: dict,
    params: dict,
    recommendation: dict,
    schema: ds.DatasetSchema,
) -> str:
    lines = [
        f"# Credit risk model card: {bank}",
        "",
        f"Run `{run_id}`. The bank's own imported data "
        f"(file `{data.get('file')}`); figures describe this portfolio only.",
        "",
        "## Recommendation",
        "",
        f"**{recommendation['model']}**: {recommendation['why']}.",
        "",
        "## Data",
        "",
        f"- {data['rows']:,} applicants, default rate {data['default_rate']:.2%} (target `{schema.target}`, "
        f"default/bad = `{schema.positive}`); data hash `{data['data_hash'][:16]}`.",
        f"- Holdout: {split['holdout']}. Split: train {split['train']:,}, calibration {split['calibration']:,}, "
        f"in-time test {split['test']:,}, out-of-time {split['oot']:,}; seed {split['seed']}.",
        "- Protected attributes (fairness only, never model inputs): "
        + (", ".join(f"`{c}`" for c in schema.protected) if schema.protected else "none in the data")
        + ".",
    ]
    lines += [f"- Import warnings: {w}" for w in data.get("warnings", [])]
    lines += ["", "| feature | type | special values | monotone direction |", "|---|---|---|---|"]
    arrow = {1: "ascending (risk rises)", -1: "descending (risk falls)", 0: "none"}
    for f in schema.features:
        sp = ", ".join(f"{k} = {v}" for k, v in f.special.items()) or "-"
        lines.append(
            f"| {f.name} | {f.type} | {sp} | {arrow[f.direction] + ' (' + f.direction_source + ')' if f.type == 'numeric' else '-'} |"
        )
    lines += [
        "",
        "## Models",
        "",
        "- **scorecard**: OptBinning BinningProcess + Scorecard (logistic regression on WoE); special values and "
        "missing values in bins of their own; numeric bins monotone in the feature's direction; "
        f"{params['pdo']:g} points to double the odds.",
        "- **xgboost**: gradient-boosted trees with monotone constraints from the same directions, early-stopped "
        "and Platt-calibrated on the calibration split; special values given as missing.",
        f"- Cut-off: decline when PD > {cutoffs['xgboost']:.4f} (xgboost) or score < {cutoffs['scorecard_score']:.1f} "
        f"(scorecard), for an approval rate of {cutoffs['approval_rate']:.0%} on the calibration split.",
        "",
        "## Metrics (holdout)",
        "",
        "| metric | " + " | ".join(metrics) + " |",
        "|---|" + "---|" * len(metrics),
    ]
    for m in _METRICS:
        if any(m in metrics[k] for k in metrics):
            lines.append(f"| {m} | " + " | ".join(_fmt(metrics[k].get(m, "")) for k in metrics) + " |")
    lines += ["", "## Stability", "", psi["note"] + ".", ""]
    if schema.time:
        lines += ["| variable | PSI (latest period) | level |", "|---|---|---|"]
        lines += [
            f"| {n} | {v:.4f} | {psi['levels'][n]} |" for n, v in sorted(psi["oot"].items(), key=lambda kv: -kv[1])
        ]
        lines += ["", "PSI flags (>= 0.10): " + (", ".join(psi["flags"]) or "none"), ""]
    lines += ["## Fairness", ""]
    lines += _fairness_lines(fairness)
    lines += ["## Scorecard", "", "| variable | bin | points | count | event rate |", "|---|---|---|---|---|"]
    lines += [
        f"| {r.variable} | {r.bin} | {r.points:.2f} | {r.count} | {r.event_rate:.4f} |"
        for r in scorecard.itertuples(index=False)
    ]
    lines += [
        "",
        "## Limits",
        "",
        "- One portfolio and one split: Gini differences below about 0.02 are within the "
        "noise of a holdout of this size; read the recommendation with that in mind.",
        "",
    ]
    return "\n".join(lines)


def _fairness_lines(fairness: dict[str, Any]) -> list[str]:
    first = next(iter(fairness.values()))
    if not first["attributes"]:
        return [f"Not assessed: {first.get('note', 'no protected attribute in the data')}.", ""]
    lines = []
    for model, rep in fairness.items():
        lines += [
            f"### {model}",
            "",
            "| attribute | demographic parity difference | equalized odds difference | FPR ratio | flags | watch |",
            "|---|---|---|---|---|---|",
        ]
        for a in rep["attributes"]:
            lines.append(
                f"| {a['attribute']} | {a['demographic_parity_difference']:.4f} | "
                f"{a['equalized_odds_difference']:.4f} | {a['fpr_ratio']:.4f} | "
                f"{', '.join(a['flags']) or 'none'} | {', '.join(a['watch']) or 'none'} |"
            )
        lines += [
            "",
            f"**Fairness flags: {'; '.join(f['attribute'] + '.' + f['metric'] for f in rep['flags']) or 'none'}**",
            "",
        ]
    return lines
