"""`sandbox models ...`: the model lifecycle under supervision (sandbox/lifecycle.py).

list BANK USECASE                 every version: stage, gates, review, MLflow mirror
show BANK USECASE [VERSION]       one version (default: the champion) with its gate results and review
submit BANK USECASE VERSION       a scientist asks for review (--explain accounts for fairness flags)
review BANK USECASE VERSION       a reviewer approves or requests changes (--comment always)
promote BANK USECASE VERSION      an approved version that passed its gates becomes the champion
rollback BANK USECASE             the previous champion comes back
compare BANK USECASE              champion vs challenger on the same held-out rows (chat: QA set), bootstrap CI
gates BANK USECASE [--set N=V]    the gates in force; a bank tightens, the admin may loosen
"""

from __future__ import annotations

import click

from .cli_common import SandboxGroup, State, emit, json_option, pass_state, table

USECASE = click.STRING  # fraud, risk or chat: checked by the lifecycle (a one-line error naming them)


@click.group(cls=SandboxGroup)
def models() -> None:
    """Model lifecycle: candidates, gates, review, champion, rollback, champion vs challenger."""


def _gates_text(gates: list[dict]) -> str:
    failed = [g["name"] for g in gates if not g["passed"]]
    return "passed" if gates and not failed else f"FAILED: {', '.join(failed)}" if failed else "none"


def _row(d: dict) -> dict:
    review = d.get("review") or {}
    return {
        "version": d["version"],
        "stage": d["stage"],
        "model": (d.get("config") or {}).get("backend", ""),
        "gates": _gates_text(d["gates"]),
        "review": f"{review.get('decision', '')} by {review.get('by', '')}" if review else "",
        "run_id": d["run_id"],
        "created_at": d["created_at"],
        "mirror": d.get("mirror", ""),
    }


@models.command("list")
@click.argument("bank_id")
@click.argument("usecase", type=USECASE, metavar="USECASE")
@json_option
@pass_state
def list_cmd(state: State, bank_id: str, usecase: str, as_json: bool) -> None:
    """Every registered version of BANK's USECASE model, as the sandbox's ledger holds it."""
    from sandbox import lifecycle

    ctx = state.ctx(bank_id)
    seen = lifecycle.mirror(ctx, usecase)
    data = {
        "bank": bank_id,
        "usecase": usecase,
        "versions": [v.to_dict() for v in seen["versions"]],
        "aliases": seen["aliases"],
        "mirror": seen["status"],
    }

    def human(d: dict) -> str:
        cols = ["version", "stage", "gates", "review", "run_id", "created_at", "mirror"]
        if d["usecase"] == "chat":  # a chat version is a configuration: name its backend
            cols.insert(1, "model")
        text = table([_row(v) for v in d["versions"]], cols)
        forged = [
            f"{a}: MLflow says v{i['mirror']}, the ledger v{i['ledger'] or '(none)'}"
            for a, i in d["aliases"].items()
            if i["status"] == "tampered"
        ]
        return text + ("\nMLflow mirror TAMPERED (not believed): " + "; ".join(forged) if forged else "")

    emit(data, as_json, human)


def _show_text(d: dict) -> str:
    lines = [
        f"{d['usecase']} v{d['version']}: {d['stage']} (run {d['run_id']}, registered {d['created_at']} by {d['by']})"
    ]
    if d.get("config"):
        lines.append("configuration: " + ", ".join(f"{k} {v}" for k, v in sorted(d["config"].items())))
    lines.append(f"gates: {_gates_text(d['gates'])}")
    lines += [f"  [{'pass' if g['passed'] else 'FAIL'}] {g['name']}: {g['why']}" for g in d["gates"]]
    review = d.get("review")
    lines.append(
        f"review: {review['decision']} by {review['by']} at {review['at']}: {review['comment']}"
        if review
        else "review: none yet"
    )
    if d.get("mirror"):
        lines.append(
            f"MLflow mirror: {d['mirror']}"
            + (f" (claims {d['mirror_claims']}, not believed)" if d.get("mirror_claims") else "")
        )
    return "\n".join(lines)


