"""The credit-risk lab's jobs: simulate, train (both models, all evidence to one MLflow run), explain, read reports."""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sandbox import tracking
from sandbox.atomic import atomic_path, write_json
from sandbox.compute import metered, metered_in_batches
from sandbox.errors import InvalidInput, NotFound, SandboxError, StoreError
from sandbox.progress import Progress
from sandbox.progress import report as report_progress
from usecases import reports

from . import card, evidence, fairness, importer, plots, schema, scorecard, store, xgb
from . import reasons as explain_mod
from . import simulator as sim
from .features import CONSTRAINED, DIRECTIONS
from .schema import FEATURE_NAMES, LABEL

DATA_FILE = ("risk", "data", "applicants.parquet")
META_FILE = ("risk", "data", "applicants.json")
MODELS = ("scorecard", "xgboost")
REPORTS = reports.REPORTS["risk"]  # declared once, in usecases/reports.py (the web app reads it without the models)


# -- simulate -----------------------------------------------------------------
@dataclass
class SimulationResult:
    rows: int
    default_rate: float
    vintages: int
    data_hash: str
    seed: int
    bias: float
    drift: float
    path: str = ""

    def to_dict(self) -> dict:
        d = asdict(self)
        d.pop("path")
        return d


def _number(name: str, value: Any, low: float, high: float, integer: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise InvalidInput(name, f"{value!r} is not a number", f"give a number between {low:g} and {high:g}")
    if integer and int(value) != value:
        raise InvalidInput(
            name, f"{value!r} is not a whole number", f"give a whole number between {low:g} and {high:g}"
        )
    if not (low <= value <= high):
        raise InvalidInput(name, f"{value!r} is out of range", f"give a number between {low:g} and {high:g}")
    return value


@metered("risk", "simulate")
def simulate(
    ctx,
    applicants: int = 20000,
    vintages: int = 12,
    seed: int = 0,
    bias: float = 0.0,
    drift: float = 0.0,
    progress: Progress = None,
) -> SimulationResult:
    ctx.require("risk.simulate")
    applicants = int(_number("applicants", applicants, 1000, 5_000_000, integer=True))
    vintages = int(_number("vintages", vintages, 3, 120, integer=True))
    seed = int(_number("seed", seed, 0, 2**31 - 1, integer=True))
    bias = float(_number("bias", bias, 0.0, 5.0))
    drift = float(_number("drift", drift, 0.0, 5.0))
    if applicants < vintages * 200:
        raise InvalidInput(
            "applicants",
            f"{applicants} applicants over {vintages} vintages is too few",
            f"give at least {vintages * 200} (200 per vintage)",
        )
    report_progress(progress, 0.05, "drawing applicants")
    df = sim.generate(applicants, vintages, seed, bias, drift)
    report_progress(progress, 0.7, "writing parquet")
    data_hash = tracking.hash_frame(df)
    path = ctx.path(*DATA_FILE, create=True)
    with atomic_path(path, suffix=".parquet") as tmp:
        df.to_parquet(tmp, index=False)
    result = SimulationResult(
        rows=len(df),
        default_rate=float(df[LABEL].mean()),
        vintages=vintages,
        data_hash=data_hash,
        seed=seed,
        bias=bias,
        drift=drift,
        path=str(path),
    )
    write_json(
        ctx.path(*META_FILE, create=True),
        {
            **result.to_dict(),
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
            "drifted_features": list(sim.DRIFTED_FEATURES) if drift > 0 else [],
            "disadvantaged_groups": sim.DISADVANTAGED if bias > 0 else {},
        },
    )
    importer.set_source(ctx, "simulate")  # `risk train` uses the latest data set, simulated or imported (issue 17)
    ctx.audit("risk.simulate", rows=len(df), vintages=vintages, seed=seed, bias=bias, drift=drift, data_hash=data_hash)
    report_progress(progress, 1.0, "done")
    return result


def load_data(ctx) -> tuple[pd.DataFrame, dict]:
    """The bank's simulated applicants (raw rows: scientists of the bank only) and their metadata."""
    ctx.require("data.read")
    path = ctx.path(*DATA_FILE)
    if not path.exists():
        raise NotFound(f"bank {ctx.bank} has no risk data", f"simulate some: `sandbox risk simulate {ctx.bank}`")
    meta_path = ctx.path(*META_FILE)
    _check_data(ctx, path)
    try:
        meta = json.loads(meta_path.read_text()) if meta_path.exists() else {}
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise _damaged(ctx, f"{meta_path.name} is not valid JSON") from None
    if not isinstance(meta, dict):
        raise _damaged(ctx, f"{meta_path.name} is not a description of the data set")
    return pd.read_parquet(path), meta


def _damaged(ctx, detail: str) -> StoreError:
    return StoreError(
        f"the bank's applicants data set is damaged ({detail})", f"re-simulate: `sandbox risk simulate {ctx.bank}`"
    )


def _check_data(ctx, path: Path) -> None:
    """Refuse a stored data set whose Parquet schema lacks a column or holds one of the wrong type, before any row
    is read (a file replaced by another process ended training with a KeyError traceback; issue 11, finding 9)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        arrow = pq.read_schema(path)
    except (OSError, ValueError, pa.ArrowException) as err:
        raise _damaged(ctx, f"{path.name} is not a readable Parquet file: {type(err).__name__}") from None
    t = pa.types

    def number(x) -> bool:
        return t.is_integer(x) or t.is_floating(x) or t.is_null(x)

    def text(x) -> bool:
        return t.is_string(x) or t.is_large_string(x) or t.is_null(x) or (t.is_dictionary(x) and text(x.value_type))

    want = {f.name: (number if f.kind in ("number", "count") else text) for f in schema.FEATURES}
    want.update(
        {
            LABEL: t.is_integer,
            "vintage_index": t.is_integer,
            "vintage": text,
            "age": number,
            "sex": text,
            "age_band": text,
        }
    )
    names = set(arrow.names)
    missing = [c for c in want if c not in names]
    if missing:
        raise _damaged(ctx, f"missing column{'s' if len(missing) > 1 else ''} {', '.join(missing)}")
    for c, ok in want.items():
        typ = arrow.field(c).type
        if not ok(typ):
            raise _damaged(
                ctx,
                f"column {c} holds {typ}, not {'a number' if ok is number else 'text' if ok is text else 'integers'}",
            )


# -- train --------------------------------------------------------------------
@dataclass
class TrainResult:
    """What a risk training returns; `to_dict` is the CLI's --json (docs/results.md). The same concepts carry the
    same names as fraud's TrainResult: `model_version` (the registered candidate), `wall_s` (the whole training)
    and `stage_s` (its timed stages: fit, evaluate, log, register; empty for a bank's imported schema)."""

    run_id: str
    metrics: dict[str, dict[str, float]]
    psi: dict[str, Any]
    fairness: dict[str, Any]
    fairness_flags: list[str] = field(default_factory=list)
    psi_flags: list[str] = field(default_factory=list)
    monotonic: bool = True
    model_version: str | None = None
    wall_s: float = 0.0
    stage_s: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {
            "run_id": self.run_id,
            "metrics": self.metrics,
            "psi_flags": self.psi_flags,
            "score_psi": self.psi.get("score_oot", {}),
            "fairness_flags": self.fairness_flags,
            "monotonic": self.monotonic,
            "model_version": self.model_version,
            "wall_s": round(self.wall_s, 2),
            "stage_s": {stage: round(s, 2) for stage, s in self.stage_s.items()},
        }


TRAIN_OPTIONS = {
    "approval_rate": 0.80,
    "cutoff": None,
    "max_difference": fairness.MAX_DIFFERENCE,
    "min_ratio": fairness.MIN_RATIO,
    "fairness_alpha": fairness.ALPHA,
    "pdo": 20.0,
    "base_points": 600.0,
    "base_odds": 50.0,
    "max_n_bins": 8,
    "test_fraction": 0.25,
    "calibration_fraction": 0.15,
    "split_seed": None,
    **{k: v for k, v in xgb.DEFAULTS.items()},
}


def _options(options: dict) -> dict:
    unknown = sorted(set(options) - set(TRAIN_OPTIONS))
    if unknown:
        raise InvalidInput(unknown[0], "is not a training option", f"use some of {', '.join(sorted(TRAIN_OPTIONS))}")
    o = {**TRAIN_OPTIONS, **options}
    _number("approval_rate", o["approval_rate"], 0.05, 0.99)
    if o["cutoff"] is not None:
        _number("cutoff", o["cutoff"], 1e-6, 1 - 1e-6)
    _number("max_difference", o["max_difference"], 0.0, 1.0)
    _number("min_ratio", o["min_ratio"], 0.0, 1.0)
    if o["fairness_alpha"] is not None:
        _number("fairness_alpha", o["fairness_alpha"], 1e-9, 0.5)
    _number("test_fraction", o["test_fraction"], 0.05, 0.6)
    _number("calibration_fraction", o["calibration_fraction"], 0.05, 0.4)
    _number("max_depth", o["max_depth"], 1, 12, integer=True)
    _number("max_leaves", o["max_leaves"], 0, 4096, integer=True)
    if o["grow_policy"] not in xgb.GROW_POLICIES:
        raise InvalidInput(
            "grow_policy",
            f"{o['grow_policy']!r} is not a tree growing policy",
            f"use one of {', '.join(xgb.GROW_POLICIES)}",
        )
    _number("n_estimators", o["n_estimators"], 1, 5000, integer=True)
    _number("learning_rate", o["learning_rate"], 1e-4, 1.0)
    return o


def _split(df: pd.DataFrame, o: dict, seed: int) -> dict[str, np.ndarray]:
    last = int(df["vintage_index"].max())
    oot = (df["vintage_index"] == last).to_numpy()
    u = np.random.default_rng(seed + 7919).random(len(df))
    train_end = 1.0 - o["test_fraction"] - o["calibration_fraction"]
    return {
        "train": ~oot & (u < train_end),
        "calibration": ~oot & (u >= train_end) & (u < 1.0 - o["test_fraction"]),
        "test": ~oot & (u >= 1.0 - o["test_fraction"]),
        "oot": oot,
    }


def _psi_report(df: pd.DataFrame, clean: schema.Clean, base: np.ndarray, scores: dict[str, np.ndarray]) -> dict:
    """PSI of every vintage against the in-time training sample, per feature and per model score."""
    vintages = sorted(df["vintage"].unique().tolist())
    vint = df["vintage"].to_numpy()
    columns = {
        n: (clean.text[n], None)
        if n in clean.text
        else (clean.numeric[n], tuple(float(k) for k in (schema.FIELDS[n].special or {})))
        for n in FEATURE_NAMES
    }
    return evidence.psi_report(columns, base, vintages, [vint == v for v in vintages], scores)


def monotonicity(model: xgb.XgbModel, X: np.ndarray, points: int = 25, sample: int = 300, seed: int = 0) -> dict:
    """Partial dependence of the PD over each constrained feature's range, the mean curve and each applicant's
    (ICE: monotone constraints promise it row by row), in the declared direction."""
    constrained = [(j, n, DIRECTIONS[n]) for j, n in enumerate(FEATURE_NAMES) if n in CONSTRAINED]
    return evidence.monotonicity(model, X, constrained, points, sample, seed, mean_too=True)


@dataclass
class Applicants:
    """The training data, checked and split: the rows, their cleaned features, labels and split masks."""

    df: pd.DataFrame
    meta: dict
    seed: int
    data_hash: str
    clean: schema.Clean
    y: np.ndarray
    split: dict[str, np.ndarray]  # train / calibration / test (in time) and oot (the latest vintage)
    X: np.ndarray
    params: dict


@dataclass
class Fitted:
    """Both models: the OptBinning scorecard (exported as a points table) and the calibrated monotone XGBoost."""

    spec: dict
    table: scorecard.PointsTable
    scorecard_score: np.ndarray
    scorecard_pd: np.ndarray
    booster: Any
    calibration: dict
    model: xgb.XgbModel
    xgboost_pd: np.ndarray


@dataclass
class Evaluation:
    """What the run measured: per-model metrics, cut-offs, stability (PSI), fairness and monotonicity."""

    metrics: dict[str, dict[str, float]]
    predictions: dict[str, np.ndarray]
    cutoffs: dict
    psi: dict
    fairness: dict
    fairness_flags: list[str]
    monotonicity: dict
    monotonic: bool
    data: dict
    split: dict


def _prepare(ctx, o: dict) -> Applicants:
    """Load and validate the bank's applicants, split them, and refuse a split with too few defaults."""
    df, meta = load_data(ctx)
    seed = int(meta.get("seed", 0)) if o["split_seed"] is None else int(o["split_seed"])
    clean = schema.validate(df, require_protected=True)
    y = df[LABEL].to_numpy().astype(int)
    s = _split(df, o, seed)
    if min(int(y[s["train"]].sum()), int(y[s["oot"]].sum()), int(y[s["calibration"]].sum())) < 20:
        raise InvalidInput(
            "applicants",
            "too few defaults in a split to train and validate",
            "simulate more applicants (e.g. --applicants 20000)",
        )
    params = {
        "applicants": len(df),
        "vintages": int(df["vintage_index"].max()) + 1,
        "seed": seed,
        "bias": meta.get("bias"),
        "drift": meta.get("drift"),
        "oot_vintage": str(df.loc[s["oot"], "vintage"].iloc[0]),
        **{k: v for k, v in o.items() if v is not None},
    }
    return Applicants(
        df, meta, seed, meta.get("data_hash") or tracking.hash_frame(df), clean, y, s, clean.matrix(), params
    )


def fit_models(data: Applicants, o: dict, device: str, progress: Progress) -> Fitted:
    """Fit the scorecard (checking its JSON export reproduces OptBinning's scores) and the monotone XGBoost."""
    s, y = data.split, data.y
    report_progress(progress, 0.1, "binning and fitting the scorecard (OptBinning)")
    Xsc = scorecard.frame(data.clean)
    sc = scorecard.fit(
        Xsc[s["train"]],
        y[s["train"]],
        pdo=o["pdo"],
        base_points=o["base_points"],
        base_odds=o["base_odds"],
        max_n_bins=int(o["max_n_bins"]),
    )
    spec = scorecard.export(sc, o["pdo"], o["base_points"], o["base_odds"])
    table = scorecard.PointsTable(spec)
    sc_score = table.score(data.clean)
    check = sc.score(Xsc.iloc[: min(len(Xsc), 2000)])
    if not np.allclose(check, sc_score[: len(check)], atol=1e-6):
        raise RuntimeError("scorecard JSON export does not reproduce OptBinning's scores")

    report_progress(progress, 0.35, "training monotone XGBoost")
    X = data.X
    booster, calib, model = xgb.fit_split(X, y, s, o, data.seed, device)
    booster.set_param({"nthread": os.cpu_count() or 1})
    return Fitted(spec, table, sc_score, table.pd_from_score(sc_score), booster, calib, model, model.pd(X))


def evaluate_models(data: Applicants, fit: Fitted, o: dict, progress: Progress) -> Evaluation:
    """Discrimination in time and out of time, approval rates at the cut-offs, PSI by vintage, fairness on the
    hold-out, and the XGBoost model's monotonicity."""
    report_progress(progress, 0.6, "metrics, stability and fairness")
    df, y, s = data.df, data.y, data.split
    cutoffs = evidence.cutoffs(fit.table, fit.scorecard_pd, fit.xgboost_pd, s["calibration"], o)
    decline = {"xgboost": fit.xgboost_pd > cutoffs["xgboost"], "scorecard": fit.scorecard_pd > cutoffs["scorecard_pd"]}
    preds = {"scorecard": fit.scorecard_pd, "xgboost": fit.xgboost_pd}
    all_metrics = evidence.model_metrics(y, preds, decline, s["oot"], s["test"])
    psi = _psi_report(df, data.clean, s["train"], {"xgboost": fit.xgboost_pd, "scorecard": -fit.scorecard_score})
    holdout = s["test"] | s["oot"]
    groups = {a: df[a].to_numpy()[holdout] for a in schema.PROTECTED}
    fair = {
        name: fairness.assess(
            y[holdout], decline[name][holdout], groups, o["max_difference"], o["min_ratio"], o["fairness_alpha"]
        )
        for name in MODELS
    }
    mono = monotonicity(fit.model, data.X[s["train"]], seed=data.seed)
    data_info = {
        "rows": len(df),
        "vintages": data.params["vintages"],
        "seed": data.seed,
        "bias": data.meta.get("bias", 0.0),
        "drift": data.meta.get("drift", 0.0),
        "data_hash": data.data_hash,
        "default_rate": float(y.mean()),
    }
    split_info = {k: int(v.sum()) for k, v in s.items()} | {"oot_vintage": data.params["oot_vintage"]}
    return Evaluation(
        all_metrics,
        preds,
        cutoffs,
        psi,
        fair,
        [f"{m}:{f}" for m in MODELS for f in fairness.flag_names(fair[m])],
        mono,
        all(v["monotone"] for v in mono.values()),
        data_info,
        split_info,
    )


def mlflow_metrics(ev: Evaluation) -> dict[str, float]:
    """The run's MLflow metrics, flat and snake_case: '<model>_<metric>', PSI, flag counts, fairness by group."""
    return evidence.flat_metrics(ev.metrics, ev.psi, ev.fairness, ev.fairness_flags, ev.monotonicity)


def log_evidence(ctx, run_id: str, data: Applicants, fit: Fitted, ev: Evaluation, o: dict, progress: Progress) -> None:
    """Everything a reviewer reads into the open run: metrics, tags, reports/*.json (REPORTS), plots, model card."""
    import mlflow

    report_progress(progress, 0.75, "logging evidence to MLflow")
    y, oot = data.y, data.split["oot"]
    evidence.log_run(mlflow_metrics(ev), ev.fairness_flags, ev.psi, ev.monotonic, **{"risk.champion": "xgboost"})

    def more_plots(d: Path) -> None:
        plots.score_distribution(d / "score_distribution.png", fit.scorecard_score[oot], y[oot])
        plots.psi_by_vintage(d / "psi_by_vintage.png", ev.psi)

    evidence.log_reports(
        y=y,
        hold=oot,
        preds=ev.predictions,
        all_metrics=ev.metrics,
        report={"models": ev.metrics, "cutoffs": ev.cutoffs, "split": ev.split, "data": ev.data},
        spec=fit.spec,
        fairness=ev.fairness,
        fairness_flags=ev.fairness_flags,
        psi=ev.psi,
        mono=ev.monotonicity,
        card=lambda table: card.render(
            bank=ctx.bank,
            run_id=run_id,
            data=ev.data,
            split=ev.split,
            metrics=ev.metrics,
            scorecard=table,
            psi=ev.psi,
            fairness=ev.fairness,
            cutoffs=ev.cutoffs,
            params=o,
        ),
        calibration_extra={"score_distribution": _score_hist(fit.scorecard_score[oot], y[oot])},
        more_plots=more_plots,
    )
    mlflow.log_dict({k: v for k, v in fit.calibration.items() if k != "params"}, "model/calibration.json")


def register_models(ctx, run_id: str, data: Applicants, fit: Fitted, ev: Evaluation, progress: Progress) -> str | None:
    """Register the XGBoost model as <bank>.risk and save both models for `risk explain`; the new version."""
    report_progress(progress, 0.88, "registering the XGBoost model")
    example = data.X[data.split["oot"]][:5]
    version = evidence.register_xgboost(ctx, fit.booster, list(FEATURE_NAMES), example, run_id, pin_frames=True)
    evidence.save_models(
        ctx, run_id, fit.booster, fit.spec, fit.calibration, ev.cutoffs, DIRECTIONS, version, data.data_hash
    )
    return version


def record_training(ctx, result: TrainResult, ev: Evaluation, data: Applicants) -> None:
    """The ledger's side: the registered version becomes a candidate gated on what this training measured (issue
    14; sandbox/lifecycle.py), and the training is audited."""
    evidence.record_training(
        ctx,
        result.run_id,
        result.model_version,
        mlflow_metrics(ev),
        ev.metrics,
        result.fairness_flags,
        result.psi_flags,
        data_hash=data.data_hash,
        rows=len(data.df),
    )


def train(ctx, progress: Progress = None, **options) -> TrainResult:
    """Train the scorecard and the monotone XGBoost on the bank's applicants, all evidence to one MLflow run.

    Steps, each timed into `stage_s`: fit, evaluate, log (MLflow), register (model registry and store); then the
    candidate is recorded in the ledger. A bank whose latest data set is imported trains on its own schema."""
    ctx.require("risk.train")
    o = _options(options)
    if importer.active(ctx):  # the bank's own imported data, its own schema (issue 17): usecases/risk/generic.py
        from . import generic

        g = generic.train(ctx, o, progress)
        return TrainResult(
            **{
                k: g[k]
                for k in (
                    "run_id",
                    "metrics",
                    "psi",
                    "fairness",
                    "fairness_flags",
                    "psi_flags",
                    "monotonic",
                    "model_version",
                )
            },
            wall_s=g["wall_s"],
        )
    t0 = time.perf_counter()
    report_progress(progress, 0.02, "loading applicants")
    data = _prepare(ctx, o)
    stage_s: dict[str, float] = {}
    with ctx.run(
        "risk",
        run_name="scorecard-vs-xgboost",
        seed=data.seed,
        data_hash=data.data_hash,
        params={k: str(v) for k, v in data.params.items()},
    ) as run:
        run_id = run.info.run_id
        t = time.perf_counter()
        fit = fit_models(data, o, ctx.device, progress)
        stage_s["fit"], t = time.perf_counter() - t, time.perf_counter()
        ev = evaluate_models(data, fit, o, progress)
        stage_s["evaluate"], t = time.perf_counter() - t, time.perf_counter()
        log_evidence(ctx, run_id, data, fit, ev, o, progress)
        stage_s["log"], t = time.perf_counter() - t, time.perf_counter()
        version = register_models(ctx, run_id, data, fit, ev, progress)
        stage_s["register"] = time.perf_counter() - t
    result = TrainResult(
        run_id=run_id,
        metrics=ev.metrics,
        psi=ev.psi,
        fairness=ev.fairness,
        fairness_flags=ev.fairness_flags,
        psi_flags=ev.psi["flags"],
        monotonic=ev.monotonic,
        model_version=version,
        wall_s=time.perf_counter() - t0,
        stage_s=stage_s,
    )
    record_training(ctx, result, ev, data)
    report_progress(progress, 1.0, "done")
    return result


def _score_hist(score: np.ndarray, y: np.ndarray, bins: int = 30) -> dict:
    edges = np.linspace(np.percentile(score, 0.5), np.percentile(score, 99.5), bins + 1)
    return {
        "edges": [round(float(e), 3) for e in edges],
        "repaid": np.histogram(score[y == 0], edges)[0].tolist(),
        "defaulted": np.histogram(score[y == 1], edges)[0].tolist(),
    }


# -- explain ------------------------------------------------------------------
def _applicants(ctx, applicants: Any) -> Any:
    if isinstance(applicants, (str, Path)):
        with ctx.user_file(applicants, "input") as src:  # opened once, checked and read by its descriptor
            return schema.read_file(src)
    return applicants


@metered_in_batches("risk", "explain")  # one usage record per batch of calls: an append per applicant cost more
def explain(
    ctx, applicants: Any, model: str = "xgboost", top: int = 4, version: str | int | None = None
) -> list[explain_mod.Explanation]:
    """Decisions and adverse reasons by the bank's champion (or a registered `version`, labelled with its stage)."""
    ctx.require("risk.explain")
    if model not in MODELS:
        raise InvalidInput("model", f"{model!r} is not a risk model", "use xgboost or scorecard")
    # One load (cached per model version, sandbox/lifecycle.py names the champion) decides which schema applies:
    # a model trained on the bank's own schema (issue 17) or on the simulator's.
    try:
        models, missing = store.load(ctx, version), None
    except SandboxError as err:
        models, missing = None, err
    if models is not None and isinstance(models.sidecar.get("dataset"), dict):
        from . import generic

        return generic.explain(ctx, models, _applicants(ctx, applicants), model, top)
    if isinstance(top, bool) or not isinstance(top, int) or not 1 <= top <= len(FEATURE_NAMES):
        raise InvalidInput("top", f"{top!r} is not a number of reasons", f"give 1 to {len(FEATURE_NAMES)}")
    clean = schema.validate(_applicants(ctx, applicants))  # bad input is reported before a missing model
    if missing is not None:
        raise missing
    return explain_mod.explain_rows(
        ctx,
        models,
        model,
        clean,
        clean.matrix,
        lambda impact: explain_mod.reasons(clean, impact, top),
        model_version=models.version,
    )


# -- readers (for the pages and the CLI; reviewers may read these) --------------
def latest_run_id(ctx) -> str:
    runs = [r for r in ctx.runs("risk") if r.info.status == "FINISHED"]
    if not runs:
        raise NotFound(f"bank {ctx.bank} has no finished risk run", f"train one: `sandbox risk train {ctx.bank}`")
    return runs[0].info.run_id


def report_path(name: str) -> str:
    """Where a risk run keeps report `name` (one of REPORTS): the app reads reports by this name, not by a guess."""
    return reports.report_path("risk", name)


def report(ctx, run_id: str | None = None, name: str = "metrics") -> dict:
    if name not in REPORTS:
        raise InvalidInput("name", f"{name!r} is not a risk report", f"use one of {', '.join(REPORTS)}")
    run_id = run_id or latest_run_id(ctx)
    out = json.loads(ctx.read_artifact_text(run_id, f"reports/{name}.json"))
    if name == "scorecard":  # runs from before the bin-label fix stored array reprs as category bins
        out["rows"] = [{**r, "bin": scorecard.clean_label(r["bin"])} for r in out.get("rows", [])]
    return out


def scorecard_table(ctx, run_id: str | None = None) -> pd.DataFrame:
    rows = report(ctx, run_id, "scorecard")["rows"]
    return pd.DataFrame(rows, columns=["variable", "bin", "points", "count", "event_rate"])


def model_card(ctx, run_id: str | None = None) -> str:
    return scorecard.clean_text(ctx.read_artifact_text(run_id or latest_run_id(ctx), "model_card.md"))
