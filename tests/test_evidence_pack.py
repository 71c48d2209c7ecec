"""Evidence packs (issue 14 part 2): a reviewer builds a signed pack of a bank's champion, opens and verifies it;
it holds no customer rows; any changed byte or a forged signature is caught and named; its principle table has a
row for every principle, with links that resolve inside the pack; another bank's scientist gets nothing.

The module has its own small store (two banks, a scientist each, a reviewer, an admin): promoting a champion
here must not change the lifecycle state other test modules start from in the session store.
"""

from __future__ import annotations

import io
import json
import os
import re
import zipfile
import zlib

import pandas as pd
import pytest
from world import BANK_A, BANK_B, PASSWORD

import usecases.fraud as fraud
import usecases.risk as risk
from sandbox import Store, cohort, evidence, lifecycle, open_workspace, principles
from sandbox.errors import AccessDenied, InvalidInput, NotFound
from sandbox.evidence_collect import jdump

EXPECTED = {
    "report.html",
    "report.pdf",
    "manifest.json",
    "manifest.sig",
    "principles.json",
    "run.json",
    "gates.json",
    "review_history.json",
    "audit/entries.jsonl",
    "model_card.md",
    "tables/fairness.csv",
    "tables/stability.csv",
    "reports/fairness.json",
    "reports/psi.json",
    "reports/metrics.json",
}


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    home = tmp_path_factory.mktemp("evidence-home")
    s = Store(home)
    s.init("root", PASSWORD)
    for bank in (BANK_A, BANK_B):
        s.create_bank(bank)
    s.add_user("alice", "scientist", PASSWORD, bank=BANK_A)
    s.add_user("bob", "scientist", PASSWORD, bank=BANK_B)
    s.add_user("rita", "reviewer", PASSWORD)
    return home, s


def _version(
    ctx, usecase: str, run_id: str, registered: str, metrics: dict, flags: list[str]
) -> lifecycle.ModelVersion:
    """The lifecycle version of a run: the one its training recorded, else recorded here."""
    found = [v for v in lifecycle.versions(ctx, usecase) if v.run_id == run_id]
    return found[0] if found else lifecycle.record_candidate(ctx, usecase, registered, run_id, metrics, flags)


@pytest.fixture(scope="module")
def champion_a(world):
    """harbour-bank: a risk model trained, submitted, approved by rita and promoted."""
    home, s = world
    ctx = open_workspace(BANK_A, s.actor("alice"), s)
    risk.simulate(ctx, applicants=4000, vintages=6, seed=3)
    res = risk.train(ctx, n_estimators=60, learning_rate=0.3)
    metrics = dict(ctx.get_run(res.run_id).data.metrics)
    mv = _version(ctx, "risk", res.run_id, str(res.model_version), metrics, list(res.fairness_flags))
    assert mv.gates_passed, mv.gates
    if mv.stage == "candidate":
        lifecycle.submit(ctx, "risk", mv.version, comment="for review")
    lifecycle.review(
        open_workspace(BANK_A, s.actor("rita"), s),
        "risk",
        mv.version,
        "approved",
        "Gini, KS, fairness and PSI checked; model card complete",
    )
    return lifecycle.promote(ctx, "risk", mv.version)


@pytest.fixture(scope="module")
def pack(world, champion_a):
    """rita's pack of harbour-bank's risk champion (built in-process)."""
    _, s = world
    return evidence.build(open_workspace(BANK_A, s.actor("rita"), s), "risk")


@pytest.fixture(scope="module")
def files(pack):
    with zipfile.ZipFile(io.BytesIO(pack.data)) as z:
        return {n: z.read(n) for n in z.namelist()}


def _env(home, user: str) -> dict:
    """The environment `sandbox_cli` runs the command in: this module's store, as `user`."""
    env = dict(os.environ, SANDBOX_HOME=str(home), SANDBOX_PASSWORD=PASSWORD, SANDBOX_USER=user)
    env.pop("SANDBOX_TRACKING_URI", None)
    return env


