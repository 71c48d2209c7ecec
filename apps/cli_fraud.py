"""`sandbox fraud ...`: simulate, import, train and score, a thin layer over `usecases.fraud`."""

from __future__ import annotations

import click

from .cli_common import SandboxGroup, State, emit, pass_state, result_json_option, user_path


def _schema_help() -> str:
    from usecases.fraud import schema

    doc = (schema.__doc__ or "").strip()
    # "\b" keeps click from re-wrapping each paragraph (the table must stay a table)
    return "\n\n".join("\b\n" + para for para in doc.split("\n\n"))


@click.group(cls=SandboxGroup)
def fraud() -> None:
    """Fraud lab: simulate or import transactions, train detectors, score transactions."""


@fraud.command("simulate")
@click.argument("bank_id")
@click.option(
    "--preset",
    type=click.Choice(["hk", "handbook"]),
    default="hk",
    show_default=True,
    help="hk: Hong Kong cards + FPS with five scenarios; handbook: the Fraud Detection Handbook design.",
)
@click.option("--customers", type=int, help="Number of customers (default: the preset's).")
@click.option("--days", type=int, help="Number of days (default: the preset's).")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option(
    "--hardness", type=float, default=0.5, show_default=True, help="hk: 0 easy .. 1 hard (fraud looks legitimate)."
)
@click.option(
    "--label-delay-days", type=float, default=7.0, show_default=True, help="Days until a fraud label is known."
)
@click.option("--label-noise", type=float, default=0.02, show_default=True, help="hk: share of frauds never reported.")
@click.option("--drift", type=float, default=0.5, show_default=True, help="hk: 0 none .. 1 strong change over time.")
@result_json_option("fraud simulate")
@pass_state
def simulate_cmd(
    state: State,
    bank_id: str,
    preset: str,
    customers: int | None,
    days: int | None,
    seed: int,
    hardness: float,
    label_delay_days: float,
    label_noise: float,
    drift: float,
    as_json: bool,
) -> None:
    """Simulate labelled transactions into BANK's workspace (replaces its data set)."""
    from usecases import fraud as uc

    res = uc.simulate(
        state.ctx(bank_id),
        preset=preset,
        customers=customers,
        days=days,
        seed=seed,
        hardness=hardness,
        label_delay_days=label_delay_days,
        label_noise=label_noise,
        drift=drift,
    )

    def human(d: dict) -> str:
        lines = [
            f"simulated {d['rows']:,} transactions ({d['fraud_rows']:,} fraud, {100 * d['fraud_rate']:.3f}%) "
            f"over {d['days']} days, preset {d['preset']}, seed {d['seed']}, in {d['wall_s']:.2f} s"
        ]
        lines += [f"  {k}: {v:,}" for k, v in d["scenario_counts"].items()]
        lines.append(f"data hash {d['data_hash'][:16]}")
        return "\n".join(lines)

    emit(res.to_dict(), as_json, human)


