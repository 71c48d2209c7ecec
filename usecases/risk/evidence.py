"""What a risk training measures, logs and registers, whichever data set it ran on.

The simulator's applicants (`lab.py`) and a bank's imported data (`generic.py`) differ in how rows are read, split
and described; from the two fitted models on, the workflow is one: cut-offs at the same approval rate, metrics on
the holdout, PSI against the training sample, the monotonicity walk, one MLflow run with the same reports, the
XGBoost model registered as `<bank>.risk`, both models saved through `store`, the candidate recorded in the ledger.
Each step is written here once; the callers pass what their data set knows (its features, its holdout, its extras).
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import metrics, plots, store, xgb
from .scorecard import PointsTable, table_frame

MODELS = ("scorecard", "xgboost")


def cutoffs(points: PointsTable, sc_pd: np.ndarray, x_pd: np.ndarray, calibration: np.ndarray, o: dict) -> dict:
    """Cut-offs: the same approval rate on the calibration split for both models (unless a PD cut-off is given)."""
    if o["cutoff"] is not None:
        x_cut = sc_cut = float(o["cutoff"])
    else:
        x_cut = float(np.quantile(x_pd[calibration], o["approval_rate"]))
        sc_cut = float(np.quantile(sc_pd[calibration], o["approval_rate"]))
    return {
        "xgboost": x_cut,
        "scorecard_pd": sc_cut,
        "scorecard_score": float(points.offset - points.factor * np.log(sc_cut / (1 - sc_cut))),
        "approval_rate": o["approval_rate"],
        "user": o["cutoff"] is not None,
    }


def model_metrics(
    y: np.ndarray,
    preds: dict[str, np.ndarray],
    decline: dict[str, np.ndarray],
    hold: np.ndarray,
    in_time: np.ndarray | None,
) -> dict[str, dict[str, float]]:
    """Per model: discrimination on the holdout, beside it the in-time test split's (when the holdout is out of
    time), and the approval rate at the cut-off."""
    out = {}
    for name, p in preds.items():
        mh = metrics.summary(y[hold], p[hold])
        extra = {}
        if in_time is not None:
            mi = metrics.summary(y[in_time], p[in_time])
            extra = {
                "gini_in_time": mi["gini"],
                "auc_in_time": mi["auc"],
                "ks_in_time": mi["ks"],
                "oot_gini_drop": mi["gini"] - mh["gini"],
            }
        out[name] = {**mh, **extra, "approval_rate": float(1 - decline[name][hold].mean())}
    return out


def psi_report(
    columns: dict[str, tuple[np.ndarray, tuple[float, ...] | None]],
    base: np.ndarray,
    periods: list,
    masks: list[np.ndarray],
    scores: dict[str, np.ndarray],
    **about: Any,
) -> dict:
    """PSI of each period (mask) against the `base` sample, per feature and per model score. `columns`: name ->
    (values, special codes), codes None for a categorical feature; `about` is written beside the series."""

    def series(buckets: np.ndarray) -> list[float]:
        labels, codes = np.unique(buckets.astype(str), return_inverse=True)
        return [round(metrics.psi_codes(codes[base], codes[m], len(labels)), 5) for m in masks]

    feats = {}
    for name, (x, special) in columns.items():
        if special is None:
            feats[name] = series(metrics.bucketise(x))
        else:
            regular = np.where(np.isin(x, special), np.nan, x) if special else x
            feats[name] = series(metrics.bucketise(x, metrics.numeric_edges(regular[base]), special))
    score = {n: series(metrics.bucketise(s, metrics.numeric_edges(s[base]))) for n, s in scores.items()}
    rep: dict[str, Any] = {"vintages": periods, "baseline": "in-time training sample", "features": feats}
    rep.update({"score": score, **about})
    rep["oot"] = {n: v[-1] for n, v in feats.items()}
    rep["score_oot"] = {n: v[-1] for n, v in score.items()}
    rep["levels"] = {n: metrics.psi_level(v) for n, v in rep["oot"].items()}
    rep["flags"] = sorted(n for n, v in rep["oot"].items() if v >= metrics.PSI_WATCH)
    rep["score_flags"] = sorted(n for n, v in rep["score_oot"].items() if v >= metrics.PSI_WATCH)
    rep["thresholds"] = {"watch": metrics.PSI_WATCH, "significant": metrics.PSI_ACTION}
    return rep


def monotonicity(
    model: xgb.XgbModel,
    X: np.ndarray,
    constrained: list[tuple[int, str, int]],
    points: int,
    sample: int,
    seed: int = 0,
    mean_too: bool = False,
) -> dict:
    """Each constrained feature (column, name, direction): over a grid of its values, the PD of every sampled
    applicant (ICE) moves only in the declared direction; `mean_too`: the mean PD curve must as well."""
    rng = np.random.default_rng(seed)
    rows = X[rng.choice(len(X), size=min(sample, len(X)), replace=False)]
    out = {}
    for j, name, direction in constrained:
        col = X[:, j][np.isfinite(X[:, j])]
        grid = np.unique(np.quantile(col, np.linspace(0, 1, points))) if len(col) else np.array([])
        ok, prev, curve = True, None, []
        for g in grid:
            Z = rows.copy()
            Z[:, j] = g
            m = model.margin(Z)
            curve.append(float(model.pd(Z).mean()))
            if prev is not None and np.any(direction * (m - prev) < -1e-5):
                ok = False
            prev = m
        if mean_too:
            ok = bool(np.all(np.diff(curve) * direction >= -1e-9) and ok)
        out[name] = {"direction": direction, "grid": [float(g) for g in grid], "mean_pd": curve, "monotone": ok}
    return out


def tracking_name(name: str) -> str:
    """A column name as a legal MLflow metric name (letters, digits, _ - . / and spaces only)."""
    return re.sub(r"[^A-Za-z0-9_\-./ ]", "_", name)[:250]


def flat_metrics(
    all_metrics: dict, psi: dict, fairness: dict, fairness_flags: list[str], mono: dict, **extra: float
) -> dict[str, float]:
    """The run's metrics, flat: '<model>_<metric>', PSI, flag counts, fairness by attribute (the ledger's gates
    read these names)."""
    flat = {f"{m}_{k}": float(v) for m, d in all_metrics.items() for k, v in d.items()}
    flat.update({f"psi_oot_{k}": v for k, v in psi["oot"].items()})
    flat.update({f"score_psi_oot_{k}": v for k, v in psi["score_oot"].items()})
    flat.update(
        {
            "fairness_flag_count": float(len(fairness_flags)),
            "psi_flag_count": float(len(psi["flags"])),
            "monotonic_features_ok": float(sum(v["monotone"] for v in mono.values())),
            "monotonic_features": float(len(mono)),
            **extra,
        }
    )
    for m in MODELS:
        for a in fairness[m]["attributes"]:
            for k in ("demographic_parity_difference", "equalized_odds_difference", "fpr_ratio"):
                flat[f"{m}_{tracking_name(a['attribute'])}_{k}"] = a[k]
    return flat


def log_run(flat: dict[str, float], fairness_flags: list[str], psi: dict, monotonic: bool, **tags: str) -> None:
    """The run's metrics (as legal MLflow names) and the tags the reviewer console filters on."""
    import mlflow

    mlflow.log_metrics({tracking_name(k): v for k, v in flat.items()})
    mlflow.set_tags(
        {
            "risk.fairness_flags": ",".join(fairness_flags) or "none",
            "risk.psi_flags": ",".join(psi["flags"]) or "none",
            "risk.monotonic": str(monotonic).lower(),
            **tags,
        }
    )


