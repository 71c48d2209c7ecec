"""A bank imports its own applicants (its own column names), trains both models, explains in those names (issue 17)."""

from __future__ import annotations

import json
import os

import numpy as np
import pandas as pd
import pytest
from cli_forkserver_client import run_cli
from lifecycle_util import lenient_gates, make_champion  # explain uses the champion (sandbox/lifecycle.py)
from world import PASSWORD

import usecases.risk as risk
from sandbox import open_workspace
from sandbox.errors import AccessDenied, InvalidInput, NotFound
from usecases.risk import dataset_schema as ds
from usecases.risk import importer

BANK, SCRATCH = "import-bank", "scratch-bank"


def portfolio(n: int = 2400, seed: int = 0) -> pd.DataFrame:
    """A small portfolio with a bank's own names: a bureau score with special code -9, a time column, a protected one."""
    rng = np.random.default_rng(seed)
    score = rng.normal(650, 60, n).round()
    no_record = rng.random(n) < 0.08
    score[no_record] = -9
    util = rng.uniform(0, 1.2, n).round(3)
    region = rng.choice(["north", "south", "east"], n)
    month = rng.integers(1, 7, n)
    logit = -1.3 - 0.02 * (np.where(no_record, 600, score) - 650) + 1.8 * (util - 0.6) + 0.5 * (region == "east")
    bad = rng.random(n) < 1 / (1 + np.exp(-logit))
    return pd.DataFrame(
        {
            "CustRef": [f"C{i:05d}" for i in range(n)],
            "BureauScore": score,
            "CardUtil": util,
            "HomeRegion": region,
            "Gender": rng.choice(["F", "M"], n),
            "AppDate": [f"2024-{m:02d}-15" for m in month],
            "Outcome": np.where(bad, "BAD", "GOOD"),
        }
    )


def _cli(env, *args):
    return run_cli(env, *args)


@pytest.fixture(scope="module")
def banks(store):
    for bank, user in ((BANK, "ivy"), (SCRATCH, "sol")):
        if bank not in store.banks():
            store.create_bank(bank)
            store.add_user(user, "scientist", PASSWORD, bank=bank)
        lenient_gates(store, bank, "risk")
    return open_workspace(BANK, store.actor("ivy"), store), open_workspace(SCRATCH, store.actor("sol"), store)


@pytest.fixture(scope="module")
def imported(banks, cli_env_module, tmp_path_factory):
    """The bank imports its CSV through the CLI (inferred schema) and trains both models."""
    path = tmp_path_factory.mktemp("bankfiles") / "portfolio.csv"
    portfolio().to_csv(path, index=False)
    out = _cli(
        dict(cli_env_module, SANDBOX_USER="ivy"), "risk", "import", BANK, str(path), "--target", "Outcome", "--json"
    )
    assert out.returncode == 0, out.stderr
    result = risk.train(banks[0])
    return json.loads(out.stdout), result, path


@pytest.fixture(scope="module")
def cli_env_module(home, store):
    env = dict(os.environ, SANDBOX_HOME=str(home), SANDBOX_PASSWORD=PASSWORD)
    env.pop("SANDBOX_TRACKING_URI", None)
    return env


def test_cli_import_infers_the_schema_in_the_banks_own_column_names(imported):
    out, _, _ = imported
    sch = ds.from_json(out["schema"])
    assert out["rows"] == 2400 and sch.target == "Outcome" and sch.positive == "BAD"
    assert out["wall_s"] > 0 and "seconds" not in out  # units in the name (docs/results.md)
    assert sch.names == ["BureauScore", "CardUtil", "HomeRegion"]
    assert sch.feature("BureauScore").special == {"-9": "special code"}
    assert sch.feature("BureauScore").direction == -1 and sch.feature("CardUtil").direction == 1
    assert sch.feature("HomeRegion").type == "categorical"
    assert (sch.protected, sch.time, sch.id) == (["Gender"], "AppDate", "CustRef")


def test_cli_import_prints_the_schema_for_the_user_to_confirm(banks, cli_env_module, tmp_path):
    path = tmp_path / "p.csv"
    portfolio(600, seed=3).to_csv(path, index=False)
    out = _cli(dict(cli_env_module, SANDBOX_USER="sol"), "risk", "import", SCRATCH, str(path), "--target", "Outcome")
    assert out.returncode == 0, out.stderr
    assert (
        "BureauScore" in out.stdout and "-9 (special code)" in out.stdout and "protected (fairness only)" in out.stdout
    )
    assert "descending (risk falls) [inferred]" in out.stdout


