"""The monotone XGBoost PD model: constraints from the declared directions, Platt-calibrated.

Calibration is a logistic map of the raw margin (a * margin + b, a > 0), fitted
on an in-time calibration split: it keeps the ranking (and so every monotone
promise) and lets exact TreeSHAP contributions be scaled into calibrated
log-odds for the reason codes. The booster is saved as UBJ, the calibration as
JSON: nothing is pickled.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from .features import monotone_constraints
from .schema import FEATURE_NAMES

# Chosen on the in-time validation split of tuning portfolios (seeds 2 and 3, 200,000 applicants: never the
# out-of-time vintage, never the benchmark's seeds) by log loss, among settings whose exact TreeSHAP reason codes
# (`treeshap`: per-leaf tables) run at >= 10,000 applicants/s in batch, twice the target: depth-5 trees at
# learning rate 0.1 (about 200 trees) carry the three-way interactions (product x DSR x income, utilisation x
# enquiries x DSR) that depth-3 trees had to approximate. `python bench/risk.py --tune` reproduces the choice.
DEFAULTS = {
    "max_depth": 5,
    "max_leaves": 0,
    "grow_policy": "depthwise",
    "learning_rate": 0.1,
    "n_estimators": 600,
    "min_child_weight": 5.0,
    "subsample": 0.8,
    "colsample_bytree": 0.8,
    "reg_lambda": 1.0,
    "early_stopping_rounds": 40,
}
GROW_POLICIES = ("depthwise", "lossguide")

# An imported data set can be a thousand applicants or a million: the simulator's defaults (chosen on 200,000) over-fit
# a small one. So on imported data the trees' settings are chosen among these (the defaults first, then ever more
# regularised: shallower trees, slower learning, larger leaves, a stronger L2 penalty; depth 1 is an additive model,
# like a scorecard) by stratified k-fold cross-validation on the training split alone (mean validation log loss at
# each candidate's early-stopped round): never the calibration split, never the holdout.
CANDIDATES: tuple[dict, ...] = (
    {},
    {"max_depth": 3, "learning_rate": 0.05},
    {"max_depth": 2, "learning_rate": 0.05, "min_child_weight": 10.0, "reg_lambda": 5.0},
    {"max_depth": 1, "learning_rate": 0.05, "min_child_weight": 10.0, "reg_lambda": 5.0},
)
SELECT_FOLDS, SELECT_MAX_ROWS = 5, 20_000  # a larger training split is subsampled (stratified) for the choice


def fit_split(X: np.ndarray, y: np.ndarray, split: dict[str, np.ndarray], o: dict, seed: int, device: str, **schema):
    """`fit` on a training split: trees on `train`, early stopping and Platt calibration on `calibration`, the
    training options `o` (DEFAULTS' keys), every CPU; returns (booster, calibration dict, calibrated model).
    `schema`: an imported data set's feature_names and constraints."""
    train, cal = split["train"], split["calibration"]
    nthread = os.cpu_count() or 1
    opts = {k: o[k] for k in DEFAULTS}
    selection = None
    if schema and all(opts[k] == DEFAULTS[k] for k in DEFAULTS):  # imported data, settings not given: choose them
        opts, selection = select(
            X[train], y[train], opts, seed, nthread, schema["feature_names"], schema["constraints"]
        )
    booster, calib = fit(X[train], y[train], X[cal], y[cal], seed, device, nthread, **schema, **opts)
    if selection is not None:
        calib["selection"] = {"folds": SELECT_FOLDS, "candidates": selection}
    return booster, calib, XgbModel(booster, calib["a"], calib["b"])


def select(
    X: np.ndarray, y: np.ndarray, o: dict, seed: int, nthread: int, feature_names: list[str], constraints
) -> tuple[dict, list[dict]]:
    """The training options `o` with the tree settings of the `CANDIDATES` row of least cross-validated log loss on
    (X, y), the training split; and every candidate's figures (for the run's evidence)."""
    import xgboost as xgb

    rows = np.arange(len(y))
    if len(rows) > SELECT_MAX_ROWS:
        from sklearn.model_selection import train_test_split

        rows, _ = train_test_split(rows, train_size=SELECT_MAX_ROWS, stratify=y, random_state=seed)
    dm = xgb.DMatrix(X[rows], label=y[rows], feature_names=list(feature_names), nthread=nthread)
    table = []
    for cand in CANDIDATES:
        opts = {**o, **cand}
        cv = xgb.cv(
            _params(opts, constraints, seed, nthread, "cpu"),
            dm,
            num_boost_round=int(opts["n_estimators"]),
            nfold=SELECT_FOLDS,
            stratified=True,
            early_stopping_rounds=int(opts["early_stopping_rounds"]),
            seed=seed,
        )
        table.append({**cand, "trees": len(cv), "cv_logloss": float(cv["test-logloss-mean"].iloc[-1])})
    best = min(range(len(table)), key=lambda i: table[i]["cv_logloss"])
    return {**o, **CANDIDATES[best]}, [{**t, "chosen": i == best} for i, t in enumerate(table)]


def _params(o: dict, constraints, seed: int, nthread: int, device: str) -> dict:
    return {
        "objective": "binary:logistic",
        "eval_metric": "logloss",
        "tree_method": "hist",
        "device": device,
        "max_depth": int(o["max_depth"]),
        "max_leaves": int(o["max_leaves"]),
        "grow_policy": str(o["grow_policy"]),
        "eta": float(o["learning_rate"]),
        "min_child_weight": float(o["min_child_weight"]),
        "subsample": float(o["subsample"]),
        "colsample_bytree": float(o["colsample_bytree"]),
        "lambda": float(o["reg_lambda"]),
        "monotone_constraints": "(" + ",".join(str(int(c)) for c in constraints) + ")",
        "seed": int(seed),
        "nthread": nthread,
    }


def fit(
    X: np.ndarray,
    y: np.ndarray,
    X_cal: np.ndarray,
    y_cal: np.ndarray,
    seed: int = 0,
    device: str = "cpu",
    nthread: int = 2,
    feature_names: list[str] | None = None,
    constraints: tuple[int, ...] | None = None,
    **options,
):
    """Train with early stopping on the calibration split; return (booster, calibration dict). `feature_names` and
    `constraints` default to the simulator's schema (an imported data set passes its own: usecases/risk/generic.py)."""
    names = list(FEATURE_NAMES) if feature_names is None else list(feature_names)
    constraints = monotone_constraints() if constraints is None else tuple(constraints)
    import xgboost as xgb
    from sklearn.linear_model import LogisticRegression

    o = {**DEFAULTS, **options}
    params = _params(o, constraints, seed, nthread, device)
    dtrain = xgb.DMatrix(X, label=y, feature_names=names, nthread=nthread)
    dcal = xgb.DMatrix(X_cal, label=y_cal, feature_names=names, nthread=nthread)
    booster = xgb.train(
        params,
        dtrain,
        num_boost_round=int(o["n_estimators"]),
        evals=[(dcal, "calibration")],
        early_stopping_rounds=int(o["early_stopping_rounds"]),
        verbose_eval=False,
    )
    best = booster.best_iteration + 1
    booster = booster[:best]  # keep exactly the trees used, so contributions and predictions agree
    booster.set_param({"device": "cpu"})
    margin = booster.predict(dcal, output_margin=True)
    lr = LogisticRegression(C=1e6, max_iter=1000).fit(margin.reshape(-1, 1), y_cal)
    a, b = float(lr.coef_[0, 0]), float(lr.intercept_[0])
    if a <= 0:  # cannot happen with a useful model; refuse rather than flip the ranking
        a, b = 1.0, 0.0
    return booster, {
        "method": "platt",
        "a": a,
        "b": b,
        "trees": best,
        "leaves": shape(booster)["leaves"],
        "params": params,
    }


def shape(booster) -> dict:
    """Trees, leaves, and XGBoost's own TreeSHAP work per applicant (sum over leaves of depth squared: its
    EXTEND/UNWIND recursion walks every leaf's path once per level); the tables of `treeshap` cost about
    sum over leaves of 2 x depth."""
    trees = booster.get_dump()
    depths = [len(line) - len(line.lstrip("\t")) for tree in trees for line in tree.split("\n") if "leaf=" in line]
    return {"trees": len(trees), "leaves": len(depths), "treeshap_work": int(sum(d * d for d in depths))}


@dataclass
class XgbModel:
    """A loaded booster plus its calibration; predictions and exact TreeSHAP contributions."""

    booster: object
    a: float
    b: float
    batch_booster: object = None  # the same trees, set to use every core (single rows stay on one thread)
    tables: object = None  # treeshap.Tables: exact TreeSHAP by per-leaf tables (None: XGBoost's pred_contribs)

    def margin(self, X: np.ndarray, nthread: int = 1) -> np.ndarray:
        return self.booster.inplace_predict(X, predict_type="margin")

    def pd(self, X: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-(self.a * self.margin(X) + self.b)))

    def contributions(self, X: np.ndarray, nthread: int = 1) -> tuple[np.ndarray, np.ndarray]:
        """Exact TreeSHAP, scaled to calibrated log-odds: (per feature, base). Per-leaf tables (`treeshap`) when the
        model has them, else XGBoost's `pred_contribs`; the two agree to float32 rounding (tested)."""
        import xgboost as xgb

        if self.tables is not None:
            from . import treeshap

            c, base = treeshap.contributions(self.tables, X)
            return c * self.a, base * self.a + self.b
        # Columns are in FEATURE_NAMES order by construction (schema.Clean.matrix); naming them per call costs
        # more than the prediction of a single row, so the names are not re-checked here.
        booster = self.batch_booster if (nthread > 1 and self.batch_booster is not None) else self.booster
        dm = xgb.DMatrix(X, nthread=nthread)
        c = booster.predict(dm, pred_contribs=True, validate_features=False)
        return c[:, :-1] * self.a, c[:, -1] * self.a + self.b


def load(model_bytes: bytes, calibration: dict) -> XgbModel:
    import os

    import xgboost as xgb

    boosters = []
    for threads in (1, max(1, os.cpu_count() or 1)):
        booster = xgb.Booster()
        booster.load_model(bytearray(model_bytes))
        booster.set_param({"nthread": threads, "device": "cpu"})
        boosters.append(booster)
    from . import treeshap

    return XgbModel(
        boosters[0],
        float(calibration["a"]),
        float(calibration["b"]),
        batch_booster=boosters[1],
        tables=treeshap.build(boosters[0]),
    )
