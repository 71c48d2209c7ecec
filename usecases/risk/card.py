"""The model card (markdown) of a training run, on simulated applicants or on a bank's imported data: data, models,
metrics, stability, fairness flags, the scorecard table and limits. One template: the sections both runs share are
written once; an imported run adds its recommendation (the scorecard when the GBM does not beat it) and schema, and
says why stability or fairness could not be measured where its data lacks a time column or a protected attribute."""

from __future__ import annotations

from typing import Any

import pandas as pd

_METRICS = ("auc", "gini", "ks", "brier", "calibration_error", "gini_in_time", "oot_gini_drop", "approval_rate")
_ARROW = {1: "ascending (risk rises)", -1: "descending (risk falls)", 0: "none"}


def _fmt(v: Any) -> str:
    return f"{v:.4f}" if isinstance(v, float) else str(v)


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
    recommendation: dict | None = None,
    schema: Any = None,
) -> str:
    """The card; with `schema` (a `dataset_schema.DatasetSchema`) and `recommendation`, a run on imported data."""
    lines = [f"# Credit risk model card: {bank}", ""]
    if schema is None:
        lines += [f"Run `{run_id}`. Synthetic applicants (no real customer data).", ""]
        lines += _simulated_data(data, split) + _simulated_models(params, cutoffs)
        lines += _metric_lines("out-of-time vintage unless named", metrics, every=True)
        lines += ["## Stability (PSI of the latest vintage vs the development sample)", ""] + _psi_lines(psi, "PSI")
        lines += _simulated_fairness(fairness)
    else:
        lines += [
            f"Run `{run_id}`. The bank's own imported data (file `{data.get('file')}`); figures describe this "
            "portfolio only.",
            "",
            "## Recommendation",
            "",
            f"**{recommendation['model']}**: {recommendation['why']}.",
            "",
        ]
        lines += _imported_data(data, split, schema) + _imported_models(params, cutoffs)
        lines += _metric_lines("holdout", metrics, every=False)
        lines += ["## Stability", "", psi["note"] + ".", ""]
        lines += _psi_lines(psi, "PSI (latest period)") if schema.time else []
        lines += ["## Fairness", ""] + _imported_fairness(fairness)
    lines += ["## Scorecard", "", "| variable | bin | points | count | event rate |", "|---|---|---|---|---|"]
    lines += [
        f"| {r.variable} | {r.bin} | {r.points:.2f} | {r.count} | {r.event_rate:.4f} |"
        for r in scorecard.itertuples(index=False)
    ]
    lines += ["", "## Limits", ""] + (_SIMULATED_LIMITS if schema is None else _IMPORTED_LIMITS) + [""]
    return "\n".join(lines)


def _simulated_data(data: dict, split: dict) -> list[str]:
    return [
        "## Data",
        "",
        f"- {data['rows']:,} simulated applicants over {data['vintages']} monthly vintages, seed {data['seed']}, "
        f"bias knob {data['bias']}, drift knob {data['drift']}; data hash `{data['data_hash'][:16]}`.",
        f"- Default rate {data['default_rate']:.2%}. Label: default within 12 months.",
        f"- Split: in-time train {split['train']:,}, calibration {split['calibration']:,}, in-time test {split['test']:,}; "
        f"out-of-time (latest vintage {split['oot_vintage']}) {split['oot']:,}.",
        "- Protected attributes (sex, age band) are never model inputs; they are used only for the fairness check.",
        "",
    ]