def test_train_on_imported_data_gives_both_models_psi_by_period_and_fairness(imported, banks):
    _, res, _ = imported
    assert set(res.metrics) == {"scorecard", "xgboost"}
    assert res.wall_s > 0 and res.stage_s == {}  # the imported schema's training times the whole, not its stages
    assert res.metrics["scorecard"]["gini"] > 0.3 and res.metrics["xgboost"]["gini"] > 0.3
    psi = risk.report(banks[0], res.run_id, "psi")
    assert psi["time_column"] == "AppDate" and psi["vintages"][-1] == "2024-06"
    assert set(psi["features"]) == {"BureauScore", "CardUtil", "HomeRegion"}
    fair = risk.report(banks[0], res.run_id, "fairness")
    assert [a["attribute"] for a in fair["xgboost"]["attributes"]] == ["Gender"]
    metrics = risk.report(banks[0], res.run_id, "metrics")
    assert metrics["recommendation"]["model"] in ("scorecard", "xgboost")
    assert metrics["split"]["holdout"].startswith("out-of-time")
    card = risk.model_card(banks[0], res.run_id)
    assert "## Recommendation" in card and "`Gender`" in card and "BureauScore" in card and "-9 = special code" in card
    assert "Gender" not in risk.scorecard_table(banks[0], res.run_id)["variable"].tolist()  # protected: never an input


def test_explain_takes_and_answers_in_the_imported_field_names(imported, banks, store):
    _, res, path = imported
    ctx = banks[0]
    make_champion(store, ctx, "risk", res.model_version)
    applicant = {"CustRef": "X1", "BureauScore": -9, "CardUtil": 1.15, "HomeRegion": "east"}
    for model in ("xgboost", "scorecard"):
        [e] = risk.explain(ctx, applicant, model=model, top=2)
        assert e.applicant_id == "X1" and e.reasons
        assert {f["feature"] for f in e.factors} <= {"BureauScore", "CardUtil", "HomeRegion"}
        assert any("CardUtil" in r or "BureauScore" in r for r in e.reasons)
    [e] = risk.explain(ctx, applicant, model="xgboost", top=3)
    assert any("BureauScore: special code (code -9)" == r for r in e.reasons)
    batch = risk.explain(ctx, str(path), model="scorecard")  # the imported CSV itself, through the workspace door
    assert len(batch) == 2400
    with pytest.raises(InvalidInput, match="BureauScroe"):
        risk.explain(ctx, {**applicant, "BureauScroe": 1})
    with pytest.raises(InvalidInput, match="CardUtil"):
        risk.explain(ctx, {"BureauScore": 700, "HomeRegion": "east"})
    at = _page("ivy")  # the Risk lab's explainer asks for the imported fields and answers in them
    at.number_input(key="imp_app_CardUtil").set_value(1.1)
    at.button(key="explain_btn").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert any(m.label == "Decision" for m in at.metric)
    factors = [d.value for d in at.dataframe if "feature" in d.value.columns and "impact" in d.value.columns]
    assert factors and set(factors[0]["feature"]) <= {"BureauScore", "CardUtil", "HomeRegion"}


def test_imported_trees_are_chosen_by_cross_validation_on_the_training_split(imported, banks):
    from usecases.risk import store as risk_store
    from usecases.risk import xgb

    _, res, _ = imported
    sel = risk_store.load(banks[0], res.model_version).sidecar["calibration"]["selection"]
    assert sel["folds"] == xgb.SELECT_FOLDS and len(sel["candidates"]) == len(xgb.CANDIDATES)
    [chosen] = [c for c in sel["candidates"] if c["chosen"]]
    assert chosen["cv_logloss"] == min(c["cv_logloss"] for c in sel["candidates"])


def test_explanations_are_metered_in_batches_and_refused_over_quota(imported, banks, store, monkeypatch):
    from sandbox import compute
    from sandbox.errors import QuotaExceeded

    _, res, _ = imported
    ctx = banks[0]
    make_champion(store, ctx, "risk", res.model_version)
    monkeypatch.setattr(compute.BatchMeter, "FLUSH_S", 3600.0)
    compute.flush_batches()
    applicant = {"BureauScore": 700, "CardUtil": 0.2, "HomeRegion": "north"}
    before = len(ctx.usage_records())
    for _ in range(3):
        risk.explain(ctx, applicant)
    assert len(ctx.usage_records()) == before  # not a hash-chained append per applicant
    compute.flush_batches()
    assert [(r["kind"], r["units"], r["user"]) for r in ctx.usage_records()[before:]] == [("explain", 3, "ivy")]
    quota = store.quota(BANK)
    store.set_quota(BANK, 0)
    try:
        risk.explain(ctx, applicant)  # the refusal lags by at most one batch
        compute.flush_batches()  # the flush checks the quota: the next call is refused before it starts
        with pytest.raises(QuotaExceeded, match="compute seconds"):
            risk.explain(ctx, applicant)
    finally:
        store.set_quota(BANK, quota if quota is not None else 36_000.0)
    assert risk.explain(ctx, applicant)  # a raised quota lets the work start again at once


