"""What people read in the app's tables: Hong Kong time, pass/FAIL words, one numeric column per metric."""

from __future__ import annotations

import pandas as pd

from apps.web import views


def _run(usecase: str, metrics: dict, params: dict | None = None, start: int = 1_765_000_000_000) -> dict:
    return {
        "bank": "harbour",
        "usecase": usecase,
        "run_name": f"{usecase}-run",
        "run_id": f"{usecase}0000",
        "status": "FINISHED",
        "actor": "alice",
        "recorded": True,
        "review": {},
        "start_time": start,
        "metrics": metrics,
        "params": params or {},
        "tags": {},
    }


def test_times_read_in_hong_kong_time():
    assert views.when(0) == ""
    assert views.when(1_700_000_000_000) == "2023-11-15 06:13 HKT"  # 22:13 UTC
    assert views.local_time("2026-12-07T16:00:00+00:00") == "2026-12-08 00:00 HKT"
    assert views.local_time("not a time") == "not a time"


def test_checks_read_as_words_and_metrics_as_sortable_columns():
    risk_ok = _run("risk", {"xgboost_gini": 0.61, "xgboost_ks": 0.45})
    risk_low = _run("risk", {"xgboost_gini": 0.21, "xgboost_ks": 0.45}, start=1_765_000_100_000)
    assert [views.result_word(c) for c in views.check_thresholds(risk_low)] == ["FAIL", "pass"]
    df = views.runs_frame([risk_ok, risk_low])
    assert list(df["checks"]) == ["pass", "FAIL: Gini"]
    assert pd.api.types.is_float_dtype(df["xgboost_gini"]) and df["xgboost_gini"].max() == 0.61
    assert df.columns[-1] == "run_id"
    assert "metrics" not in df.columns  # no longer one text column squeezing three metrics


def test_compare_in_the_app_offers_only_runs_of_one_use_case():
    from streamlit.testing.v1 import AppTest

    def page():
        from apps.web import views as v

        runs = [
            {
                "bank": "b",
                "usecase": "chat",
                "run_name": "c1",
                "run_id": "c1",
                "start_time": 3,
                "metrics": {"correctness": 0.8},
                "params": {},
                "review": {},
            },
            {
                "bank": "b",
                "usecase": "risk",
                "run_name": "r1",
                "run_id": "r1",
                "start_time": 2,
                "metrics": {"gini": 0.5},
                "params": {},
                "review": {},
            },
            {
                "bank": "b",
                "usecase": "risk",
                "run_name": "r2",
                "run_id": "r2",
                "start_time": 1,
                "metrics": {"gini": 0.4},
                "params": {},
                "review": {},
            },
        ]
        v.compare_picker(None, runs, key="t")

    at = AppTest.from_function(page, default_timeout=30).run()
    assert not at.exception
    assert [sb.value.split(" · ")[2] for sb in at.selectbox] == ["r1", "r2"]


def test_each_fraud_run_is_held_to_its_own_presets_bar():
    hk = _run("fraud", {"average_precision": 0.29, "card_precision_at_100": 0.1}, {"preset": "hk"})
    book = _run("fraud", {"average_precision": 0.29, "card_precision_at_100": 0.1}, {"preset": "handbook"})
    imported = _run("fraud", {"average_precision": 0.29}, {"preset": "imported"})
    assert [(c["minimum"], views.result_word(c)) for c in views.check_thresholds(hk)] == [(0.18, "pass")]
    assert [views.result_word(c) for c in views.check_thresholds(book)] == ["FAIL", "FAIL"]
    assert views.check_thresholds(imported) == []


def test_job_results_read_as_words_and_rounded_figures():
    df = views.readable_summary(
        {
            "rows": 1234567,
            "fraud_rate": 0.0030474531998258597,
            "wall_s": 3.14159,
            "preset": "hk",
            "average_precision": 0.43213,
            "scenario_counts": {"a": 1},
        }
    )
    shown = dict(zip(df["what"], df["value"]))
    assert shown == {
        "rows": "1,234,567",
        "fraud rate": "0.305%",
        "time taken": "3.14 s",
        "preset": "hk",
        "average precision": "0.4321",
    }


def test_guardrail_verdicts_read_as_one_sentence_per_check():
    from apps.web import verdicts

    v = {
        "question": {
            "blocked": False,
            "pii_total": 1,
            "pii": [{"kind": "hkid", "count": 1}],
            "injection": {"flagged": False, "score": 0.0, "reasons": []},
        },
        "chunks_excluded": [{"chunk_id": "d#3"}],
        "chunks_redacted": 0,
        "scope": {"mentions": [{"kind": "product", "phrase": "car loan"}], "missing": "car loan"},
        "grounding": {},
        "answer": {},
        "refusal_reason": "no passage is about 'car loan'",
    }
    got = verdicts.lines(v)
    assert got[0] == (True, "Question: no injection found; 1 personal detail redacted (hkid)")
    assert (False, "Passages: 1 left out because they carry instructions to the assistant") in got
    assert (False, "Scope: the question names car loan; no passage is about 'car loan'") in got
    assert got[-1] == (False, "Refused: no passage is about 'car loan'")


