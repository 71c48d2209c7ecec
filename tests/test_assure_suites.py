"""Regulator-held test suites (issue 16 part 3) on a tiny world: two banks of the session store with tiny champions.

Reviewers create, list and run suites; a scientist can do none of it, nor reach the suite's files through a file
option; a run leaves aggregates only (in its result, its MLflow run, the ledger); the bank sees its own result and
the optimism gap, another bank does not; the cohort table and the evidence pack show it; bad input is one line
naming the fix."""

from __future__ import annotations

import json
import os
import stat

import pytest
from lifecycle_util import lenient_gates, make_champion
from world import PASSWORD

from sandbox import open_workspace
from sandbox.access import can
from sandbox.errors import AccessDenied, InvalidInput, NotFound
from usecases import assure
from usecases.assure import suite_runs, suites

BANK, QUIET = "suite-bank", "quiet-suite-bank"  # QUIET: a bank without champions


@pytest.fixture(scope="module")
def world(store, rita, bob):
    """suite-bank (tiny fraud and risk champions, scientist sam), quiet-suite-bank (no model, scientist quinn),
    a fraud and a risk suite held by rita."""
    from usecases import fraud, risk

    for bank in (BANK, QUIET):
        if bank not in store.banks():
            store.create_bank(bank)
    users = store.users()
    for name, bank in (("sam", BANK), ("quinn", QUIET)):
        if name not in users:
            store.add_user(name, "scientist", PASSWORD, bank=bank)
    sam = store.actor("sam")
    ctx = open_workspace(BANK, sam, store)
    fraud.simulate(ctx, "hk", customers=200, days=24, seed=1)
    lenient_gates(store, BANK, "fraud")
    fraud.train(ctx, seed=0, rounds=20)
    make_champion(store, ctx, "fraud")
    risk.simulate(ctx, applicants=2000, vintages=3, seed=2)
    lenient_gates(store, BANK, "risk")
    risk.train(ctx, n_estimators=20, max_n_bins=4)
    make_champion(store, ctx, "risk")
    if not (store.state / "suites" / "hk-fresh").exists():
        assure.create_suite(store, rita, "hk-fresh", "fraud", seed=5, customers=200, history_days=14, test_days=7)
        assure.create_suite(store, rita, "oot-stress", "risk", seed=6, applicants=600)
    return {"store": store, "sam": sam, "ctx": ctx, "quinn": store.actor("quinn"), "rita": rita, "bob": bob}


@pytest.fixture(scope="module")
def fraud_result(world):
    return assure.run_suite(world["store"], world["rita"], BANK, "fraud", "hk-fresh")


def test_reviewer_creates_suites_in_a_private_area_and_lists_them(world):
    area = world["store"].state / "suites"
    assert stat.S_IMODE(os.stat(area).st_mode) == 0o700
    for name in ("hk-fresh", "oot-stress"):
        assert stat.S_IMODE(os.stat(area / name).st_mode) == 0o700
        for f in (suites.ROWS, suites.MANIFEST):
            assert stat.S_IMODE(os.stat(area / name / f).st_mode) == 0o600
    listed = {s.name: s for s in assure.list_suites(world["store"], world["rita"])}
    assert {"hk-fresh", "oot-stress"} <= set(listed)
    fresh = listed["hk-fresh"]
    assert fresh.usecase == "fraud" and suites.VARIANT_NAME in fresh.facts["scenario_counts"]
    assert "remote-access" in fresh.description and "shifted scenario mix" in fresh.description
    assert listed["oot-stress"].facts["vintage"] == "2026-01"


def test_scientist_cannot_list_read_create_or_run_suites(world):
    store, sam = world["store"], world["sam"]
    before = len(store.platform_audit().entries())
    for call in (
        lambda: assure.list_suites(store, sam),
        lambda: assure.create_suite(store, sam, "mine", "fraud", seed=1),
        lambda: suites.load(store, sam, "hk-fresh"),
        lambda: assure.run_suite(store, sam, BANK, "fraud", "hk-fresh"),
    ):
        with pytest.raises(AccessDenied):
            call()
    denied = [e for e in store.platform_audit().entries()[before:] if e["event"] == "access.denied"]
    assert len(denied) == 4 and all(e["actor"] == "sam" for e in denied)


