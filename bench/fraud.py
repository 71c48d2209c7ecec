"""Fraud lab benchmarks: ours beside a peer measured in the same run, as ratios.

- Simulator, handbook scale (5,000 customers, 10,000 terminals, 183 days, ~1.75M rows): our vectorised
  simulator vs the same design written as a per-transaction Python loop (timed on a sample of customers,
  scaled up). Target: <= 20 s.
- Handbook preset and protocol: our features + XGBoost vs XGBoost on the handbook's 15 features.
  Targets (issue 13, mean of the book's four folds, its definitions): average precision >= 0.75, Card
  Precision@100 >= 0.33 (published tuned XGBoost: 0.687 / 0.303). `--only ceiling` measures how high CP@100 can
  go with the information a bank has at scoring time (an analysis on the simulator's ground truth).
  Also AP on two validation windows (train from 2018-07-04 and 2018-07-11), where choices are made.
- hk preset: our features + XGBoost vs XGBoost on the handbook's 15 features. Target: >= 1.3x AP; recall per scenario.
- Training on all handbook rows: XGBoost vs scikit-learn HistGradientBoosting and LightGBM on the same features,
  same rounds/depth/learning rate, same threads. Target: XGBoost fit <= 60 s.
- Scorer: streaming one transaction (state update + inplace_predict on one thread) vs building a DMatrix per row;
  targets p50 <= 0.5 ms, p99 <= 2 ms, p99 with top-4 reasons <= 5 ms. Batch: `score_batch` on a file vs the target
  200,000 transactions/s (median of 3 runs, with the time of each stage), with XGBoost's DMatrix predict as the
  model-only peer.

Usage: python bench/fraud.py [--quick] [--json]
"""

from __future__ import annotations

import sys
from pathlib import Path

# bench/platform.py is named like the stdlib `platform` module: keep bench/ off the import path.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import argparse
import json
import os
import tempfile
import time

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

BANK = "bench-bank"
VALIDATION_STARTS = ("2018-07-04", "2018-07-11")  # handbook protocol windows ending before the test window


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def make_ctx(home: Path):
    from sandbox import Store, open_workspace

    store = Store(home)
    store.init("root", "bench-password")
    store.create_bank(BANK)
    actor = store.add_user("sci", "scientist", "bench-password", bank=BANK)
    return open_workspace(BANK, actor, store)


# -- simulator ---------------------------------------------------------------------
def loop_handbook(customers: int, terminals: int, days: int, seed: int = 0) -> int:
    """The same handbook design, one transaction at a time (the style of the public reference code)."""
    rng = np.random.default_rng(seed)
    txy = rng.uniform(0, 100, (terminals, 2))
    rows = []
    for c in range(customers):
        x, y = rng.uniform(0, 100, 2)
        mean, rate = rng.uniform(5, 100), rng.uniform(0, 4)
        avail = [t for t in range(terminals) if (txy[t, 0] - x) ** 2 + (txy[t, 1] - y) ** 2 < 25]
        if not avail:
            continue
        for d in range(days):
            for _ in range(rng.poisson(rate)):
                tod = int(rng.normal(43200, 20000))
                if 0 < tod < 86400:
                    amt = rng.normal(mean, mean / 2)
                    if amt < 0:
                        amt = rng.uniform(0, 2 * mean)
                    rows.append((c, d * 86400 + tod, avail[int(rng.integers(len(avail)))], round(amt, 2)))
    df = pd.DataFrame(rows, columns=["c", "t", "term", "amount"])
    df["fraud"] = (df["amount"] > 220).astype(int)
    return len(df)


def bench_simulator(ctx, quick: bool) -> dict:
    import usecases.fraud as fraud

    customers, days = (2500, 140) if quick else (5000, 183)
    t0 = time.perf_counter()
    res = fraud.simulate(ctx, preset="handbook", customers=customers, days=days, seed=0)
    ours_s = time.perf_counter() - t0
    sample = 25 if quick else 60
    terminals = customers * 2
    t0 = time.perf_counter()
    loop_handbook(sample, terminals, days)
    peer_s = (time.perf_counter() - t0) * customers / sample
    return {
        "customers": customers,
        "days": days,
        "rows": res.rows,
        "fraud_rate": res.fraud_rate,
        "ours_s": round(ours_s, 2),
        "ours_generate_s": res.wall_s,
        "peer_loop_s_extrapolated": round(peer_s, 1),
        "peer_sample_customers": sample,
        "speedup_x": round(peer_s / ours_s, 1),
        "rows_per_s": round(res.rows / ours_s),
        "target_s": 20.0,
        "meets_target": None if quick else ours_s <= 20.0,
    }  # the target is for handbook scale


