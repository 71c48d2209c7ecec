"""Champion vs challenger on the same held-out set: the out-of-time (latest) vintage of the bank's current data.

Both XGBoost models are loaded through the store (integrity checks, the ledger's version -> run) and score the
same applicants; the difference in Gini gets a paired bootstrap confidence interval (sandbox/bootstrap.py), KS
and AUC are shown beside it.
"""

from __future__ import annotations

from sandbox import bootstrap, comparison

from . import metrics, schema, store
from .lab import load_data
from .schema import LABEL

HEADLINE = "gini"


def compare(ctx, champion_version: str, challenger_version: str, *, resamples: int = 200, seed: int = 0) -> dict:
    ctx.require("risk.explain")
    ctx.require("models.load")
    champ = store.load(ctx, champion_version)
    chall = store.load(ctx, challenger_version)
    df, meta = load_data(ctx)
    oot = (df["vintage_index"] == int(df["vintage_index"].max())).to_numpy()
    held = df.loc[oot]
    X = schema.validate(held).matrix()
    y = held[LABEL].to_numpy().astype(int)
    a, b = champ.xgboost.pd(X), chall.xgboost.pd(X)
    out = bootstrap.paired(y, a, b, lambda yy, p: 2 * metrics.auc(yy, p) - 1, resamples=resamples, seed=seed)
    side = {
        name: {"auc": metrics.auc(y, p), "ks": metrics.ks(y, p)} for name, p in (("champion", a), ("challenger", b))
    }
    window = {
        "vintage": str(held["vintage"].iloc[0]) if len(held) else "",
        "rows": int(len(y)),
        "defaults": int(y.sum()),
        "data_hash": meta.get("data_hash", ""),
    }
    runs = (champ.run_id, chall.run_id)
    return comparison.result(ctx, "risk", (champion_version, challenger_version), runs, out, HEADLINE, window, side)