class _ImportCommand(click.Command):
    """Builds its help (the schema table) only when asked, so `sandbox` starts without importing the fraud lab."""

    def format_help_text(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        self.help = IMPORT_HELP + "\n\n" + _schema_help()
        super().format_help_text(ctx, formatter)


IMPORT_SHORT = "Import BANK's transactions from FILE (CSV or Parquet), replacing its data set."
IMPORT_HELP = (
    IMPORT_SHORT + "\n\nThe valid rows of FILE replace BANK's current transaction data set (simulated or "
    "imported), even when some rows are rejected: the output says how many rows were replaced, lists the "
    "rejected rows, and warns on stderr. Fix the rejected rows and import the whole file again to include "
    "them. A file-level problem, or no valid row, imports nothing and keeps the current data set."
)


@fraud.command("import", cls=_ImportCommand, help=IMPORT_HELP, short_help=IMPORT_SHORT)
@click.argument("bank_id")
@click.argument("file", type=user_path(str))
@result_json_option("fraud import")
@pass_state
def import_cmd(state: State, bank_id: str, file: str, as_json: bool) -> None:
    from usecases import fraud as uc

    res = uc.import_transactions(state.ctx(bank_id), file)

    def human(d: dict) -> str:
        lines = [
            f"imported {d['accepted']:,} transactions from {d['file']} ({d['layout']} layout), "
            f"{d['fraud_rows']:,} fraud; rejected {d['rejected']:,}",
            f"{bank_id}'s data set is now these {d['accepted']:,} transactions; "
            + (f"they replaced {d['replaced_rows']:,} rows" if d["replaced_rows"] else "it had none before"),
        ]
        lines += [f"  row {r['row']}, column {r['column']}: {r['reason']}" for r in d["rejections"][:50]]
        if d["rejected"] > 50:
            lines.append(f"  ... {d['rejected'] - 50} more (use --json for the list)")
        return "\n".join(lines)

    emit(res.to_dict(), as_json, human)
    if res.rejected:
        click.echo(
            f"warning: {res.rejected:,} of {res.accepted + res.rejected:,} rows were rejected and left out; "
            f"the {res.accepted:,} accepted rows replaced {bank_id}'s data set ({res.replaced_rows:,} rows): "
            "fix the rejected rows and import the whole file again",
            err=True,
        )


@fraud.command("train")
@click.argument("bank_id")
@click.option("--model", type=click.Choice(["xgboost", "logreg"]), default="xgboost", show_default=True)
@click.option(
    "--engine",
    type=click.Choice(["local", "dask"]),
    default="local",
    show_default=True,
    help="dask: xgboost.dask on a Dask cluster (a LocalCluster unless --scheduler).",
)
@click.option("--scheduler", help="Dask scheduler address, e.g. tcp://10.0.0.5:8786 (with --engine dask).")
@click.option(
    "--features",
    "feature_set",
    type=click.Choice(["ours", "handbook"]),
    default="ours",
    show_default=True,
    help="ours: the full feature set; handbook: the Fraud Detection Handbook's 15 features.",
)
@click.option(
    "--protocol",
    metavar="[handbook|latest]",
    help="Which windows to train and test on. handbook: the Fraud Detection Handbook's test performance, "
    "four prequential folds of 7 days train, 7 delay, 7 test, one week apart (training from "
    "2018-07-25, 08-01, 08-08, 08-15 on data covering the book's dates, else the four latest weekly "
    "folds); mean and SD over the folds, the latest fold's model is registered. latest: one window, "
    "the latest that fits. Default: handbook for handbook-preset data covering the book's dates, "
    "else latest; --train-start instead trains one window from that date.",
)
@click.option("--train-days", type=int, default=7, show_default=True, help="Days of training data (1..366).")
@click.option(
    "--delay-days",
    type=int,
    default=7,
    show_default=True,
    help="Days between training and test whose labels are not known yet (0..366).",
)
@click.option("--test-days", type=int, default=7, show_default=True, help="Days of test data (1..366).")
@click.option("--train-start", help="First training day, YYYY-MM-DD: one window from it (not with --protocol).")
@click.option("--alert-budget", type=int, help="Alerts a day, 1..1,000,000 (default: 1% of a day's transactions).")
@click.option("--seed", type=int, default=0, show_default=True)
@result_json_option("fraud train")
@pass_state
def train_cmd(
    state: State,
    bank_id: str,
    model: str,
    engine: str,
    scheduler: str | None,
    feature_set: str,
    protocol: str | None,
    train_days: int,
    delay_days: int,
    test_days: int,
    train_start: str | None,
    alert_budget: int | None,
    seed: int,
    as_json: bool,
) -> None:
    """Train and evaluate a detector on BANK's transactions; log the run; print its id, the protocol with the
    dates it used, and the metrics (with several folds: each fold's, and their mean and SD).

    --json prints run_id, model, engine, feature_set, metrics, threshold, alert_budget, registered_model,
    model_version, protocol, folds, model_from_fold, wall_s and stage_s (seconds; shape: docs/results.md)."""
    from usecases import fraud as uc

    res = uc.train(
        state.ctx(bank_id),
        model=model,
        engine=engine,
        scheduler=scheduler,
        seed=seed,
        feature_set=feature_set,
        protocol=protocol,
        train_days=train_days,
        delay_days=delay_days,
        test_days=test_days,
        train_start=train_start,
        alert_budget=alert_budget,
    )
    emit(train_output(res), as_json, train_text)
    if not as_json and res.model_version:  # a training registers a candidate (issue 14)
        from .cli_models import candidate_note

        note = candidate_note(state.ctx(bank_id), "fraud", res.model_version)
        if note:
            click.echo(note)


def train_output(res) -> dict:
    """What `fraud train` prints (--json): the run, the protocol with its dates, each fold, the metrics, the
    registered version and the time taken (`wall_s`, `stage_s`); the shape is in docs/results.md."""
    return {
        "run_id": res.run_id,
        "model": res.model,
        "engine": res.engine,
        "feature_set": res.feature_set,
        "metrics": res.metrics,
        "threshold": res.threshold,
        "alert_budget": res.alert_budget,
        "registered_model": res.registered_model,
        "model_version": res.model_version,
        "protocol": res.protocol,
        "folds": res.folds,
        "model_from_fold": len(res.folds),
        "wall_s": round(res.wall_s, 3),
        "stage_s": {k: round(v, 3) for k, v in res.stage_s.items()},
    }


def train_text(d: dict) -> str:
    """The human form of train_output: the protocol and its dates first, each fold, then the (mean) metrics."""
    m, pr, folds = d["metrics"], d["protocol"], d["folds"]
    n = len(folds)
    lines = [
        f"run {d['run_id']} ({d['model']}, {d['engine']}, features: {d['feature_set']})",
        f"protocol {pr['protocol']}: {n} fold{'s' if n > 1 else ''} ({pr['basis']}), each "
        f"{pr['train_days']} days train, {pr['delay_days']} delay, {pr['test_days']} test",
    ]
    for f in folds:
        fm = f["metrics"]
        lines.append(
            f"  fold {f['fold']}: train {f['train_start']}..{f['train_end']}, test {f['test_start']}.."
            f"{f['test_end']}: average_precision {fm['average_precision']:.4f}, card_precision_at_100 "
            f"{fm['card_precision_at_100']:.4f} (no removal {fm['card_precision_at_100_no_removal']:.4f})"
        )
    if n > 1:
        lines.append(f"mean over the {n} folds (SD):")

    def sd(k: str) -> str:
        return f" ({m[k + '_sd']:.4f})" if k + "_sd" in m else ""

    from usecases.fraud.card import HEADLINE  # the card's figures, in its order (imported here: the CLI starts light)

    lines += [f"  {k}: {m[k]:.4f}{sd(k)}" for k in (*HEADLINE, "threshold") if k in m]
    lines += [
        f"  {k}: {v:.4f}"
        for k, v in m.items()
        if k.startswith("recall_") and k != "recall_at_budget" and not k.endswith("_sd")
    ]
    if n > 1 and not d["registered_model"]:
        lines.append(f"the threshold and the model kept are fold {n}'s (the latest)")
    if d["registered_model"]:
        last = folds[-1]
        lines.append(
            f"registered {d['registered_model']} version {d['model_version']}: the model of fold "
            f"{n} (trained {last['train_start']}..{last['train_end']})"
            if n > 1
            else f"registered {d['registered_model']} version {d['model_version']}"
        )
    return "\n".join(lines)


@fraud.command("score")
@click.argument("bank_id")
@click.option("--input", "input_path", required=True, type=user_path(str), help="Transactions (CSV or Parquet).")
@click.option("--output", "output_path", required=True, type=user_path(str), help="Scores (.csv or .parquet).")
@click.option("--model", "model_path", type=user_path(str), help="A model file (default: the bank's champion).")
@click.option("--version", "version", help="A registered version instead of the champion (e.g. a candidate).")
@result_json_option("fraud score")
@pass_state
def score_cmd(
    state: State,
    bank_id: str,
    input_path: str,
    output_path: str,
    model_path: str | None,
    version: str | None,
    as_json: bool,
) -> None:
    """Score a file of transactions with BANK's champion model; writes txn_id, score, alert (never over the input file)."""
    from usecases import fraud as uc

    res = uc.score_batch(state.ctx(bank_id), input_path, output_path, model_path=model_path, version=version)
    emit(
        res,
        as_json,
        lambda d: (
            f"scored {d['rows']:,} transactions ({d['alerts']:,} alerts at threshold "
            f"{d['threshold']:.4f}) into {d['output']} in {d['wall_s']:.2f} s with "
            f"{_model_label(d)}"
        ),
    )


def _model_label(d: dict) -> str:
    """'champion v3', 'candidate v4 (not the champion)' or 'the model file given'."""
    stage, version = d.get("model_stage", ""), d.get("model_version", "")
    if stage == "file" or not version:
        return "the model file given"
    return f"champion v{version}" if stage == "champion" else f"{stage} v{version} (not the champion)"


def register(cli: click.Group) -> None:
    cli.add_command(fraud)
