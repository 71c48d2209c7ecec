"""The model card (markdown): data, models, metrics, scorecard table, stability, fairness flags, limits."""

from __future__ import annotations

from typing import Any

import pandas as pd

_METRICS = ("auc", "gini", "ks", "brier", "calibration_error", "gini_in_time", "oot_gini_drop", "approval_rate")


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
) -> str:
    lines = [
        f"# Credit risk model card: {bank}",
        "",
        f"Run `{run_id}`. Synthetic applicants (no real customer data).",
        "",
        "## Data",
        "",
        f"- {data['rows']:,} simulated applicants over {data['vintages']} monthly vintages, seed {data['seed']}, "
        f"bias knob {data['bias']}, drift knob {data['drift']}; data hash `{data['data_hash'][:16]}`.",
        f"- Default rate {data['default_rate']:.2%}. Label: default within 12 months.",
        f"- Split: in-time train {split['train']:,}, calibration {split['calibration']:,}, in-time test {split['test']:,}; "
        f"out-of-time (latest vintage {split['oot_vintage']}) {split['oot']:,}.",
        "- Protected attributes (sex, age band) are never model inputs; they are used only for the fairness check.",
        "",
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
        f"- Cut-off: decline when PD > {cutoffs['xgboost']:.4f} (xgboost) or score < {cutoffs['scorecard_score']:.1f} "
        f"(scorecard), chosen for an approval rate of {cutoffs['approval_rate']:.0%} on the calibration split"
        + (" (set by the user)" if cutoffs.get("user") else "")
        + ".",
        "",
        "## Metrics (out-of-time vintage unless named)",
        "",
        "| metric | " + " | ".join(metrics) + " |",
        "|---|" + "---|" * len(metrics),
    ]
    for m in _METRICS:
        lines.append(f"| {m} | " + " | ".join(_fmt(metrics[k].get(m, "")) for k in metrics) + " |")
    lines += [
        "",
        "## Stability (PSI of the latest vintage vs the development sample)",
        "",
        "| variable | PSI | level |",
        "|---|---|---|",
    ]
    for name, value in sorted(psi["oot"].items(), key=lambda kv: -kv[1]):
        lines.append(f"| {name} | {value:.4f} | {psi['levels'][name]} |")
    lines += ["", "PSI flags (>= 0.10): " + (", ".join(psi["flags"]) if psi["flags"] else "none"), ""]
    lines += [
        "## Fairness (holdout, at the cut-off)",
        "",
        f"Thresholds: differences above {fairness['xgboost']['thresholds']['max_difference']} and ratios below "
        f"{fairness['xgboost']['thresholds']['min_ratio']} are breaches; a breach is flagged when it is beyond "
        f"sampling noise (pairwise two-proportion z-tests, Bonferroni, family-wise alpha "
        f"{fairness['xgboost']['thresholds']['alpha']}), else listed as watch.",
        "",
    ]
    for model, rep in fairness.items():
        lines += [
            f"### {model}",
            "",
            "| attribute | group | count | approval rate | FPR (good payers declined) | TPR |",
            "|---|---|---|---|---|---|",
        ]
        for a in rep["attributes"]:
            for g in a["groups"]:
                lines.append(
                    f"| {a['attribute']} | {g['group']} | {g['count']} | {g['approval_rate']:.3f} | "
                    f"{g['false_positive_rate']:.3f} | {g['true_positive_rate']:.3f} |"
                )
        lines += [
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
        flags = [f"{f['attribute']}.{f['metric']} = {f['value']:.4f}" for f in rep["flags"]]
        watch = [f"{f['attribute']}.{f['metric']} = {f['value']:.4f}" for f in rep["watch"]]
        lines += [
            "",
            "**Fairness flags: " + ("; ".join(flags) if flags else "none") + "**",
            "",
            "Watch (breach within sampling noise): " + ("; ".join(watch) if watch else "none"),
            "",
        ]
    lines += ["## Scorecard", "", "| variable | bin | points | count | event rate |", "|---|---|---|---|---|"]
    for r in scorecard.itertuples(index=False):
        lines.append(f"| {r.variable} | {r.bin} | {r.points:.2f} | {r.count} | {r.event_rate:.4f} |")
    lines += [
        "",
        "## Limits",
        "",
        "- Synthetic data from a documented ground-truth process; figures say how the method behaves, not how a "
        "real portfolio would.",
        "- Fairness figures on small groups are noisy; read the group counts beside them.",
        "- The registered MLflow model returns the uncalibrated booster probability; the calibration map "
        "(`model/calibration.json`) and the workspace copy used for reason codes apply it.",
        "",
    ]
    return "\n".join(lines)
