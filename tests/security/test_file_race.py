"""Issue 11, findings 1, 10, 15 (and the ENAMETOOLONG part of 9): a file a user names by path is opened once and
used by its descriptor. Each test performs the attack a scientist of harbour-bank (A) tried on peak-bank (B).

The races are made deterministic: a hook placed after the open and check, before the read or write (the parser,
the model load, the folder listing, the corpus writer), repoints the link to B's file. With the old design
(check a name, open it again later) each of these read or overwrote B's file; now the descriptor still points
to A's own file.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from world import BANK_A

from sandbox import AccessDenied, InvalidInput, userfile

B_CANARY = "PEAK-ESC-99417"
B_POLICY = f"# Escalation\n\nThe internal escalation code of peak-bank is {B_CANARY}. Quote it to the panel.\n"
A_POLICY = "# Tea budget\n\nThe branch tea budget of harbour-bank is HKD 333 per quarter.\n"


def _rows(first: int, n: int = 8) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "txn_id": i,
                "timestamp": f"2025-03-01 10:{i % 60:02d}:00",
                "customer_id": i % 3,
                "amount": 100.0 + i,
                "is_fraud": int(i % 4 == 0),
                "terminal_id": i % 2,
                "channel": "card_present",
            }
            for i in range(first, first + n)
        ]
    )


def _denials(store) -> int:
    return sum(e["event"] == "access.denied" for e in store.platform_audit().entries())


def _repoint(link: Path, target: Path) -> None:
    link.unlink()
    os.symlink(target, link)


@pytest.fixture
def b_transactions(ctx_b, tmp_path) -> Path:
    """peak-bank's own data set, imported through the front door (txn ids 9001...)."""
    from usecases import fraud

    src = tmp_path / "b-import.csv"
    _rows(9001).to_csv(src, index=False)
    fraud.import_transactions(ctx_b, src)
    return ctx_b.path("fraud", "data", "transactions.parquet")


@pytest.fixture
def b_policy(ctx_b) -> Path:
    p = ctx_b.path("chat", "uploads", "escalation.md", create=True)
    p.write_text(B_POLICY)
    return p


def _tiny_model():
    """A real XGBoost booster on the detector's features (no MLflow run): enough to score a batch."""
    import xgboost as xgb

    from usecases.fraud import features

    names = list(features.FEATURES)
    rng = np.random.default_rng(0)
    X, y = rng.random((40, len(names))), np.arange(40) % 2
    booster = xgb.train({"max_depth": 2}, xgb.DMatrix(X, label=y, feature_names=names), num_boost_round=2)
    return booster, {"features": names, "threshold": 0.5, "label_delay_days": 7, "run_id": "tiny"}


# -- finding 1: a link repointed between the check and the use ----------------------------------------------------
def test_import_reads_the_opened_file_when_the_link_is_repointed_before_the_read(
    ctx_a, ctx_b, b_transactions, tmp_path, monkeypatch
):
    from usecases import fraud
    from usecases.fraud import schema

    mine = tmp_path / "mine.parquet"
    _rows(1).to_parquet(mine, index=False)
    link = tmp_path / "in.parquet"
    os.symlink(mine, link)
    b_audit = len(ctx_b.audit_entries())
    real_read = schema.read_table
    seen = {}

    def repoint_then_read(src):
        _repoint(link, b_transactions)  # the attacker's move, after the open and check, before the read
        seen["by_name"] = link.read_bytes() == b_transactions.read_bytes()  # reopening the name now gets B's file
        return real_read(src)

    monkeypatch.setattr(schema, "read_table", repoint_then_read)
    rep = fraud.import_transactions(ctx_a, link)
    assert seen["by_name"] and rep.accepted == 8
    stored = pd.read_parquet(ctx_a.path("fraud", "data", "transactions.parquet"))
    assert sorted(stored["txn_id"].astype(int)) == list(range(1, 9))  # A's rows, none of B's 9001...
    assert len(ctx_b.audit_entries()) == b_audit


def test_score_reads_and_writes_what_was_opened_when_links_are_repointed_while_the_model_loads(
    ctx_a, ctx_b, b_transactions, tmp_path, monkeypatch
):
    from usecases.fraud import model_store

    mine = tmp_path / "mine.parquet"
    _rows(1).to_parquet(mine, index=False)
    link_in, link_out = tmp_path / "in.parquet", tmp_path / "scores.parquet"
    os.symlink(mine, link_in)
    os.symlink(tmp_path / "old-scores.parquet", link_out)
    b_bytes, b_audit = b_transactions.read_bytes(), len(ctx_b.audit_entries())

    def repoint_while_loading(ctx, model_path=None, version=None):
        _repoint(link_in, b_transactions)  # score all of B's transactions ...
        _repoint(link_out, b_transactions)  # ... and write the scores over B's data set
        return _tiny_model()

    monkeypatch.setattr(model_store, "load", repoint_while_loading)
    from usecases import fraud

    res = fraud.score_batch(ctx_a, link_in, link_out)
    assert res["rows"] == 8
    assert b_transactions.read_bytes() == b_bytes  # B's file unchanged, byte for byte
    assert len(ctx_b.audit_entries()) == b_audit
    scored = pd.read_parquet(link_out)  # the link itself was replaced by the scores: never written through
    assert not link_out.is_symlink() and sorted(scored["txn_id"].astype(int)) == list(range(1, 9))
    assert pd.read_parquet(b_transactions)["txn_id"].astype(int).min() == 9001  # B's next training reads B's rows


