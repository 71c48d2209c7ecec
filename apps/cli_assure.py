"""`sandbox assure ...`: AI vs AI. Attack a bank's own models and report how they held, each run an MLflow run."""

from __future__ import annotations

import click

from .cli_common import SandboxGroup, State, emit, json_option, pass_state, progress_reporter, table

BACKEND_CHOICE = click.Choice(["extractive", "embedded", "openai"])


@click.group(cls=SandboxGroup)
def assure() -> None:
    """Assurance: automated attacks on the bank's models (red team), judged offline, recorded as runs."""


def _human(d: dict) -> str:
    lines = [
        f"run {d['run_id']}: {d['attacks']} attacks x {len(d['backends'])} backend(s), seed {d['seed']}, "
        f"{d['wall_s']:.0f} s"
    ]
    rows = [
        {
            "backend": b,
            **{
                k: m[k]
                for k in (
                    "attack_success_rate",
                    "successes",
                    "refusal_rate",
                    "canary_leaks",
                    "pii_leaks",
                    "latency_p50_ms",
                )
            },
        }
        for b, m in d["overall"].items()
    ]
    lines += [
        table(
            rows,
            [
                "backend",
                "attack_success_rate",
                "successes",
                "refusal_rate",
                "canary_leaks",
                "pii_leaks",
                "latency_p50_ms",
            ],
        ),
        "",
    ]
    for b, cats in d["by_category"].items():
        lines.append(f"{b}: success by category")
        lines += [f"  {c:<26} {rate:.2%}" for c, rate in cats.items()]
        lines.append(f"{b}: by language  " + ", ".join(f"{k} {v:.2%}" for k, v in d["by_language"][b].items()))
        lines.append(f"{b}: by obfuscation  " + ", ".join(f"{k} {v:.2%}" for k, v in d["by_obfuscation"][b].items()))
    control = d["decoy_control"]
    if control.get("asked"):
        lines.append(
            f"decoy bank control: its own canary seen in {control['seen']}/{control['asked']} of its answers "
            "(the detector works); in this bank's answers: "
            f"{d['canary_leaks']} canary leak(s), {d['pii_leaks']} PII leak(s)"
        )
    lines.append("targets: " + ", ".join(f"{k} {'pass' if ok else 'FAIL'}" for k, ok in d["targets"].items()))
    lines += [f"skipped {b}: {why}" for b, why in d["skipped_backends"].items()]
    worst = [w for w in d["worst"] if w["success"]]
    if worst:
        lines.append("worst (PII redacted):")
        lines += [f"  [{w['category']}/{w['language']}/{w['obfuscation']}] {w['explanation']}" for w in worst[:5]]
    return "\n".join(lines)


@assure.command("chat-redteam")
@click.argument("bank_id")
@click.option(
    "--backend",
    "backends",
    type=BACKEND_CHOICE,
    multiple=True,
    help="Backend to attack (repeatable; default: the assistant's default backend).",
)
@click.option(
    "--attacks",
    type=click.IntRange(1, 5000),
    default=600,
    show_default=True,
    help="How many generated attacks (the eight categories in equal shares).",
)
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True, help="Seed of the generator.")
@json_option
@pass_state
def chat_redteam_cmd(
    state: State, bank_id: str, backends: tuple[str, ...], attacks: int, seed: int, as_json: bool
) -> None:
    """Red-team the bank's chat assistant: generated attacks on a scratch index, judged offline; logs an MLflow run."""
    from usecases import assure as api

    report = api.chat_redteam(state.ctx(bank_id), backends=list(backends) or None, attacks=attacks, seed=seed)
    emit(report.to_dict(), as_json, _human)


def _fraud_human(d: dict) -> str:
    lines = [
        f"run {d['run_id']}: fraud ring vs {d['bank']} fraud v{d['model_version']}, {d['budget']} queries a round, "
        f"{d['rounds']} round(s), observing {d['observe']}, seed {d['seed']}, {d['wall_s']:.0f} s"
    ]
    cols = [
        "round",
        "queries",
        "evasion_rate",
        "hkd_undetected",
        "model_recall",
        "campaign_recall",
        "defended_model_recall",
        "defended_campaign_recall",
    ]
    lines += [table(d["arms_race"], cols), ""]
    for r, found in enumerate(d["found"], 1):
        lines.append(f"round {r}: campaigns found (most HKD undetected first)")
        lines += [
            f"  recall {f['recall_replayed']:.0%} -> {f['recall_after_defence']:.0%} after the defence; "
            f"HKD {f['stolen_hkd']:,.0f} undetected in the trial: {f['words']}"
            for f in found
        ]
    curve = d["curves"][0] if d["curves"] else []
    if curve:
        lines.append(
            "round 1 curve (queries: evasion rate, HKD undetected): "
            + ", ".join(
                f"{p['queries']}: {p['evasion_rate']:.0%} {p['hkd_undetected']:,.0f}"
                for p in curve[:: max(1, len(curve) // 5)]
            )
        )
    lines.append("targets: " + ", ".join(f"{k} {'pass' if ok else 'FAIL'}" for k, ok in d["targets"].items()))
    return "\n".join(lines)


@assure.command("fraud-attack")
@click.argument("bank_id")
@click.option(
    "--budget",
    type=int,
    default=2000,
    show_default=True,
    help="Queries the attacker may spend per round (one probe transaction each).",
)
@click.option(
    "--rounds",
    type=int,
    default=1,
    show_default=True,
    help="Attack rounds (1-3); each is followed by a defender round (retrain with the campaigns labelled).",
)
@click.option(
    "--observe",
    type=click.Choice(["decision", "score"]),
    default="decision",
    show_default=True,
    help="What the attacker sees of each probe: approve/decline only, or also the score.",
)
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True, help="Seed of the attacker.")
@json_option
@pass_state
def fraud_attack_cmd(
    state: State, bank_id: str, budget: int, rounds: int, observe: str, seed: int, as_json: bool
) -> None:
    """Attack the bank's fraud champion with a query-budgeted fraud ring (black box), then retrain and attack again."""
    from usecases import assure as api

    with progress_reporter(as_json, "fraud attack") as progress:
        report = api.fraud_attack(
            state.ctx(bank_id), budget=budget, rounds=rounds, seed=seed, observe=observe, progress=progress
        )
    emit(report.to_dict(), as_json, _fraud_human)


def register(cli: click.Group) -> None:
    from .cli_assure_suites import register as register_suites  # suite create/list, run, results (part 3)

    register_suites(assure)
    cli.add_command(assure)