def _imported_data(data: dict, split: dict, schema: Any) -> list[str]:
    lines = [
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
    for f in schema.features:
        sp = ", ".join(f"{k} = {v}" for k, v in f.special.items()) or "-"
        direction = f"{_ARROW[f.direction]} ({f.direction_source})" if f.type == "numeric" else "-"
        lines.append(f"| {f.name} | {f.type} | {sp} | {direction} |")
    return lines + [""]


def _simulated_models(params: dict, cutoffs: dict) -> list[str]:
    return [
        "## Models",
        "",
        f"- **scorecard**: OptBinning BinningProcess + Scorecard (logistic regression on WoE), monotone bins in "
        f"the declared direction, special codes and missing values in their own bins; {params['pdo']:g} points to "
        f"double the odds, {params['base_points']:g} points at odds {params['base_odds']:g}:1.",
        "- **xgboost**: gradient-boosted trees with monotone constraints from the declared feature directions "
        f"({params['grow_policy']} growth, depth up to {params['max_depth']}"
        + (f", at most {params['max_leaves']} leaves" if params.get("max_leaves") else "")
        + f", learning rate {params['learning_rate']:g}), early-stopped and Platt-calibrated on the in-time "
        "calibration split.",
        _cutoff_line(cutoffs, "chosen for an approval rate")
        + (" (set by the user)" if cutoffs.get("user") else "")
        + ".",
        "",
    ]


def _imported_models(params: dict, cutoffs: dict) -> list[str]:
    return [
        "## Models",
        "",
        "- **scorecard**: OptBinning BinningProcess + Scorecard (logistic regression on WoE); special values and "
        "missing values in bins of their own; numeric bins monotone in the feature's direction; "
        f"{params['pdo']:g} points to double the odds.",
        "- **xgboost**: gradient-boosted trees with monotone constraints from the same directions, early-stopped "
        "and Platt-calibrated on the calibration split; special values given as missing.",
        _cutoff_line(cutoffs, "for an approval rate") + ".",
        "",
    ]


def _cutoff_line(cutoffs: dict, how: str) -> str:
    return (
        f"- Cut-off: decline when PD > {cutoffs['xgboost']:.4f} (xgboost) or score < {cutoffs['scorecard_score']:.1f} "
        f"(scorecard), {how} of {cutoffs['approval_rate']:.0%} on the calibration split"
    )


def _metric_lines(on: str, metrics: dict, every: bool) -> list[str]:
    """The metrics table, a column per model; `every` metric row even where no model has it (the simulator's)."""
    lines = [f"## Metrics ({on})", "", "| metric | " + " | ".join(metrics) + " |", "|---|" + "---|" * len(metrics)]
    for m in _METRICS:
        if every or any(m in metrics[k] for k in metrics):
            lines.append(f"| {m} | " + " | ".join(_fmt(metrics[k].get(m, "")) for k in metrics) + " |")
    return lines + [""]


def _psi_lines(psi: dict, column: str) -> list[str]:
    lines = [f"| variable | {column} | level |", "|---|---|---|"]
    lines += [f"| {n} | {v:.4f} | {psi['levels'][n]} |" for n, v in sorted(psi["oot"].items(), key=lambda kv: -kv[1])]
    return lines + ["", "PSI flags (>= 0.10): " + (", ".join(psi["flags"]) or "none"), ""]


def _simulated_fairness(fairness: dict) -> list[str]:
    t = fairness["xgboost"]["thresholds"]
    lines = [
        "## Fairness (holdout, at the cut-off)",
        "",
        f"Thresholds: differences above {t['max_difference']} and ratios below {t['min_ratio']} are breaches; a "
        f"breach is flagged when it is beyond sampling noise (pairwise two-proportion z-tests, Bonferroni, "
        f"family-wise alpha {t['alpha']}), else listed as watch.",
        "",
    ]
    for model, rep in fairness.items():
        lines += [
            f"### {model}",
            "",
            "| attribute | group | count | approval rate | FPR (good payers declined) | TPR |",
            "|---|---|---|---|---|---|",
        ]
        lines += [
            f"| {a['attribute']} | {g['group']} | {g['count']} | {g['approval_rate']:.3f} | "
            f"{g['false_positive_rate']:.3f} | {g['true_positive_rate']:.3f} |"
            for a in rep["attributes"]
            for g in a["groups"]
        ]
        flags = [f"{f['attribute']}.{f['metric']} = {f['value']:.4f}" for f in rep["flags"]]
        watch = [f"{f['attribute']}.{f['metric']} = {f['value']:.4f}" for f in rep["watch"]]
        lines += ["", *_fairness_table(rep), "", "**Fairness flags: " + ("; ".join(flags) or "none") + "**", ""]
        lines += ["Watch (breach within sampling noise): " + ("; ".join(watch) or "none"), ""]
    return lines


def _imported_fairness(fairness: dict[str, Any]) -> list[str]:
    first = next(iter(fairness.values()))
    if not first["attributes"]:
        return [f"Not assessed: {first.get('note', 'no protected attribute in the data')}.", ""]
    lines = []
    for model, rep in fairness.items():
        flags = "; ".join(f["attribute"] + "." + f["metric"] for f in rep["flags"]) or "none"
        lines += [f"### {model}", "", *_fairness_table(rep), "", f"**Fairness flags: {flags}**", ""]
    return lines


def _fairness_table(rep: dict) -> list[str]:
    """Per protected attribute: the gaps between its groups, and which are flagged or on watch."""
    lines = [
        "| attribute | demographic parity difference | equalized odds difference | FPR ratio | flags | watch |",
        "|---|---|---|---|---|---|",
    ]
    return lines + [
        f"| {a['attribute']} | {a['demographic_parity_difference']:.4f} | {a['equalized_odds_difference']:.4f} | "
        f"{a['fpr_ratio']:.4f} | {', '.join(a['flags']) or 'none'} | {', '.join(a['watch']) or 'none'} |"
        for a in rep["attributes"]
    ]


_SIMULATED_LIMITS = [
    "- Synthetic data from a documented ground-truth process; figures say how the method behaves, not how a "
    "real portfolio would.",
    "- Fairness figures on small groups are noisy; read the group counts beside them.",
    "- The registered MLflow model returns the uncalibrated booster probability; the calibration map "
    "(`model/calibration.json`) and the workspace copy used for reason codes apply it.",
]
_IMPORTED_LIMITS = [
    "- One portfolio and one split: Gini differences below about 0.02 are within the "
    "noise of a holdout of this size; read the recommendation with that in mind.",
]
