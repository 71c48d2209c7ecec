"""Champion vs challenger on the same held-out window: the latest test window of the bank's current data.

Both detectors are loaded through the model store (integrity checks, the ledger's version -> run), score the same
transactions with features computed once, and the difference in average precision gets a paired bootstrap
confidence interval (sandbox/bootstrap.py). Card Precision@100 and ROC AUC are shown beside it, without interval.
"""

from __future__ import annotations

import numpy as np
from sklearn.metrics import average_precision_score, roc_auc_score

from sandbox import bootstrap, comparison

from . import data, evaluate, model_store
from .training import prepare

HEADLINE = "average_precision"


def compare(ctx, champion_version: str, challenger_version: str, *, resamples: int = 200, seed: int = 0) -> dict:
    ctx.require("fraud.score")
    ctx.require("models.load")
    champ, champ_side = model_store.load(ctx, version=champion_version)
    chall, chall_side = model_store.load(ctx, version=challenger_version)
    df, meta = data.load(ctx)
    prep = prepare(df, meta, {}, "ours", None, "latest")  # every fraud feature: both models find theirs
    sp = prep.split
    X = prep.X.iloc[sp.test]
    y = df["is_fraud"].to_numpy()[sp.test].astype(int)
    days = (df["timestamp"].iloc[sp.test] - sp.test_start).dt.days.to_numpy()
    cust = df["customer_id"].to_numpy()[sp.test]

    def scores(booster, side) -> np.ndarray:
        return booster.inplace_predict(np.ascontiguousarray(X[list(side["features"])].to_numpy()))

    a, b = scores(champ, champ_side), scores(chall, chall_side)
    out = bootstrap.paired(y, a, b, lambda yy, s: float(average_precision_score(yy, s)), resamples=resamples, seed=seed)
    side = {}
    for name, s in (("champion", a), ("challenger", b)):
        side[name] = {
            "roc_auc": float(roc_auc_score(y, s)),
            "card_precision_at_100": float(evaluate.card_precision_top_k(days, cust, y, s, 100)),
        }
    window = {
        "test_start": str(sp.test_start.date()),
        "test_end": str((sp.test_end - evaluate.DAY).date()),
        "rows": int(len(y)),
        "fraud_rows": int(y.sum()),
        "data_hash": meta.get("data_hash", ""),
    }
    runs = (champ_side.get("run_id"), chall_side.get("run_id"))
    return comparison.result(ctx, "fraud", (champion_version, challenger_version), runs, out, HEADLINE, window, side)