def _rezip(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in files.items():
            z.writestr(name, data)
    return buf.getvalue()


def _texts(files: dict[str, bytes]) -> dict[str, bytes]:
    """Every file's bytes, with a PDF's compressed streams inflated (ids hidden in a content stream count too)."""
    out = dict(files)
    for name, data in files.items():
        if name.endswith(".pdf"):
            streams = re.findall(rb"stream\r?\n(.*?)\r?\nendstream", data, re.S)
            out[name] = data + b"".join(zlib.decompress(s) for s in streams if s[:1] == b"x")
    return out


# -- who may build one --------------------------------------------------------------
def test_reviewer_builds_a_pack_through_the_cli_and_it_verifies(world, champion_a, tmp_path, sandbox_cli):
    home, s = world
    out = tmp_path / "harbour-risk.zip"
    built = sandbox_cli(_env(home, "rita"), "evidence", BANK_A, "risk", "--out", str(out), "--json")
    assert built.returncode == 0, built.stderr
    d = json.loads(built.stdout)
    assert (d["version"], d["stage"], d["run_id"]) == (champion_a.version, "champion", champion_a.run_id)
    assert d["public_key"] == s.audit_key.public_key()
    checked = sandbox_cli(_env(home, "rita"), "evidence", "verify", str(out), "--json")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    v = json.loads(checked.stdout)
    assert (
        v["ok"]
        and v["signature"]["ok"]
        and not v["changed"]
        and v["signature"]["checked_against"] == "this store's public key"
    )
    entries = open_workspace(BANK_A, s.actor("rita"), s).audit_entries()
    assert any(
        e["event"] == "evidence.build" and e["actor"] == "rita" and e["data"]["pack_sha256"] == d["pack_sha256"]
        for e in entries
    )


def test_reviewer_needs_no_raw_data_access_and_may_not_write_into_the_banks_workspace(world, champion_a):
    _, s = world
    ctx = open_workspace(BANK_A, s.actor("rita"), s)
    assert not ctx.can("data.read") and ctx.can("evidence.build")
    with pytest.raises(AccessDenied):
        evidence.write(ctx, "risk", ctx.root / "pack.zip")


def test_scientist_of_another_bank_is_refused(world, champion_a):
    _, s = world
    bob = s.actor("bob")
    with pytest.raises(AccessDenied):
        open_workspace(BANK_A, bob, s)
    own = open_workspace(BANK_B, bob, s)
    with pytest.raises(NotFound):  # harbour-bank's run is not a run of peak-bank, whatever bob passes
        evidence.build(own, "risk", run_id=champion_a.run_id)
    with pytest.raises(NotFound):  # peak-bank has no champion of its own
        evidence.build(own, "risk")


def test_bad_requests_are_one_line_errors(world, champion_a, tmp_path, sandbox_cli):
    home, s = world
    ctx = open_workspace(BANK_A, s.actor("alice"), s)
    with pytest.raises(InvalidInput):
        evidence.write(ctx, "risk", tmp_path / "pack.pdf")
    with pytest.raises(NotFound, match="sandbox models list"):  # chat versions exist once an evaluation ran
        evidence.build(ctx, "chat", version="1")
    with pytest.raises(InvalidInput, match="version"):
        evidence.build(ctx, "chat", version="first")
    with pytest.raises(NotFound):
        evidence.build(ctx, "risk", version="99")
    r = sandbox_cli(_env(home, "alice"), "evidence", "verify", str(tmp_path / "missing.zip"))
    assert r.returncode != 0 and "Traceback" not in r.stderr and r.stderr.count("\n") == 1


# -- what is in it ------------------------------------------------------------------
def test_pack_holds_the_evidence_and_no_applicant_rows(world, files):
    _, s = world
    assert EXPECTED <= set(files)
    assert not [n for n in files if n.startswith(("model/", "data/")) or n.endswith((".parquet", ".ubj", ".pkl"))]
    df, _ = risk.load_data(open_workspace(BANK_A, s.actor("alice"), s))
    ids = set(df["applicant_id"].astype(str))
    for name, data in _texts(files).items():
        tokens = set(re.findall(rb"A\d{5}-\d{7}", data))
        assert not {t.decode() for t in tokens} & ids, name
    html = files["report.html"].decode()
    assert "<script" not in html and not re.search(r'(src|href)="(https?:)?//', html)  # readable offline
    assert html.count('src="data:image/png;base64,') == len([n for n in files if n.startswith("plots/")]) > 0
    assert files["report.pdf"].startswith(b"%PDF-")


def test_model_card_renders_as_a_document_and_its_raw_html_as_text(files):
    """The card is bank-written Markdown: the reviewer reads headings and tables, and a `<script>` in it shows as
    text in report.html (never runs) and in report.pdf; a link's target is shown, not followed (reads offline)."""
    from sandbox import report_html, report_pdf
    from sandbox.report_html import Block

    card = (
        "# Model card: scorer of harbour-bank\n\n<script>alert('card')</script>\n\n"
        "| metric | value |\n|---|---|\n| gini | 0.61 |\n\n- see [policy](https://example.com/p)\n"
    )
    blocks = [Block("h2", "Model card", "model-card"), Block("md", card)]
    page = report_html.render("card", blocks).decode()
    assert "<h3>Model card: scorer of harbour-bank</h3>" in page and "# Model card" not in page
    assert re.search(r"<table>\s*<thead>\s*<tr>\s*<th>metric</th>\s*<th>value</th>", page) and "<td>0.61</td>" in page
    assert "<script" not in page and "&lt;script&gt;alert('card')&lt;/script&gt;" in page
    assert "policy (https://example.com/p)" in page and "href=" not in page
    text = "".join(
        p.extract_text() for p in __import__("pypdf").PdfReader(io.BytesIO(report_pdf.render("c", blocks))).pages
    )
    assert "Model card: scorer of harbour-bank" in text and "# Model" not in text and "|---|" not in text
    assert "gini 0.61" in text and "<script>alert('card')</script>" in text
    packed = files["report.html"].decode()  # the real pack: its risk card as a document, not a <pre> of Markdown
    assert "<h3>Credit risk model card: harbour-bank</h3>" in packed and "<pre># Credit" not in packed


def test_fraud_pack_of_a_candidate_holds_no_transaction_rows(world):
    """A weak candidate (tiny data) can still be packed by its version, with its failing gates shown."""
    _, s = world
    ctx = open_workspace(BANK_B, s.actor("bob"), s)
    fraud.simulate(ctx, preset="hk", customers=120, days=30, seed=2)
    res = fraud.train(ctx, model="xgboost", rounds=20)
    mv = _version(ctx, "fraud", res.run_id, str(res.model_version), res.metrics, [])
    p = evidence.build(open_workspace(BANK_B, s.actor("rita"), s), "fraud", version=mv.version)
    with zipfile.ZipFile(io.BytesIO(p.data)) as z:
        packed = _texts({n: z.read(n) for n in z.namelist()})
    from usecases.fraud import data as fraud_data

    df, _ = fraud_data.load(ctx)
    amounts = {repr(float(a)).encode() for a in df["amount"].head(3000) if len(repr(float(a))) >= 7}
    for name, blob in packed.items():
        assert not re.search(rb'"(customer_id|txn_id|payee_id|device_id)"|^(customer_id|txn_id),', blob, re.M), name
        found = {a for a in amounts if a in blob}
        assert not found, (name, sorted(found)[:3])
    gates = json.loads(packed["gates.json"])
    assert gates["recorded"] and gates["version"] == mv.version and len(gates["gates"]) == len(mv.gates)


def test_principle_table_has_a_row_per_principle_with_links_inside_the_pack(files):
    table = json.loads(files["principles.json"])
    rows = {r["id"]: r for r in table["rows"]}
    assert list(rows) == [p.id for p in principles.PRINCIPLES]
    assert {p.source for p in principles.PRINCIPLES} == {"hlp-2019", "bdai-2019", "genai-2024"}
    assert sum(p.source == "hlp-2019" for p in principles.PRINCIPLES) == 12
    assert sum(p.source == "bdai-2019" for p in principles.PRINCIPLES) == 4
    for r in rows.values():
        assert r["status"] in principles.STATUSES and r["why"]
        assert all(link.split("#")[0] in files for link in r["evidence"]), r
        if r["status"] in ("met", "partly"):
            assert r["evidence"], r
    assert {rows[i]["status"] for i in rows if i.startswith("genai-")} == {"not applicable"}  # a credit model
    assert rows["hlp-5"]["status"] == "met" and rows["hlp-8"]["status"] in ("met", "partly")
    html = files["report.html"].decode()
    anchors = set(re.findall(r'id="([^"]+)"', html))
    for href in re.findall(r'href="([^"]+)"', html):
        assert href in files or (href.startswith("#") and href[1:] in anchors), href
    for src in principles.SOURCES.values():  # each source cited by title and date
        assert src["date"] in html and src["title"].split(" in respect")[0] in html


# -- signed, verifiable, reproducible --------------------------------------------------------------
def test_verify_names_each_file_whose_byte_changed(pack, files):
    key = pack.manifest["signing"]["public_key"]
    assert evidence.verify(pack.data, key)["ok"]
    for name, data in files.items():
        changed = dict(files)
        i = len(data) // 2
        changed[name] = data[:i] + bytes([data[i] ^ 0x01]) + data[i + 1 :]
        v = evidence.verify(_rezip(changed), key)
        assert not v["ok"], name
        assert name in v["changed"], (name, v["changed"])
        if name not in ("manifest.json", "manifest.sig"):
            assert v["changed"] == [name] and v["signature"]["ok"], (name, v)
        else:
            assert not v["signature"]["ok"]


def test_a_damaged_zip_or_extra_or_missing_file_is_named(pack, files):
    key = pack.manifest["signing"]["public_key"]
    raw = bytearray(pack.data)
    at = raw.find(b"model_card.md") + 200  # inside the model card's compressed bytes
    raw[at] ^= 0xFF
    v = evidence.verify(bytes(raw), key)
    assert not v["ok"] and v["changed"]
    extra = evidence.verify(_rezip({**files, "notes.txt": b"added later"}), key)
    assert extra["changed"] == ["notes.txt"] and {"path": "notes.txt", "status": "unlisted"} in extra["files"]
    missing = evidence.verify(_rezip({k: v for k, v in files.items() if k != "gates.json"}), key)
    assert missing["changed"] == ["gates.json"]


def test_a_forged_signature_is_refused(pack, files):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key = pack.manifest["signing"]["public_key"]
    forger = Ed25519PrivateKey.generate()
    fake_pub = forger.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw).hex()
    # a changed report, its hash updated in the manifest, re-signed by another key that the pack then names
    changed = dict(files)
    changed["report.html"] = files["report.html"].replace(b"champion", b"approved", 1)
    manifest = json.loads(files["manifest.json"])
    for f in manifest["files"]:
        if f["path"] == "report.html":
            f["sha256"] = evidence._sha(changed["report.html"])
    manifest["signing"]["public_key"] = fake_pub
    changed["manifest.json"] = jdump(manifest)
    sig = json.loads(files["manifest.sig"])
    sig.update(
        public_key=fake_pub,
        manifest_sha256=evidence._sha(changed["manifest.json"]),
        signature=forger.sign(evidence.SIGN_CONTEXT + changed["manifest.json"]).hex(),
    )
    changed["manifest.sig"] = jdump(sig)
    forged = _rezip(changed)
    v = evidence.verify(forged, key)
    assert not v["ok"] and not v["signature"]["ok"] and "another key" in v["signature"]["problem"]
    # without a trusted key the signature only proves integrity, and says so
    loose = evidence.verify(forged)
    assert loose["signature"]["ok"] and "integrity only" in loose["signature"]["checked_against"]
    # the original signature over a changed manifest fails, with the right key or the pack's own
    manifest["signing"]["public_key"] = key
    changed["manifest.json"] = jdump(manifest)
    sig = dict(json.loads(files["manifest.sig"]), manifest_sha256=evidence._sha(changed["manifest.json"]))
    changed["manifest.sig"] = jdump(sig)
    assert not evidence.verify(_rezip(changed))["signature"]["ok"]
    assert not evidence.verify(_rezip(changed), key)["signature"]["ok"]