def test_the_badge_says_what_each_role_sees():
    from apps.web import auth
    from sandbox.access import Actor

    assert auth.actor_badge(Actor("alice", "scientist", "harbour-bank"))["bank"] == "harbour-bank"
    assert auth.actor_badge(Actor("rita", "reviewer"))["bank"] == "all banks (evidence, read-only)"
    assert auth.actor_badge(Actor("root", "admin"))["bank"] == "platform only, no bank data"


def test_usage_over_time_is_seconds_per_hkt_day_per_user():
    records = [
        {"time": "2026-12-07T15:30:00+00:00", "user": "tina", "wall_s": 2.0},  # 23:30 HKT, the 7th
        {"time": "2026-12-07T16:30:00+00:00", "user": "tina", "wall_s": 3.0},  # 00:30 HKT, the 8th
        {"time": "2026-12-07T17:00:00+00:00", "user": "tom", "wall_s": 1.5},
    ]
    df = views.usage_over_time(records, "user")
    assert df.to_dict() == {
        "tina": {"2026-12-07": 2.0, "2026-12-08": 3.0},
        "tom": {"2026-12-07": 0.0, "2026-12-08": 1.5},
    }


def test_metric_history_draws_the_chosen_metric_across_runs_per_bank():
    from streamlit.testing.v1 import AppTest

    def page():
        from apps.web import views as v

        runs = [
            {
                "bank": b,
                "usecase": "risk",
                "start_time": 1_765_000_000_000 + i * 3_600_000,
                "metrics": {"xgboost_gini": g},
            }
            for i, (b, g) in enumerate((("a", 0.5), ("b", 0.6), ("a", 0.55)))
        ]
        runs.append({"bank": "a", "usecase": "chat", "start_time": 1_765_000_000_000, "metrics": {"correctness": 0.8}})
        v.metric_history(runs, key="h")

    at = AppTest.from_function(page, default_timeout=30).run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.selectbox(key="h-uc").options == ["chat", "risk"]
    at.selectbox(key="h-uc").set_value("risk").run()
    assert at.selectbox(key="h-metric").value == "xgboost_gini"
    assert len(at.get("vega_lite_chart")) == 1


def test_runs_with_the_same_name_and_minute_stay_apart_in_pickers():
    from streamlit.testing.v1 import AppTest

    def page():
        from apps.web import views as v

        runs = [
            {
                "bank": "b",
                "usecase": "risk",
                "run_name": "same",
                "run_id": rid,
                "start_time": 1_765_000_000_000,
                "metrics": {"gini": g},
                "params": {},
                "review": {},
            }
            for rid, g in (("aaaa1111", 0.5), ("bbbb2222", 0.4))
        ]
        v.compare_picker(None, runs, key="t")
        v.pick_run(runs, key="p")

    at = AppTest.from_function(page, default_timeout=30).run()
    assert not at.exception, [e.value for e in at.exception]
    assert [sb.value.rsplit(" · ", 1)[-1] for sb in at.selectbox[:2]] == ["aaaa1111", "bbbb2222"]
    assert len(at.selectbox(key="p").options) == 2


def test_the_chat_headline_is_the_best_backends_figure_not_a_language_slice():
    run = _run(
        "chat",
        {
            "extractive_correctness": 0.83,
            "extractive_zh_correctness": 1.0,
            "extractive_refusal_accuracy": 1.0,
            "embedded_correctness": 0.71,
        },
    )
    assert views.best_backend(run["metrics"]) == "extractive"
    assert views.check_thresholds(run)[0]["metric"] == "extractive_correctness"


def test_a_cited_passage_reads_as_text_with_the_cited_sentence_marked():
    from apps.web.verdicts import highlight_passage

    passage = "## 4. Disputes\nYou may dispute a charge within 60 days. Late ones are refused.\n3. Terms [x]"
    out = highlight_passage(passage, "A charge can be disputed within 60 days [1].")
    assert out.splitlines() == [
        r"> \## 4. Disputes  ",
        "> :orange-background[You may dispute a charge within 60 days.] Late ones are refused.  ",
        r"> 3\. Terms \[x\]",
    ]
    zh = highlight_passage("持卡人可於60日內提出爭議。逾期不受理。", "您可於60日內提出爭議 [1]。")
    assert ":orange-background[持卡人可於60日內提出爭議。]" in zh