def test_scientist_cannot_reach_suite_files_through_a_file_option(world, cli_env, sandbox_cli):
    rows = world["store"].state / "suites" / "hk-fresh" / suites.ROWS
    with pytest.raises(AccessDenied):
        world["ctx"].user_file(rows, "input")
    with pytest.raises(AccessDenied):
        world["ctx"].user_folder(rows.parent, "folder")
    r = sandbox_cli(
        cli_env,
        "--user",
        "sam",
        "fraud",
        "score",
        BANK,
        "--input",
        str(rows),
        "--output",
        str(world["store"].home / "out.csv"),
    )
    assert r.returncode != 0 and "Traceback" not in r.stderr
    assert "inside the sandbox store" in (r.stderr + r.stdout)
    r = sandbox_cli(cli_env, "--user", "sam", "assure", "suite", "list")
    assert r.returncode != 0 and "Traceback" not in r.stderr and "reviewers own them" in r.stderr
    assert "hk-fresh" not in r.stdout + r.stderr


def _scalars(obj) -> bool:
    """Only numbers, short strings and small dicts/lists of them (no per-row data)."""
    if isinstance(obj, dict):
        return len(obj) < 60 and all(_scalars(v) for v in obj.values())
    if isinstance(obj, list):
        return len(obj) < 20 and all(_scalars(v) for v in obj)
    return obj is None or isinstance(obj, (bool, int, float)) or (isinstance(obj, str) and len(obj) < 300)


def test_a_suite_run_leaves_only_aggregates(world, fraud_result, review_a):
    store, rita = world["store"], world["rita"]
    r = fraud_result.to_dict()
    assert _scalars(r) and r["bank"] == BANK and r["requested_by"] == "rita"
    assert set(r["gaps"]) >= {"average_precision_gap", "card_precision_at_100_gap"}
    review = open_workspace(BANK, rita, store)
    arts = review.list_artifacts(fraud_result.run_id)
    assert arts == [suite_runs.REPORT_ARTIFACT]
    report = json.loads(review.read_artifact_text(fraud_result.run_id, suite_runs.REPORT_ARTIFACT))
    assert _scalars(report)
    run = review.get_run(fraud_result.run_id)
    assert set(run.data.params) == {"suite", "model_version", "suite_rows"}  # no seed, no options
    assert "sandbox.seed" not in run.data.tags or run.data.tags["sandbox.seed"] in ("", "None")
    entry = [e for e in review.audit_entries() if e["event"] == "assure.suite_run"][-1]
    assert entry["actor"] == suite_runs.PLATFORM_ACTOR and _scalars(entry["data"]) and "seed" not in entry["data"]
    with pytest.raises(AccessDenied):  # the reviewer still cannot read the bank's rows or its model file
        review.path("fraud")


def test_the_bank_sees_its_result_and_gap_and_another_bank_does_not(world, fraud_result):
    store = world["store"]
    mine = assure.suite_results(world["ctx"], "fraud")
    assert mine and mine[-1]["run_id"] == fraud_result.run_id and "average_precision_gap" in mine[-1]["gaps"]
    assert mine[-1]["bank_figures"]["average_precision"] == pytest.approx(
        world["ctx"].get_run(make_champion(store, world["ctx"], "fraud").run_id).data.metrics["average_precision"],
        abs=1e-6,
    )
    with pytest.raises(AccessDenied):
        open_workspace(BANK, world["bob"], store)
    assert assure.suite_results(open_workspace(QUIET, world["quinn"], store)) == []


def test_cohort_and_evidence_pack_show_the_result(world, fraud_result):
    from sandbox import cohort, evidence

    review = open_workspace(BANK, world["rita"], world["store"])
    row = next(r for r in cohort.bank_rows(review) if r["usecase"] == "fraud")
    assert row["suite"].startswith("hk-fresh v") and row["suite_passed"] is True
    pack = evidence.build(review, "fraud")
    import io
    import zipfile

    with zipfile.ZipFile(io.BytesIO(pack.data)) as z:
        held = json.loads(z.read("assurance/suite_results.json"))
        assert held[-1]["run_id"] == fraud_result.run_id
        assert b"Regulator-held test suites" in z.read("report.html")


