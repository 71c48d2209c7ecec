"""`risk train` and `risk explain` on a bank's imported data (its own schema), with the simulator's evidence layout.

The same workflow as the simulator's (`lab.train`): an OptBinning scorecard and a monotone, Platt-calibrated XGBoost
on the same split, reason codes from both in the data's own field names, fairness by each protected attribute (or
said plainly that there is none), PSI by period when the data has a time column, one MLflow run with the same
reports (`reports/metrics.json` ...), a model card, the models saved through `store` and registered as a candidate.

Split: with a time column, the latest periods (at least 15% of rows) are the out-of-time holdout and the rest is split
at random (stratified by the target, seed recorded) into train / calibration / in-time test; without one, a stratified
train / calibration / test split. The scorecard is fitted on train + calibration (it needs no calibration split), the
XGBoost on train, early-stopped and calibrated on calibration.

The honest part: when the GBM does not beat the scorecard by `GAIN_MARGIN` Gini on the holdout, the run's
recommendation (metrics report, tag, model card, the page) is the scorecard: simpler and as accurate.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pandas as pd

from sandbox.errors import InvalidInput

from . import dataset_schema as ds
from . import evidence, fairness, importer, scorecard, xgb
from . import generic_models as gm
from .reasons import Explanation, explain_rows

GAIN_MARGIN = 0.01  # Gini: a GBM less than this above the scorecard is not worth its complexity
OOT_SHARE = 0.15
MODELS = ("scorecard", "xgboost")


def split(y: np.ndarray, period: np.ndarray | None, o: dict, seed: int) -> tuple[dict[str, np.ndarray], str]:
    """Masks train / calibration / test / oot (oot empty without a time column) and what the holdout is."""
    from sklearn.model_selection import train_test_split

    n = len(y)
    oot = np.zeros(n, dtype=bool)
    holdout = "in-time test split (no time column: stratified, seed recorded)"
    if period is not None:
        labels = sorted(set(period.tolist()))
        if len(labels) >= 2:
            counts = pd.Series(period).value_counts()
            taken, chosen = 0, []
            for p in reversed(labels[1:]):
                chosen.append(p)
                taken += int(counts[p])
                if taken >= OOT_SHARE * n:
                    break
            oot = np.isin(period, chosen)
            holdout = f"out-of-time: period{'s' if len(chosen) > 1 else ''} {', '.join(sorted(chosen))}"
    idx = np.flatnonzero(~oot)
    test_n = o["test_fraction"] if period is None or not oot.any() else o["test_fraction"] * 0.6
    dev, test = train_test_split(idx, test_size=test_n, stratify=y[idx], random_state=seed)
    cal_share = o["calibration_fraction"] / (1 - test_n)
    tr, cal = train_test_split(dev, test_size=cal_share, stratify=y[dev], random_state=seed + 1)
    masks = {k: np.zeros(n, dtype=bool) for k in ("train", "calibration", "test")}
    masks["train"][tr], masks["calibration"][cal], masks["test"][test] = True, True, True
    masks["oot"] = oot
    return masks, holdout


def fit_both(
    schema: ds.DatasetSchema,
    r: gm.Rows,
    y: np.ndarray,
    s: dict[str, np.ndarray],
    o: dict,
    seed: int,
    device: str = "cpu",
    scorecard_settings: scorecard.Settings = scorecard.Settings(),  # noqa: B008 - frozen
) -> dict:
    """The two models on one split (used by `train` and by bench/risk.py on the public data set, which also fits
    the scorecard with OptBinning's recipe settings: `scorecard.RECIPE`)."""
    dev = s["train"] | s["calibration"]
    sc = gm.fit_scorecard(
        schema,
        gm.scorecard_frame(schema, r)[dev],
        y[dev],
        o["pdo"],
        o["base_points"],
        o["base_odds"],
        int(o["max_n_bins"]) if o.get("max_n_bins") else None,
        scorecard_settings,
    )
    spec = gm.export_scorecard(sc, schema, o["pdo"], o["base_points"], o["base_odds"])
    points = scorecard.PointsTable(spec)
    enc = gm.encoding(schema, r, y, s["train"])
    X = gm.matrix(schema, r, enc)
    booster, calib, model = xgb.fit_split(
        X, y, s, o, seed, device, feature_names=schema.names, constraints=gm.constraints(schema)
    )
    return {
        "optbinning": sc,
        "spec": spec,
        "points": points,
        "encoding": enc,
        "X": X,
        "booster": booster,
        "calibration": calib,
        "model": model,
    }


def _psi(
    r: gm.Rows,
    schema: ds.DatasetSchema,
    period: np.ndarray | None,
    base: np.ndarray,
    holdout: np.ndarray,
    scores: dict[str, np.ndarray],
) -> dict:
    """PSI by period against the training sample (with a time column); otherwise the holdout against it, said so."""
    if period is not None:
        labels = sorted(set(period.tolist()))
        masks = [period == p for p in labels]
        note = "PSI of each period against the in-time training sample"
    else:
        labels, masks = ["holdout"], [holdout]
        note = "no time column: stability over time cannot be measured; PSI of the in-time test split only"

    columns = {
        f.name: (r.text[f.name], None) if f.type == "categorical" else (r.numeric[f.name], tuple(f.special_codes))
        for f in schema.features
    }
    return evidence.psi_report(columns, base, labels, masks, scores, time_column=schema.time, note=note)


def _groups(df: pd.DataFrame, schema: ds.DatasetSchema, mask: np.ndarray) -> dict[str, np.ndarray]:
    out = {}
    for a in schema.protected:
        v = df[a].to_numpy()[mask]
        edges = schema.protected_bands.get(a)
        if edges:
            x = np.asarray(v, dtype=np.float64)
            names = [f"< {edges[0]:g}"] + [f"{lo:g}-{hi:g}" for lo, hi in zip(edges, edges[1:])] + [f">= {edges[-1]:g}"]
            v = np.where(
                np.isnan(x), "<missing>", np.asarray(names, dtype=object)[np.digitize(np.nan_to_num(x), edges)]
            )
        out[a] = np.asarray([("<missing>" if g is None else str(g)) for g in v], dtype=object)
    return out


def _fairness(df, schema, y, decline, holdout, o) -> dict:
    if not schema.protected:
        note = (
            "no protected attribute in the data (none declared or recognised): fairness was not assessed; "
            'declare columns such as sex or age as "protected" in the schema to assess it'
        )
        return {
            m: {
                "thresholds": {
                    "max_difference": o["max_difference"],
                    "min_ratio": o["min_ratio"],
                    "alpha": o["fairness_alpha"],
                },
                "attributes": [],
                "flags": [],
                "watch": [],
                "note": note,
            }
            for m in MODELS
        }
    groups = _groups(df, schema, holdout)
    return {
        m: fairness.assess(
            y[holdout], decline[m][holdout], groups, o["max_difference"], o["min_ratio"], o["fairness_alpha"]
        )
        for m in MODELS
    }


def monotonicity(
    model: xgb.XgbModel, schema: ds.DatasetSchema, X: np.ndarray, points: int = 20, sample: int = 200, seed: int = 0
) -> dict:
    """Each constrained feature: the PD of every sampled applicant (ICE) moves only in the declared direction."""
    constrained = [
        (j, f.name, f.direction) for j, f in enumerate(schema.features) if f.type == "numeric" and f.direction
    ]
    return evidence.monotonicity(model, X, constrained, points, sample, seed)


def recommendation(m: dict[str, dict[str, float]]) -> dict:
    gain = m["xgboost"]["gini"] - m["scorecard"]["gini"]
    if gain >= GAIN_MARGIN:
        return {
            "model": "xgboost",
            "gini_gain": gain,
            "why": f"the monotone XGBoost ranks defaults better than the scorecard (Gini {gain:+.3f} on the holdout)",
        }
    return {
        "model": "scorecard",
        "gini_gain": gain,
        "why": (
            f"the monotone XGBoost does not beat the scorecard by {GAIN_MARGIN} Gini on the holdout "
            f"(difference {gain:+.3f}): use the scorecard, simpler and as accurate"
        ),
    }


def train(ctx, o: dict, progress=None) -> dict:
    """Both models on the bank's imported data, every piece of evidence to one MLflow run; returns what
    `lab.TrainResult` needs (lab.train calls this when the bank's data set is an import)."""
    tick = progress or (lambda f, m: None)
    t0 = time.perf_counter()
    tick(0.02, "loading the imported applicants")
    df, schema, meta = importer.load(ctx)
    seed = int(o["split_seed"]) if o["split_seed"] is not None else 0
    y = df[schema.target].to_numpy().astype(int)
    r = gm.rows(schema, df)
    period = df[schema.time].to_numpy(dtype=object) if schema.time else None
    s, holdout_name = split(y, period, o, seed)
    hold = s["oot"] if s["oot"].any() else s["test"]
    _check_classes(y, s, hold)
    params = {
        "source": "import",
        "file": meta.get("file"),
        "applicants": len(df),
        "features": len(schema.features),
        "seed": seed,
        "holdout": holdout_name,
        **{k: v for k, v in o.items() if v is not None},
    }
    with ctx.run(
        "risk",
        run_name="scorecard-vs-xgboost (imported data)",
        seed=seed,
        data_hash=meta["data_hash"],
        params={k: str(v)[:250] for k, v in params.items()},
    ) as run:
        run_id = run.info.run_id
        tick(0.1, "binning and fitting the scorecard (OptBinning); training monotone XGBoost")
        fit, preds, sc_score = _fit_models(schema, df, r, y, s, o, seed, ctx.device)
        tick(0.6, "metrics, stability and fairness")
        ev = _evaluate_models(df, schema, r, y, s, hold, period, o, seed, fit, preds, sc_score)
        split_info = {k: int(v.sum()) for k, v in s.items()}
        split_info.update(holdout=holdout_name, seed=seed)
        data_info = _data_info(df, schema, meta, y, seed)
        tick(0.75, "logging evidence to MLflow")
        flat = _log_evidence(ctx, run_id, o, schema, fit, preds, ev, y, hold, split_info, data_info)
        tick(0.88, "registering the XGBoost model")
        version = _register_and_save(ctx, run_id, schema, fit, hold, ev["cutoffs"], meta)
    all_m, psi, fair, fairness_flags, rec = ev["metrics"], ev["psi"], ev["fairness"], ev["flags"], ev["rec"]
    evidence.record_training(
        ctx,
        run_id,
        version,
        flat,
        all_m,
        fairness_flags,
        psi["flags"],
        data_hash=meta["data_hash"],
        rows=len(df),
        data="imported",
        recommended=rec["model"],
    )
    tick(1.0, "done")
    return {
        "run_id": run_id,
        "metrics": all_m,
        "psi": psi,
        "fairness": fair,
        "fairness_flags": fairness_flags,
        "psi_flags": psi["flags"],
        "monotonic": ev["monotonic"],
        "model_version": version,
        "flat": flat,
        "wall_s": time.perf_counter() - t0,
        "rows": len(df),
        "data_hash": meta["data_hash"],
        "recommendation": rec,
    }


def _data_info(df: pd.DataFrame, schema, meta: dict, y: np.ndarray, seed: int) -> dict:
    """What the model card and reports/metrics.json say about the data trained on."""
    return {
        "source": "import",
        "file": meta.get("file"),
        "rows": len(df),
        "data_hash": meta["data_hash"],
        "default_rate": float(y.mean()),
        "seed": seed,
        "schema": schema.to_json(),
        "warnings": meta.get("warnings", []),
    }


def _check_classes(y: np.ndarray, s: dict, hold: np.ndarray) -> None:
    """Refuse a split with fewer than 10 defaults or 10 good payers: nothing could be trained or validated."""
    for name, m in (("train", s["train"]), ("calibration", s["calibration"]), ("holdout", hold)):
        if min(int(y[m].sum()), int((1 - y[m]).sum())) < 10:
            raise InvalidInput(
                "applicants",
                f"too few defaults or good payers in the {name} split to train and validate",
                "import more applicants (at least a few hundred of each class)",
            )


def _fit_models(schema, df, r, y, s, o, seed, device):
    """Fit both models; check the scorecard's JSON export reproduces OptBinning's scores.
    Returns (fit, PDs of every applicant per model, scorecard scores)."""
    fit = fit_both(schema, r, y, s, o, seed, device)
    points, model, X = fit["points"], fit["model"], fit["X"]
    sc_score = points.score(r)
    check = fit["optbinning"].score(gm.scorecard_frame(schema, r).iloc[: min(len(df), 2000)])
    if not np.allclose(check, sc_score[: len(check)], atol=1e-6):
        raise RuntimeError("scorecard JSON export does not reproduce OptBinning's scores")
    preds = {"scorecard": points.pd_from_score(sc_score), "xgboost": model.pd(X)}
    return fit, preds, sc_score


def _evaluate_models(df, schema, r, y, s, hold, period, o, seed, fit, preds, sc_score) -> dict:
    """Cut-offs, holdout (and in-time) metrics, recommendation, stability, fairness and monotonicity."""
    cut = evidence.cutoffs(fit["points"], preds["scorecard"], preds["xgboost"], s["calibration"], o)
    decline = {"xgboost": preds["xgboost"] > cut["xgboost"], "scorecard": preds["scorecard"] > cut["scorecard_pd"]}
    all_m = evidence.model_metrics(y, preds, decline, hold, s["test"] if s["oot"].any() else None)
    rec = recommendation(all_m)
    psi = _psi(r, schema, period, s["train"], hold, {"xgboost": preds["xgboost"], "scorecard": -sc_score})
    fair = _fairness(df, schema, y, decline, s["test"] | s["oot"], o)
    fairness_flags = [f"{m}:{f}" for m in MODELS for f in fairness.flag_names(fair[m])]
    mono = monotonicity(fit["model"], schema, fit["X"][s["train"]], seed=seed)
    return {
        "cutoffs": cut,
        "metrics": all_m,
        "rec": rec,
        "psi": psi,
        "fairness": fair,
        "flags": fairness_flags,
        "mono": mono,
        "monotonic": all(v["monotone"] for v in mono.values()),
    }


def _log_evidence(ctx, run_id, o, schema, fit, preds, ev, y, hold, split_info, data_info) -> dict:
    """Every report, plot, the model card and the scorecard spec to the open MLflow run; returns the flat metrics."""
    from . import card

    all_m, cut, rec, psi, fair = ev["metrics"], ev["cutoffs"], ev["rec"], ev["psi"], ev["fairness"]
    flat = evidence.flat_metrics(
        all_m, psi, fair, ev["flags"], ev["mono"], gini_gain_xgboost_over_scorecard=rec["gini_gain"]
    )
    evidence.log_run(
        flat,
        ev["flags"],
        psi,
        ev["monotonic"],
        **{
            "risk.fairness": "assessed" if any(fair[m]["attributes"] for m in MODELS) else "no protected attribute",
            "risk.data": "imported",
            "risk.recommended": rec["model"],
            "risk.champion": rec["model"],
        },
    )
    evidence.log_reports(
        y=y,
        hold=hold,
        preds=preds,
        all_metrics=all_m,
        report={"models": all_m, "cutoffs": cut, "split": split_info, "data": data_info, "recommendation": rec},
        spec=fit["spec"],
        fairness=fair,
        fairness_flags=ev["flags"],
        psi=psi,
        mono=ev["mono"],
        card=lambda table: card.render(
            bank=ctx.bank,
            run_id=run_id,
            data=data_info,
            split=split_info,
            metrics=all_m,
            scorecard=table,
            psi=psi,
            fairness=fair,
            cutoffs=cut,
            params=o,
            recommendation=rec,
            schema=schema,
        ),
    )
    return flat


def _register_and_save(ctx, run_id, schema, fit, hold, cut, meta) -> str | None:
    """Register the XGBoost model in MLflow and save both models, with what scoring needs, in the bank's store."""
    booster = fit["booster"]
    version = evidence.register_xgboost(ctx, booster, schema.names, fit["X"][hold][:5], run_id)
    directions = {f.name: f.direction for f in schema.features}
    dataset = {"schema": schema.to_json(), "encoding": fit["encoding"]}
    evidence.save_models(
        ctx,
        run_id,
        booster,
        fit["spec"],
        fit["calibration"],
        cut,
        directions,
        version,
        meta["data_hash"],
        dataset=dataset,
    )
    return version


# -- explain ------------------------------------------------------------------
def imported_model(models) -> bool:
    return isinstance(models.sidecar.get("dataset"), dict)


_SCHEMAS: dict[int, tuple[dict, ds.DatasetSchema]] = {}


def _schema_of(sidecar: dict) -> ds.DatasetSchema:
    """The loaded model's schema, parsed once per loaded sidecar (store.load caches it per model version; the
    sidecar is kept beside its schema so its id cannot be reused by another)."""
    hit = _SCHEMAS.get(id(sidecar))
    if hit is not None and hit[0] is sidecar:
        return hit[1]
    schema = ds.from_json(sidecar["dataset"]["schema"])
    while len(_SCHEMAS) >= 16:
        _SCHEMAS.pop(next(iter(_SCHEMAS)))
    _SCHEMAS[id(sidecar)] = (sidecar, schema)
    return schema


def explain(ctx, models, applicants: Any, model: str, top: int) -> list[Explanation]:
    """Decisions and adverse reasons by a model trained on imported data, in the data's own field names."""
    schema = _schema_of(models.sidecar)
    if isinstance(top, bool) or not isinstance(top, int) or top < 1:
        raise InvalidInput("top", f"{top!r} is not a number of reasons", f"give 1 to {len(schema.features)}")
    top = min(top, len(schema.features))
    if isinstance(applicants, dict):
        applicants = [applicants]
    if isinstance(applicants, list):
        if not applicants or not all(isinstance(a, dict) for a in applicants):
            raise InvalidInput("applicants", "not a list of applicants", 'give each applicant as {"field": value, ...}')
        if len(applicants) < 256:
            applicants = gm.rows_from_records(schema, applicants)
        else:
            applicants = pd.DataFrame(applicants)
    if isinstance(applicants, gm.Rows):
        r = applicants
    elif not isinstance(applicants, pd.DataFrame) or applicants.empty:
        raise InvalidInput("applicants", "no applicants given", "give at least one applicant")
    else:
        r = gm.rows(schema, applicants, strict=True)
    encoding = models.sidecar["dataset"]["encoding"]
    return explain_rows(
        ctx,
        models,
        model,
        r,
        lambda: gm.matrix(schema, r, encoding),
        lambda impact: gm.reasons(schema, r, impact, top),
        data="imported",
    )