def test_scorecard_with_optbinnings_recipe_settings_drops_weak_columns_and_scores_like_optbinning():
    from usecases.risk import generic_models as gm
    from usecases.risk import scorecard

    df = portfolio(1500, seed=3)
    df["Parity"] = np.arange(len(df)) % 2  # unrelated to the outcome: the recipe's IV selection drops it
    schema, typed, _ = ds.build(df, "Outcome")
    y = typed[schema.target].to_numpy().astype(int)
    r = gm.rows(schema, typed)
    X = gm.scorecard_frame(schema, r)
    sc = gm.fit_scorecard(schema, X, y, 20.0, 600.0, 50.0, None, scorecard.RECIPE)
    spec = gm.export_scorecard(sc, schema, 20.0, 600.0, 50.0)
    points = scorecard.PointsTable(spec)
    assert np.allclose(points.score(r), sc.score(X), atol=1e-6)  # the JSON table scores as OptBinning does
    dropped = [v["variable"] for v in spec["variables"] if v.get("dropped")]
    assert "Parity" in dropped and len(dropped) < len(schema.names)  # (IV above 1 is dropped too: the recipe's max)
    assert points.variables == schema.names  # a column per feature still: reasons keep their shape
    assert not set(dropped) & set(scorecard.table_frame(spec)["variable"])


def test_no_protected_attribute_and_no_time_column_are_said_plainly(banks, tmp_path):
    ctx = banks[1]
    path = tmp_path / "plain.csv"
    portfolio(2000, seed=5).drop(columns=["Gender", "AppDate"]).to_csv(path, index=False)
    importer.import_data(ctx, path, target="Outcome")
    res = risk.train(ctx)
    fair = risk.report(ctx, res.run_id, "fairness")
    assert fair["xgboost"]["attributes"] == [] and "no protected attribute" in fair["xgboost"]["note"]
    psi = risk.report(ctx, res.run_id, "psi")
    assert "no time column" in psi["note"]
    card = risk.model_card(ctx, res.run_id)
    assert "Not assessed: no protected attribute" in card and "no time column" in card
    assert risk.report(ctx, res.run_id, "metrics")["split"]["holdout"].startswith("in-time test split")
    at = _page("sol")
    said = " ".join(e.value for e in at.info) + " ".join(e.value for e in at.success)
    assert "Fairness: no protected attribute" in said and "Stability: no time column" in said
    assert "Recommended model: **" in said


PAGE = os.path.join(os.path.dirname(__file__), os.pardir, "apps", "web", "app_pages", "risk_lab.py")


def _page(user: str, staged: tuple[str, bytes] | None = None):
    """The Risk lab page as `user` sees it (Streamlit's AppTest), optionally with an uploaded file staged."""
    pytest.importorskip("streamlit")
    from streamlit.testing.v1 import AppTest

    from apps.web import auth

    at = AppTest.from_file(PAGE, default_timeout=120)
    at.session_state[auth.ACTOR_KEY] = _STORE[0].actor(user)
    if staged is not None:
        at.session_state["risk_import_file"] = staged
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


_STORE: list = []


@pytest.fixture(autouse=True)
def _page_env(store, home, monkeypatch):
    """The app's Store() reads SANDBOX_HOME: point it at the session store for page tests."""
    monkeypatch.setenv("SANDBOX_HOME", str(home))
    _STORE[:] = [store]


def test_risk_lab_page_imports_an_upload_with_its_column_mapping(banks):
    at = _page("sol", ("my_book.csv", portfolio(900, seed=21).to_csv(index=False).encode()))
    at.selectbox(key="imp_target").set_value("Outcome")
    at.selectbox(key="imp_time").set_value("(none)")
    at.multiselect(key="imp_protected").set_value(["Gender"])
    next(b for b in at.button if b.label == "Import").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("Imported 900 applicants" in s.value for s in at.success)
    df, sch, meta = importer.load(banks[1])
    assert meta["file"] == "my_book.csv" and sch.time is None and sch.protected == ["Gender"] and len(df) == 900
    assert "AppDate" in sch.names or "AppDate" in sch.ignore  # "(none)": the date column is not the time column