def test_risk_suite_reports_drift_and_fairness_beside_the_banks_figures(world):
    r = assure.run_suite(world["store"], world["rita"], BANK, "risk", "oot-stress")
    assert {"xgboost_gini_gap", "xgboost_ks_gap"} <= set(r.gaps)
    assert "score_psi_oot_xgboost" in r.metrics and {g["name"] for g in r.gates} == {"gini", "ks", "fairness", "psi"}
    assert isinstance(r.extra["fairness_flags"], list)


def test_bad_input_is_one_line_naming_the_fix(world):
    store, rita = world["store"], world["rita"]
    with pytest.raises(NotFound, match="no suite named nope") as e:
        assure.run_suite(store, rita, BANK, "fraud", "nope")
    assert "suite list" in e.value.fix
    with pytest.raises(InvalidInput, match="is a fraud suite, not risk") as e:
        assure.run_suite(store, rita, BANK, "risk", "hk-fresh")
    assert "assure run suite-bank fraud --suite hk-fresh" in e.value.fix
    with pytest.raises(NotFound, match="no fraud") as e:
        assure.run_suite(store, rita, QUIET, "fraud", "hk-fresh")
    assert "sandbox fraud train" in e.value.fix or "models promote" in e.value.fix
    with pytest.raises(InvalidInput, match="has no regulator-held suite"):
        assure.run_suite(store, rita, BANK, "vision", "hk-fresh")
    with pytest.raises(NotFound, match="unknown bank"):
        assure.run_suite(store, rita, "no-such-bank", "fraud", "hk-fresh")
    with pytest.raises(InvalidInput, match="already exists"):
        assure.create_suite(store, rita, "hk-fresh", "fraud", seed=1)
    with pytest.raises(InvalidInput, match="is not a suite name"):
        assure.create_suite(store, rita, "../x", "fraud", seed=1)
    with pytest.raises(InvalidInput, match="customers"):
        assure.create_suite(store, rita, "tiny", "fraud", seed=1, customers=3)
    assert not (store.state / "suites" / "tiny").exists()


def test_the_platform_identity_is_bound_to_one_bank_and_is_no_user(world):
    actor = suite_runs.platform_actor(BANK)
    assert can(actor, "models.load", BANK) and not can(actor, "models.load", QUIET)
    assert not can(actor, "data.write", BANK) and not can(actor, "review.sign", BANK)
    with pytest.raises(InvalidInput):
        world["store"].add_user("robot", "platform", PASSWORD)


def test_cli_reviewer_runs_and_the_bank_reads_its_results(world, fraud_result, cli_env, sandbox_cli):
    r = sandbox_cli(cli_env, "--user", "sam", "assure", "results", BANK, "--usecase", "fraud", "--json")
    assert r.returncode == 0, r.stderr
    rows = json.loads(r.stdout)
    assert rows and all(row["bank"] == BANK for row in rows) and "gaps" in rows[-1]
    r = sandbox_cli(cli_env, "--user", "bob", "assure", "results", BANK)
    assert r.returncode != 0 and "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) <= 2


def _page(store, user: str, file: str, monkeypatch):
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    from apps.web import auth

    monkeypatch.setenv("SANDBOX_HOME", str(store.home))
    at = AppTest.from_file(
        str(Path(__file__).resolve().parents[1] / "apps" / "web" / "app_pages" / file), default_timeout=120
    )
    at.session_state[auth.ACTOR_KEY] = store.actor(user)
    return at.run()


def test_app_reviewer_runs_a_suite_and_the_bank_page_shows_its_result(world, fraud_result, monkeypatch):
    store = world["store"]
    at = _page(store, "rita", "console_cohort.py", monkeypatch)
    assert not at.exception, at.exception
    assert "Regulator-held test suites" in [h.value for h in at.subheader]
    form_suite = next(s for s in at.selectbox if s.label == "Suite")
    form_suite.set_value(next(s for s in assure.list_suites(store, world["rita"]) if s.name == "hk-fresh"))
    next(s for s in at.selectbox if s.label == "Bank").set_value(BANK)
    next(b for b in at.button if "Run the suite" in b.label).click().run()
    assert not at.exception, at.exception
    assert any("on hk-fresh" in s.value for s in at.success), [e.value for e in at.error]
    page = _page(store, "sam", "workspace.py", monkeypatch)
    assert not page.exception, page.exception
    assert "Regulator-held test suites" in [h.value for h in page.subheader]
    shown = page.dataframe[-1].value
    assert "average_precision" in set(shown["metric"]) and set(shown["suite"]) >= {"hk-fresh"}
