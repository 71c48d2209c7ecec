"""Fraud lab: a bank simulates, imports, trains, scores; other banks and reviewers are kept out."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from lifecycle_util import lenient_gates, make_champion

import usecases.fraud as fraud
from sandbox.errors import AccessDenied, InvalidInput, SandboxError
from usecases.fraud import data, model_store, schema, scorer, simulator
from usecases.fraud import features as F
from usecases.fraud.scorer import FeatureState

SMALL = dict(customers=300, days=40, seed=3)


@pytest.fixture(scope="module")
def trained_a(store, ctx_a):
    """harbour-bank: a small hk data set and a trained XGBoost detector, made the champion that scoring uses
    (tiny data makes a weak model: the admin opens the gates first)."""
    lenient_gates(store, ctx_a.bank, "fraud")
    sim = fraud.simulate(ctx_a, preset="hk", **SMALL)
    res = fraud.train(ctx_a, model="xgboost", rounds=120)
    make_champion(store, ctx_a, "fraud", res.model_version)
    return sim, res


@pytest.fixture(scope="module")
def small_frame():
    return simulator.simulate_hk(customers=200, days=85, seed=11)


# -- simulator -------------------------------------------------------------------
def test_same_seed_gives_the_same_data_and_another_seed_does_not():
    a = simulator.simulate_hk(customers=120, days=20, seed=5)
    b = simulator.simulate_hk(customers=120, days=20, seed=5)
    c = simulator.simulate_hk(customers=120, days=20, seed=6)
    assert simulator.frame_hash(a) == simulator.frame_hash(b)
    assert simulator.frame_hash(a) != simulator.frame_hash(c)
    h1 = simulator.simulate_handbook(customers=100, terminals=200, days=10, seed=1)
    h2 = simulator.simulate_handbook(customers=100, terminals=200, days=10, seed=1)
    assert simulator.frame_hash(h1) == simulator.frame_hash(h2)


def test_hk_scenario_rates_stay_within_their_configured_ranges():
    df = simulator.simulate_hk(customers=1500, days=60, seed=2)
    share = df["scenario"].value_counts(normalize=True)
    for sid, (lo, hi) in simulator.HK_SHARE_RANGES.items():
        assert lo <= share.get(sid, 0.0) <= hi, (simulator.HK_SCENARIOS[sid], share.get(sid, 0.0), lo, hi)
    # every channel is used, and fraud amounts are not constants
    assert set(df["channel"].astype(str)) == {"card_present", "card_not_present", "fps"}
    for sid in simulator.HK_SCENARIOS:
        assert df.loc[df["scenario"] == sid, "amount"].nunique() > 5


def test_handbook_preset_follows_the_published_design():
    df = simulator.simulate_handbook(customers=500, terminals=1000, days=60, seed=0)
    rate = df["is_fraud"].mean()
    assert 0.004 < rate < 0.02
    assert (df.loc[df["amount"] > 220, "is_fraud"] == 1).all()
    assert set(df.loc[df["is_fraud"] == 1, "scenario"]) == {1, 2, 3}
    assert (df["label_time"] - df["timestamp"] == pd.Timedelta(days=7)).all()


# -- features ----------------------------------------------------------------------
def test_no_feature_uses_later_rows_or_labels_not_yet_known(small_frame):
    df = small_frame
    full = F.compute(df)
    t_cut = df["timestamp"].iloc[len(df) // 2]
    past = df[df["timestamp"] <= t_cut].copy()
    unknown = past["label_time"] > t_cut
    assert unknown.any() and (past.loc[unknown, "is_fraud"] == 1).any()
    # remove the future and every label not known at the cut: features up to the cut must not move
    blind = past.assign(is_fraud=np.where(unknown, 0, past["is_fraud"]).astype(np.int8))
    got = F.compute(blind)
    pd.testing.assert_frame_equal(got, full.iloc[: len(past)].reset_index(drop=True))
    # shuffle the labels not known at the cut (and their report times): still the same
    rng = np.random.default_rng(0)
    shuffled = past.copy()
    idx = np.flatnonzero(unknown.to_numpy())
    shuffled.loc[shuffled.index[idx], "is_fraud"] = rng.permutation(shuffled["is_fraud"].to_numpy()[idx])
    pd.testing.assert_frame_equal(F.compute(shuffled), full.iloc[: len(past)].reset_index(drop=True))


def test_features_of_some_rows_equal_those_rows_of_the_full_table(small_frame, monkeypatch):
    rows = np.arange(len(small_frame) - 3000, len(small_frame), 7)
    full = F.compute(small_frame)
    pd.testing.assert_frame_equal(F.compute(small_frame, rows=rows), full.iloc[rows].reset_index(drop=True))
    shuffled = rows[::-1].copy()
    pd.testing.assert_frame_equal(F.compute(small_frame, rows=shuffled), full.iloc[shuffled].reset_index(drop=True))
    monkeypatch.setattr(F, "PARALLEL_ROWS", 0)  # large tables compute on two threads: same values
    pd.testing.assert_frame_equal(F.compute(small_frame), full)


def test_streaming_features_equal_batch_features(small_frame):
    _assert_streaming_equals_batch(small_frame)


def test_zero_amount_histories_give_the_same_features_streaming_and_batch(small_frame):
    """Customers whose history is all 0.00 (card verifications): no ratio (NaN) in both, no ZeroDivisionError."""
    df = small_frame.copy()
    cut = int(len(df) * 0.85)
    zero = df["customer_id"].isin(df.iloc[cut : cut + 400]["customer_id"].unique()[:5])
    df.loc[zero, "amount"] = 0.0
    _assert_streaming_equals_batch(df)


def test_clean_transactions_since_a_terminals_reported_fraud_batch_and_streaming():
    """term_tx_since_known_fraud counts the terminal's transactions after its latest reported fraud whose labels
    are in (before the 7-day delay): a compromise that ended shows clean ones, one still going on shows none."""
    day0 = pd.Timestamp("2025-03-01 12:00")
    rows = [(1, 0, 1), *((1, d, 0) for d in (1, 2, 3)), *((2, d, 1) for d in (0, 1, 2, 3))]  # (terminal, day, fraud)
    rows += [(1, 8.04, 0), (1, 10.04, 0), (2, 10.04, 0), (3, 10.05, 0)]  # the rows checked (day 8 / 10, 13:00)
    ts = [day0 + pd.Timedelta(days=d) for _, d, _ in rows]
    df = pd.DataFrame(
        {
            "txn_id": range(len(rows)),
            "timestamp": ts,
            "customer_id": range(len(rows)),
            "terminal_id": [t for t, _, _ in rows],
            "amount": 50.0,
            "channel": "card_present",
            "merchant_category": "general",
            "device_id": -1,
            "payee_id": -1,
            "is_fraud": [f for _, _, f in rows],
            "label_time": [t + pd.Timedelta(days=7) for t in ts],
        }
    )
    df = F.sort_frame(df)
    batch = F.compute(df)["term_tx_since_known_fraud"].to_numpy()
    state, stream = FeatureState(7.0), []
    for r in df.itertuples(index=False):
        sec = int(r.timestamp.value // 10**9)
        f = state.step(sec, r.customer_id, r.amount, 0, 0.0, r.terminal_id, -1, -1)
        stream.append(f[F.FEATURES.index("term_tx_since_known_fraud")])
        if r.is_fraud:
            state.report_fraud(r.terminal_id, sec, int(r.label_time.value // 10**9), r.customer_id)
    # terminal 1: its fraud (day 0) was reported on day 7; by day 8 one later transaction is labelled clean, by
    # day 10 three; terminal 2: its latest reported fraud (day 3) is its latest labelled transaction; 3: no report
    np.testing.assert_array_equal(batch[-4:], [1.0, 3.0, 0.0, np.nan])
    np.testing.assert_array_equal(np.array(stream[-4:]), batch[-4:])


def _assert_streaming_equals_batch(df: pd.DataFrame) -> None:
    full = F.compute(df).to_numpy(dtype=np.float64)
    cut = int(len(df) * 0.85)
    state = FeatureState(7.0)
    hist = df.iloc[:cut]
    state.warm(hist)  # replays the last 45 days, older facts come from the whole history
    # labels known at the cut were fed in by warm(); the rest arrive as reports during the stream
    rows = df.iloc[cut : cut + 400]
    ch = {"card_present": 0, "card_not_present": 1, "fps": 2}
    for i, r in enumerate(rows.itertuples(index=False)):
        f = state.step(
            int(pd.Timestamp(r.timestamp).value // 10**9),
            r.customer_id,
            r.amount,
            ch[str(r.channel)],
            float(F.category_codes([r.merchant_category])[0]),
            r.terminal_id,
            r.device_id,
            r.payee_id,
        )
        np.testing.assert_allclose(
            f.astype(np.float32),
            full[cut + i].astype(np.float32),
            rtol=2e-5,
            atol=1e-4,
            equal_nan=True,
            err_msg=f"row {cut + i}",
        )
        if r.is_fraud:
            state.report_fraud(
                r.terminal_id,
                int(pd.Timestamp(r.timestamp).value // 10**9),
                int(pd.Timestamp(r.label_time).value // 10**9),
                r.customer_id,
            )
        if i % 100 == 50:
            state.compact(min_drop=1)  # forgetting events older than every window changes nothing


# -- import ------------------------------------------------------------------------
def _csv(path: Path, rows: list[dict]) -> Path:
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def _row(i: int, **kw) -> dict:
    r = {
        "txn_id": i,
        "timestamp": f"2025-03-01 10:{i % 60:02d}:00",
        "customer_id": i % 7,
        "amount": 100 + i,
        "is_fraud": int(i % 9 == 0),
        "terminal_id": i % 5,
        "channel": "card_present",
    }
    r.update(kw)
    return r


def test_import_reports_each_bad_row_and_keeps_the_good_ones(ctx_b, tmp_path):
    rows = [_row(i) for i in range(1, 21)]
    rows[2]["amount"] = -5
    rows[4]["timestamp"] = "yesterday-ish"
    rows[6]["customer_id"] = "abc"
    rows[8]["amount"] = 5e12
    rows[10]["channel"] = "carrier-pigeon"
    rows[12]["is_fraud"] = 3
    rep = fraud.import_transactions(ctx_b, _csv(tmp_path / "tx.csv", rows))
    assert rep.accepted == 14 and rep.rejected == 6
    got = {(r.row, r.column) for r in rep.rejections}
    assert got == {
        (3, "amount"),
        (5, "timestamp"),
        (7, "customer_id"),
        (9, "amount"),
        (11, "channel"),
        (13, "is_fraud"),
    }
    reasons = {r.row: r.reason for r in rep.rejections}
    assert "negative" in reasons[3] and "absurd" in reasons[9] and "YYYY-MM-DD" in reasons[5]
    assert rep.to_dict()["rejections"][0] == {"row": 3, "column": "amount", "reason": reasons[3]}
    stored = pd.read_parquet(ctx_b.path("fraud", "data", "transactions.parquet"))
    assert len(stored) == 14


def test_import_accepts_zero_amounts_and_refuses_negative_missing_and_text(ctx_b, tmp_path):
    """A 0.00 transaction is real (card verification, reversals; the handbook's simulator makes them): kept."""
    rows = [_row(i) for i in range(1, 11)]
    rows[1]["amount"], rows[3]["amount"] = 0, "0.00"
    rows[5]["amount"], rows[7]["amount"], rows[9]["amount"] = -0.01, "", "ten"
    rep = fraud.import_transactions(ctx_b, _csv(tmp_path / "tx.csv", rows))
    assert rep.accepted == 7 and {(r.row, r.column) for r in rep.rejections} == {
        (6, "amount"),
        (8, "amount"),
        (10, "amount"),
    }
    stored = pd.read_parquet(ctx_b.path("fraud", "data", "transactions.parquet"))
    assert (stored["amount"] == 0).sum() == 2


@pytest.mark.parametrize(
    "content, problem",
    [
        ("", "empty"),
        ("txn_id,timestamp,customer_id,amount\n1,2025-01-01,1,10\n", "missing column"),
        ("txn_id,timestamp,customer_id,amount,is_fraud,colour\n1,2025-01-01,1,10,0,red\n", "unknown column"),
        ("txn_id,timestamp,customer_id,amount,is_fraud\n", "no data rows"),
        ("txn_id,timestamp,customer_id,amount,is_fraud\n1,never,1,-3,0\n", "no valid transaction"),
    ],
)
def test_a_bad_file_is_refused_and_the_previous_data_set_is_kept(ctx_b, tmp_path, content, problem):
    fraud.import_transactions(ctx_b, _csv(tmp_path / "ok.csv", [_row(i) for i in range(1, 11)]))
    before = (ctx_b.path("fraud", "data", "transactions.parquet")).read_bytes()
    bad = tmp_path / "bad.csv"
    bad.write_text(content)
    with pytest.raises(InvalidInput) as err:
        fraud.import_transactions(ctx_b, bad)
    assert problem in str(err.value)
    assert ctx_b.path("fraud", "data", "transactions.parquet").read_bytes() == before


def test_handbook_layout_imports(ctx_b, tmp_path):
    df = simulator.simulate_handbook(customers=50, terminals=100, days=5, seed=0)
    hb = pd.DataFrame(
        {
            "TRANSACTION_ID": df["txn_id"],
            "TX_DATETIME": df["timestamp"],
            "CUSTOMER_ID": df["customer_id"],
            "TERMINAL_ID": df["terminal_id"],
            "TX_AMOUNT": df["amount"],
            "TX_TIME_SECONDS": 0,
            "TX_TIME_DAYS": 0,
            "TX_FRAUD": df["is_fraud"],
            "TX_FRAUD_SCENARIO": df["scenario"],
        }
    )
    hb.to_parquet(tmp_path / "hb.parquet")
    rep = fraud.import_transactions(ctx_b, tmp_path / "hb.parquet")
    assert rep.layout == "handbook" and rep.accepted == len(df) and rep.rejected == 0
    # the handbook's CSV export writes TX_DATETIME as ISO 8601 (2018-04-01 00:00:31): read exactly
    hb.to_csv(tmp_path / "hb.csv", index=False)
    assert (tmp_path / "hb.csv").read_text().splitlines()[1].split(",")[1].startswith("2018-04-01 ")
    rep = fraud.import_transactions(ctx_b, tmp_path / "hb.csv")
    assert rep.accepted == len(df) and rep.rejected == 0
    stored = pd.read_parquet(ctx_b.path("fraud", "data", "transactions.parquet"))
    assert stored["timestamp"].tolist() == df["timestamp"].tolist()


def test_import_rejects_dates_that_are_not_iso_8601_instead_of_guessing_the_month(ctx_b, tmp_path):
    rows = [_row(i) for i in range(1, 7)]
    rows[1]["timestamp"] = "01/03/2025 09:00"  # 1 March or 3 January? never guessed
    rows[2]["timestamp"] = "15/04/2025 09:00"
    rows[3]["timestamp"] = "2025-03"
    rows[4]["timestamp"] = "2025-03-01"  # a date alone is midnight, Hong Kong time (its "-01" is no zone)
    rep = fraud.import_transactions(ctx_b, _csv(tmp_path / "dates.csv", rows))
    assert [(r.row, r.column) for r in rep.rejections] == [(2, "timestamp"), (3, "timestamp"), (4, "timestamp")]
    assert all("write YYYY-MM-DD hh:mm[:ss]" in r.reason for r in rep.rejections)
    stored = pd.read_parquet(ctx_b.path("fraud", "data", "transactions.parquet"))
    assert pd.Timestamp("2025-03-01 00:00") in set(stored["timestamp"]) and len(stored) == 3


def test_import_says_how_many_rows_it_replaced(ctx_b, tmp_path):
    fraud.import_transactions(ctx_b, _csv(tmp_path / "ten.csv", [_row(i) for i in range(1, 11)]))
    rep = fraud.import_transactions(ctx_b, _csv(tmp_path / "four.csv", [_row(i) for i in range(1, 5)]))
    assert rep.replaced_rows == 10 and rep.to_dict()["replaced_rows"] == 10
    assert ctx_b.audit_entries(1)[0]["data"]["replaced_rows"] == 10


def test_cli_import_warns_on_stderr_when_rows_were_rejected_and_says_what_it_replaced(
    ctx_b, cli_env, sandbox_cli, tmp_path
):
    fraud.import_transactions(ctx_b, _csv(tmp_path / "ten.csv", [_row(i) for i in range(1, 11)]))
    rows = [_row(i) for i in range(1, 9)]
    rows[0]["timestamp"] = "01/03/2025 09:00"
    rows[5]["amount"] = -1
    out = sandbox_cli(
        cli_env, "--user", "bob", "fraud", "import", "peak-bank", str(_csv(tmp_path / "some-bad.csv", rows)), "--json"
    )
    assert out.returncode == 0, out.stderr
    d = json.loads(out.stdout)
    assert (d["accepted"], d["rejected"], d["replaced_rows"]) == (6, 2, 10)
    warning = [line for line in out.stderr.splitlines() if line.startswith("warning:")]
    assert len(warning) == 1 and "2 of 8 rows were rejected" in warning[0] and "replaced" in warning[0]
    out = sandbox_cli(cli_env, "--user", "bob", "fraud", "import", "peak-bank", str(tmp_path / "ten.csv"))
    assert out.returncode == 0 and "warning" not in out.stderr
    assert "they replaced 6 rows" in out.stdout
    helptext = " ".join(sandbox_cli(cli_env, "--user", "bob", "fraud", "import", "--help").stdout.split())
    assert "replacing its data set" in helptext and "replace BANK's current transaction data set" in helptext


def test_training_on_a_window_without_fraud_is_a_clear_error(ctx_b, tmp_path):
    rows = [
        _row(i, is_fraud=0, timestamp=str(pd.Timestamp("2025-01-01") + pd.Timedelta(hours=6 * i)))
        for i in range(1, 120)
    ]
    fraud.import_transactions(ctx_b, _csv(tmp_path / "nofraud.csv", rows))
    with pytest.raises(InvalidInput, match="training window: no fraud"):
        fraud.train(ctx_b)


# -- training and evidence ----------------------------------------------------------
@pytest.mark.parametrize(
    "use, settings, flag",
    [
        ("train", {"alert_budget": -10}, "--alert-budget"),
        ("train", {"alert_budget": 0}, "--alert-budget"),
        ("train", {"train_days": 0}, "--train-days"),
        ("train", {"delay_days": -1}, "--delay-days"),
        ("train", {"test_days": 400}, "--test-days"),
        ("train", {"seed": -1}, "--seed"),
        ("train", {"train_start": "15/04/2018"}, "--train-start"),
        ("train", {"train_start": "2018-02-30"}, "--train-start"),
        ("train", {"scheduler": "tcp://127.0.0.1:8786"}, "--scheduler"),
        ("simulate", {"customers": -4}, "--customers"),
        ("simulate", {"days": 0}, "--days"),
        ("simulate", {"seed": -1}, "--seed"),
        ("simulate", {"label_noise": 0.9}, "--label-noise"),
        ("simulate", {"label_delay_days": -2}, "--label-delay-days"),
    ],
)
def test_bad_settings_are_refused_naming_the_cli_option_before_any_work(ctx_a, monkeypatch, use, settings, flag):
    def no_work(*a, **k):
        raise AssertionError("work started before the settings were checked")

    monkeypatch.setattr(data, "load", no_work)
    monkeypatch.setattr(data, "save", no_work)
    with pytest.raises(InvalidInput) as err:
        getattr(fraud, use)(ctx_a, **settings)
    msg = str(err.value)
    name = next(iter(settings))
    assert msg.startswith(f"{name} ({flag}): ") and "\n" not in msg
    assert ("--engine dask" if name == "scheduler" else "YYYY-MM-DD" if name == "train_start" else "..") in msg


def test_a_protocol_that_does_not_fit_the_data_names_a_train_start_that_does(ctx_b):
    import re

    fraud.simulate(ctx_b, preset="handbook", customers=300, days=30, seed=1)  # 2018-04-01 .. 2018-04-30
    with pytest.raises(InvalidInput) as err:
        fraud.train(ctx_b, rounds=20, register=False, train_start="2018-07-25")  # the book's first fold
    msg = str(err.value)
    assert msg.startswith("train_start (--train-start): 2018-07-25 does not fit")
    assert "from 2018-04-01 to 2018-04-10" in msg
    start = re.search(r"e\.g\. --train-start (\d{4}-\d{2}-\d{2})", msg).group(1)
    res = fraud.train(ctx_b, rounds=20, register=False, train_start=start)
    assert res.protocol["train_start_used"] == start
    with pytest.raises(InvalidInput, match=r"\(30 days\), too short for 14\+7\+14 = 35 days .*at least 35 days"):
        fraud.train(ctx_b, train_days=14, test_days=14, train_start="2018-04-01")


def test_training_on_an_unreachable_dask_scheduler_is_one_line_within_seconds(ctx_a, trained_a, cli_env, sandbox_cli):
    import time

    before = fraud.latest_run(ctx_a)["run_id"]
    t0 = time.perf_counter()
    out = sandbox_cli(
        cli_env,
        "--user",
        "alice",
        "fraud",
        "train",
        "harbour-bank",
        "--engine",
        "dask",
        "--scheduler",
        "tcp://127.0.0.1:1",
    )
    assert time.perf_counter() - t0 < 15
    assert out.returncode == 2 and out.stderr.count("\n") == 1, out.stderr
    assert out.stderr.startswith("error: scheduler (--scheduler): cannot connect") and "dask scheduler" in out.stderr
    out = sandbox_cli(cli_env, "--user", "alice", "fraud", "train", "harbour-bank", "--alert-budget", "-10")
    assert out.returncode == 2 and out.stderr.count("\n") == 1 and "--alert-budget" in out.stderr, out.stderr
    out = sandbox_cli(cli_env, "--user", "alice", "fraud", "train", "harbour-bank", "--train-start", "15/04/2018")
    assert out.returncode == 2 and out.stderr.count("\n") == 1 and "--train-start" in out.stderr, out.stderr
    assert fraud.latest_run(ctx_a)["run_id"] == before  # no run was started


def test_a_reachable_dask_scheduler_passes_the_connection_check():
    from distributed import LocalCluster

    from usecases.fraud import models

    with LocalCluster(n_workers=1, processes=False, protocol="tcp", dashboard_address=None) as cluster:
        models.check_scheduler(cluster.scheduler_address)
        with models.dask_client(cluster.scheduler_address) as client:
            assert client.scheduler_info()["workers"]
    with pytest.raises(InvalidInput, match="missing port"):
        models.check_scheduler("not-an-address")


def test_training_logs_metrics_reports_card_and_registers_the_model(ctx_a, trained_a):
    sim, res = trained_a
    m = res.metrics
    for key in ("roc_auc", "average_precision", "card_precision_at_100", "recall_at_budget", "threshold"):
        assert key in m and np.isfinite(m[key])
    assert any(k.startswith("recall_") and k != "recall_at_budget" for k in m)
    assert res.registered_model == "harbour-bank.fraud"
    arts = set(ctx_a.list_artifacts(res.run_id))
    for name in fraud.REPORTS:
        assert f"reports/{name}.json" in arts
    assert {"plots/pr_curve.png", "plots/feature_importance.png", "plots/calibration.png", "model_card.md"} <= arts
    budgets = fraud.report(ctx_a, res.run_id, "alert_budget")["budgets"]
    assert budgets and {"alerts_per_day", "precision", "recall", "threshold"} <= set(budgets[0])
    card = ctx_a.read_artifact_text(res.run_id, "model_card.md")
    assert "## Limits" in card and "compromised_card" in card
    assert fraud.latest_run(ctx_a)["run_id"] == res.run_id


def test_streaming_scorer_scores_one_transaction_with_reasons(ctx_a, trained_a):
    scorer = fraud.load_scorer(ctx_a)
    end = pd.read_parquet(ctx_a.path("fraud", "data", "transactions.parquet"))["timestamp"].max()
    txn = {
        "txn_id": 1,
        "timestamp": (end + pd.Timedelta(minutes=5)).isoformat(),
        "customer_id": 7,
        "amount": 25000.0,
        "channel": "fps",
        "payee_id": 4_000_001,
        "device_id": 999_999,
    }
    res = scorer.score(txn)
    assert 0.0 <= res.score <= 1.0 and len(res.reasons) <= 4 and isinstance(res.alert, bool)
    assert set(res.to_dict()) >= {"score", "alert", "reasons"}
    with pytest.raises(InvalidInput, match="amount"):
        scorer.score(dict(txn, amount=-1))


def test_batch_scoring_writes_a_score_per_transaction(ctx_a, trained_a, tmp_path):
    df = pd.read_parquet(ctx_a.path("fraud", "data", "transactions.parquet"))
    tail = df[df["timestamp"] > df["timestamp"].max() - pd.Timedelta(days=2)].drop(
        columns=["is_fraud", "scenario", "label_time"]
    )
    tail.to_csv(tmp_path / "in.csv", index=False)
    out = fraud.score_batch(ctx_a, tmp_path / "in.csv", tmp_path / "out.csv")
    scored = pd.read_csv(tmp_path / "out.csv")
    assert out["rows"] == len(tail) == len(scored) and list(scored.columns) == ["txn_id", "score", "alert"]
    # one vocabulary for results (docs/results.md): the whole time and each stage's, units in the name
    assert {"features", "predict", "write"} <= set(out["stage_s"]) and "seconds" not in out
    assert out["wall_s"] >= sum(out["stage_s"].values()) - 0.01


def test_batch_scoring_uses_the_training_feature_values_on_the_same_rows(ctx_a, trained_a, tmp_path):
    df = pd.read_parquet(ctx_a.path("fraud", "data", "transactions.parquet"))
    end = df["timestamp"].max()
    new = (df["timestamp"] > end - pd.Timedelta(days=5)).to_numpy()
    # training features see a label from its report time on; a batch file carries none: no batch label may be
    # reported before the batch ends for the two to see the same labels
    assert not ((df["is_fraud"] == 1) & (df["label_time"] <= end) & new).any()
    expected = F.compute(df).iloc[np.flatnonzero(new)].reset_index(drop=True)
    df[new].drop(columns=["is_fraud", "scenario", "label_time"]).sample(frac=1, random_state=0).to_parquet(
        tmp_path / "in.parquet"
    )
    raw, _ = schema.read_table(tmp_path / "in.parquet")
    batch = F.sort_frame(schema.validate(raw.assign(is_fraud=0), text="category")[0])
    got, n_hist = scorer.batch_features(ctx_a, batch, 7.0, F.FEATURES)
    assert n_hist == int((~new).sum())
    pd.testing.assert_frame_equal(got, expected)
    # and the scores written are the model's scores of the training features (file shuffled: output in data order)
    fraud.score_batch(ctx_a, tmp_path / "in.parquet", tmp_path / "out.parquet")
    scored = pd.read_parquet(tmp_path / "out.parquet")
    booster, side = model_store.load(ctx_a)
    assert (scored["txn_id"].to_numpy() == df.loc[new, "txn_id"].to_numpy()).all()
    np.testing.assert_array_equal(
        scored["score"].to_numpy(np.float32),
        booster.inplace_predict(np.ascontiguousarray(expected[side["features"]].to_numpy())),
    )
    # the same file as CSV (naive timestamps are Hong Kong time, like the stored history) scores the same
    df[new].drop(columns=["is_fraud", "scenario", "label_time"]).to_csv(tmp_path / "in.csv", index=False)
    fraud.score_batch(ctx_a, tmp_path / "in.csv", tmp_path / "out.csv")
    from_csv = pd.read_csv(tmp_path / "out.csv")
    assert (from_csv["txn_id"].to_numpy() == scored["txn_id"].to_numpy()).all()
    np.testing.assert_allclose(from_csv["score"].to_numpy(), scored["score"].to_numpy(), rtol=1e-6)


def test_scoring_refuses_a_file_with_a_date_that_is_not_iso_8601(ctx_a, trained_a, tmp_path):
    pd.DataFrame([_row(1), _row(2, timestamp="03/01/2025 10:00")]).to_csv(tmp_path / "in.csv", index=False)
    with pytest.raises(InvalidInput, match=r"row 2, column timestamp: .*write YYYY-MM-DD hh:mm\[:ss\]"):
        fraud.score_batch(ctx_a, tmp_path / "in.csv", tmp_path / "out.csv")
    assert not (tmp_path / "out.csv").exists()


def test_scoring_refuses_to_write_the_scores_over_the_input_file(ctx_a, trained_a, tmp_path):
    pd.DataFrame([_row(1), _row(2)]).to_csv(tmp_path / "in.csv", index=False)
    before = (tmp_path / "in.csv").read_bytes()
    (tmp_path / "sub").mkdir()
    os.symlink(tmp_path / "in.csv", tmp_path / "link.csv")
    for out in (tmp_path / "in.csv", tmp_path / "sub" / ".." / "in.csv", tmp_path / "link.csv"):
        with pytest.raises(InvalidInput, match=r"output \(--output\): .* is the input file"):
            fraud.score_batch(ctx_a, tmp_path / "in.csv", out)
    assert (tmp_path / "in.csv").read_bytes() == before


def test_naive_times_are_hong_kong_time_and_zoned_times_are_converted():
    raw = pd.DataFrame(
        {
            "txn_id": ["1", "2", "3", "4"],
            "customer_id": ["1"] * 4,
            "amount": ["5"] * 4,
            "is_fraud": ["0"] * 4,
            "timestamp": ["2025-03-01 10:00:00", "2025-03-01T02:00:00Z", "2025-03-01 10:00:00+08:00", "soon"],
        }
    )
    ok, rej, n_rej, _ = schema.validate(raw)
    assert ok["timestamp"].tolist() == [pd.Timestamp("2025-03-01 10:00:00")] * 3
    assert n_rej == 1 and rej[0].row == 4 and rej[0].column == "timestamp"
    # a zoned value among naive ones is rejected, not a pandas "mixed timezones" traceback
    mixed = schema._parse_times(pd.Series(["2025-03-01 10:00", "2025-03-01T10:00+08:00"]), utc=False)
    assert mixed.iloc[0] == pd.Timestamp("2025-03-01 10:00") and mixed.isna().iloc[1]


def test_history_for_batch_scoring_reads_only_the_rows_it_needs(ctx_b, small_frame, monkeypatch):
    monkeypatch.setattr(data, "ROW_GROUP", 1000)  # many row groups: only those holding the range are decoded
    data.save(ctx_b, small_frame, {"source": "test"})
    before = small_frame["timestamp"].iloc[len(small_frame) * 2 // 3]
    got = data.load_history(ctx_b, before, 30, ["txn_id", "timestamp", "amount"])
    past = small_frame[small_frame["timestamp"] < before]
    want = past[past["timestamp"] > past["timestamp"].max() - pd.Timedelta(days=30)][["txn_id", "timestamp", "amount"]]
    pd.testing.assert_frame_equal(got.reset_index(drop=True), want.reset_index(drop=True))
    assert len(data.load_history(ctx_b, small_frame["timestamp"].iloc[0], 30, ["txn_id"])) == 0


def test_batch_validation_gives_the_same_rows_and_rejections_with_text_kept_as_categories(tmp_path):
    rows = [
        _row(
            i,
            channel=["card_present", " FPS", "", "pigeon", "card_not_present "][i % 5],
            merchant_category=["grocery", "", "x" * 70, "travel", " grocery "][i % 5],
            district=["", "Central", " Central"][i % 3],
        )
        for i in range(1, 40)
    ]
    raw, _ = schema.read_table(_csv(tmp_path / "messy.csv", rows))
    plain, rej, n_rej, _ = schema.validate(raw)
    cat, rej_c, n_rej_c, _ = schema.validate(raw, text="category")
    assert n_rej == n_rej_c > 0 and [r.to_dict() for r in rej] == [r.to_dict() for r in rej_c]
    assert {r.column for r in rej} == {"channel", "merchant_category"}
    for col in ("merchant_category", "district"):
        assert isinstance(cat[col].dtype, pd.CategoricalDtype)
        assert cat[col].astype(object).tolist() == plain[col].astype(object).tolist()
    assert set(plain["merchant_category"]) == {"grocery", "general"}
    pd.testing.assert_frame_equal(
        cat.drop(columns=["merchant_category", "district"]), plain.drop(columns=["merchant_category", "district"])
    )


# -- isolation ----------------------------------------------------------------------
def _copy_model(ctx, run_id: str, dest: Path) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    for name in ("detector.ubj", "detector.json"):
        shutil.copy(ctx.path("fraud", "models", run_id, name), dest / name)
    return dest / "detector.ubj"


def test_bank_cannot_load_or_score_with_another_banks_model(ctx_a, ctx_b, trained_a, tmp_path):
    stolen = _copy_model(ctx_a, trained_a[1].run_id, tmp_path / "stolen")
    with pytest.raises(SandboxError, match="belongs to bank harbour-bank"):
        fraud.load_scorer(ctx_b, model_path=stolen)
    pd.DataFrame([_row(1)]).to_csv(tmp_path / "in.csv", index=False)
    with pytest.raises(SandboxError, match="belongs to bank harbour-bank"):
        fraud.score_batch(ctx_b, tmp_path / "in.csv", tmp_path / "out.csv", model_path=stolen)
    assert not (tmp_path / "out.csv").exists()
    # relabelling the sidecar does not help: the run it names is not peak-bank's
    side = json.loads((tmp_path / "stolen" / "detector.json").read_text())
    side["bank"] = "peak-bank"
    (tmp_path / "stolen" / "detector.json").write_text(json.dumps(side))
    with pytest.raises(SandboxError, match="not a run of peak-bank"):
        fraud.load_scorer(ctx_b, model_path=stolen)


def test_bank_cannot_score_with_another_banks_model_on_the_command_line(
    ctx_a, trained_a, cli_env, sandbox_cli, tmp_path
):
    stolen = _copy_model(ctx_a, trained_a[1].run_id, tmp_path / "stolen")
    pd.DataFrame([_row(1)]).to_csv(tmp_path / "in.csv", index=False)
    out = sandbox_cli(
        cli_env,
        "--user",
        "bob",
        "fraud",
        "score",
        "peak-bank",
        "--input",
        str(tmp_path / "in.csv"),
        "--output",
        str(tmp_path / "out.csv"),
        "--model",
        str(stolen),
    )
    assert out.returncode == 3, out.stderr
    assert "belongs to bank harbour-bank" in out.stderr and "Traceback" not in out.stderr
    out = sandbox_cli(
        cli_env,
        "--user",
        "bob",
        "fraud",
        "score",
        "harbour-bank",
        "--input",
        str(tmp_path / "in.csv"),
        "--output",
        str(tmp_path / "out.csv"),
    )
    assert out.returncode == 3 and "Traceback" not in out.stderr


def test_reviewer_cannot_simulate_train_score_or_read_raw_data(review_a, trained_a):
    _, res = trained_a
    with pytest.raises(AccessDenied):
        fraud.simulate(review_a, preset="hk", customers=20, days=5)
    with pytest.raises(AccessDenied):
        fraud.train(review_a)
    with pytest.raises(AccessDenied):
        fraud.load_scorer(review_a)
    with pytest.raises(AccessDenied):
        review_a.path("fraud", "data", "transactions.parquet")
    # the evidence is readable
    assert fraud.report(review_a, res.run_id, "metrics")["average_precision"] == pytest.approx(
        res.metrics["average_precision"]
    )
    assert "Model card" in review_a.read_artifact_text(res.run_id, "model_card.md")


# -- scale-out and the command line ------------------------------------------------
def test_dask_engine_trains_on_a_local_cluster_like_local_training(ctx_a, trained_a):
    local = fraud.train(ctx_a, model="xgboost", engine="local", rounds=60, register=False)
    dask = fraud.train(ctx_a, model="xgboost", engine="dask", rounds=60, register=False)
    assert dask.engine == "dask"
    assert abs(dask.metrics["average_precision"] - local.metrics["average_precision"]) <= 0.01


def test_cli_train_prints_run_id_and_snake_case_metrics(ctx_a, trained_a, cli_env, sandbox_cli):
    out = sandbox_cli(cli_env, "--user", "alice", "fraud", "train", "harbour-bank", "--json")
    assert out.returncode == 0, out.stderr
    d = json.loads(out.stdout)  # nothing else on stdout (MLflow's registration message goes to stderr)
    assert d["registered_model"] == "harbour-bank.fraud"
    assert len(d["run_id"]) == 32
    assert {"roc_auc", "average_precision", "card_precision_at_100", "recall_at_budget"} <= set(d["metrics"])
    assert all(k == k.lower() and " " not in k for k in d["metrics"])


def test_cli_refuses_an_unknown_bank_without_a_traceback(cli_env, sandbox_exec):
    sandbox_cli = sandbox_exec  # a real `python -m apps.cli`: no traceback from start-up either
    out = sandbox_cli(
        cli_env, "--user", "alice", "fraud", "simulate", "no-such-bank", "--customers", "20", "--days", "5"
    )
    assert out.returncode != 0 and out.stderr.startswith("error:") and "Traceback" not in out.stderr
    out = sandbox_cli(cli_env, "--user", "alice", "fraud", "simulate", "harbour-bank", "--customers", "-4")
    assert out.returncode == 2 and "customers" in out.stderr and "Traceback" not in out.stderr


def test_card_precision_at_k_follows_the_handbook_definition():
    """Hand-computed, k=2 over three test days. Card c1 is frauded and in the top 2 on day 1: the handbook removes it
    from days 2 and 3 (investigators blocked it), so later days rank the remaining cards; without removal it counts
    again each day."""
    from usecases.fraud.evaluate import card_precision_top_k

    rows = [  # day, card, is_fraud, score
        (1, "c1", 1, 0.9),
        (1, "c1", 0, 0.2),
        (1, "c2", 0, 0.8),
        (1, "c3", 1, 0.1),
        (2, "c1", 1, 0.95),
        (2, "c3", 1, 0.7),
        (2, "c4", 0, 0.6),
        (2, "c5", 0, 0.5),
        (3, "c1", 1, 0.99),
        (3, "c4", 0, 0.9),
        (3, "c5", 1, 0.3),
        (3, "c6", 0, 0.2),
    ]
    days, cards, y, s = (np.array(c) for c in zip(*rows))
    # day 1: top {c1, c2} -> 1/2; day 2 without c1: {c3, c4} -> 1/2; day 3 without c1, c3: {c4, c5} -> 1/2
    assert card_precision_top_k(days, cards, y, s, k=2) == pytest.approx(0.5)
    # no removal: day 1 {c1, c2} 1/2; day 2 {c1, c3} 2/2; day 3 {c1, c4} 1/2
    assert card_precision_top_k(days, cards, y, s, k=2, remove_detected=False) == pytest.approx(2 / 3)
    # a card's score and label are its day's maxima; the divisor is k even when fewer cards remain
    assert card_precision_top_k(
        np.array([1, 1]), np.array(["a", "a"]), np.array([0, 1]), np.array([0.1, 0.2]), k=100
    ) == pytest.approx(0.01)


# -- the evaluation protocol (--protocol) ------------------------------------------------
BOOK_STARTS = ["2018-07-25", "2018-08-01", "2018-08-08", "2018-08-15"]


def _book_world(ctx, days: int = 158) -> None:
    """The handbook preset, shortened to a few customers: 2018-04-01 onwards (158 days cover the book's folds)."""
    fraud.simulate(ctx, preset="handbook", customers=150, days=days, seed=1)


def test_handbook_protocol_reports_each_fold_and_their_mean_and_sd(ctx_b):
    _book_world(ctx_b)
    res = fraud.train(ctx_b, rounds=20, register=False)  # handbook-preset data covering the book's dates: handbook
    assert res.protocol["protocol"] == "handbook" and res.protocol["basis"] == "the book's dates"
    assert [f["train_start"] for f in res.folds] == BOOK_STARTS == res.protocol["fold_train_starts"]
    assert [(f["test_start"], f["test_end"]) for f in res.folds][-1] == ("2018-08-29", "2018-09-04")
    assert res.folds[0]["train_end"] == "2018-07-31" and res.folds[0]["test_start"] == "2018-08-08"
    m = res.metrics
    for key in ("average_precision", "card_precision_at_100", "card_precision_at_100_no_removal", "roc_auc"):
        per_fold = [f["metrics"][key] for f in res.folds]
        assert m[key] == pytest.approx(np.mean(per_fold)) and m[f"{key}_sd"] == pytest.approx(np.std(per_fold))
        assert [m[f"fold_{i}_{key}"] for i in range(1, 5)] == per_fold
    # the threshold is the kept model's (the latest fold's); row counts add up
    assert res.threshold == m["threshold"] == res.folds[-1]["metrics"]["threshold"]
    assert m["test_rows"] == sum(f["test_rows"] for f in res.folds)
    # the MLflow run: per-fold metrics, the means under the headline names, the protocol as params
    run = fraud.latest_run(ctx_b)
    assert run["run_id"] == res.run_id
    assert run["params"]["protocol"] == "handbook" and run["params"]["folds"] == "4"
    assert run["params"]["fold_train_starts"] == ",".join(BOOK_STARTS) and run["params"]["train_start"] == "2018-08-15"
    assert run["metrics"]["fold_2_card_precision_at_100"] == pytest.approx(
        res.folds[1]["metrics"]["card_precision_at_100"]
    )
    assert run["metrics"]["average_precision"] == pytest.approx(m["average_precision"])
    assert fraud.report(ctx_b, res.run_id, "folds")["folds"] == res.folds
    card = ctx_b.read_artifact_text(res.run_id, "model_card.md")
    assert "- Protocol: handbook (4 folds, the book's dates)" in card and "## Folds (test periods)" in card
    assert "| 4 | 2018-08-29..2018-09-04 |" in card and "| mean (SD) |" in card and "fold 4's, the latest" in card
    # --protocol latest: one window, the latest that fits
    one = fraud.train(ctx_b, rounds=20, register=False, protocol="latest")
    assert one.protocol["protocol"] == "latest" and len(one.folds) == 1
    assert one.folds[0]["test_end"] == "2018-09-05" and one.folds[0]["train_start"] == "2018-08-16"
    assert "fold_1_average_precision" not in one.metrics and "average_precision_sd" not in one.metrics
    # what `sandbox fraud train` prints for each (the command's own formatter; end to end: the CLI tests below)
    from apps.cli_fraud import train_output, train_text

    text = train_text(train_output(res))
    assert "protocol handbook: 4 folds (the book's dates), each 7 days train, 7 delay, 7 test" in text
    assert "fold 4: train 2018-08-15..2018-08-21, test 2018-08-29..2018-09-04: average_precision" in text
    assert "mean over the 4 folds (SD):" in text and "the threshold and the model kept are fold 4's" in text
    registered = train_output(res) | {"registered_model": "peak-bank.fraud", "model_version": "3"}
    assert "registered peak-bank.fraud version 3: the model of fold 4 (trained 2018-08-15..2018-08-21)" in train_text(
        registered
    )
    text = train_text(train_output(one))
    assert "protocol latest: 1 fold (the latest window that fits" in text and "mean over" not in text
    assert "fold 1: train 2018-08-16..2018-08-22, test 2018-08-30..2018-09-05" in text


def test_handbook_protocol_on_other_dates_takes_the_four_latest_weekly_folds(ctx_b):
    _book_world(ctx_b, days=50)  # 2018-04-01 .. 2018-05-20: the book's dates are not in the data
    res = fraud.train(ctx_b, rounds=20, register=False, protocol="handbook")
    assert [f["train_start"] for f in res.folds] == ["2018-04-09", "2018-04-16", "2018-04-23", "2018-04-30"]
    assert res.folds[-1]["test_end"] == "2018-05-20" and "4 latest weekly folds" in res.protocol["basis"]
    assert res.metrics["average_precision"] == pytest.approx(
        np.mean([f["metrics"]["average_precision"] for f in res.folds])
    )
    # without --protocol, data that are not the book's train on the latest window
    assert fraud.train(ctx_b, rounds=20, register=False).protocol["protocol"] == "latest"


def test_a_protocol_that_does_not_fit_is_one_line_naming_protocol_and_what_fits(ctx_b, cli_env, sandbox_cli):
    _book_world(ctx_b, days=30)
    with pytest.raises(InvalidInput) as err:
        fraud.train(ctx_b, rounds=20, register=False, protocol="handbook")
    msg = str(err.value)
    assert msg.startswith("protocol (--protocol): handbook needs 42 days (4 folds of 21 days, one week apart)")
    assert "2018-04-01..2018-04-30 (30 days)" in msg and "--protocol latest (one 21-day window) fits" in msg
    assert "\n" not in msg
    out = sandbox_cli(cli_env, "--user", "bob", "fraud", "train", "peak-bank", "--protocol", "handbook")
    assert out.returncode == 2 and out.stderr.count("\n") == 1 and "--protocol latest" in out.stderr, out.stderr
    with pytest.raises(InvalidInput, match=r"^protocol \(--protocol\): the data covers .* too short for 7\+7\+30"):
        fraud.train(ctx_b, rounds=20, register=False, protocol="latest", test_days=30)


@pytest.mark.parametrize(
    "settings, starts",
    [
        ({"protocol": "book"}, "protocol (--protocol): 'book' is not one of handbook, latest"),
        (
            {"protocol": "handbook", "train_start": "2018-07-25"},
            "train_start (--train-start): 2018-07-25 is one window",
        ),
        ({"protocol": "latest", "train_start": "2018-07-25"}, "train_start (--train-start): 2018-07-25 is one window"),
        ({"protocol": "handbook", "train_days": 14}, "protocol (--protocol): handbook is the book's 7+7+7 days"),
    ],
)
def test_a_bad_protocol_choice_is_refused_before_any_work(ctx_a, monkeypatch, settings, starts):
    def no_work(*a, **k):
        raise AssertionError("work started before the settings were checked")

    monkeypatch.setattr(data, "load", no_work)
    with pytest.raises(InvalidInput) as err:
        fraud.train(ctx_a, **settings)
    assert str(err.value).startswith(starts) and "\n" not in str(err.value)


def test_cli_train_json_carries_the_protocol_each_fold_and_the_mean(ctx_b, cli_env, sandbox_cli):
    _book_world(ctx_b)
    out = sandbox_cli(cli_env, "--user", "bob", "fraud", "train", "peak-bank", "--protocol", "handbook", "--json")
    assert out.returncode == 0, out.stderr
    d = json.loads(out.stdout)
    assert d["protocol"]["protocol"] == "handbook" and d["model_from_fold"] == 4
    assert [f["train_start"] for f in d["folds"]] == BOOK_STARTS
    assert [(f["test_start"], f["test_end"]) for f in d["folds"]][0] == ("2018-08-08", "2018-08-14")
    assert d["metrics"]["card_precision_at_100"] == pytest.approx(
        np.mean([f["metrics"]["card_precision_at_100"] for f in d["folds"]])
    )
    assert {"fold_4_average_precision", "average_precision_sd", "card_precision_at_100_no_removal_sd"} <= set(
        d["metrics"]
    )
    assert d["registered_model"] == "peak-bank.fraud"
    # one vocabulary for results (docs/results.md): the version as risk names it, times with units in the name
    assert d["model_version"] and "registered_version" not in d and "seconds" not in d
    assert d["wall_s"] > 0 and set(d["stage_s"]) == {"features", "fit", "predict"}
    assert d["wall_s"] >= sum(d["stage_s"].values()) - 0.01


def test_cli_train_prints_the_protocol_its_dates_and_each_fold(ctx_b, cli_env, sandbox_cli):
    _book_world(ctx_b)
    out = sandbox_cli(
        cli_env, "--user", "bob", "fraud", "train", "peak-bank", "--protocol", "handbook", "--model", "logreg"
    )
    assert out.returncode == 0, out.stderr
    text = out.stdout
    assert "protocol handbook: 4 folds (the book's dates), each 7 days train, 7 delay, 7 test" in text
    assert "fold 1: train 2018-07-25..2018-07-31, test 2018-08-08..2018-08-14: average_precision" in text
    assert "mean over the 4 folds (SD):" in text and "card_precision_at_100_no_removal:" in text
    out = sandbox_cli(cli_env, "--user", "bob", "fraud", "train", "peak-bank", "--protocol", "book")
    assert out.returncode == 2 and out.stderr.count("\n") == 1 and "--protocol" in out.stderr, out.stderr
    assert "Traceback" not in out.stderr
    helptext = " ".join(sandbox_cli(cli_env, "--user", "bob", "fraud", "train", "--help").stdout.split())
    assert "--protocol [handbook|latest]" in helptext and "four prequential folds" in helptext