@models.command("show")
@click.argument("bank_id")
@click.argument("usecase", type=USECASE, metavar="USECASE")
@click.argument("version", required=False)
@json_option
@pass_state
def show_cmd(state: State, bank_id: str, usecase: str, version: str | None, as_json: bool) -> None:
    """One version (default: the champion): its gate results, review and MLflow mirror."""
    from sandbox import lifecycle

    ctx = state.ctx(bank_id)
    mv = lifecycle.resolve(ctx, usecase, version)
    seen = lifecycle.mirror(ctx, usecase, [mv])["versions"][0]
    emit(seen.to_dict(), as_json, _show_text)


@models.command("submit")
@click.argument("bank_id")
@click.argument("usecase", type=USECASE, metavar="USECASE")
@click.argument("version")
@click.option("--comment", default="", help="What the reviewer should know.")
@click.option("--explain", "explanation", default="", help="Why the run's fairness flags are acceptable.")
@json_option
@pass_state
def submit_cmd(
    state: State, bank_id: str, usecase: str, version: str, comment: str, explanation: str, as_json: bool
) -> None:
    """Submit a candidate that passed its gates for an HKMA reviewer's decision."""
    from sandbox import lifecycle

    mv = lifecycle.submit(state.ctx(bank_id), usecase, version, comment=comment, explanation=explanation)
    emit(mv.to_dict(), as_json, lambda d: f"{usecase} v{d['version']} submitted for review")


@models.command("review")
@click.argument("bank_id")
@click.argument("usecase", type=USECASE, metavar="USECASE")
@click.argument("version")
@click.option("--decision", default="", help="approved or changes_requested.")
@click.option("--comment", default="", help="What you checked, or what the bank should change (required).")
@json_option
@pass_state
def review_cmd(
    state: State, bank_id: str, usecase: str, version: str, decision: str, comment: str, as_json: bool
) -> None:
    """(Reviewers) approve a submitted version or request changes."""
    from sandbox import lifecycle

    mv = lifecycle.review(state.ctx(bank_id), usecase, version, decision, comment)
    emit(mv.to_dict(), as_json, lambda d: f"{usecase} v{d['version']}: {decision} by {d['review']['by']}")


@models.command("promote")
@click.argument("bank_id")
@click.argument("usecase", type=USECASE, metavar="USECASE")
@click.argument("version")
@click.option("--comment", default="")
@json_option
@pass_state
def promote_cmd(state: State, bank_id: str, usecase: str, version: str, comment: str, as_json: bool) -> None:
    """Make an approved version the champion (scoring uses it); the old champion becomes `previous`."""
    from sandbox import lifecycle

    mv = lifecycle.promote(state.ctx(bank_id), usecase, version, comment=comment)
    emit(mv.to_dict(), as_json, lambda d: f"{usecase} v{d['version']} is now the champion")


@models.command("rollback")
@click.argument("bank_id")
@click.argument("usecase", type=USECASE, metavar="USECASE")
@click.option("--comment", default="")
@json_option
@pass_state
def rollback_cmd(state: State, bank_id: str, usecase: str, comment: str, as_json: bool) -> None:
    """Restore the previous champion (one step back)."""
    from sandbox import lifecycle

    mv = lifecycle.rollback(state.ctx(bank_id), usecase, comment=comment)
    emit(mv.to_dict(), as_json, lambda d: f"{usecase} v{d['version']} is the champion again")


