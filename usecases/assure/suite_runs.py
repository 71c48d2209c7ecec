"""`run_suite(store, reviewer, bank, usecase, suite)`: a bank's champion scored on a regulator-held suite.

The reviewer asks (`assure.suite_run`); the work runs under the platform identity (`platform_actor`: role
"platform" in sandbox/access.py, bound to the one bank, never a user anyone can sign in as), which alone loads the
bank's champion (its model files; for chat, its answering configuration over the bank's index) and reads the
suite's rows, inside this process. What leaves it is aggregates
only: the suite's metrics, the bank's own test figures from the champion's training run beside them, the
optimism gaps (suite minus the bank's figure: `<metric>_gap`, negative = the bank's figure was optimistic) and the
bank's gates evaluated on the suite's metrics. They go to:

- one MLflow run in the bank's experiment of that use case (tagged sandbox.assure=suite; metrics `suite_<m>`,
  `bank_<m>`, `<m>_gap`, `suite_gates_passed`; reports/suite_result.json), with no seed, no options, no rows;
- one `assure.suite_run` entry in the bank's audit chain (the ledger; sandbox/suite_results.py reads it for the
  cohort table, the evidence pack and `sandbox assure results`), and one in the platform log.

So the reviewer never sees the bank's rows or model file, and the bank never sees the suite's rows.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime

import numpy as np
import pandas as pd

from sandbox import lifecycle, suite_results
from sandbox.access import Actor, require
from sandbox.errors import InvalidInput, SandboxError
from sandbox.gates import evaluate as evaluate_gates
from sandbox.mlflow_identity import IDENTITY
from sandbox.workspace import open_workspace

from . import suites

PLATFORM_ACTOR = "platform:suites"  # a colon: no user name can be this (sandbox/store.py USER_NAME)
REPORT_ARTIFACT = "reports/suite_result.json"
HEADLINE = {
    "fraud": ("average_precision", "card_precision_at_100", "recall_at_budget", "precision_at_budget", "roc_auc"),
    "risk": (
        "xgboost_gini",
        "xgboost_ks",
        "xgboost_auc",
        "xgboost_brier",
        "xgboost_approval_rate",
        "score_psi_oot_xgboost",
    ),
    "chat": ("correctness", "refusal_accuracy", "injection_resistance", "citation_precision"),
}


@dataclass
class SuiteResult:
    suite: str
    bank: str
    usecase: str
    model_version: str
    run_id: str
    metrics: dict
    bank_figures: dict
    gaps: dict
    gates: list
    passed: bool
    suite_rows: int
    requested_by: str
    extra: dict = field(default_factory=dict)  # per-scenario recalls, fairness flags
    wall_s: float = 0.0

    def to_dict(self) -> dict:
        return asdict(self)


def platform_actor(bank: str) -> Actor:
    return Actor(PLATFORM_ACTOR, "platform", bank)


# -- scoring (inside the sandbox, under the platform identity) -------------------------------------------------
def _fraud(ctx, df: pd.DataFrame, suite: suites.Suite) -> tuple[dict, dict, list[str]]:
    from usecases.fraud import evaluate, features, model_store, models
    from usecases.fraud.simulator import scenario_names

    booster, sidecar = model_store.load(ctx)  # the champion (checked: this bank's, its run, its checksum)
    test_start = pd.Timestamp(suite.facts["test_start"])
    rows = np.flatnonzero(df["timestamp"].to_numpy() >= np.datetime64(test_start))
    X = features.compute(
        df, label_delay_days=float(sidecar.get("label_delay_days", 7)), only=tuple(sidecar["features"]), rows=rows
    )
    score = models.predict_xgb(booster, X[list(sidecar["features"])])
    names = {**scenario_names("hk"), suites.VARIANT_ID: suites.VARIANT_NAME}
    m, reports = evaluate.metrics(
        df.iloc[rows], score, float(sidecar["threshold"]), int(suite.facts["test_days"]), names
    )
    per = {r["scenario"]: round(r["recall"], 4) for r in reports["recall_per_scenario"]["scenarios"]}
    return m, {"recall_per_scenario": per, "alerts_per_day": m["alerts_per_day"]}, []


def _risk_psi(ctx, models, score: np.ndarray, run_params: dict) -> float | None:
    """PSI of the suite's PDs against the champion's PDs on its own in-time training sample (the anchor's
    baseline, `score_psi_oot_xgboost`), computed here from the bank's data; None when the data is gone."""
    from usecases.risk import lab, metrics, schema

    try:
        df, meta = lab.load_data(ctx)
    except SandboxError:  # no data, or damaged: the PSI gate says "not recorded"
        return None
    o = {
        "test_fraction": float(run_params.get("test_fraction", 0.25)),
        "calibration_fraction": float(run_params.get("calibration_fraction", 0.15)),
    }
    seed = int(float(run_params.get("seed", meta.get("seed", 0))))
    train = lab._split(df, o, seed)["train"]  # the training run's own split
    base = models.xgboost.pd(schema.validate(df, require_protected=True).matrix())[train]
    edges = metrics.numeric_edges(base)
    b, s = metrics.bucketise(base, edges), metrics.bucketise(score, edges)
    labels, codes = np.unique(np.concatenate([b, s]).astype(str), return_inverse=True)
    return round(metrics.psi_codes(codes[: len(b)], codes[len(b) :], len(labels)), 5)


