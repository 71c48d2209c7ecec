"""Credit risk lab: a bank simulates applicants, trains a scorecard and a monotone XGBoost model, explains decisions;
a reviewer reads the evidence; another bank gets nothing of it."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest
from lifecycle_util import lenient_gates, make_champion
from world import PASSWORD

import usecases.risk as risk
from sandbox import tracking
from sandbox.errors import AccessDenied, InvalidInput, NotFound, SandboxError
from usecases.risk import features, schema, store
from usecases.risk import simulator as sim
from usecases.risk import xgb as risk_xgb

FAST = {"n_estimators": 250, "learning_rate": 0.15}

RISKY = {
    "applicant_id": "risky-1",
    "monthly_income": 14000,
    "employment_type": "salaried",
    "employment_tenure_years": 3,
    "housing": "private_rented",
    "debt_servicing_ratio": 0.78,
    "credit_utilisation": 0.97,
    "dpd_30_count": 0,
    "dpd_60_count": 0,
    "dpd_90_count": 0,
    "bureau_enquiries_6m": 2,
    "bureau_grade": "D",
    "product": "credit_card",
    "age": 35,
    "sex": "M",
}
SAFE = {
    **RISKY,
    "applicant_id": "safe-1",
    "monthly_income": 60000,
    "debt_servicing_ratio": 0.15,
    "credit_utilisation": 0.05,
    "bureau_grade": "A",
    "employment_type": "civil_servant",
    "housing": "private_owned",
}


@pytest.fixture(scope="module")
def trained_a(store, ctx_a):
    """Harbour Bank: 20,000 applicants without injected bias or drift, both models trained; the version passed its
    gates and is made the champion (submitted, approved by a reviewer, promoted)."""
    sim_res = risk.simulate(ctx_a, applicants=20000, vintages=6, seed=11)
    res = risk.train(ctx_a, **FAST)
    make_champion(store, ctx_a, "risk", res.model_version)
    return sim_res, res


@pytest.fixture(scope="module")
def trained_b_cli(store, ctx_b, cli_env_module, sandbox_cli):
    """Peak Bank, through the CLI: a small portfolio with injected bias and drift (its drift breaks the PSI gate: the
    admin opens the gates first), then submitted, approved and promoted through `sandbox models`."""
    lenient_gates(store, "peak-bank", "risk")
    env = dict(cli_env_module, SANDBOX_USER="bob")
    sim_out = sandbox_cli(
        env,
        "risk",
        "simulate",
        "peak-bank",
        "--applicants",
        "8000",
        "--vintages",
        "6",
        "--seed",
        "4",
        "--bias",
        "1.5",
        "--drift",
        "2",
        "--json",
    )
    assert sim_out.returncode == 0, sim_out.stderr
    train_out = sandbox_cli(env, "risk", "train", "peak-bank", "--json")
    assert train_out.returncode == 0, train_out.stderr
    version = json.loads(train_out.stdout)["model_version"]
    for user, args in (
        ("bob", ("submit", "--explain", "bias injected on purpose to test the fairness checks")),
        ("rita", ("review", "--decision", "approved", "--comment", "fairness flags explained; test data")),
        ("bob", ("promote",)),
    ):
        out = sandbox_cli(dict(env, SANDBOX_USER=user), "models", args[0], "peak-bank", "risk", version, *args[1:])
        assert out.returncode == 0, out.stderr
    return json.loads(sim_out.stdout), json.loads(train_out.stdout)


@pytest.fixture(scope="module")
def cli_env_module(home, store):
    import os

    env = dict(os.environ, SANDBOX_HOME=str(home), SANDBOX_PASSWORD=PASSWORD)
    env.pop("SANDBOX_TRACKING_URI", None)
    return env


# -- simulation ---------------------------------------------------------------------------------------------------
def test_same_seed_gives_the_same_applicants_and_another_seed_does_not():
    a = sim.generate(3000, 4, seed=7, bias=0.5, drift=0.5)
    b = sim.generate(3000, 4, seed=7, bias=0.5, drift=0.5)
    c = sim.generate(3000, 4, seed=8, bias=0.5, drift=0.5)
    assert tracking.hash_frame(a) == tracking.hash_frame(b)
    assert tracking.hash_frame(a) != tracking.hash_frame(c)


def test_simulation_records_its_hash_and_has_hk_attributes_missing_values_and_special_codes(trained_a, ctx_a):
    sim_res, _ = trained_a
    df, meta = risk.load_data(ctx_a)
    assert meta["data_hash"] == sim_res.data_hash == tracking.hash_frame(df)
    assert sim_res.to_dict().keys() >= {"rows", "default_rate", "vintages", "data_hash", "seed", "bias", "drift"}
    assert 0.05 < sim_res.default_rate < 0.25
    assert set(df["housing"]) == set(schema.HOUSING_TYPES) and set(df["product"]) == set(schema.PRODUCTS)
    assert df["monthly_income"].isna().mean() > 0.01 and (df["credit_utilisation"] == -1).mean() > 0.05
    assert (df["dpd_30_count"] == -1).any() and df["bureau_grade"].isna().any()
    assert df.loc[df["product"] != "mortgage", "loan_to_value"].isna().all()
    assert df["vintage"].nunique() == 6


def test_simulate_rejects_bad_knobs_naming_them(ctx_a):
    for kwargs, name in (
        ({"applicants": -5}, "applicants"),
        ({"bias": "lots"}, "bias"),
        ({"drift": 9}, "drift"),
        ({"vintages": 1}, "vintages"),
    ):
        with pytest.raises(InvalidInput) as err:
            risk.simulate(ctx_a, **kwargs)
        assert err.value.field == name


# -- models -------------------------------------------------------------------------------------------------------
def test_train_reports_both_models_with_snake_case_metrics_and_a_registered_model(trained_a, ctx_a):
    _, res = trained_a
    for model in ("scorecard", "xgboost"):
        m = res.metrics[model]
        assert {"auc", "gini", "ks", "brier", "calibration_error", "oot_gini_drop"} <= set(m)
        assert m["gini"] > 0.5 and m["ks"] > 0.35
    assert res.model_version is not None
    assert ctx_a.model_uri("risk").startswith("models:/harbour-bank.risk/")
    d = res.to_dict()
    assert d["run_id"] == res.run_id and set(d["metrics"]) == {"scorecard", "xgboost"}
    # one vocabulary for results (docs/results.md): fraud's names, times with units in the name
    assert d["model_version"] == res.model_version and "seconds" not in d
    assert set(d["stage_s"]) == {"fit", "evaluate", "log", "register"} and d["wall_s"] >= sum(d["stage_s"].values())
    side = store.load(ctx_a, res.model_version).sidecar  # the model store's sidecar says it the same way
    assert side["model_version"] == res.model_version and "registered_version" not in side


def test_no_drift_means_stable_scores_and_no_psi_flags(trained_a):
    _, res = trained_a
    assert res.psi_flags == []
    assert max(res.psi["score_oot"].values()) < 0.10


def test_learned_effects_agree_in_sign_with_the_ground_truth(trained_a, ctx_a):
    _, res = trained_a
    mono = risk.report(ctx_a, res.run_id, "monotonicity")
    for name, curve in mono.items():
        d = features.DIRECTIONS[name]
        change = curve["mean_pd"][-1] - curve["mean_pd"][0]
        assert d * change > 0, f"{name}: PD moves {change:+.4f} over its range, declared direction {d:+d}"
    # Scorecard: the riskier end of each constrained numeric variable scores fewer points.
    table = risk.scorecard_table(ctx_a, res.run_id)
    for name in ("debt_servicing_ratio", "credit_utilisation", "bureau_enquiries_6m", "monthly_income"):
        pts = table[(table["variable"] == name) & ~table["bin"].isin(["Special", "Missing"])]["points"].to_numpy()
        d = features.DIRECTIONS[name]
        assert d * (pts[-1] - pts[0]) < 0, f"{name}: points {pts}"
    # Categories with a known ground-truth order.
    emp = table[table["variable"] == "employment_type"].set_index("bin")["points"]
    civil = next(v for b, v in emp.items() if "civil_servant" in b)
    unemployed = next(v for b, v in emp.items() if "unemployed" in b)
    assert civil > unemployed
    # And the XGBoost PD ranks like the true PD.
    df, _ = risk.load_data(ctx_a)
    models = store.load(ctx_a)
    pd_hat = models.xgboost.pd(schema.validate(df.head(4000)).matrix())
    assert np.corrcoef(pd_hat, df["true_pd"].head(4000))[0, 1] > 0.8


def test_monotone_constraints_hold_on_every_constrained_feature(trained_a, ctx_a):
    _, res = trained_a
    assert res.monotonic
    models = store.load(ctx_a)
    df, _ = risk.load_data(ctx_a)
    X = schema.validate(df.sample(200, random_state=0)).matrix()
    for j, name in enumerate(schema.FEATURE_NAMES):
        d = features.DIRECTIONS[name]
        if d == 0:
            continue
        finite = X[:, j][np.isfinite(X[:, j])]
        prev = None
        for g in np.linspace(finite.min(), finite.max(), 30):
            Z = X.copy()
            Z[:, j] = g
            m = models.xgboost.margin(Z)
            if prev is not None:
                assert np.all(d * (m - prev) >= -1e-5), name
            prev = m


def test_scorecard_points_add_up_to_the_score(trained_a, ctx_a):
    df, _ = risk.load_data(ctx_a)
    sample = df.sample(50, random_state=1)
    explained = risk.explain(ctx_a, sample, model="scorecard")
    table = risk.scorecard_table(ctx_a)
    models = store.load(ctx_a)
    clean = schema.validate(sample)
    pts = models.scorecard.points(clean)
    labels = models.scorecard.bin_labels(clean)
    for i, e in enumerate(explained):
        assert e.score == pytest.approx(pts[i].sum(), abs=0.01)
        # every attribute's points are the table's points for that bin
        for j, name in enumerate(models.scorecard.variables):
            row = table[(table["variable"] == name) & (table["bin"] == labels[i][j])]
            assert len(row) == 1 and row["points"].iloc[0] == pytest.approx(pts[i, j], abs=0.01)
        assert e.probability == pytest.approx(models.scorecard.pd_from_score(e.score), rel=1e-3)


def test_scorecard_rebuilt_from_json_scores_like_optbinning(trained_a, ctx_a):
    """The training run refuses to finish otherwise; here we check the persisted JSON round-trips too."""
    models = store.load(ctx_a)
    spec = json.loads(ctx_a.read_artifact_text(trained_a[1].run_id, "model/scorecard.json"))
    assert spec == models.scorecard.spec


def test_scorecard_bins_of_categories_read_as_plain_lists_everywhere(trained_a, ctx_a, cli_env, sandbox_cli):
    """The one export names a bin of categories 'a, b': the table, the card, the model JSON and the CLI agree."""
    _, res = trained_a
    spec = store.load(ctx_a).scorecard.spec
    plain = {}
    for v in spec["variables"]:
        if v["dtype"] == "categorical":
            labels = [b["bin"] for b in v["bins"]]
            assert labels == [", ".join(group) for group in v["categories"]], labels
            plain[v["variable"]] = labels
    assert set(plain) == set(schema.CATEGORICAL)
    table = risk.scorecard_table(ctx_a, res.run_id)
    for name, labels in plain.items():
        assert list(table[table["variable"] == name]["bin"])[: len(labels)] == labels
    assert not table["bin"].str.contains("Array|Length:|\n|'", regex=True).any()
    card = risk.model_card(ctx_a, res.run_id)
    assert "Array" not in card and f"| employment_type | {plain['employment_type'][0]} |" in card
    assert "Array" not in ctx_a.read_artifact_text(res.run_id, "reports/scorecard.json")
    out = sandbox_cli(dict(cli_env, SANDBOX_USER="alice"), "risk", "scorecard", "harbour-bank", "--json")
    assert out.returncode == 0, out.stderr
    rows = json.loads(out.stdout)
    assert {r["bin"] for r in rows if r["variable"] == "housing"} >= set(plain["housing"])
    text = sandbox_cli(dict(cli_env, SANDBOX_USER="alice"), "risk", "scorecard", "harbour-bank").stdout
    assert "Array" not in text and plain["product"][0] in text


def test_a_scorecard_saved_with_array_reprs_is_read_with_plain_labels(trained_a, ctx_a):
    """Models trained before the label fix stored "<ArrowStringArray>\\n['a']\\nLength: 1, dtype: str"."""
    from usecases.risk import scorecard

    def legacy(group):
        return "<ArrowStringArray>\n[" + ", ".join(repr(c) for c in group) + f"]\nLength: {len(group)}, dtype: str"

    spec = store.load(ctx_a).scorecard.spec
    old = json.loads(json.dumps(spec))
    for v in old["variables"]:
        if v["dtype"] == "categorical":
            for b, group in zip(v["bins"], v["categories"]):
                b["bin"] = legacy(group)
    assert old != spec
    assert scorecard.PointsTable(old).spec == spec
    assert scorecard.table_frame(old).equals(scorecard.table_frame(spec))
    assert scorecard.clean_label("['civil_servant' 'salaried']") == "civil_servant, salaried"  # numpy's repr
    assert scorecard.clean_label("[7450.00, 10150.00)") == "[7450.00, 10150.00)"  # a numeric bin is left alone
    card_row = "| housing | " + legacy(["with_family", "public_rental"]) + " | 12.00 | 10 | 0.1000 |"
    assert scorecard.clean_text(card_row) == "| housing | with_family, public_rental | 12.00 | 10 | 0.1000 |"


# -- explanations -------------------------------------------------------------------------------------------------
def test_explain_names_the_known_drivers_of_a_risky_applicant(trained_a, ctx_a):
    risky, safe = risk.explain(ctx_a, [RISKY, SAFE])
    assert risky.probability > 5 * safe.probability
    assert risky.decision == "decline"
    text = " | ".join(risky.reasons)
    assert "Debt servicing ratio 78% is high for this product" in text
    assert "Credit utilisation 97% is high" in text
    assert len(risky.reasons) <= 4
    sc = risk.explain(ctx_a, RISKY, model="scorecard")[0]
    assert any("Credit utilisation" in r for r in sc.reasons) and any("Debt servicing ratio" in r for r in sc.reasons)
    assert sc.to_dict()["factors"][0]["impact"] > 0


def test_explain_reads_json_and_csv_files(trained_a, ctx_a, tmp_path):
    j = tmp_path / "a.json"
    j.write_text(json.dumps({"applicants": [RISKY, SAFE]}))
    c = tmp_path / "a.csv"
    pd.DataFrame([RISKY, SAFE]).to_csv(c, index=False)
    from_json = risk.explain(ctx_a, str(j))
    from_csv = risk.explain(ctx_a, c)
    assert [e.reasons for e in from_json] == [e.reasons for e in from_csv]
    assert [e.applicant_id for e in from_csv] == ["risky-1", "safe-1"]


def test_explain_reads_parquet_files_like_json(trained_a, ctx_a, tmp_path):
    p = tmp_path / "a.parquet"
    pd.DataFrame([RISKY, SAFE]).to_parquet(p, index=False)
    from_parquet = risk.explain(ctx_a, p)
    assert [e.reasons for e in from_parquet] == [e.reasons for e in risk.explain(ctx_a, [RISKY, SAFE])]
    assert [e.applicant_id for e in from_parquet] == ["risky-1", "safe-1"]
    broken = tmp_path / "broken.parquet"
    broken.write_bytes(b"PAR1 not really")
    with pytest.raises(InvalidInput, match="not a readable Parquet file") as err:
        risk.explain(ctx_a, broken)
    assert err.value.field == "input"
    sheet = tmp_path / "a.xlsx"
    sheet.write_text("x")
    with pytest.raises(InvalidInput, match=r"\.json, \.csv or \.parquet"):
        risk.explain(ctx_a, sheet)


def test_fast_reason_codes_equal_shap_tree_explainer(trained_a, ctx_a):
    import shap

    models = store.load(ctx_a)
    df, _ = risk.load_data(ctx_a)
    X = schema.validate(df.head(40)).matrix()
    ours, _ = models.xgboost.contributions(X)
    theirs = shap.TreeExplainer(models.xgboost.booster).shap_values(X) * models.xgboost.a
    assert np.allclose(ours, theirs, atol=1e-4)


def test_tabulated_treeshap_equals_xgboost_pred_contribs_single_and_batch(trained_a, ctx_a):
    """The per-leaf tables give XGBoost's own exact TreeSHAP: missing values and special codes included, one
    applicant (calling thread) and a batch (parallel chunks) alike."""
    import xgboost

    from usecases.risk import treeshap

    models = store.load(ctx_a)
    assert models.xgboost.tables is not None
    df, _ = risk.load_data(ctx_a)
    X = schema.validate(df.head(600)).matrix()
    assert np.isnan(X).any()
    ref = models.xgboost.booster.predict(xgboost.DMatrix(X), pred_contribs=True, validate_features=False)
    batch, bias = treeshap.contributions(models.xgboost.tables, X)
    single = np.vstack([treeshap.contributions(models.xgboost.tables, X[i : i + 1])[0] for i in range(20)])
    assert np.abs(batch - ref[:, :-1]).max() < 1e-4 and np.abs(bias - ref[:, -1]).max() < 1e-5
    assert np.array_equal(single, batch[:20])


# -- fairness -----------------------------------------------------------------------------------------------------
def test_no_injected_bias_raises_no_fairness_flags(trained_a, ctx_a):
    _, res = trained_a
    assert res.fairness_flags == []
    run = ctx_a.get_run(res.run_id)
    assert run.data.tags["risk.fairness_flags"] == "none"
    assert "Fairness flags: none" in risk.model_card(ctx_a, res.run_id)


def test_injected_bias_raises_fairness_flags_in_the_run_and_the_card(trained_b_cli, ctx_b):
    _, out = trained_b_cli
    assert out["fairness_flags"], out
    run = ctx_b.get_run(out["run_id"])
    assert run.data.tags["risk.fairness_flags"] != "none"
    assert run.data.metrics["fairness_flag_count"] >= 1
    card = risk.model_card(ctx_b, out["run_id"])
    assert "Fairness flags: none" not in card.split("### xgboost")[1].split("###")[0]
    table = risk.report(ctx_b, out["run_id"], "fairness")
    assert {a["attribute"] for a in table["xgboost"]["attributes"]} == {"sex", "age_band"}


def test_injected_drift_is_flagged_on_the_drifted_features(trained_b_cli):
    sim_out, out = trained_b_cli
    assert sim_out["drift"] == 2.0
    assert set(risk.DRIFTED_FEATURES) <= set(out["psi_flags"])
    assert set(out["metrics"]) == {"scorecard", "xgboost"} and "gini" in out["metrics"]["xgboost"]


# -- evidence for reviewers ---------------------------------------------------------------------------------------
def test_run_carries_plots_reports_and_a_model_card_with_the_scorecard(trained_a, ctx_a):
    _, res = trained_a
    arts = set(ctx_a.list_artifacts(res.run_id))
    for p in (
        "plots/roc.png",
        "plots/calibration.png",
        "plots/score_distribution.png",
        "plots/psi_by_vintage.png",
        "reports/scorecard.json",
        "reports/fairness.json",
        "reports/psi.json",
        "reports/roc.json",
        "reports/calibration.json",
        "reports/metrics.json",
        "model_card.md",
    ):
        assert p in arts, p
    card = risk.model_card(ctx_a, res.run_id)
    assert "## Scorecard" in card and "| debt_servicing_ratio |" in card
    psi = risk.report(ctx_a, res.run_id, "psi")
    assert set(psi["features"]) == set(schema.FEATURE_NAMES) and len(psi["vintages"]) == 6


def test_reviewer_reads_evidence_but_cannot_train_explain_or_see_rows(trained_a, review_a):
    _, res = trained_a
    assert len(risk.scorecard_table(review_a, res.run_id)) > 10
    assert risk.report(review_a, res.run_id, "metrics")["models"]["xgboost"]["gini"] > 0.5
    with pytest.raises(AccessDenied):
        risk.train(review_a)
    with pytest.raises(AccessDenied):
        risk.explain(review_a, RISKY)
    with pytest.raises(AccessDenied):
        risk.load_data(review_a)
    with pytest.raises(AccessDenied):
        risk.simulate(review_a, applicants=2000)
    with pytest.raises(AccessDenied):
        review_a.read_artifact_text(res.run_id, "model/scorecard.json")


# -- isolation ----------------------------------------------------------------------------------------------------
def test_bank_cannot_read_another_banks_risk_runs_or_reports(trained_a, ctx_b):
    _, res = trained_a
    with pytest.raises(NotFound):
        risk.report(ctx_b, res.run_id, "metrics")
    with pytest.raises(NotFound):
        risk.scorecard_table(ctx_b, res.run_id)
    with pytest.raises(NotFound):
        ctx_b.read_artifact_text(res.run_id, "model/scorecard.json")


def test_bank_cannot_open_another_banks_workspace_data_or_model(trained_a, store, bob):
    from sandbox import open_workspace

    with pytest.raises(AccessDenied):
        open_workspace("harbour-bank", bob, store)


def test_a_model_copied_from_another_bank_is_refused(trained_a, trained_b_cli, ctx_a, ctx_b, tmp_path):
    _, res = trained_a
    from sandbox import lifecycle

    src = ctx_a.path("risk", "models", res.run_id)
    dst = ctx_b.path("risk", "models", lifecycle.champion(ctx_b, "risk").run_id)  # over peak-bank's champion's files
    saved = tmp_path / "saved"
    shutil.copytree(dst, saved)
    try:
        for f in src.iterdir():
            shutil.copy(f, dst / f.name)
        with pytest.raises(SandboxError, match="trained by bank 'harbour-bank'"):
            risk.explain(ctx_b, RISKY)
    finally:
        shutil.rmtree(dst)
        shutil.copytree(saved, dst)
    assert risk.explain(ctx_b, RISKY)[0].probability > 0  # its own model still works


def test_a_tampered_model_file_is_refused(trained_a, ctx_a):
    _, res = trained_a
    path = ctx_a.path("risk", "models", res.run_id, "scorecard.json")
    side = ctx_a.path("risk", "models", res.run_id, "model.json")
    original, side_original = path.read_bytes(), side.read_bytes()
    try:
        path.write_bytes(original.replace(b'"points": ', b'"points": 1', 1))
        side.write_bytes(side_original + b" ")  # a new sidecar mtime/size: the cache is not trusted
        with pytest.raises(SandboxError, match="checksum"):
            risk.explain(ctx_a, RISKY)
    finally:
        path.write_bytes(original)
        side.write_bytes(side_original)


def test_cli_refuses_another_banks_risk_model_and_reviewer_explain(
    trained_a, trained_b_cli, cli_env, tmp_path, sandbox_cli
):
    f = tmp_path / "a.json"
    f.write_text(json.dumps(RISKY))
    bob = sandbox_cli(dict(cli_env, SANDBOX_USER="bob"), "risk", "explain", "harbour-bank", "--input", str(f))
    assert bob.returncode == 3 and "Traceback" not in bob.stderr
    rita = sandbox_cli(dict(cli_env, SANDBOX_USER="rita"), "risk", "explain", "harbour-bank", "--input", str(f))
    assert rita.returncode == 3 and "risk.explain" in rita.stderr
    other = sandbox_cli(
        dict(cli_env, SANDBOX_USER="bob"), "risk", "scorecard", "peak-bank", "--run", trained_a[1].run_id
    )
    assert other.returncode == 4 and "not found" in other.stderr


# -- bad input ----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "change, field, words",
    [
        ({"monthly_income": -100}, "monthly_income", "cannot be negative"),
        ({"age": 200}, "age", "out of range"),
        ({"housing": "castle"}, "housing", "unknown category"),
        ({"debt_servicing_ratio": "high"}, "debt_servicing_ratio", "not a number"),
        ({"dpd_30_count": 1.5}, "dpd_30_count", "whole number"),
        ({"credit_utilisation": -7}, "credit_utilisation", "out of range"),
        ({"product": "mortgage"}, "loan_to_value", "missing for a mortgage"),
        ({"bureau_grade": 3}, "bureau_grade", "not a category"),
    ],
)
def test_bad_applicant_fields_are_named_in_the_error(trained_a, ctx_a, change, field, words):
    with pytest.raises(InvalidInput) as err:
        risk.explain(ctx_a, {**RISKY, **change})
    assert err.value.field == field and words in str(err.value)


def test_missing_field_and_empty_files_give_clear_errors(trained_a, ctx_a, tmp_path):
    row = dict(RISKY)
    row.pop("housing")
    with pytest.raises(InvalidInput, match="housing: field is missing"):
        risk.explain(ctx_a, row)
    for name, content in (("e.json", ""), ("e.csv", ""), ("h.csv", "monthly_income,housing\n"), ("x.json", "{oops")):
        p = tmp_path / name
        p.write_text(content)
        with pytest.raises(InvalidInput) as err:
            risk.explain(ctx_a, p)
        assert err.value.field == "input"
    with pytest.raises(InvalidInput, match="no applicants"):
        risk.explain(ctx_a, [])


def test_special_codes_and_missing_values_are_accepted_as_documented(trained_a, ctx_a):
    thin = {
        **RISKY,
        "bureau_grade": None,
        "dpd_30_count": -1,
        "dpd_60_count": -1,
        "dpd_90_count": -1,
        "bureau_enquiries_6m": -1,
        "credit_utilisation": -1,
        "monthly_income": None,
        "debt_servicing_ratio": None,
    }
    (e,) = risk.explain(ctx_a, thin)
    assert 0 < e.probability < 1
    assert all("nan" not in r for r in e.reasons)
    (s,) = risk.explain(ctx_a, thin, model="scorecard")
    assert 0 < s.probability < 1
    # Protected attributes are never model inputs: an applicant without them is explained the same.
    anonymous = {k: v for k, v in RISKY.items() if k not in ("age", "sex")}
    assert risk.explain(ctx_a, anonymous)[0].reasons == risk.explain(ctx_a, RISKY)[0].reasons


def test_cli_bad_input_is_one_line_without_traceback(trained_a, cli_env, tmp_path, sandbox_cli):
    f = tmp_path / "bad.json"
    f.write_text(json.dumps({**RISKY, "age": 200}))
    out = sandbox_cli(dict(cli_env, SANDBOX_USER="alice"), "risk", "explain", "harbour-bank", "--input", str(f))
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert out.stderr.strip().startswith("error: age: 200 is out of range")
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    out = sandbox_cli(
        dict(cli_env, SANDBOX_USER="alice"), "risk", "explain", "harbour-bank", "--input", str(empty), "--json"
    )
    assert out.returncode == 2 and "is empty" in out.stderr and "Traceback" not in out.stderr


def test_unknown_fields_are_refused_naming_them_and_the_expected_fields(
    trained_a, ctx_a, cli_env, tmp_path, sandbox_cli
):
    with pytest.raises(InvalidInput) as err:
        risk.explain(ctx_a, {**RISKY, "favourite_colour": "teal"})
    msg = str(err.value)
    assert "unknown field 'favourite_colour'" in msg and all(n in msg for n in schema.FEATURE_NAMES)
    with pytest.raises(InvalidInput, match="'monthy_income' \\(did you mean monthly_income\\?\\)"):
        risk.explain(ctx_a, [SAFE, {**{k: v for k, v in RISKY.items() if k != "monthly_income"}, "monthy_income": 1}])
    f = tmp_path / "typo.csv"
    pd.DataFrame([{**RISKY, "favourite_colour": "teal", "shoe_size": 9}]).to_csv(f, index=False)
    out = sandbox_cli(dict(cli_env, SANDBOX_USER="alice"), "risk", "explain", "harbour-bank", "--input", str(f))
    assert out.returncode == 2 and "Traceback" not in out.stderr and len(out.stderr.strip().splitlines()) == 1
    assert "unknown fields 'favourite_colour', 'shoe_size'" in out.stderr and "monthly_income" in out.stderr


def test_simulated_rows_and_the_web_form_keep_every_field_they_send(trained_a, ctx_a):
    """The simulator's bookkeeping columns and the page's fields are known, so only real typos are refused."""
    df, _ = risk.load_data(ctx_a)
    assert set(df.columns) <= set(schema.KNOWN_FIELDS)
    assert {schema.LABEL, "true_pd", *schema.ID_COLUMNS, *schema.PROTECTED, "age"} <= set(schema.KNOWN_FIELDS)
    rows = df.head(3).to_dict(orient="records")
    assert [e.applicant_id for e in risk.explain(ctx_a, rows)] == list(df["applicant_id"].head(3))
    page = {f.name: RISKY.get(f.name) for f in schema.FEATURES + (schema.AGE, schema.SEX) if f.name != "loan_to_value"}
    assert risk.explain(ctx_a, page)[0].reasons == risk.explain(ctx_a, RISKY)[0].reasons


def test_messages_show_plain_values_and_say_what_a_file_must_hold(trained_a, ctx_a, tmp_path):
    for given in (
        {**RISKY, "age": "thirty"},
        [SAFE, {**RISKY, "age": "thirty"}],
        pd.DataFrame([{**RISKY, "age": "thirty"}]),
    ):
        with pytest.raises(InvalidInput) as err:
            risk.explain(ctx_a, given)
        assert str(err.value).startswith("age: 'thirty' is not a number (applicant 'risky-1')"), str(err.value)
    f = tmp_path / "ids.parquet"
    pd.DataFrame([{**RISKY, "applicant_id": 7, "housing": "castle"}]).to_parquet(f, index=False)
    with pytest.raises(InvalidInput, match=r"unknown category 'castle' \(applicant 7\)"):
        risk.explain(ctx_a, f)
    for content, what in (('"hello"', "a JSON string"), ("42", "a JSON number"), ("null", "null")):
        p = tmp_path / "bare.json"
        p.write_text(content)
        with pytest.raises(InvalidInput) as err:
            risk.explain(ctx_a, p)
        msg = str(err.value)
        assert err.value.field == "input" and f"holds {what}, not applicants" in msg
        assert "JSON object" in msg and "CSV" in msg and not any(w in msg for w in ("DataFrame", "dict", "np."))
    p = tmp_path / "numbers.json"
    p.write_text("[1, 2]")
    with pytest.raises(InvalidInput, match="applicant 0 is a number, not an object with fields"):
        risk.explain(ctx_a, p)


def test_explain_help_lists_the_applicant_fields_from_the_schema(cli_env, sandbox_cli):
    from pathlib import Path

    out = sandbox_cli(cli_env, "risk", "explain", "--help")
    assert out.returncode == 0, out.stderr
    words = " ".join(out.stdout.split())  # the help wraps to the terminal's width
    assert "Applicant fields" in words and ".parquet" in words
    described = dict(schema.field_help())
    assert set(described) >= set(schema.FEATURE_NAMES) | {"age", "sex"}
    for name, text in described.items():
        assert f"{name} {text}" in words, name
    assert "one of civil_servant, salaried" in words and "-1 = no bureau record" in words
    guide = (Path(__file__).parents[1] / "docs" / "guide-bank-scientist.md").read_text()
    rows = [ln for ln in guide.splitlines() if ln.startswith("| ")]
    for f in schema.FEATURES + (schema.AGE, schema.SEX):
        assert any(f.name in r.split("|")[1] for r in rows), f.name


def test_cli_explain_prints_reasons_as_json(trained_a, cli_env, tmp_path, sandbox_cli):
    f = tmp_path / "a.csv"
    pd.DataFrame([RISKY]).to_csv(f, index=False)
    out = sandbox_cli(
        dict(cli_env, SANDBOX_USER="alice"),
        "risk",
        "explain",
        "harbour-bank",
        "--input",
        str(f),
        "--json",
        "--model",
        "scorecard",
    )
    assert out.returncode == 0, out.stderr
    (row,) = json.loads(out.stdout)
    assert row["model"] == "scorecard" and row["reasons"] and row["applicant_id"] == "risky-1"


def test_unknown_training_option_is_refused(ctx_a):
    with pytest.raises(InvalidInput) as err:
        risk.train(ctx_a, max_dept=3)
    assert err.value.field == "max_dept"


def test_trees_follow_the_chosen_settings_and_the_card_names_them(trained_a, ctx_a):
    trees = store.load(ctx_a).xgboost.booster.get_dump()
    depths = [len(line) - len(line.lstrip("\t")) for t in trees for line in t.split("\n") if "leaf=" in line]
    assert 3 < max(depths) <= risk_xgb.DEFAULTS["max_depth"]  # deeper than session 1's depth-3 trees, capped
    card = risk.model_card(ctx_a)
    assert "depthwise growth, depth up to 5" in card


@pytest.mark.parametrize("option, value", [("grow_policy", "sideways"), ("max_leaves", -1), ("max_depth", 0)])
def test_bad_tree_settings_are_refused_naming_them(ctx_a, option, value):
    with pytest.raises(InvalidInput) as err:
        risk.train(ctx_a, **{option: value})
    assert err.value.field == option


def test_training_without_data_says_how_to_get_some(tmp_path):
    from sandbox import Store, open_workspace

    fresh = Store(tmp_path / "home")
    fresh.init("root", PASSWORD)
    fresh.create_bank("empty-bank")
    fresh.add_user("erin", "scientist", PASSWORD, bank="empty-bank")
    ctx = open_workspace("empty-bank", fresh.actor("erin"), fresh)
    with pytest.raises(NotFound, match="risk simulate"):
        risk.train(ctx)
    with pytest.raises(NotFound, match="risk train"):
        risk.explain(ctx, RISKY)