def test_ingest_reads_the_opened_file_when_the_link_is_repointed_before_extraction(
    ctx_a, b_policy, tmp_path, monkeypatch
):
    import usecases.chat as chat

    mine = tmp_path / "tea.md"
    mine.write_text(A_POLICY)
    link = tmp_path / "policy.md"
    os.symlink(mine, link)
    real_extract = chat.ingestion.extract_file

    def repoint_then_extract(src):
        _repoint(link, b_policy)
        return real_extract(src)

    monkeypatch.setattr(chat.ingestion, "extract_file", repoint_then_extract)  # what ingest reads files with
    rep = chat.ingest(ctx_a, [link])
    try:
        assert [a["name"] for a in rep.added] == ["policy.md"]
        assert B_CANARY not in chat.ask(ctx_a, "What is the internal escalation code?", backend="extractive").answer
        hits = chat.retriever(ctx_a, k=10, mode="bm25").invoke("internal escalation code panel")
        assert all(B_CANARY not in d.page_content for d in hits)
    finally:
        chat.delete_document(ctx_a, "policy.md")


def test_ingest_lists_the_opened_folder_when_its_link_is_repointed_before_the_listing(
    ctx_a, b_policy, tmp_path, monkeypatch
):
    import usecases.chat as chat

    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.exe").write_bytes(b"MZ")
    link = tmp_path / "docs"
    os.symlink(mine, link)
    real_walk = userfile.UserFolder.walk

    def repoint_then_walk(self, *a, **kw):
        _repoint(link, b_policy.parent)
        return real_walk(self, *a, **kw)

    monkeypatch.setattr(userfile.UserFolder, "walk", repoint_then_walk)
    rep = chat.ingest(ctx_a, [link])
    assert rep.added == [] and [r["name"] for r in rep.rejected] == ["notes.exe"]  # A's folder, not B's uploads


def test_corpus_is_written_into_the_opened_folder_when_its_link_is_repointed(ctx_a, ctx_b, tmp_path, monkeypatch):
    import usecases.chat as chat
    from usecases.chat import corpus

    theirs = ctx_b.path("chat", "library", create=True)
    mine = tmp_path / "library"
    mine.mkdir()
    link = tmp_path / "lib"
    os.symlink(mine, link)
    real_write = corpus.write_corpus

    def repoint_then_write(folder, bank, seed=0):
        _repoint(link, theirs)
        return real_write(folder, bank, seed=seed)

    monkeypatch.setattr(corpus, "write_corpus", repoint_then_write)
    paths = chat.write_policy_library(ctx_a, link)
    assert len(paths) == 10 and len(list(mine.iterdir())) == 10
    assert list(theirs.iterdir()) == []


# -- finding 1: the plain attacks -----------------------------------------------------------------------------------
def test_a_link_to_another_banks_transactions_is_refused_for_import_and_score(ctx_a, store, b_transactions, tmp_path):
    from usecases import fraud

    link = tmp_path / "innocent.parquet"
    os.symlink(b_transactions, link)
    before = _denials(store)
    with pytest.raises(AccessDenied, match="outside the workspace of " + BANK_A):
        fraud.import_transactions(ctx_a, link)
    with pytest.raises(AccessDenied, match="outside the workspace of " + BANK_A):
        fraud.score_batch(ctx_a, link, tmp_path / "out.csv")
    assert _denials(store) == before + 2 and not (tmp_path / "out.csv").exists()


def test_an_output_link_to_another_banks_file_is_refused_and_the_file_is_untouched(
    ctx_a, ctx_b, store, b_transactions, tmp_path
):
    from usecases import fraud

    _rows(1).to_csv(tmp_path / "in.csv", index=False)
    out = tmp_path / "scores.parquet"
    os.symlink(b_transactions, out)
    b_bytes, b_audit, before = b_transactions.read_bytes(), len(ctx_b.audit_entries()), _denials(store)
    with pytest.raises(AccessDenied, match="outside the workspace of " + BANK_A):
        fraud.score_batch(ctx_a, tmp_path / "in.csv", out)
    assert b_transactions.read_bytes() == b_bytes and len(ctx_b.audit_entries()) == b_audit
    assert _denials(store) == before + 1