@models.command("compare")
@click.argument("bank_id")
@click.argument("usecase", type=USECASE, metavar="USECASE")
@click.option("--challenger", help="The version to compare (default: the newest version that is not the champion).")
@click.option("--resamples", type=int, default=200, show_default=True, help="Bootstrap resamples.")
@click.option("--seed", type=int, default=0, show_default=True)
@json_option
@pass_state
def compare_cmd(
    state: State, bank_id: str, usecase: str, challenger: str | None, resamples: int, seed: int, as_json: bool
) -> None:
    """Champion vs challenger on the same held-out rows (chat: the same QA questions), with a bootstrap CI for the headline metric."""
    from sandbox import lifecycle
    from sandbox.errors import NotFound

    ctx = state.ctx(bank_id)
    champ = lifecycle.resolve(ctx, usecase, None)  # checks the use case too
    if challenger is None:
        others = [v for v in lifecycle.versions(ctx, usecase) if v.version != champ.version]
        if not others:
            raise NotFound(
                f"bank {bank_id} has no {usecase} version besides the champion v{champ.version}",
                f"train a challenger: `sandbox {usecase} train {bank_id}`",
            )
        challenger = others[-1].version
    chall = lifecycle.resolve(ctx, usecase, challenger)
    if usecase == "fraud":
        from usecases.fraud.compare import compare
    elif usecase == "risk":
        from usecases.risk.compare import compare
    else:
        from usecases.chat.compare import compare
    out = compare(ctx, champ.version, chall.version, resamples=resamples, seed=seed)
    out.update(champion_version=champ.version, challenger_version=chall.version, challenger_stage=chall.stage)

    def human(d: dict) -> str:
        lines = [
            f"{usecase}: champion v{d['champion_version']} vs challenger v{d['challenger_version']} "
            f"({d['challenger_stage']}) on "
            + (
                f"the same {d['rows']:,} QA questions ({d['positives']:,} answerable)"
                if usecase == "chat"
                else f"{d['rows']:,} held-out rows ({d['positives']:,} positive)"
            ),
            f"{d['metric']}: champion {d['champion']:.4f}, challenger {d['challenger']:.4f}, difference "
            f"{d['difference']:+.4f} ({d['level']:.0%} CI {d['ci_low']:+.4f} .. {d['ci_high']:+.4f}, "
            f"{d['resamples']} paired resamples): {d['verdict']}",
        ]
        for name, m in d["other_metrics"].items():
            lines.append(f"  {name}: " + ", ".join(f"{k} {v:.4f}" for k, v in m.items()))
        return "\n".join(lines)

    emit(out, as_json, human)


@models.command("gates")
@click.argument("bank_id")
@click.argument("usecase", type=USECASE, metavar="USECASE")
@click.option(
    "--set",
    "settings",
    multiple=True,
    metavar="NAME=VALUE",
    help="Set a threshold (repeatable); a bank may only tighten, the admin may loosen.",
)
@json_option
@pass_state
def gates_cmd(state: State, bank_id: str, usecase: str, settings: tuple[str, ...], as_json: bool) -> None:
    """The gates a new candidate of BANK's USECASE model must pass (sandbox defaults, tightened by the bank)."""
    from sandbox import lifecycle
    from sandbox.errors import InvalidInput

    ctx = state.ctx(bank_id)
    if settings:
        pairs = {}
        for item in settings:
            name, sep, value = item.partition("=")
            if not sep:
                raise InvalidInput("set", f"{item!r} is not NAME=VALUE", "e.g. --set average_precision=0.3")
            pairs[name.strip()] = value.strip()
        lifecycle.set_gates(ctx, usecase, pairs)
    rows = [
        {"name": g.name, "metric": g.metric, "op": g.op, "threshold": g.threshold, "about": g.about}
        for g in lifecycle.current_gates(ctx, usecase)
    ]
    emit(rows, as_json, lambda r: table(r, ["name", "metric", "op", "threshold", "about"]))


def candidate_note(ctx, usecase: str, version: str | None) -> str:
    """One line after `fraud train` / `risk train`: the new version is a candidate, its gates, and the next step."""
    from sandbox import lifecycle

    if not version:
        return ""
    mv = lifecycle.resolve(ctx, usecase, version)
    if mv.gates_passed:
        return (
            f"v{mv.version} is a candidate (gates passed), not yet the champion: "
            f"`sandbox models submit {ctx.bank} {usecase} {mv.version}` for review"
        )
    failing = [g for g in mv.gates if not g.passed]
    text = f"v{mv.version} is a candidate that FAILS its gates ({'; '.join(g.why for g in failing)})"
    if all(g.metric == lifecycle.FAIRNESS_METRIC for g in failing):
        return (
            text
            + f": explain the flags when submitting (`sandbox models submit {ctx.bank} {usecase} {mv.version} --explain '...'`)"
        )
    return text + ": it cannot be promoted"


def register(cli: click.Group) -> None:
    cli.add_command(models)