# -- model quality ---------------------------------------------------------------------
def compare_features(ctx, label: str) -> dict:
    import usecases.fraud as fraud

    out = {}
    for fs in ("ours", "handbook"):
        t0 = time.perf_counter()
        r = fraud.train(ctx, model="xgboost", feature_set=fs, register=False)
        m = r.metrics
        out[fs] = {
            "run_id": r.run_id,
            "average_precision": round(m["average_precision"], 4),
            "card_precision_at_100": round(m["card_precision_at_100"], 4),
            "card_precision_at_100_no_removal": round(m["card_precision_at_100_no_removal"], 4),
            "roc_auc": round(m["roc_auc"], 4),
            "recall_at_budget": round(m["recall_at_budget"], 4),
            "seconds": round(time.perf_counter() - t0, 1),
            "recall_per_scenario": {
                k[len("recall_") :]: round(v, 3)
                for k, v in m.items()
                if k.startswith("recall_") and k != "recall_at_budget"
            },
        }
        log(
            f"{label} {fs}: AP {m['average_precision']:.4f} CP@100 {m['card_precision_at_100']:.4f} "
            f"(no removal {m['card_precision_at_100_no_removal']:.4f})"
        )
    lr = fraud.train(ctx, model="logreg", feature_set="ours", register=False)
    out["logreg_ours"] = {
        "average_precision": round(lr.metrics["average_precision"], 4),
        "card_precision_at_100": round(lr.metrics["card_precision_at_100"], 4),
    }
    out["ap_ratio_ours_vs_handbook15"] = round(
        out["ours"]["average_precision"] / max(out["handbook"]["average_precision"], 1e-9), 3
    )
    return out


def bench_handbook(ctx) -> dict:
    import usecases.fraud as fraud

    out = compare_features(ctx, "handbook")
    ours = out["ours"]
    t0 = time.perf_counter()
    dk = fraud.train(ctx, model="xgboost", engine="dask", register=False)
    out["dask_local_cluster"] = {
        "average_precision": round(dk.metrics["average_precision"], 4),
        "card_precision_at_100": round(dk.metrics["card_precision_at_100"], 4),
        "seconds": round(time.perf_counter() - t0, 1),
        "ap_minus_local": round(dk.metrics["average_precision"] - ours["average_precision"], 4),
        "within_0_01": abs(dk.metrics["average_precision"] - ours["average_precision"]) <= 0.01,
    }
    log(f"handbook dask: AP {dk.metrics['average_precision']:.4f}")
    # the windows model and feature choices were made on: same protocol, trained from earlier dates, test windows
    # that end before the official one starts (2018-08-08)
    out["validation"] = {}
    for start in VALIDATION_STARTS:
        v = fraud.train(ctx, model="xgboost", register=False, train_start=start)
        out["validation"][start] = {
            "average_precision": round(v.metrics["average_precision"], 4),
            "card_precision_at_100": round(v.metrics["card_precision_at_100"], 4),
        }
        log(f"handbook validation from {start}: AP {v.metrics['average_precision']:.4f}")
    # card_precision_at_100 is the handbook's definition (detected cards removed from later test days), the one
    # its published table uses; the no-removal variant is reported beside it under its own name
    out["targets"] = {
        "average_precision": 0.75,
        "card_precision_at_100": 0.33,
        "published_tuned_xgboost": {"average_precision": 0.687, "card_precision_at_100": 0.303},
    }
    out["meets_target"] = ours["average_precision"] >= 0.75 and ours["card_precision_at_100"] >= 0.33
    return out


def _detectable(df: pd.DataFrame) -> np.ndarray:
    """Frauds a bank could know of at scoring time, at best (ground truth, for this analysis only): every
    amount-over-220 and leaked-card fraud (generous: their amount is the only sign), and the compromised-terminal
    frauds whose terminal has a fraud of the same compromise (the 28 days before) already reported."""
    from usecases.fraud import features

    sc = df["scenario"].to_numpy()
    term = df["terminal_id"].to_numpy(np.int64)
    sec = features.epoch_seconds(df["timestamp"].to_numpy())
    lab = features.epoch_seconds(df["label_time"].to_numpy())
    out = (sc == 1) | (sc == 3)
    s2 = np.flatnonzero(sc == 2)
    key = term[s2] * (np.int64(1) << 36) + sec[s2]
    order = np.argsort(key, kind="stable")
    first = np.searchsorted(key[order], key - 28 * 86_400, side="left")  # the compromise's earliest fraud so far
    out[s2] = lab[s2][order][first] <= sec[s2]
    return out