def _risk(ctx, df: pd.DataFrame, suite: suites.Suite) -> tuple[dict, dict, list[str]]:
    from usecases.risk import fairness, metrics, schema
    from usecases.risk import store as risk_store

    models = risk_store.load(ctx)  # the champion
    if list(models.sidecar.get("features") or []) != list(schema.FEATURE_NAMES):
        raise InvalidInput(
            "suite",
            f"bank {ctx.bank}'s risk champion was trained on its own imported fields, not "
            "the sandbox's applicant schema this suite holds",
            "run a risk suite on a bank whose champion was trained on simulated applicants",
        )
    clean = schema.validate(df, require_protected=True)
    y = df[schema.LABEL].to_numpy().astype(int)
    p = models.xgboost.pd(clean.matrix())
    cut = float(models.sidecar["cutoffs"]["xgboost"])
    decline = p > cut
    m = {f"xgboost_{k}": float(v) for k, v in metrics.summary(y, p).items() if k != "rows"}
    m["xgboost_approval_rate"] = float(1 - decline.mean())
    params = dict(ctx.get_run(models.run_id).data.params)
    fair = fairness.assess(
        y,
        decline,
        {a: df[a].to_numpy() for a in schema.PROTECTED},
        float(params.get("max_difference", fairness.MAX_DIFFERENCE)),
        float(params.get("min_ratio", fairness.MIN_RATIO)),
        float(params.get("fairness_alpha", fairness.ALPHA)),
    )
    flags = [f"xgboost:{f}" for f in fairness.flag_names(fair)]
    psi = _risk_psi(ctx, models, p, params)
    if psi is not None:
        m["score_psi_oot_xgboost"] = psi
    for a in fair["attributes"]:
        for k in ("demographic_parity_difference", "equalized_odds_difference", "fpr_ratio"):
            m[f"xgboost_{a['attribute']}_{k}"] = float(a[k])
    return m, {"fairness_flags": flags}, flags


def _chat(ctx, df: pd.DataFrame, suite: suites.Suite) -> tuple[dict, dict, list[str]]:
    from . import chat_suite

    return chat_suite.score(ctx, df, suite)


SCORERS = {"fraud": _fraud, "risk": _risk, "chat": _chat}


def _own_key(usecase: str, mv, metric: str) -> str:
    """The name of `metric` in the champion's own run: a chat evaluation logs each backend's as `<backend>_<m>`."""
    if usecase == "chat":
        return f"{(mv.config or {}).get('backend') or ''}_{metric}"
    return metric