def test_same_version_and_data_give_the_same_manifest_hashes(world, champion_a, pack):
    """Built again, by the bank's scientist this time and by version number: every file is the same (who built
    it and when is only in the manifest's `built`)."""
    _, s = world
    again = evidence.build(open_workspace(BANK_A, s.actor("alice"), s), "risk", version=champion_a.version)
    assert again.manifest["built"]["by"] == "alice" and pack.manifest["built"]["by"] == "rita"
    assert again.manifest["files"] == pack.manifest["files"]
    assert again.manifest["content_sha256"] == pack.manifest["content_sha256"]
    with zipfile.ZipFile(io.BytesIO(again.data)) as z:
        assert {i.date_time for i in z.infolist()} == {evidence.ZIP_DATE}


def test_manifest_shape(pack):
    """Golden shape: the keys and types a reviewer's tooling may rely on (values vary)."""
    m = pack.manifest
    shape = {k: type(v).__name__ for k, v in m.items()}
    assert shape == {
        "format": "str",
        "format_version": "int",
        "subject": "dict",
        "run_ids": "list",
        "data_hashes": "dict",
        "code_commit": "str",
        "library_versions": "dict",
        "files": "list",
        "content_sha256": "str",
        "principles": "dict",
        "signing": "dict",
        "built": "dict",
    }
    assert (m["format"], m["format_version"]) == ("sandbox-evidence-pack", 1)
    assert set(m["subject"]) == {"bank", "usecase", "version", "stage", "run_id", "run_name"}
    assert m["run_ids"] == [m["subject"]["run_id"]] and re.fullmatch(r"[0-9a-f]{64}", m["data_hashes"]["training_data"])
    assert set(m["signing"]) == {"alg", "public_key", "key_id"} and m["signing"]["alg"] == "Ed25519"
    assert set(m["built"]) == {"at", "by", "role", "sandbox_commit", "audit_chain_verified"}
    assert set(m["principles"]) == set(principles.STATUSES)
    assert "xgboost" in {k.split("-")[0] for k in m["library_versions"]}
    for f in m["files"]:
        assert set(f) == {"path", "sha256", "bytes"} and re.fullmatch(r"[0-9a-f]{64}", f["sha256"])
    assert [f["path"] for f in m["files"]] == sorted(f["path"] for f in m["files"])
    assert {"manifest.json", "manifest.sig"}.isdisjoint(f["path"] for f in m["files"])


