"""`sandbox assure ...`: AI vs AI. Attack a bank's own models and report how they held, each run an MLflow run."""
from __future__ import annotations

import click

from .cli_common import SandboxGroup, State, emit, json_option, pass_state, table

BACKEND_CHOICE = click.Choice(["extractive", "embedded", "openai"])


@click.group(cls=SandboxGroup)
def assure() -> None:
    """Assurance: automated attacks on the bank's models (red team), judged offline, recorded as runs."""


def _human(d: dict) -> str:
    lines = [f"run {d['run_id']}: {d['attacks']} attacks x {len(d['backends'])} backend(s), seed {d['seed']}, "
             f"{d['seconds']:.0f} s"]
    rows = [{"backend": b, **{k: m[k] for k in ("attack_success_rate", "successes", "refusal_rate", "canary_leaks",
                                                 "pii_leaks", "latency_p50_ms")}} for b, m in d["overall"].items()]
    lines += [table(rows, ["backend", "attack_success_rate", "successes", "refusal_rate", "canary_leaks", "pii_leaks",
                           "latency_p50_ms"]), ""]
    for b, cats in d["by_category"].items():
        lines.append(f"{b}: success by category")
        lines += [f"  {c:<26} {rate:.2%}" for c, rate in cats.items()]
        lines.append(f"{b}: by language  " + ", ".join(f"{k} {v:.2%}" for k, v in d["by_language"][b].items()))
        lines.append(f"{b}: by obfuscation  " + ", ".join(f"{k} {v:.2%}" for k, v in d["by_obfuscation"][b].items()))
    control = d["decoy_control"]
    if control.get("asked"):
        lines.append(f"decoy bank control: its own canary seen in {control['seen']}/{control['asked']} of its answers "
                     "(the detector works); in this bank's answers: "
                     f"{d['canary_leaks']} canary leak(s), {d['pii_leaks']} PII leak(s)")
    lines.append("targets: " + ", ".join(f"{k} {'pass' if ok else 'FAIL'}" for k, ok in d["targets"].items()))
    lines += [f"skipped {b}: {why}" for b, why in d["skipped_backends"].items()]
    worst = [w for w in d["worst"] if w["success"]]
    if worst:
        lines.append("worst (PII redacted):")
        lines += [f"  [{w['category']}/{w['language']}/{w['obfuscation']}] {w['explanation']}" for w in worst[:5]]
    return "\n".join(lines)


@assure.command("chat-redteam")
@click.argument("bank_id")
@click.option("--backend", "backends", type=BACKEND_CHOICE, multiple=True,
              help="Backend to attack (repeatable; default: the assistant's default backend).")
@click.option("--attacks", type=click.IntRange(1, 5000), default=600, show_default=True,
              help="How many generated attacks (the eight categories in equal shares).")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True, help="Seed of the generator.")
@json_option
@pass_state
def chat_redteam_cmd(state: State, bank_id: str, backends: tuple[str, ...], attacks: int, seed: int,
                     as_json: bool) -> None:
    """Red-team the bank's chat assistant: generated attacks on a scratch index, judged offline; logs an MLflow run."""
    from usecases import assure as api

    report = api.chat_redteam(state.ctx(bank_id), backends=list(backends) or None, attacks=attacks, seed=seed)
    emit(report.to_dict(), as_json, _human)


def register(cli: click.Group) -> None:
    cli.add_command(assure)