# -- the run ----------------------------------------------------------------------------------------------------
def _check(store, reviewer: Actor, bank: str, usecase: str, name: str):
    require(
        reviewer,
        "assure.suite_run",
        None,
        audit=store.platform_audit(),
        message=f"{reviewer.name} may not run the regulator's test suites (reviewers run them)",
        fix="a bank sees its own suite results with `sandbox assure results BANK`",
    )
    if usecase not in suites.USECASES:
        raise InvalidInput(
            "usecase", f"{usecase!r} has no regulator-held suite", f"use one of {', '.join(suites.USECASES)}"
        )
    open_workspace(bank, reviewer, store)  # the bank exists and the reviewer may look at it (audited if not)
    suite, df = suites.load(store, reviewer, name, "assure.suite_run")
    if suite.usecase != usecase:
        raise InvalidInput(
            "usecase",
            f"suite {name} is a {suite.usecase} suite, not {usecase}",
            f"run it as `sandbox assure run {bank} {suite.usecase} --suite {name}`, or pick a {usecase} "
            "suite (`sandbox assure suite list`)",
        )
    return suite, df


def run_suite(store, reviewer: Actor, bank: str, usecase: str, name: str) -> SuiteResult:
    """Score `bank`'s champion of `usecase` on suite `name` under the platform identity; aggregates out only."""
    suite, df = _check(store, reviewer, bank, usecase, name)
    ctx = open_workspace(bank, platform_actor(bank), store)
    mv = lifecycle.champion(ctx, usecase)
    if mv is None:
        raise lifecycle.no_champion(ctx, usecase, bool(lifecycle.versions(ctx, usecase)))
    t0 = time.perf_counter()
    with IDENTITY.sync_account(store):  # server mode: the platform writes the bank's run as the sync account
        metrics, extra, flags = SCORERS[usecase](ctx, df, suite)
        own = dict(ctx.get_run(mv.run_id).data.metrics)
        heads = [k for k in HEADLINE[usecase] if k in metrics]
        bank_figures = {k: round(float(own[key]), 6) for k in heads if (key := _own_key(usecase, mv, k)) in own}
        gaps = {f"{k}_gap": round(float(metrics[k]) - bank_figures[k], 6) for k in heads if k in bank_figures}
        gates = evaluate_gates(lifecycle.current_gates(ctx, usecase), metrics, tuple(flags))
        result = SuiteResult(
            suite=name,
            bank=bank,
            usecase=usecase,
            model_version=mv.version,
            run_id="",
            metrics={k: round(float(v), 6) for k, v in metrics.items() if _number(v)},
            bank_figures=bank_figures,
            gaps=gaps,
            gates=[g.to_dict() for g in gates],
            passed=bool(gates) and all(g.passed for g in gates),
            suite_rows=suite.rows,
            requested_by=reviewer.name,
            extra=extra,
        )
        _log(ctx, result)
    result.wall_s = round(time.perf_counter() - t0, 2)
    entry = {k: getattr(result, k) for k in suite_results.KEYS}
    ctx.audit(suite_results.EVENT, **entry)
    store.platform_audit().append(
        suite_results.EVENT,
        reviewer.name,
        bank=bank,
        suite=name,
        usecase=usecase,
        run_id=result.run_id,
        passed=result.passed,
    )
    return result


def _number(v) -> bool:
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool) and np.isfinite(v)


def _log(ctx, r: SuiteResult) -> None:
    import mlflow

    tags = {
        "sandbox.assure": "suite",
        "sandbox.assure.suite": r.suite,
        "sandbox.assure.requested_by": r.requested_by,
        "sandbox.assure.model_version": r.model_version,
    }
    with ctx.run(
        r.usecase,
        run_name=f"suite-{r.suite}-{datetime.now(UTC):%Y%m%d-%H%M%S}",
        params={"suite": r.suite, "model_version": r.model_version, "suite_rows": r.suite_rows},
        tags=tags,
    ) as run:
        r.run_id = run.info.run_id
        out = {f"suite_{k}": v for k, v in r.metrics.items()}
        out.update({f"bank_{k}": v for k, v in r.bank_figures.items()})
        out.update(r.gaps)
        out["suite_gates_passed"] = float(r.passed)
        mlflow.log_metrics(out)
        mlflow.log_dict({k: v for k, v in r.to_dict().items() if k != "wall_s"}, REPORT_ARTIFACT)


def results(ctx, usecase: str | None = None) -> list[dict]:
    """The bank's suite results (sandbox/suite_results.py): its scientists see their own, reviewers any bank's."""
    return suite_results.bank_results(ctx, usecase)