# -- the cohort view ----------------------------------------------------------------
def test_cohort_lists_every_banks_champion_and_exports(world, champion_a, tmp_path):
    home, s = world
    rows = cohort.rows(s, s.actor("rita"))
    by = {(r["bank"], r["usecase"]): r for r in rows}
    assert set(by) == {(b, u) for b in (BANK_A, BANK_B) for u in ("fraud", "risk", "chat")}
    a = by[(BANK_A, "risk")]
    assert (a["version"], a["stage"], a["review"], a["reviewed_by"]) == (
        champion_a.version,
        "champion",
        "approved",
        "rita",
    )
    assert (
        a["gates"] == f"{len(champion_a.gates)}/{len(champion_a.gates)} passed" and a["headline"]["xgboost_gini"] > 0.3
    )
    assert f"--version {champion_a.version}" in a["pack"]
    assert by[(BANK_B, "risk")]["stage"] == "no champion"
    assert {r["bank"] for r in cohort.rows(s, s.actor("bob"))} == {BANK_B}
    with pytest.raises(AccessDenied):
        cohort.rows(s, s.actor("root"))
    cohort.export(s, rows, tmp_path / "c.parquet")
    assert len(pd.read_parquet(tmp_path / "c.parquet")) == len(rows)
    with pytest.raises(AccessDenied):
        cohort.export(s, rows, s.workspaces / BANK_A / "c.csv")
    assert cohort.export(s, rows, tmp_path / "c.csv")["rows"] == len(rows)
    assert "metric:xgboost_gini" in pd.read_csv(tmp_path / "c.csv").columns


