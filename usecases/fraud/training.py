"""Train and evaluate a detector on the bank's transactions, log everything to its MLflow run.

Flow: load the data set -> the protocol's windows (evaluate.plan: one, or the
handbook's four folds; each train / label delay / test) -> features once for
the whole table (leakage-free, see features.py) -> per fold: fit (XGBoost
locally, on Dask, or on a GPU; or the logistic-regression baseline) ->
threshold for the alert budget from the *unlabelled* delay period -> metrics
on the test period -> headline = mean over the folds (with SD and each fold's
figures) -> MLflow run (params, metrics, reports/*.json, plots/*.png, model
card, the model) -> the latest fold's model registered as <bank>.fraud and
saved for scoring in the workspace (reports and plots are that fold's too).
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from sandbox.errors import InvalidInput

from . import card, checks, data, evaluate, features, model_store, models, plots
from .simulator import scenario_names

MODELS = ("xgboost", "logreg")
ENGINES = ("local", "dask")
FEATURE_SETS = {"ours": features.FEATURES, "handbook": features.HANDBOOK_FEATURES}
MAX_ROUNDS = 10_000


@dataclass
class TrainResult:
    """What a fraud training returns; the CLI's --json, the app and the tests read these fields (docs/results.md).

    Times follow the project's rule, units in the name: `wall_s` is the whole training, `stage_s` its timed stages
    (features, fit, predict; also in `metrics` as `features_s`, `fit_s`, `predict_s`, as MLflow logs them)."""

    run_id: str
    model: str
    engine: str
    metrics: dict
    threshold: float
    alert_budget: int
    protocol: dict
    feature_set: str
    features: list[str]
    data_hash: str
    registered_model: str | None = None
    model_version: str | None = None  # the registered candidate's version (risk's TrainResult names it the same)
    wall_s: float = 0.0
    stage_s: dict[str, float] = field(default_factory=dict)
    folds: list[dict] = field(default_factory=list)  # oldest first; the last one's model is the one kept

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Prepared:
    df: pd.DataFrame
    X: pd.DataFrame
    split: evaluate.Split  # the latest fold's (its model is the one kept)
    protocol: evaluate.Protocol
    meta: dict
    feature_seconds: float
    plan: evaluate.Plan | None = None
    folds: list[evaluate.Split] = field(default_factory=list)  # oldest first


def prepare(
    df: pd.DataFrame,
    meta: dict,
    protocol: dict,
    feature_set: str = "ours",
    progress: Callable | None = None,
    name: str | None = None,
) -> Prepared:
    """Plan the windows (`name`: --protocol; None: the data's default), check each fold, and compute the features
    once, up to the end of the last test period: every fold reads its rows from the same table (features only use
    earlier rows and the labels known at each row's time, so one table serves every fold)."""
    p = evaluate.protocol_from(protocol)
    plan = evaluate.plan(df, p, evaluate.protocol_name(name, p), meta.get("preset"))
    splits = [evaluate.split(df, p, start) for start in plan.starts]
    y = df["is_fraud"].to_numpy()
    for i, sp in enumerate(splits, 1):
        where = f" (fold {i} of {len(splits)}, --protocol {plan.name})" if len(splits) > 1 else ""
        n_fraud = int(y[sp.train].sum())
        if n_fraud == 0:
            raise InvalidInput(
                "training window",
                f"no fraud among the {len(sp.train):,} transactions of "
                f"{sp.train_start.date()}..{(sp.train_start + pd.Timedelta(days=p.train_days - 1)).date()}"
                f"{where}",
                "choose a window with reported fraud (--train-start / --train-days, or "
                "--protocol latest), or simulate or import labelled data",
            )
        if n_fraud == len(sp.train):
            raise InvalidInput(
                "training window", f"every training transaction is labelled fraud{where}", "check the is_fraud column"
            )
        if len(sp.test) == 0:
            raise InvalidInput("test window", f"no test transactions left{where}", "use a longer test period")
        n_test_fraud = int(y[sp.test].sum())
        if n_test_fraud in (0, len(sp.test)):  # checked before the run starts: no failed run is left behind
            raise InvalidInput(
                "test window",
                f"the test period {sp.test_start.date()}.."
                f"{(sp.test_end - evaluate.DAY).date()}{where} has {n_test_fraud} fraud rows of "
                f"{len(sp.test)}",
                "choose a period with both fraud and legitimate transactions "
                "(--train-start / --test-days, or --protocol latest)",
            )
    if progress:
        progress(0.1, "computing features")
    t0 = time.perf_counter()
    end = max(sp.test_end for sp in splits)
    cut = int(np.searchsorted(df["timestamp"].to_numpy(), np.datetime64(end), side="left"))
    X = features.compute(
        df.iloc[:cut], label_delay_days=float(meta.get("label_delay_days", 7)), only=FEATURE_SETS[feature_set]
    )
    return Prepared(df, X, splits[-1], p, meta, time.perf_counter() - t0, plan, splits)


def choose_threshold(delay_scores: np.ndarray, budget: int, n_days: int) -> float:
    """The score that lets about `budget` alerts a day through, from scores alone (no labels needed)."""
    if len(delay_scores) == 0:
        return 0.5
    k = min(len(delay_scores), max(1, budget * max(n_days, 1)))
    return float(np.sort(delay_scores)[::-1][k - 1])


def fit_predict(
    prep: Prepared,
    model: str,
    engine: str,
    scheduler: str | None,
    seed: int,
    device: str,
    rounds: int | None,
    progress: Callable | None,
    split: evaluate.Split | None = None,
):
    sp = split or prep.split
    y = prep.df["is_fraud"].to_numpy()
    Xtr, ytr = prep.X.iloc[sp.train], y[sp.train]
    if model == "logreg":
        est = models.LogReg().fit(Xtr.to_numpy(), ytr, seed=seed)
        return est, est.predict
    rounds = rounds or models.XGB_ROUNDS
    if engine == "dask":
        booster = models.fit_xgb_dask(Xtr, ytr, seed=seed, device=device, rounds=rounds, scheduler=scheduler)
    else:
        booster = models.fit_xgb(Xtr, ytr, seed=seed, device=device, rounds=rounds, progress=progress)
    return booster, lambda X: models.predict_xgb(booster, X)


def _fold_dates(i: int, sp: evaluate.Split, p: evaluate.Protocol) -> dict:
    last_test = sp.test_end - evaluate.DAY
    return {
        "fold": i,
        "train_start": str(sp.train_start.date()),
        "train_end": str((sp.train_start + (p.train_days - 1) * evaluate.DAY).date()),
        "test_start": str(sp.test_start.date()),
        "test_end": str(last_test.date()),
        "train_rows": int(len(sp.train)),
        "test_rows": int(len(sp.test)),
    }


@dataclass
class Fitted:
    """What fitting every fold leaves: the latest fold's model, threshold, budget and reports (the ones kept),
    each fold's metrics and dates, and the time spent fitting and predicting over all folds."""

    estimator: Any
    threshold: float
    alert_budget: int
    reports: dict
    fold_metrics: list[dict]
    folds: list[dict]
    fit_s: float
    predict_s: float


@dataclass
class Evaluation:
    """The headline of a training: metrics (mean over the folds), the reports logged, the protocol as used."""

    metrics: dict
    reports: dict
    protocol: dict
    importance: dict
    stage_s: dict[str, float]


def _check_settings(
    model: str,
    engine: str,
    scheduler: str | None,
    feature_set: str,
    seed: int,
    rounds: int | None,
    protocol: str | None,
    window: dict,
) -> tuple[int, int | None]:
    """Every setting checked before any work (a bad one is refused naming its CLI option); the seed and rounds."""
    checks.choice("model", model, MODELS)
    checks.choice("engine", engine, ENGINES)
    checks.choice("feature_set", feature_set, tuple(FEATURE_SETS))
    if engine == "dask" and model != "xgboost":
        raise InvalidInput(
            checks.label("engine"), "the dask engine trains XGBoost only", "use --model xgboost with --engine dask"
        )
    if scheduler is not None and engine != "dask":
        raise InvalidInput(
            checks.label("scheduler"),
            f"{scheduler!r} is given but the engine is {engine}",
            "add --engine dask to train on that Dask cluster, or drop --scheduler",
        )
    seed = checks.number("seed", seed, 0, checks.MAX_SEED)
    rounds = checks.number("rounds", rounds, 1, MAX_ROUNDS)
    evaluate.protocol_name(protocol, evaluate.protocol_from(window))
    return seed, rounds


def _run_params(prep: Prepared, model: str, engine: str, feature_set: str, seed: int, rounds: int | None) -> dict:
    """The run's MLflow params: the settings, the protocol and each fold's start."""
    p, last = prep.protocol, prep.split
    params = {
        "model": model,
        "engine": engine,
        "feature_set": feature_set,
        "n_features": len(FEATURE_SETS[feature_set]),
        "preset": prep.meta.get("preset", "imported"),
        "protocol": prep.plan.name,
        "folds": len(prep.folds),
        "fold_train_starts": ",".join(str(sp.train_start.date()) for sp in prep.folds),
        "train_start": str(last.train_start.date()),
        **{k: v for k, v in p.to_dict().items() if k != "train_start"},
        "train_rows": len(last.train),
        "test_rows": sum(len(sp.test) for sp in prep.folds),
        "seed": seed,
    }
    if model == "xgboost":
        params.update({f"xgb_{k}": v for k, v in models.XGB_PARAMS.items()}, xgb_rounds=rounds or models.XGB_ROUNDS)
    return params


def _fold_progress(progress: Callable | None, i: int, n: int, what: str) -> Callable | None:
    """Report the start of fold i of n, and return the reporter its fit uses (its share of 0.3..0.8)."""
    if not progress:
        return None
    lo, width = 0.3 + 0.5 * (i - 1) / n, 0.5 / n
    step = what + (f", fold {i} of {n}" if n > 1 else "")
    progress(lo, step)
    return lambda f, msg: progress(lo + width * f, f"{step}: {msg}")


def _threshold_for_budget(sp: evaluate.Split, p: evaluate.Protocol, delay_scores: np.ndarray) -> tuple[float, int]:
    """The alert budget (given, or the default for a day's rows) and the score threshold that meets it."""
    day_rows = len(sp.delay) / max(p.delay_days, 1) if len(sp.delay) else len(sp.train) / p.train_days
    budget = int(p.alert_budget or evaluate.default_budget(int(day_rows), 1))
    return choose_threshold(delay_scores, budget, p.delay_days if len(sp.delay) else p.train_days), budget


def fit_folds(
    prep: Prepared,
    model: str,
    engine: str,
    scheduler: str | None,
    seed: int,
    device: str,
    rounds: int | None,
    progress: Callable | None,
    scenarios: list[str],
) -> Fitted:
    """Fit each fold, set its threshold from the unlabelled delay period, and measure it on its test period."""
    p, n = prep.protocol, len(prep.folds)
    fold_metrics: list[dict] = []
    folds: list[dict] = []
    fit_s = predict_s = 0.0
    for i, sp in enumerate(prep.folds, 1):
        sub = _fold_progress(progress, i, n, f"training {model} ({engine})")
        t0 = time.perf_counter()
        est, predict = fit_predict(prep, model, engine, scheduler, seed, device, rounds, sub, sp)
        fit_s += time.perf_counter() - t0
        t0 = time.perf_counter()
        test_scores = predict(prep.X.iloc[sp.test])
        delay_scores = predict(prep.X.iloc[sp.delay]) if len(sp.delay) else predict(prep.X.iloc[sp.train])
        predict_s += time.perf_counter() - t0
        threshold, budget = _threshold_for_budget(sp, p, delay_scores)
        # est, reports, threshold and budget of the last fold are the ones kept: the latest model's
        m, reports = evaluate.metrics(prep.df.iloc[sp.test], test_scores, threshold, p.test_days, scenarios)
        m["alert_budget"] = float(budget)
        fold_metrics.append(m)
        kept = {k: m[k] for k in (*evaluate.FOLD_METRICS, "threshold", "test_fraud_rows")}
        folds.append(_fold_dates(i, sp, p) | {"metrics": kept})
    return Fitted(est, threshold, budget, reports, fold_metrics, folds, fit_s, predict_s)


def evaluate_folds(prep: Prepared, fitted: Fitted, model: str, feats: list[str]) -> Evaluation:
    """The headline metrics (mean and SD over the folds), the importance of the kept model, and the reports."""
    metrics = evaluate.combine(fitted.fold_metrics)
    est = fitted.estimator
    importance = models.gain_importance(est, feats) if model == "xgboost" else est.importance(feats)
    reports = fitted.reports
    reports["feature_importance"] = {
        "feature": list(importance),
        "importance": list(importance.values()),
        "description": [features.SPEC[f] for f in importance],
    }
    stage_s = {"features": prep.feature_seconds, "fit": fitted.fit_s, "predict": fitted.predict_s}
    metrics.update({f"{stage}_s": s for stage, s in stage_s.items()})  # MLflow names: features_s, fit_s, predict_s
    n = len(prep.folds)
    proto = dict(
        prep.protocol.to_dict(),
        train_start_used=str(prep.split.train_start.date()),
        **prep.plan.to_dict(),
        model_from_fold=n,
    )
    reports["metrics"] = dict(metrics)
    reports["folds"] = {
        "protocol": proto,
        "folds": fitted.folds,
        "model_from_fold": n,
        "mean": {k: metrics[k] for k in evaluate.FOLD_METRICS},
        "sd": {k: metrics.get(f"{k}_sd", 0.0) for k in evaluate.FOLD_METRICS},
    }
    return Evaluation(metrics, reports, proto, importance, stage_s)


def log_evidence(
    ctx,
    run_id: str,
    prep: Prepared,
    fitted: Fitted,
    ev: Evaluation,
    *,
    model: str,
    engine: str,
    device: str,
    feature_set: str,
    feats: list[str],
) -> None:
    """Everything a reviewer reads into the open run: metrics, reports/*.json, plots/*.png, the model card."""
    import mlflow

    mlflow.log_metrics({k: float(v) for k, v in ev.metrics.items()})
    for rname, obj in ev.reports.items():
        mlflow.log_dict(obj, f"reports/{rname}.json")
    n = len(prep.folds)
    title = f"{ctx.bank} {model}" + (f" (fold {n} of {n})" if n > 1 else "")
    for rname, fig in (
        ("pr_curve", plots.pr_curve(ev.reports["pr_curve"], title)),
        ("feature_importance", plots.feature_importance(ev.importance, title)),
        ("calibration", plots.calibration(ev.reports["calibration"], title)),
    ):
        mlflow.log_figure(fig, f"plots/{rname}.png")
        plots.close(fig)
    mlflow.log_text(
        card.model_card(
            bank=ctx.bank,
            run_id=run_id,
            model=model,
            engine=engine,
            device=device,
            data=prep.meta,
            protocol=ev.protocol,
            metrics=ev.metrics,
            per_scenario=ev.reports["recall_per_scenario"]["scenarios"],
            importance=ev.importance,
            feature_set=feature_set,
            n_features=len(feats),
            threshold=fitted.threshold,
            alert_budget=fitted.alert_budget,
            stage_s=ev.stage_s,
            folds=fitted.folds,
        ),
        "model_card.md",
    )


def keep_model(
    ctx, run_id: str, prep: Prepared, fitted: Fitted, model: str, feats: list[str], seed: int, register: bool
) -> tuple[str | None, str | None]:
    """Log the kept (latest fold's) model to the run; an XGBoost model is also saved for scoring and, with
    `register`, registered as <bank>.fraud. Returns the registered name and version (None, None if not)."""
    import mlflow

    if model != "xgboost":
        mlflow.log_dict(fitted.estimator.to_json() | {"features": feats}, "model/logreg.json")
        return None, None
    # MLflow prints "Successfully registered model ..." on stdout: keep stdout for the caller's data (--json)
    with contextlib.redirect_stdout(sys.stderr):
        return _log_xgb(
            ctx, fitted.estimator, prep, feats, fitted.threshold, fitted.alert_budget, run_id, seed, register
        )


def record_training(ctx, result: TrainResult, folds: int) -> None:
    """The ledger's side: a registered version becomes a candidate gated on what this training measured (issue 14;
    sandbox/lifecycle.py), and the training is audited."""
    if result.model_version is not None:
        from sandbox import lifecycle

        lifecycle.record_candidate(ctx, "fraud", result.model_version, result.run_id, result.metrics)
    ctx.audit(
        "fraud.train",
        run_id=result.run_id,
        model=result.model,
        engine=result.engine,
        feature_set=result.feature_set,
        protocol=result.protocol["protocol"],
        folds=folds,
        average_precision=round(result.metrics["average_precision"], 4),
        model_version=result.model_version,
    )


def train(
    ctx,
    model: str = "xgboost",
    engine: str = "local",
    scheduler: str | None = None,
    progress: Callable[[float, str], None] | None = None,
    *,
    seed: int = 0,
    feature_set: str = "ours",
    rounds: int | None = None,
    register: bool = True,
    protocol: str | None = None,
    **window,
) -> TrainResult:
    """Train and evaluate on the windows of `protocol` ("handbook": four folds, "latest": one; None: the data's
    default, or one window from `train_start`); see evaluate.plan. With several folds the headline metrics are
    the mean over the folds, and the model kept (registered, saved for scoring) is the latest fold's.

    Steps: check the settings, prepare (windows, features), fit the folds, evaluate, log the evidence, keep and
    register the model, record the candidate."""
    t0 = time.perf_counter()
    ctx.require("fraud.train")
    seed, rounds = _check_settings(model, engine, scheduler, feature_set, seed, rounds, protocol, window)
    df, meta = data.load(ctx)
    if scheduler is not None:
        models.check_scheduler(scheduler)  # before the features: an unreachable cluster fails in seconds
    prep = prepare(df, meta, window, feature_set, progress, protocol)
    feats = list(FEATURE_SETS[feature_set])
    with ctx.run(
        "fraud",
        run_name=f"{model}-{feature_set}-{engine}",
        seed=seed,
        data_hash=meta.get("data_hash"),
        params=_run_params(prep, model, engine, feature_set, seed, rounds),
    ) as run:
        run_id = run.info.run_id
        device = ctx.device  # asked once (nvidia-smi on a GPU host)
        fitted = fit_folds(
            prep, model, engine, scheduler, seed, device, rounds, progress, scenario_names(meta.get("preset", ""))
        )
        if progress:
            progress(0.8, "evaluating")
        ev = evaluate_folds(prep, fitted, model, feats)
        log_evidence(
            ctx,
            run_id,
            prep,
            fitted,
            ev,
            model=model,
            engine=engine,
            device=device,
            feature_set=feature_set,
            feats=feats,
        )
        reg_name, reg_version = keep_model(ctx, run_id, prep, fitted, model, feats, seed, register)
    result = TrainResult(
        run_id=run_id,
        model=model,
        engine=engine,
        metrics=ev.metrics,
        threshold=fitted.threshold,
        alert_budget=fitted.alert_budget,
        protocol=ev.protocol,
        feature_set=feature_set,
        features=feats,
        data_hash=meta.get("data_hash", ""),
        registered_model=reg_name,
        model_version=reg_version,
        wall_s=time.perf_counter() - t0,
        stage_s=ev.stage_s,
        folds=fitted.folds,
    )
    record_training(ctx, result, len(prep.folds))
    if progress:
        progress(1.0, "done")
    return result


def _log_xgb(
    ctx,
    booster,
    prep: Prepared,
    feats: list[str],
    threshold: float,
    budget: int,
    run_id: str,
    seed: int,
    register: bool,
):
    import mlflow
    import mlflow.xgboost
    import xgboost as xgb
    from mlflow.models import infer_signature

    y = prep.df["is_fraud"].to_numpy()
    Xtr = prep.X.iloc[prep.split.train]
    legit = Xtr[y[prep.split.train] == 0]
    baseline = {f: (float(v) if np.isfinite(v) else None) for f, v in legit.median().items()}
    raw_sha = model_store.sha256(bytes(booster.save_raw(raw_format="ubj")))
    mlflow.set_tag(model_store.RUN_TAG_SHA, raw_sha)
    example = Xtr.head(5).astype("float32")  # for the signature only: no row is logged as an input example
    info = mlflow.xgboost.log_model(
        booster,
        name="model",
        signature=infer_signature(example, models.predict_xgb(booster, example)),
        pip_requirements=[f"xgboost=={xgb.__version__}"],
        model_format="ubj",
    )
    sidecar = {
        "run_id": run_id,
        "features": feats,
        "threshold": threshold,
        "alert_budget": budget,
        "label_delay_days": float(prep.meta.get("label_delay_days", 7)),
        "baseline": baseline,
        "data_hash": prep.meta.get("data_hash", ""),
        "seed": seed,
        "xgboost": xgb.__version__,
        "trained_at": pd.Timestamp.now(tz="UTC").isoformat(timespec="seconds"),
    }
    saved = model_store.save(ctx, booster, sidecar)
    assert saved["sha256"] == raw_sha
    reg_name = reg_version = None
    if register:
        mv = ctx.register_model("fraud", info.model_uri, run_id)
        reg_name, reg_version = mv.name, str(mv.version)
    return reg_name, reg_version
