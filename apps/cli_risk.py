"""`sandbox risk ...`: simulate applicants, train the scorecard and XGBoost, explain decisions."""

from __future__ import annotations

from pathlib import Path

import click

from .cli_common import (
    SandboxGroup,
    State,
    emit,
    json_option,
    pass_state,
    progress_reporter,
    result_json_option,
    table,
    user_path,
)


@click.group(cls=SandboxGroup)
def risk() -> None:
    """Credit risk lab: applicants, scorecard vs monotone XGBoost, reason codes, fairness and stability."""


@risk.command("simulate")
@click.argument("bank_id")
@click.option("--applicants", type=int, default=20000, show_default=True, help="How many applicants.")
@click.option("--vintages", type=int, default=12, show_default=True, help="Monthly application vintages.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option(
    "--bias", type=float, default=0.0, show_default=True, help="Injected bias against women and ages 18-29 (0 = none)."
)
@click.option(
    "--drift",
    type=float,
    default=0.0,
    show_default=True,
    help="Drift over vintages in DSR, utilisation, enquiries (0 = none).",
)
@result_json_option("risk simulate")
@pass_state
def simulate_cmd(
    state: State, bank_id: str, applicants: int, vintages: int, seed: int, bias: float, drift: float, as_json: bool
) -> None:
    """Simulate credit applicants with a known ground truth into the bank's workspace."""
    from usecases import risk as api

    with progress_reporter(as_json, "simulating") as progress:
        res = api.simulate(
            state.ctx(bank_id),
            applicants=applicants,
            vintages=vintages,
            seed=seed,
            bias=bias,
            drift=drift,
            progress=progress,
        )
    emit(
        res.to_dict(),
        as_json,
        lambda d: (
            f"simulated {d['rows']:,} applicants over {d['vintages']} vintages "
            f"(default rate {d['default_rate']:.2%}, seed {d['seed']}, bias {d['bias']:g}, "
            f"drift {d['drift']:g}); data hash {d['data_hash'][:12]}"
        ),
    )


_SHOWN = ("auc", "gini", "ks", "brier", "calibration_error", "gini_in_time", "oot_gini_drop", "approval_rate")


def _train_text(d: dict) -> str:
    rows = [{"model": m, **{k: f"{v[k]:.4f}" for k in _SHOWN}} for m, v in d["metrics"].items()]
    lines = [
        f"run {d['run_id']} (model version {d['model_version']})",
        table(rows, ["model", *_SHOWN]),
        "score PSI (latest vintage): " + ", ".join(f"{k} {v:.4f}" for k, v in d["score_psi"].items()),
        "PSI flags: " + (", ".join(d["psi_flags"]) or "none"),
        "fairness flags: " + (", ".join(d["fairness_flags"]) or "none"),
        f"monotone constraints hold: {'yes' if d['monotonic'] else 'NO'}",
    ]
    return "\n".join(lines)


@risk.command("train")
@click.argument("bank_id")
@click.option("--approval-rate", type=float, default=None, help="Approval rate that sets the cut-off (default 0.80).")
@click.option("--max-difference", type=float, default=None, help="Fairness: largest allowed difference (default 0.05).")
@click.option("--min-ratio", type=float, default=None, help="Fairness: smallest allowed FPR ratio (default 0.8).")
@result_json_option("risk train")
@pass_state
def train_cmd(
    state: State,
    bank_id: str,
    approval_rate: float | None,
    max_difference: float | None,
    min_ratio: float | None,
    as_json: bool,
) -> None:
    """Train the scorecard and the monotone XGBoost model; log everything to one MLflow run."""
    from usecases import risk as api

    opts = {
        k: v
        for k, v in {"approval_rate": approval_rate, "max_difference": max_difference, "min_ratio": min_ratio}.items()
        if v is not None
    }
    with progress_reporter(as_json, "training") as progress:
        res = api.train(state.ctx(bank_id), progress=progress, **opts)
    emit(res.to_dict(), as_json, _train_text)
    if not as_json:  # a training registers a candidate (issue 14): say so, and what comes next
        from .cli_models import candidate_note

        note = candidate_note(state.ctx(bank_id), "risk", res.model_version)
        if note:
            click.echo(note)


class _ExplainCommand(click.Command):
    """`explain --help` ends with the applicant fields, generated from the schema (imported only for help)."""

    def format_epilog(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        from usecases.risk import schema

        with formatter.section("Applicant fields (JSON keys or CSV/Parquet columns)"):
            formatter.write_dl(schema.field_help())
        formatter.write_paragraph()
        formatter.write_text(
            "Columns of a simulated row ("
            + ", ".join(n for n in schema.KNOWN_FIELDS if n not in dict(schema.field_help()))
            + ") are accepted and ignored; "
            "any other field is refused."
        )


@risk.command("explain", cls=_ExplainCommand)
@click.argument("bank_id")
@click.option(
    "--input",
    "input_path",
    required=True,
    type=user_path(Path),
    help="Applicants as a .json (object or list of objects), .csv or .parquet file (one column per field).",
)
@click.option("--model", type=click.Choice(["xgboost", "scorecard"]), default="xgboost", show_default=True)
@click.option("--top", type=int, default=4, show_default=True, help="How many adverse factors per applicant.")
@click.option("--version", "version", help="A registered version instead of the champion (e.g. a candidate).")
@result_json_option("risk explain")
@pass_state
def explain_cmd(
    state: State, bank_id: str, input_path: Path, model: str, top: int, version: str | None, as_json: bool
) -> None:
    """Explain decisions of BANK's champion model: the top adverse factors per applicant, in plain language."""
    from usecases import risk as api

    out = [e.to_dict() for e in api.explain(state.ctx(bank_id), input_path, model=model, top=top, version=version)]

    def human(rows: list[dict]) -> str:
        lines = []
        if rows and rows[0].get("model_stage") != "champion":
            lines.append(f"(by {rows[0].get('model_stage')} v{rows[0].get('model_version')}, not the champion)")
        for r in rows:
            lines.append(
                f"applicant {r['applicant_id']}: {r['decision']} (PD {r['probability']:.2%}, score {r['score']:.0f}, {r['model']})"
            )
            lines += [f"  - {reason}" for reason in r["reasons"]] or ["  (no adverse factors)"]
        return "\n".join(lines)

    emit(out, as_json, human)


@risk.command("scorecard")
@click.argument("bank_id")
@click.option("--run", "run_id", help="Run id (default: the latest risk run).")
@json_option
@pass_state
def scorecard_cmd(state: State, bank_id: str, run_id: str | None, as_json: bool) -> None:
    """Show the scorecard table (variable, bin, points) of a run."""
    from usecases import risk as api

    df = api.scorecard_table(state.ctx(bank_id), run_id)
    rows = df.to_dict(orient="records")
    emit(rows, as_json, lambda r: table(r, ["variable", "bin", "points", "count", "event_rate"]))


def register(cli: click.Group) -> None:
    cli.add_command(risk)
