"""The model card stored with every fraud run: data, scenarios, protocol, metrics, limits."""

from __future__ import annotations

from .evaluate import FOLD_METRICS

# The figures a fraud run is read by, in this order: the model card's table and `sandbox fraud train`'s summary.
HEADLINE = (*FOLD_METRICS, "alerts_per_day")


def _fmt(v) -> str:
    if isinstance(v, float):
        return f"{v:.4f}"
    return str(v)


FOLD_COLUMNS = ("average_precision", "card_precision_at_100", "card_precision_at_100_no_removal")


def _fold_table(folds: list[dict], metrics: dict) -> list[str]:
    """Each fold's figures and their mean and SD (the book's "test performance"), when there are several folds."""
    if len(folds) < 2:
        return []
    return [
        "## Folds (test periods)",
        "",
        "| fold | test days | " + " | ".join(FOLD_COLUMNS) + " |",
        "|---|---|" + "---|" * len(FOLD_COLUMNS),
        *[
            f"| {f['fold']} | {f['test_start']}..{f['test_end']} | "
            + " | ".join(_fmt(f["metrics"][k]) for k in FOLD_COLUMNS)
            + " |"
            for f in folds
        ],
        "| mean (SD) | | "
        + " | ".join(f"{_fmt(metrics[k])} ({_fmt(metrics[k + '_sd'])})" for k in FOLD_COLUMNS)
        + " |",
        "",
    ]


def model_card(
    *,
    bank: str,
    run_id: str,
    model: str,
    engine: str,
    device: str,
    data: dict,
    protocol: dict,
    metrics: dict,
    per_scenario: list[dict],
    importance: dict[str, float],
    feature_set: str,
    n_features: int,
    threshold: float,
    alert_budget: int,
    stage_s: dict[str, float],
    folds: list[dict] | None = None,
) -> str:
    top = sorted(importance.items(), key=lambda kv: -kv[1])[:10]
    headline = HEADLINE
    folds = folds or []
    n = len(folds)
    lines = [
        f"# Model card: fraud detector ({model}) of {bank}",
        "",
        f"- Run: `{run_id}`; engine: {engine}; device: {device}",
        f"- Features: {feature_set} ({n_features}); alert threshold {threshold:.5f} "
        f"(chosen for {alert_budget} alerts a day on the unlabelled delay period)",
        "",
        "## Data",
        f"- Source: {data.get('source', 'unknown')} (preset: {data.get('preset', '-')}, seed: {data.get('seed', '-')})",
        f"- {data.get('rows', 0):,} transactions over {data.get('days', 0)} days, "
        f"fraud rate {100 * float(data.get('fraud_rate', 0)):.3f}%; data hash `{str(data.get('data_hash', ''))[:16]}`",
        "- Synthetic data: no real customer is described. Labels are the *reported* labels "
        "(with delay and noise for the hk preset); scenarios are the simulator's ground truth.",
        "",
        "## Scenarios (fraud rows in the whole data set)",
        "",
        "| scenario | rows |",
        "|---|---|",
        *[f"| {k} | {v:,} |" for k, v in (data.get("scenario_counts") or {}).items()],
        "",
        "## Evaluation protocol",
        f"- Protocol: {protocol.get('protocol', 'window')} ({n or 1} fold{'s' if n > 1 else ''}, "
        f"{protocol.get('basis', 'one window')})",
        f"- Each fold: train {protocol['train_days']} days, skip {protocol['delay_days']} days (label delay), "
        f"test {protocol['test_days']} days",
        *[
            f"- Fold {f['fold']}: train {f['train_start']}..{f['train_end']}, test {f['test_start']}..{f['test_end']}"
            for f in folds
        ],
        f"- Known-compromised cards removed from the test days: {protocol['remove_known_compromised']}",
        *(
            [
                f"- The model kept (registered, saved for scoring) is fold {n}'s, the latest; the threshold, the recall "
                "per scenario, the reports and the plots are that fold's"
            ]
            if n > 1
            else []
        ),
        "",
        *_fold_table(folds, metrics),
        f"## Metrics ({f'mean over the {n} test periods' if n > 1 else 'test period'})",
        "",
        "| metric | value |" + (" SD |" if n > 1 else ""),
        "|---|---|" + ("---|" if n > 1 else ""),
        *[
            f"| {k} | {_fmt(metrics[k])} |" + (f" {_fmt(metrics.get(k + '_sd', ''))} |" if n > 1 else "")
            for k in headline
            if k in metrics
        ],
        "",
        f"## Recall per scenario (at the alert threshold{', latest fold' if n > 1 else ''})",
        "",
        "| scenario | frauds | detected | recall |",
        "|---|---|---|---|",
        *[f"| {r['scenario']} | {r['frauds']} | {r['detected']} | {r['recall']:.3f} |" for r in per_scenario],
        "",
        "## Most important features",
        "",
        *[f"- {name}: {share:.3f}" for name, share in top],
        "",
        "## Timing",
        *[f"- {stage}: {s:.2f} s" for stage, s in stage_s.items()],
        "",
        "## Limits",
        "- Trained and tested on synthetic transactions; real fraud differs and drifts. Re-validate on the bank's own "
        "data before any use.",
        "- Terminal risk only uses labels known at scoring time: fraud at a newly compromised terminal is invisible "
        "until the first reports arrive (the label delay).",
        "- Scenario recall is measured at one threshold; a different alert budget trades recall for precision "
        "(see reports/alert_budget.json).",
        "- The test window is short (days); figures carry sampling noise of a few points.",
        "- Not a decision system: alerts go to a human investigator.",
        "",
    ]
    return "\n".join(lines)
