"""The model card stored with every fraud run: data, scenarios, protocol, metrics, limits."""
from __future__ import annotations


def _fmt(v) -> str:
    if isinstance(v, float):
        return f"{v:.4f}"
    return str(v)


def model_card(*, bank: str, run_id: str, model: str, engine: str, device: str, data: dict, protocol: dict,
               metrics: dict, per_scenario: list[dict], importance: dict[str, float], feature_set: str,
               n_features: int, threshold: float, alert_budget: int, seconds: dict) -> str:
    top = sorted(importance.items(), key=lambda kv: -kv[1])[:10]
    headline = ("roc_auc", "average_precision", "card_precision_at_100", "recall_at_budget", "precision_at_budget",
                "alerts_per_day")
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
        f"- Train {protocol['train_days']} days from {protocol.get('train_start_used')}, "
        f"skip {protocol['delay_days']} days (label delay), test {protocol['test_days']} days",
        f"- Known-compromised cards removed from the test days: {protocol['remove_known_compromised']}",
        "",
        "## Metrics (test period)",
        "",
        "| metric | value |",
        "|---|---|",
        *[f"| {k} | {_fmt(metrics[k])} |" for k in headline if k in metrics],
        "",
        "## Recall per scenario (at the alert threshold)",
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
        *[f"- {k}: {v:.2f} s" for k, v in seconds.items()],
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