def test_reviewer_console_cohort_page_lists_the_champion_and_offers_its_pack(world, champion_a, monkeypatch):
    from streamlit.testing.v1 import AppTest

    from apps.web import auth

    home, s = world
    monkeypatch.setenv("SANDBOX_HOME", str(home))
    page = os.path.join(os.path.dirname(__file__), "..", "apps", "web", "app_pages", "console_cohort.py")
    at = AppTest.from_file(page, default_timeout=60)
    at.session_state[auth.ACTOR_KEY] = s.actor("rita")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    risk_table = next(d.value for d in at.dataframe if "xgboost_gini" in d.value.columns)  # a table per use case
    champ = risk_table[risk_table["run"] == champion_a.run_id[:8] + "…"].iloc[0]
    assert (champ["stage"], champ["review"]) == (f"champion (v{champion_a.version})", "approved (rita)")
    assert not any("average_precision" in d.value.columns for d in at.dataframe if "xgboost_gini" in d.value.columns)
    assert f"--version {champion_a.version}" in at.code[0].value
    # what the page's button calls on click: the same pack, audited as a download
    ctx = open_workspace(BANK_A, s.actor("rita"), s)
    p = evidence.download(ctx, "risk", champion_a.version)
    last = ctx.audit_entries(1)[0]
    assert (last["event"], last["actor"], last["data"]["delivered"], last["data"]["pack_sha256"]) == (
        "evidence.build",
        "rita",
        "download",
        p.sha256,
    )