def bench_ceiling(ctx) -> dict:
    """How high Card Precision@100 can go on the four folds without information the bank lacks: the shipped
    model's scores, with every fraud of `_detectable` put on top (the order of the rest kept, or by the card's
    number of transactions that day, the one prior left for the frauds nobody can see yet)."""
    from usecases.fraud import data, evaluate, models, training

    df, meta = data.load(ctx)
    prep = training.prepare(df, meta, {}, "ours", None, "handbook")
    det, y = _detectable(df), df["is_fraud"].to_numpy()
    days, cust = df["timestamp"].dt.normalize().to_numpy(), df["customer_id"].to_numpy()
    rows = []
    for sp in prep.folds:
        t = sp.test
        booster = models.fit_xgb(prep.X.iloc[sp.train], y[sp.train], seed=0)
        score = models.predict_xgb(booster, prep.X.iloc[t])
        n_tx = pd.Series(1, index=np.arange(len(t))).groupby([days[t], cust[t]]).transform("sum").to_numpy()
        top = np.where(det[t], 2.0, score)
        top_ntx = np.where(det[t], 2.0, n_tx / (n_tx.max() + 1.0))
        rows.append(
            [evaluate.card_precision_top_k(days[t], cust[t], y[t], v) for v in (score, top, top_ntx, det[t] * 1.0)]
        )
    mean = np.mean(rows, axis=0).round(4)
    out = {
        "model": mean[0],
        "detectable_on_top": mean[1],
        "detectable_on_top_rest_by_transactions_that_day": mean[2],
        "detectable_only": mean[3],
        "folds": np.round(rows, 4).tolist(),
    }
    log(f"CP@100 ceiling: {out}")
    return out


def bench_hk(ctx, quick: bool) -> dict:
    import usecases.fraud as fraud

    customers, days = (1500, 60) if quick else (5000, 120)
    sim = fraud.simulate(ctx, preset="hk", customers=customers, days=days, seed=0)
    out = {
        "customers": customers,
        "days": days,
        "rows": sim.rows,
        "fraud_rate": round(sim.fraud_rate, 5),
        **compare_features(ctx, "hk"),
    }
    out["target_ap_ratio"] = 1.3
    out["meets_target"] = out["ap_ratio_ours_vs_handbook15"] >= 1.3
    return out


