"""Tables that fit a 1440-px window (issue 18 item 4): a row per workspace folder, the cohort a table per use case
with only its own metrics, the chat backends a row per measure in words."""

from __future__ import annotations

from apps.web import tables

RUN = "0123456789abcdef0123456789abcdef"


def test_workspace_files_read_a_row_per_folder_with_run_ids_cut_and_the_index_folded():
    files = [
        {"usecase": "fraud", "file": "fraud/data/transactions.parquet", "size_kb": 700.0, "modified": 1.7e9},
        {"usecase": "fraud", "file": "fraud/data/transactions.json", "size_kb": 1.0, "modified": 1.7e9 + 60},
        {"usecase": "fraud", "file": f"fraud/models/{RUN}/detector.ubj", "size_kb": 300.0, "modified": 1.7e9},
        *(
            {"usecase": "chat", "file": f"chat/index/v000001/bm25/part{i}.npy", "size_kb": 2.0, "modified": 1.7e9}
            for i in range(6)
        ),
    ]
    df = tables.data_sets(files)
    assert list(df["folder"]) == ["data", "models/01234567…", "index"]
    data = df.iloc[0]
    assert (data["files"], data["size"], data["modified"]) == (2, 701 * 1024, "2023-11-15 06:14")  # HKT
    assert df.iloc[2]["contents"] == "part0.npy, part1.npy, part2.npy, part3.npy and 2 more"
    assert list(tables.file_list(files)["file"])[2] == "models/01234567…/detector.ubj"
    assert set(tables.FILE_COLUMNS) >= set(df.columns)


def _row(bank, usecase, run_id, headline, **kw):
    return {
        "bank": bank,
        "usecase": usecase,
        "version": kw.get("version"),
        "stage": kw.get("stage", "champion" if run_id else "no champion"),
        "run_id": run_id,
        "gates": kw.get("gates"),
        "gates_passed": kw.get("passed"),
        "review": kw.get("review"),
        "reviewed_by": kw.get("by"),
        "headline": headline,
        "suite": None,
        "suite_passed": None,
    }


def test_cohort_is_a_table_per_use_case_with_its_own_metrics_and_banks_without_one_named_apart():
    rows = [
        _row(
            "a",
            "fraud",
            RUN,
            {"average_precision": 0.41, "roc_auc": 0.9},
            version="2",
            gates="1/2 passed",
            passed=False,
            review="approved",
            by="rita",
        ),
        _row("b", "fraud", None, {}),
        _row("a", "risk", RUN, {"xgboost_gini": 0.6}, version="1", gates="4/4 passed", passed=True),
    ]
    fraud, missing = tables.cohort(rows, "fraud")
    assert missing == ["b"] and len(fraud) == 1
    assert list(fraud.columns) == ["bank", "stage", "gates", "review", "average_precision", "roc_auc", "run"]
    r = fraud.iloc[0]
    assert (r["stage"], r["gates"], r["review"], r["run"]) == (
        "champion (v2)",
        "FAIL 1/2",
        "approved (rita)",
        "01234567…",
    )
    risk, _ = tables.cohort(rows, "risk")
    assert "average_precision" not in risk.columns and risk.iloc[0]["gates"] == "pass 4/4"
    cfg = tables.cohort_columns(fraud)
    assert set(cfg) >= set(fraud.columns)


def test_chat_backends_read_a_row_per_measure_in_words_and_units():
    rows = [
        {
            "backend": "extractive",
            "correctness": 0.91666,
            "latency_p50_ms": 528.46,
            "poisoned_retrievals": 8,
            "zh_correctness": 0.8,
        },
        {
            "backend": "embedded",
            "correctness": 0.7,
            "latency_p50_ms": 2400.0,
            "poisoned_retrievals": 3,
            "new_figure": 0.5,
        },
    ]
    df = tables.backends(rows)
    assert list(df.columns) == ["measure", "extractive", "extractive (Chinese)", "embedded", "what it measures"]
    by = df.set_index("measure")
    assert by.loc["answer correctness", "extractive"] == "0.917"
    assert by.loc["answer correctness", "extractive (Chinese)"] == "0.800"
    assert by.loc["latency, median", "embedded"] == "2,400 ms" and by.loc["poisoned retrievals", "extractive"] == "8"
    assert by.loc["new figure", "embedded"] == "0.500"  # a figure the table does not know yet still shows
    assert "refusal accuracy" not in by.index  # measured by no backend: no empty row