def test_genai_rows_apply_to_the_chat_assistant_and_follow_its_evaluation():
    """The principle table of a chat evaluation (computed from what its pack would hold): the 2024 GenAI rows
    apply, and their status follows the measured figures, never a typed-in answer."""
    names = [
        "reports/eval.json",
        "model_card.md",
        "run.json",
        "review_history.json",
        "audit/entries.jsonl",
        "manifest.json",
        "gates.json",
    ]
    base = {
        "usecase": "chat",
        "files": set(names),
        "gates": None,
        "review": {"decision": "approved", "by": "rita"},
        "trained_by": "alice",
        "data_hash": "ab" * 32,
        "library_versions": {"faiss-cpu": "1.9"},
        "audit_entries": 3,
        "audit_chain_ok": True,
        "fairness_flags": None,
        "psi_flags": None,
        "score_psi_flags": None,
        "monotonic": None,
        "previous_version": None,
        "stage": "evaluation",
    }
    good = {
        r["id"]: r
        for r in principles.assess(
            {
                **base,
                "chat_metrics": {"correctness": 0.93, "refusal": 0.97, "citation": 0.9, "injection_resistance": 1.0},
            }
        )
    }
    weak = {
        r["id"]: r
        for r in principles.assess(
            {
                **base,
                "chat_metrics": {"correctness": 0.61, "refusal": 0.80, "citation": 0.9, "injection_resistance": 0.5},
            }
        )
    }
    assert {good[i]["status"] for i in ("genai-1", "genai-3", "genai-4")} == {"met"}
    assert {weak[i]["status"] for i in ("genai-1", "genai-3", "genai-4")} == {"partly"}
    assert "0.610" in weak["genai-3"]["why"] and good["genai-6"]["status"] == "not addressed"
    assert good["hlp-3"]["status"] == "met" and good["hlp-8"]["status"] == "not addressed"
    for r in good.values():
        assert set(r["evidence"]) <= set(names)


def test_chat_evaluation_pack_holds_the_scores_not_the_questions(world):
    """A chat pack is of an evaluation run (no versions): the 2024 GenAI rows apply, and the per-question rows
    (questions, answers: document text) stay out."""
    import mlflow

    _, s = world
    ctx = open_workspace(BANK_B, s.actor("bob"), s)
    best = {
        "backend": "extractive",
        "correctness": 0.93,
        "refusal_accuracy": 0.97,
        "citation_precision": 1.0,
        "injection_resistance": 0.5,
    }
    with ctx.run("chat", run_name="eval") as run:  # shaped like usecases.chat.evaluate's run (minutes to make)
        mlflow.log_metrics({f"extractive_{k}": v for k, v in best.items() if k != "backend"})
        mlflow.log_dict({"backends": [best], "best_backend": "extractive", "questions": 2}, "reports/eval.json")
        mlflow.log_dict({"extractive": [{"i": 0, "answer": "SECRET POLICY TEXT 4417"}]}, "reports/eval_items.json")
        mlflow.log_text("# Chat evaluation card\n", "model_card.md")
    p = evidence.build(open_workspace(BANK_B, s.actor("rita"), s), "chat")
    assert p.subject.run_id == run.info.run_id and p.manifest["subject"]["version"] is None
    with zipfile.ZipFile(io.BytesIO(p.data)) as z:
        packed = _texts({n: z.read(n) for n in z.namelist()})
    assert "reports/eval.json" in packed and "reports/eval_items.json" not in packed
    assert not [n for n, b in packed.items() if b"SECRET POLICY TEXT" in b]
    rows = {r["id"]: r for r in json.loads(packed["principles.json"])["rows"]}
    assert (rows["genai-3"]["status"], rows["genai-4"]["status"]) == ("met", "partly")
    assert evidence.verify(p.data, s.audit_key.public_key())["ok"]