def log_reports(
    *,
    y: np.ndarray,
    hold: np.ndarray,
    preds: dict[str, np.ndarray],
    all_metrics: dict,
    report: dict,
    spec: dict,
    fairness: dict,
    fairness_flags: list[str],
    psi: dict,
    mono: dict,
    card: Callable[[pd.DataFrame], str],
    calibration_extra: dict | None = None,
    more_plots: Callable[[Path], None] | None = None,
) -> None:
    """reports/*.json (usecases/reports.py names them), the plots, the model card (`card` renders it from the
    scorecard table) and the scorecard spec, into the open run."""
    import mlflow

    table = table_frame(spec)
    roc = {n: {**metrics.roc_points(y[hold], p[hold]), "gini": all_metrics[n]["gini"]} for n, p in preds.items()}
    cal = {n: metrics.calibration_table(y[hold], p[hold]) for n, p in preds.items()}
    points = {k: spec[k] for k in ("pdo", "base_points", "base_odds")}
    for name, obj in (
        ("metrics", report),
        ("scorecard", {**points, "rows": table.to_dict(orient="records")}),
        ("fairness", {"cutoffs": report["cutoffs"], "flags": fairness_flags, **fairness}),
        ("psi", psi),
        ("roc", roc),
        ("calibration", {"models": cal, **(calibration_extra or {})}),
        ("monotonicity", mono),
    ):
        mlflow.log_dict(obj, f"reports/{name}.json")
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        plots.roc(d / "roc.png", roc)
        plots.calibration(d / "calibration.png", cal)
        if more_plots is not None:
            more_plots(d)
        mlflow.log_artifacts(str(d), "plots")
    mlflow.log_text(card(table), "model_card.md")
    mlflow.log_dict(spec, "model/scorecard.json")