# -- training at scale ---------------------------------------------------------------------
def bench_training(ctx, quick: bool) -> dict:
    import lightgbm as lgb
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.metrics import average_precision_score

    from usecases.fraud import data, features, models

    df, meta = data.load(ctx)
    t0 = time.perf_counter()
    X = features.compute(df, label_delay_days=7.0)
    feat_s = time.perf_counter() - t0
    X = X[[c for c in X.columns if X[c].nunique(dropna=True) > 1]]  # the handbook data has no devices or payees
    y = df["is_fraud"].to_numpy()
    Xn = X.to_numpy(dtype=np.float32)
    p = models.XGB_PARAMS
    rounds, threads = models.XGB_ROUNDS, os.cpu_count() or 1
    # hold out the last 14 days to check that each model learned something comparable
    cut = int(np.searchsorted(df["timestamp"].to_numpy(), np.datetime64(df["timestamp"].max() - pd.Timedelta(days=14))))
    if quick:  # a minute, not ten: the last 300,000 rows before the holdout
        X, y, Xn, df = X.iloc[cut - 300_000 :], y[cut - 300_000 :], Xn[cut - 300_000 :], df.iloc[cut - 300_000 :]
        cut = 300_000
    res = {
        "rows": int(len(df)),
        "train_rows": cut,
        "features": X.shape[1],
        "features_s": round(feat_s, 2),
        "rounds": rounds,
        "max_depth": p["max_depth"],
        "learning_rate": p["learning_rate"],
        "threads": threads,
    }
    t0 = time.perf_counter()
    booster = models.fit_xgb(X.iloc[:cut], y[:cut], rounds=rounds)
    res["xgboost_fit_s"] = round(time.perf_counter() - t0, 2)
    res["xgboost_holdout_ap"] = round(float(average_precision_score(y[cut:], models.predict_xgb(booster, Xn[cut:]))), 4)
    log(f"xgboost fit {res['xgboost_fit_s']} s")
    t0 = time.perf_counter()
    lg = lgb.LGBMClassifier(
        n_estimators=rounds,
        learning_rate=p["learning_rate"],
        max_depth=p["max_depth"],
        num_leaves=2 ** p["max_depth"],
        subsample=p["subsample"],
        subsample_freq=1,
        colsample_bytree=p["colsample_bytree"],
        reg_lambda=p["reg_lambda"],
        max_bin=255,
        n_jobs=threads,
        verbose=-1,
    )
    lg.fit(Xn[:cut], y[:cut])
    res["lightgbm_fit_s"] = round(time.perf_counter() - t0, 2)
    res["lightgbm_holdout_ap"] = round(float(average_precision_score(y[cut:], lg.predict_proba(Xn[cut:])[:, 1])), 4)
    log(f"lightgbm fit {res['lightgbm_fit_s']} s")
    t0 = time.perf_counter()
    hgb = HistGradientBoostingClassifier(
        max_iter=rounds,
        learning_rate=p["learning_rate"],
        max_depth=p["max_depth"],
        l2_regularization=p["reg_lambda"],
        early_stopping=False,
        random_state=0,
    )
    hgb.fit(Xn[:cut], y[:cut])
    res["sklearn_hgb_fit_s"] = round(time.perf_counter() - t0, 2)
    res["sklearn_hgb_holdout_ap"] = round(float(average_precision_score(y[cut:], hgb.predict_proba(Xn[cut:])[:, 1])), 4)
    log(f"sklearn hgb fit {res['sklearn_hgb_fit_s']} s")
    res["ratio_lightgbm_over_xgboost"] = round(res["lightgbm_fit_s"] / res["xgboost_fit_s"], 2)
    res["ratio_sklearn_hgb_over_xgboost"] = round(res["sklearn_hgb_fit_s"] / res["xgboost_fit_s"], 2)
    res["target_fit_s"] = 60.0
    res["meets_target"] = res["xgboost_fit_s"] <= 60.0
    return res