def test_a_hard_link_to_another_banks_file_is_refused(ctx_a, store, b_transactions, b_policy, tmp_path):
    import usecases.chat as chat
    from usecases import fraud

    hard, hard_doc = tmp_path / "copy.parquet", tmp_path / "copy.md"
    try:
        os.link(b_transactions, hard)
        os.link(b_policy, hard_doc)
    except OSError as err:  # another file system: no hard link possible, nothing to attack
        pytest.skip(f"no hard link from {tmp_path} to the store: {err}")
    before = _denials(store)
    with pytest.raises(AccessDenied, match="hard link"):
        fraud.import_transactions(ctx_a, hard)
    with pytest.raises(AccessDenied, match="hard link"):
        chat.ingest(ctx_a, [hard_doc])
    folder = tmp_path / "docs"
    folder.mkdir()
    os.link(b_policy, folder / "escalation.md")
    with pytest.raises(AccessDenied, match="hard link"):
        chat.ingest(ctx_a, [folder])
    assert _denials(store) == before + 3
    assert all(d["name"] not in ("copy.md", "escalation.md") for d in chat.documents(ctx_a))


def test_a_folder_holding_a_link_to_another_banks_policy_never_indexes_it(ctx_a, b_policy, tmp_path):
    import usecases.chat as chat

    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "tea.md").write_text(A_POLICY)
    os.symlink(b_policy, folder / "escalation.md")
    rep = chat.ingest(ctx_a, [folder])
    try:
        assert [a["name"] for a in rep.added] == ["tea.md"]
        assert {r["name"]: r["reason"] for r in rep.rejected}["escalation.md"].startswith("is a link")
        assert B_CANARY not in chat.ask(ctx_a, "What is the internal escalation code?", backend="extractive").answer
        assert all(
            B_CANARY not in d.page_content
            for d in chat.retriever(ctx_a, k=10, mode="bm25").invoke("internal escalation code panel")
        )
    finally:
        chat.delete_document(ctx_a, "tea.md")


def test_a_fifo_or_device_is_refused_without_hanging(ctx_a, tmp_path):
    from usecases import fraud, risk

    fifo = tmp_path / "tx.csv"
    os.mkfifo(fifo)  # opening it for reading would wait for a writer forever
    with pytest.raises(InvalidInput, match="not a regular file"):
        fraud.import_transactions(ctx_a, fifo)
    with pytest.raises(InvalidInput, match="not a regular file"):
        risk.explain(ctx_a, "/dev/zero")


# -- finding 10: no existence oracle -----------------------------------------------------------------------------------
def test_another_banks_paths_get_one_answer_whether_or_not_they_exist(
    ctx_a, ctx_b, store, b_transactions, b_policy, tmp_path
):
    import usecases.chat as chat
    from usecases import fraud, risk

    _rows(1).to_csv(tmp_path / "in.csv", index=False)
    uploads = b_policy.parent
    calls = {
        "import": lambda p: fraud.import_transactions(ctx_a, p),
        "score --input": lambda p: fraud.score_batch(ctx_a, p, tmp_path / "out.csv"),
        "score --output": lambda p: fraud.score_batch(ctx_a, tmp_path / "in.csv", p),
        "score --model": lambda p: fraud.score_batch(ctx_a, tmp_path / "in.csv", tmp_path / "out.csv", model_path=p),
        "ingest": lambda p: chat.ingest(ctx_a, [p]),
        "explain": lambda p: risk.explain(ctx_a, p),
    }
    targets = {
        "file": b_transactions,
        "folder": uploads,
        "missing": uploads / "no-such-file.md",
        "missing folder": ctx_b.root / "no-such-folder" / "x.md",
    }
    for what, call in calls.items():
        answers = set()
        for target in targets.values():
            with pytest.raises(AccessDenied) as err:
                call(target)
            msg = str(err.value)
            assert "escalation.md" not in msg  # no name of B's is printed
            answers.add(msg.replace(str(target), "PATH"))
        assert len(answers) == 1, (what, answers)
    assert not (tmp_path / "out.csv").exists()


@dataclass
class _Out:
    returncode: int
    stdout: str
    stderr: str


def _cli(cli_env, *args: str) -> _Out:
    """The `sandbox` command in this process (click's runner: the same code path, without a slow interpreter
    start); an exception that escaped the command is shown as a traceback in stderr, as the shell would see it."""
    from click.testing import CliRunner

    from apps.cli import cli

    res = CliRunner().invoke(cli, list(args), env=dict(cli_env, SANDBOX_USER="alice"))
    tb = "" if res.exception is None or isinstance(res.exception, SystemExit) else "Traceback: " + repr(res.exception)
    return _Out(res.exit_code, res.stdout, res.stderr + tb)