def register_xgboost(
    ctx, booster, names: list[str], example: np.ndarray, run_id: str, pin_frames: bool = False
) -> str | None:
    """Log the booster as the run's `xgboost` model (its signature, no input example: that would log applicants'
    rows) and register it as <bank>.risk; the new version. `pin_frames` also pins pandas and numpy."""
    import importlib.metadata

    import mlflow
    from mlflow.models import infer_signature

    sig = infer_signature(pd.DataFrame(example, columns=names), booster.inplace_predict(example))
    reqs = []
    for dist in ("xgboost-cpu", "xgboost"):
        try:
            reqs.append(f"{dist}=={importlib.metadata.version(dist)}")
            break
        except importlib.metadata.PackageNotFoundError:
            continue
    if pin_frames:
        reqs += [f"pandas=={pd.__version__}", f"numpy=={np.__version__}"]
    info = mlflow.xgboost.log_model(booster, name="xgboost", signature=sig, pip_requirements=reqs, model_format="ubj")
    mv = ctx.register_model("risk", info.model_uri, run_id)
    return str(mv.version)


def save_models(
    ctx,
    run_id: str,
    booster,
    spec: dict,
    calibration: dict,
    cut: dict,
    directions: dict[str, int],
    version: str | None,
    data_hash: str,
    **extra: Any,
) -> None:
    """Both models in the bank's store, with what `risk explain` needs to score without the training data."""
    store.save(
        ctx,
        run_id,
        bytes(booster.save_raw("ubj")),
        spec,
        {
            "calibration": {k: v for k, v in calibration.items() if k != "params"},
            "cutoffs": cut,
            "features": list(directions),
            "directions": directions,
            "model_version": version,
            **extra,
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
            "data_hash": data_hash,
        },
    )


def record_training(
    ctx,
    run_id: str,
    version: str | None,
    flat: dict[str, float],
    all_metrics: dict,
    fairness_flags: list[str],
    psi_flags: list[str],
    **audit: Any,
) -> None:
    """The ledger's side: the registered version becomes a candidate gated on what this training measured
    (sandbox/lifecycle.py), and the training is audited."""
    if version is not None:
        from sandbox import lifecycle

        lifecycle.record_candidate(ctx, "risk", version, run_id, flat, fairness_flags)
    ctx.audit(
        "risk.train",
        run_id=run_id,
        model_version=version,
        xgboost_gini=round(all_metrics["xgboost"]["gini"], 4),
        scorecard_gini=round(all_metrics["scorecard"]["gini"], 4),
        fairness_flags=fairness_flags,
        psi_flags=psi_flags,
        **audit,
    )
