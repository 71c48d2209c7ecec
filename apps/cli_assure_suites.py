"""`sandbox assure suite ...`, `assure run` and `assure results`: regulator-held test suites (issue 16 part 3).

Reviewers create and list suites and run them against a bank's champion; the run executes under the platform
identity and only aggregates leave it. A bank's scientists see their own results and the optimism gap
(`assure results BANK`), nothing else.
"""

from __future__ import annotations

import click

from .cli_common import SandboxGroup, State, emit, json_option, pass_state, table

USECASE_CHOICE = click.Choice(["fraud", "risk", "chat"])


@click.group("suite", cls=SandboxGroup)
def suite() -> None:
    """Regulator-held test suites (reviewers only): data the banks never read."""


def _thin(values: tuple[str, ...]) -> dict | None:
    if not values:
        return None
    out = {}
    for v in values:
        name, sep, share = v.partition("=")
        try:
            out[name.strip()] = float(share) if sep else None
        except ValueError:
            out[name.strip()] = share
    from sandbox.errors import InvalidInput

    bad = [k for k, v in out.items() if v is None]
    if bad:
        raise InvalidInput(
            "thin", f"{bad[0]!r} has no share", "give --thin SCENARIO=SHARE, e.g. --thin compromised_card=0.5"
        )
    return out


def _suite_human(d: dict) -> str:
    return (
        f"suite {d['name']} ({d['usecase']}): {d['rows']:,} rows, created by {d['by']} at {d['created']}\n"
        f"  {d['description']}\n  facts: {d['facts']}"
    )


@suite.command("create")
@click.argument("name")
@click.option("--usecase", type=USECASE_CHOICE, required=True, help="Which use case the suite tests.")
@click.option(
    "--seed",
    type=click.IntRange(0, 2**31 - 1),
    default=None,
    help="Seed of the suite's simulation (default: a random one, kept in the reviewer-only area).",
)
@click.option("--customers", type=int, default=None, help="fraud: customers of the simulated month (default 2000).")
@click.option("--history-days", type=int, default=None, help="fraud: days of history before the test month (30).")
@click.option("--test-days", type=int, default=None, help="fraud: days of the test month (30).")
@click.option("--hardness", type=float, default=None, help="fraud: the hk simulator's hardness (0.6).")
@click.option(
    "--thin",
    multiple=True,
    help="fraud: SCENARIO=SHARE of the customers it hit to keep (repeatable; "
    "default compromised_terminal=0.5, compromised_card=0.5).",
)
@click.option("--applicants", type=int, default=None, help="risk: applicants of the out-of-time vintage (6000).")
@click.option("--bias", type=float, default=None, help="risk: the fairness stress, the simulator's bias knob (0.5).")
@click.option("--drift", type=float, default=None, help="fraud and risk: the simulator's drift knob (1.0).")
@click.option(
    "--file",
    "question_file",
    default=None,
    help="chat: your own questions (.csv or .jsonl: question,expected,kind[,source]; expected empty = must "
    "refuse) instead of the held-out questions on the synthetic library.",
)
@click.option("--paraphrases", type=int, default=None, help="chat: template paraphrases added to the facts (20).")
@click.option("--unanswerable", type=int, default=None, help="chat: held-out unanswerable questions (all 12).")
@click.option("--injections", type=int, default=None, help="chat: prompt injections that must be refused (16).")
@click.option("--attacks", type=int, default=None, help="chat: red-team attacks in the suite (40).")
@json_option
@pass_state
def create_cmd(
    state: State,
    name: str,
    usecase: str,
    seed: int | None,
    customers,
    history_days,
    test_days,
    hardness,
    thin,
    applicants,
    bias,
    drift,
    question_file,
    paraphrases,
    unanswerable,
    injections,
    attacks,
    as_json: bool,
) -> None:
    """Materialise a suite in the reviewer-only area (fraud: a fresh month with a shifted mix and a new scenario
    variant; risk: an out-of-time vintage with drift and a fairness stress; chat: held-out questions and a
    red-team slice)."""
    from usecases import assure as api

    opts = {
        "fraud": {
            "customers": customers,
            "history_days": history_days,
            "test_days": test_days,
            "hardness": hardness,
            "thin": _thin(thin),
            "drift": drift,
        },
        "risk": {"applicants": applicants, "bias": bias, "drift": drift},
        "chat": {
            "paraphrases": paraphrases,
            "unanswerable": unanswerable,
            "injections": injections,
            "attacks": attacks,
        },
    }[usecase]
    if question_file is not None:
        opts["file"] = question_file
    s = api.create_suite(state.store, state.actor(), name, usecase, seed=seed, **opts)
    emit({k: v for k, v in s.to_dict().items() if k != "seed"}, as_json, _suite_human)


@suite.command("list")
@json_option
@pass_state
def list_cmd(state: State, as_json: bool) -> None:
    """The suites (reviewers only)."""
    from usecases import assure as api

    rows = [{k: v for k, v in s.to_dict().items() if k != "seed"} for s in api.list_suites(state.store, state.actor())]
    emit(rows, as_json, lambda r: table(r, ["name", "usecase", "rows", "by", "created"]))


def _result_human(d: dict) -> str:
    verdict = "PASS" if d["passed"] else "FAIL"
    lines = [f"{d['bank']} {d['usecase']} v{d['model_version']} on suite {d['suite']}: {verdict} (run {d['run_id']})"]
    rows = [
        {"metric": k, "suite": d["metrics"].get(k), "bank_test": v, "gap": d["gaps"].get(f"{k}_gap")}
        for k, v in d["bank_figures"].items()
    ]
    lines.append(table(rows, ["metric", "suite", "bank_test", "gap"]))
    lines += [f"  gate {g['name']}: {'pass' if g['passed'] else 'FAIL'} ({g['why']})" for g in d["gates"]]
    return "\n".join(lines)


@click.command("run")
@click.argument("bank_id")
@click.argument("usecase", type=USECASE_CHOICE)
@click.option("--suite", "suite_name", required=True, help="The suite to run (`sandbox assure suite list`).")
@json_option
@pass_state
def run_cmd(state: State, bank_id: str, usecase: str, suite_name: str, as_json: bool) -> None:
    """Score BANK's USECASE champion on a regulator-held suite (reviewers); aggregates and the optimism gap only."""
    from usecases import assure as api

    r = api.run_suite(state.store, state.actor(), bank_id, usecase, suite_name)
    emit(r.to_dict(), as_json, _result_human)


@click.command("results")
@click.argument("bank_id")
@click.option("--usecase", type=USECASE_CHOICE, default=None, help="Only this use case's results.")
@json_option
@pass_state
def results_cmd(state: State, bank_id: str, usecase: str | None, as_json: bool) -> None:
    """The bank's suite results: the suite's metrics beside its own test figures, the gap and the gates."""
    from usecases import assure as api

    rows = api.suite_results(state.ctx(bank_id), usecase)
    emit(rows, as_json, lambda rs: "\n\n".join(f"[{r['at']}]\n" + _result_human(r) for r in rs) or "(no suite results)")


def register(group: click.Group) -> None:
    for cmd in (suite, run_cmd, results_cmd):
        group.add_command(cmd)