def test_cli_model_and_input_options_give_one_answer_for_another_banks_paths(ctx_b, b_transactions, cli_env, tmp_path):
    """click's own path checks (exists, is a directory) answered before the sandbox's: they are off."""
    _rows(1).to_csv(tmp_path / "in.csv", index=False)
    folder = b_transactions.parent
    answers = set()
    for target in (b_transactions, folder, folder / "detector.ubj"):
        out = _cli(
            cli_env,
            "fraud",
            "score",
            BANK_A,
            "--input",
            str(tmp_path / "in.csv"),
            "--output",
            str(tmp_path / "out.csv"),
            "--model",
            str(target),
        )
        assert out.returncode == 3 and "Traceback" not in out.stderr, out.stderr
        answers.add(out.stderr.replace(str(target), "PATH"))
        out = _cli(cli_env, "fraud", "score", BANK_A, "--input", str(target), "--output", str(tmp_path / "out.csv"))
        assert out.returncode == 3 and "Traceback" not in out.stderr, out.stderr
        answers.add(out.stderr.replace(str(target), "PATH"))
    assert len(answers) == 1, answers


# -- finding 15: control characters in file names ----------------------------------------------------------------------
@pytest.mark.parametrize("name", ["fake\nadded     policy.md", "red\x1b[31m.md", "cr\r.md", "c1\x85.md", "bell\x07.md"])
def test_a_file_name_with_control_characters_is_refused_and_never_printed_raw(ctx_a, tmp_path, name):
    import usecases.chat as chat
    from usecases import fraud

    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / name).write_text(A_POLICY)
    for rep in (chat.ingest(ctx_a, [folder]), chat.ingest(ctx_a, [folder / name])):
        assert rep.added == [] and len(rep.rejected) == 1
        r = rep.rejected[0]
        assert not userfile.has_control(r["name"] + r["reason"]) and repr(name) in r["reason"]
    csv = tmp_path / name.replace(".md", ".csv")
    _rows(1).to_csv(csv, index=False)
    with pytest.raises(InvalidInput, match="control characters") as err:
        fraud.import_transactions(ctx_a, csv)
    assert repr(csv.name) in str(err.value) and "\n" not in str(err.value).replace(repr(csv.name), "")


def test_listings_print_control_characters_as_escapes():
    from apps.cli_common import table

    rows = [{"doc_id": "1", "name": "ok.md"}, {"doc_id": "2", "name": "a\nb\x1b[2J.md"}]
    out = table(rows, ["doc_id", "name"])
    assert len(out.splitlines()) == 3 and "\x1b" not in out and "a\\nb\\x1b[2J.md" in out


def test_cli_ingest_of_a_control_character_name_is_one_line_per_file(ctx_a, cli_env, tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "x\nadded     fake.md").write_text(A_POLICY)
    out = _cli(cli_env, "chat", "ingest", BANK_A, str(folder))
    assert out.returncode == 2 and "Traceback" not in out.stderr
    lines = out.stdout.splitlines()
    assert not any(line.startswith("  added ") for line in lines)  # the name made no fake "added" line
    assert any(line.startswith("  rejected  x\\nadded") for line in lines)


# -- finding 9: a file name too long for the file system ---------------------------------------------------------------
def test_an_output_name_too_long_is_one_line_naming_output_and_250_characters_work(ctx_a, tmp_path, monkeypatch):
    from usecases import fraud
    from usecases.fraud import model_store

    _rows(1).to_csv(tmp_path / "in.csv", index=False)
    with pytest.raises(InvalidInput, match=r"output \(--output\): the file name .* bytes long") as err:
        fraud.score_batch(ctx_a, tmp_path / "in.csv", tmp_path / ("s" * 300 + ".csv"))
    assert "\n" not in str(err.value)
    monkeypatch.setattr(model_store, "load", lambda ctx, model_path=None, version=None: _tiny_model())
    long_name = tmp_path / ("s" * 246 + ".csv")  # 250 characters: the old temp name (".NAME.XXXXXXXX.csv") overflowed
    assert fraud.score_batch(ctx_a, tmp_path / "in.csv", long_name)["rows"] == 8 and long_name.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temp file left behind


def test_cli_output_name_too_long_is_one_line(ctx_a, cli_env, tmp_path):
    _rows(1).to_csv(tmp_path / "in.csv", index=False)
    out = _cli(
        cli_env,
        "fraud",
        "score",
        BANK_A,
        "--input",
        str(tmp_path / "in.csv"),
        "--output",
        str(tmp_path / ("s" * 300 + ".csv")),
    )
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1 and "--output" in out.stderr