def _bad(kind: str) -> tuple[pd.DataFrame, dict | None]:
    df = portfolio(800, seed=9)
    schema = None
    if kind == "three_classes":
        df.loc[:5, "Outcome"] = "MAYBE"
    elif kind == "few_rows":
        df = df[(df["Outcome"] == "GOOD") | (df.index < 70)].copy()
        bad_rows = df.index[df["Outcome"] == "BAD"]
        df = df.drop(bad_rows[30:])
    elif kind == "mixed":
        df["CardUtil"] = df["CardUtil"].astype(object)
        df.loc[7, "CardUtil"] = "high"
    elif kind == "unknown_special":
        df.loc[3, "BureauScore"] = -7
        schema = {"features": {"BureauScore": {"special": {"-9": "no bureau record"}}}}
    return df, schema


@pytest.mark.parametrize(
    "kind, message",
    [
        ("three_classes", "has 3 classes"),
        ("few_rows", "at least 50 of each class"),
        ("mixed", "CardUtil: column mixes numbers and text"),
        ("unknown_special", "BureauScore: unknown special code -7"),
    ],
)
def test_bad_file_is_one_line_error_and_keeps_the_stored_data(banks, tmp_path, kind, message):
    ctx = banks[1]
    importer.import_data(ctx, portfolio(600, seed=11).assign(Extra=1.0).drop(columns=["Extra"]), target="Outcome")
    before = importer.load(ctx)[2]["data_hash"]
    df, schema = _bad(kind)
    path = tmp_path / "bad.csv"
    df.to_csv(path, index=False)
    with pytest.raises(InvalidInput) as err:
        importer.import_data(ctx, path, target="Outcome", schema=schema)
    assert message in str(err.value) and "\n" not in str(err.value)
    assert importer.load(ctx)[2]["data_hash"] == before


@pytest.mark.parametrize(
    "kind, column", [("constant_column", "Branch"), ("empty_column", "Notes"), ("target_leak", "WriteOffAmount")]
)
def test_suspect_column_is_left_out_with_a_named_warning(banks, kind, column):
    df = portfolio(800, seed=13)
    if kind == "constant_column":
        df[column] = "HK-01"
    elif kind == "empty_column":
        df[column] = ""
    else:
        df[column] = np.where(df["Outcome"] == "BAD", 1000.0, 0.0)
    res = importer.import_data(banks[1], df, target="Outcome")
    assert any(w.startswith(f"{kind}: {column}") for w in res.warnings), res.warnings
    assert column not in ds.from_json(res.schema).names and column in res.schema["ignore"]


def test_cli_bad_input_is_one_line_without_traceback(banks, cli_env_module, tmp_path):
    df, _ = _bad("mixed")
    path = tmp_path / "mixed.csv"
    df.to_csv(path, index=False)
    out = _cli(dict(cli_env_module, SANDBOX_USER="sol"), "risk", "import", SCRATCH, str(path), "--target", "Outcome")
    assert out.returncode != 0 and "Traceback" not in out.stderr
    assert out.stderr.strip().count("\n") == 0 and "mixes numbers and text" in out.stderr


def test_declared_schema_is_applied_not_reinferred(banks, tmp_path):
    df = portfolio(800, seed=17)
    declared = {
        "features": {"CardUtil": {"direction": "none"}, "HomeRegion": {"type": "categorical"}},
        "protected": [],
        "time": None,
    }
    path = tmp_path / "schema.json"
    path.write_text(json.dumps(declared))
    res = importer.import_data(banks[1], df, target="Outcome", schema=str(path))
    sch = ds.from_json(res.schema)
    assert sch.feature("CardUtil").direction == 0 and sch.feature("CardUtil").direction_source == "declared"
    assert sch.protected == [] and sch.time is None and "Gender" in sch.names


def test_another_bank_cannot_read_the_import(imported, store, ctx_b, bob, cli_env_module):
    with pytest.raises(AccessDenied):
        open_workspace(BANK, bob, store)
    with pytest.raises(NotFound):
        importer.load(ctx_b)  # bob's own bank has none; nothing of import-bank shows through
    out = _cli(dict(cli_env_module, SANDBOX_USER="bob"), "risk", "train", BANK)
    assert out.returncode != 0 and "Traceback" not in out.stderr