# -- scoring ------------------------------------------------------------------------------
def bench_scorer(ctx, quick: bool) -> dict:
    import xgboost as xgb

    import usecases.fraud as fraud
    from usecases.fraud import data

    df, _ = data.load(ctx)
    trained = fraud.train(ctx, model="xgboost")  # the hk model, a candidate: scored explicitly by its version
    version = trained.model_version
    cut_t = df["timestamp"].max() - pd.Timedelta(days=2)
    hist, new = df[df["timestamp"] <= cut_t], df[df["timestamp"] > cut_t]
    scorer = fraud.load_scorer(ctx, warm=False, version=version)
    t0 = time.perf_counter()
    scorer.state.warm(hist)
    warm_s = time.perf_counter() - t0
    import gc

    gc.freeze()
    n = 1500 if quick else 5000
    txns = [
        {
            "txn_id": int(r.txn_id),
            "timestamp": pd.Timestamp(r.timestamp).isoformat(),
            "customer_id": int(r.customer_id),
            "amount": float(r.amount),
            "channel": str(r.channel),
            "merchant_category": r.merchant_category,
            "terminal_id": int(r.terminal_id),
            "device_id": int(r.device_id),
            "payee_id": int(r.payee_id),
        }
        for r in new.head(2 * n).itertuples(index=False)
    ]
    plain, explained, peer = [], [], []
    for t in txns[:n]:
        t0 = time.perf_counter()
        scorer.score(t, explain=False)
        plain.append(time.perf_counter() - t0)
    for t in txns[n : 2 * n]:
        t0 = time.perf_counter()
        scorer.score(t, explain=True)
        explained.append(time.perf_counter() - t0)
    booster = scorer.booster
    row = np.zeros((1, len(scorer.features)), dtype=np.float32)
    for _ in range(min(n, 1000)):
        t0 = time.perf_counter()
        booster.predict(xgb.DMatrix(row, feature_names=scorer.features))
        peer.append(time.perf_counter() - t0)

    def pct(v, q):
        return round(float(np.percentile(np.array(v) * 1000, q)), 3)

    res = {
        "warm_rows": int(len(hist)),
        "warm_s": round(warm_s, 2),
        "n": n,
        "one_txn_p50_ms": pct(plain, 50),
        "one_txn_p99_ms": pct(plain, 99),
        "with_reasons_p50_ms": pct(explained, 50),
        "with_reasons_p99_ms": pct(explained, 99),
        "peer_dmatrix_per_row_p50_ms": pct(peer, 50),
        "peer_dmatrix_per_row_p99_ms": pct(peer, 99),
    }
    gc_note = "gc.freeze() after warm-up, as load_scorer does"
    res["note"] = gc_note
    res["p50_speedup_vs_dmatrix_x"] = round(res["peer_dmatrix_per_row_p50_ms"] / max(res["one_txn_p50_ms"], 1e-9), 1)
    # batch: a file of the last 30 days, scored with the bank's history before it (75 days) feeding the windows;
    # three runs (the first also loads the compiled feature kernels), the median is the figure
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        start = df["timestamp"].max() - pd.Timedelta(days=30)
        batch = df[df["timestamp"] > start].drop(columns=["is_fraud", "scenario", "label_time"])
        batch.to_parquet(Path(tmp) / "in.parquet")
        for _ in range(3):
            c0 = time.process_time()
            r = fraud.score_batch(ctx, Path(tmp) / "in.parquet", Path(tmp) / "out.parquet", version=version)
            runs.append(dict(r, cpu_s=round(time.process_time() - c0, 3)))
    out = sorted(runs, key=lambda r: r["wall_s"])[1]
    from usecases.fraud import features

    X = features.compute(df)[scorer.features].to_numpy(dtype=np.float32)
    booster.set_param({"nthread": os.cpu_count() or 1})
    t0 = time.perf_counter()
    booster.inplace_predict(X)
    inplace_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    booster.predict(xgb.DMatrix(X, feature_names=scorer.features))
    dm_s = time.perf_counter() - t0
    res.update(
        {
            "batch_rows": out["rows"],
            "batch_history_rows": out["history_rows"],
            "batch_end_to_end_s": out["wall_s"],
            "batch_end_to_end_rows_per_s": out["rows_per_s"],
            "batch_features_s": out["features_s"],
            "batch_stages_s": out["stage_s"],
            "batch_cpu_s": out["cpu_s"],
            "batch_runs_rows_per_s": [r["rows_per_s"] for r in runs],
            "model_only_rows": int(len(X)),
            "model_only_inplace_rows_per_s": round(len(X) / inplace_s),
            "peer_model_only_dmatrix_rows_per_s": round(len(X) / dm_s),
        }
    )
    res["targets"] = {
        "one_txn_p50_ms": 0.5,
        "one_txn_p99_ms": 2.0,
        "with_reasons_p99_ms": 5.0,
        "batch_rows_per_s": 200_000,
    }
    res["meets_target"] = {
        "p50": res["one_txn_p50_ms"] <= 0.5,
        "p99": res["one_txn_p99_ms"] <= 2.0,
        "p99_reasons": res["with_reasons_p99_ms"] <= 5.0,
        "batch_end_to_end": res["batch_end_to_end_rows_per_s"] >= 200_000,
        "batch_model_only": res["model_only_inplace_rows_per_s"] >= 200_000,
    }
    return res


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="smaller data (about a minute or two on 2 cores)")
    ap.add_argument("--json", action="store_true")
    ap.add_argument(
        "--only", help="comma-separated sections: simulator,handbook,training,hk,scorer (and ceiling, not by default)"
    )
    args = ap.parse_args()
    only = set(args.only.split(",")) if args.only else {"simulator", "handbook", "training", "hk", "scorer"}
    results: dict = {"quick": args.quick, "cpu_count": os.cpu_count()}
    with tempfile.TemporaryDirectory() as home:
        ctx = make_ctx(Path(home))
        if only & {"simulator", "handbook", "training", "ceiling"}:
            log("simulator")
            results["simulator"] = bench_simulator(ctx, args.quick)
        if "handbook" in only:
            log("handbook protocol")
            results["handbook"] = bench_handbook(ctx)
        if "ceiling" in only:
            log("handbook CP@100 ceiling")
            results["ceiling"] = bench_ceiling(ctx)
        if "training" in only:
            log("training at scale")
            results["training"] = bench_training(ctx, args.quick)
        if only & {"hk", "scorer"}:
            log("hk preset")
            results["hk"] = bench_hk(ctx, args.quick)
        if "scorer" in only:
            log("scorer")
            results["scorer"] = bench_scorer(ctx, args.quick)
        from sandbox.workspace import flush_tracking

        flush_tracking()  # the last run's compute metrics, before the temporary store is deleted
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        for section, vals in results.items():
            if isinstance(vals, dict):
                print(f"== {section}")
                for k, v in vals.items():
                    print(f"  {k}: {v}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
