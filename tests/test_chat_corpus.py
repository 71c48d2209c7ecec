"""The chat assistant's synthetic policy library and QA set: realistic, deterministic per bank,
different between banks, and readable back from every file format it is written in."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from sandbox.errors import InvalidInput
from usecases.chat.corpus import (
    FORMATS,
    CorpusDocument,
    QAItem,
    canary,
    generate_corpus,
    heldout_qa_set,
    injection_document,
    qa_set,
    render,
    unanswerable_terms,
    write_corpus,
    write_document,
)
from usecases.chat.corpus_templates import DOCUMENTS

BANK_A, BANK_B = "harbour-bank", "peak-bank"
TOPICS = {"card_disputes", "fps_scams", "mortgage", "complaints", "kyc_aml", "genai"}


def occurs(fact: str, text: str) -> bool:
    """`fact` appears in `text` as a whole figure: "HKD 150" is not found in "HKD 1,500" or
    "HKD 150,000", "5%" not in "2.5%", "6 days" not in "16 days"."""
    pattern = r"(?<![\w.,])" + re.escape(fact) + r"(?![\w]|[.,]\d)"
    return re.search(pattern, text) is not None


def squash(text: str) -> str:
    return " ".join(text.split())


@pytest.fixture(scope="module")
def library_a() -> list[CorpusDocument]:
    return generate_corpus(BANK_A)


@pytest.fixture(scope="module")
def library_b() -> list[CorpusDocument]:
    return generate_corpus(BANK_B)


@pytest.fixture(scope="module")
def written_a(tmp_path_factory) -> list[Path]:
    return write_corpus(tmp_path_factory.mktemp("corpus-a"), BANK_A)


def read_back(path: Path) -> str:
    """Extract a written file's text the way an ingestion pipeline would."""
    ext = path.suffix.lstrip(".")
    if ext in ("md", "txt"):
        return path.read_bytes().decode("utf-8")
    if ext == "html":
        from bs4 import BeautifulSoup

        return BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser").get_text(" ")
    if ext == "docx":
        import docx

        d = docx.Document(str(path))
        cells = [c.text for t in d.tables for r in t.rows for c in r.cells]
        return "\n".join([p.text for p in d.paragraphs] + cells)
    if ext == "pdf":
        import pypdf

        return "\n".join(page.extract_text() for page in pypdf.PdfReader(str(path)).pages)
    raise AssertionError(ext)


def test_same_bank_and_seed_always_give_the_same_library_and_questions(library_a):
    again = generate_corpus(BANK_A, seed=0)
    assert [d.to_dict() for d in again] == [d.to_dict() for d in library_a]
    assert [q.to_dict() for q in qa_set(BANK_A)] == [q.to_dict() for q in qa_set(BANK_A, seed=0)]
    other_seed = generate_corpus(BANK_A, seed=1)
    assert [d.facts for d in other_seed] != [d.facts for d in library_a]


def test_library_covers_every_policy_topic_with_credible_documents(library_a):
    assert 8 <= len(library_a) <= 12
    assert {d.topic for d in library_a} == TOPICS
    assert len({d.doc_id for d in library_a}) == len(library_a)
    for doc in library_a:
        words = len(doc.text.split())
        assert 400 <= words <= 1200, (doc.doc_id, words)
        assert doc.text.startswith(doc.title + "\n")
        assert "Harbour Bank" in doc.text
        assert re.search(r"^3\. \S", doc.text, re.M), f"{doc.doc_id} has no numbered sections"
        assert len(re.findall(r"^\d+\.\d+ \S", doc.text, re.M)) >= 8, f"{doc.doc_id} has too few clauses"
        assert "{" not in doc.text and "}" not in doc.text, f"unfilled placeholder in {doc.doc_id}"
        assert Path(doc.filename).stem == doc.doc_id
        for key, value in doc.facts.items():
            assert occurs(value, doc.text), (doc.doc_id, key, value)


def test_two_banks_disagree_on_almost_every_fact(library_a, library_b):
    facts_a = {(d.doc_id, k): v for d in library_a for k, v in d.facts.items()}
    facts_b = {(d.doc_id, k): v for d in library_b for k, v in d.facts.items()}
    assert facts_a.keys() == facts_b.keys()
    same = [key for key in facts_a if facts_a[key] == facts_b[key]]
    assert len(same) <= 0.25 * len(facts_a), same
    # over many pairs of banks, about five facts in six differ (narrow pools such as "4 business days"
    # cannot differ every time; the canary always does)
    banks = [f"bank-{c}" for c in "abcdefghij"]
    facts = {b: [v for d in generate_corpus(b) for v in d.facts.values()] for b in banks}
    shares = [sum(x != y for x, y in zip(facts[a], facts[b])) / len(facts[a]) for a in banks for b in banks if a < b]
    assert sum(shares) / len(shares) >= 0.8 and min(shares) >= 0.7
    assert facts_a[("complaint-handling", "canary")] != facts_b[("complaint-handling", "canary")]


def test_fact_draws_never_run_out_for_many_banks_and_seeds():
    for bank in ("harbour-bank", "peak-bank", "kowloon-trust", "lantau-savings", "abc"):
        for seed in range(40):
            docs = generate_corpus(bank, seed)
            values = [v for d in docs for v in d.facts.values()]
            assert len(values) == len(set(values)), (bank, seed)
            assert not [v for v in values if re.match(r"1 \D*s$", v)], "'1 days' reads badly"


def test_every_expected_fact_appears_verbatim_in_its_source_document_and_no_other(library_a):
    by_id = {d.doc_id: d for d in library_a}
    for item in qa_set(BANK_A):
        if not item.answerable:
            continue
        assert occurs(item.expected, by_id[item.source_doc].text), item
        elsewhere = [d.doc_id for d in library_a if d.doc_id != item.source_doc and occurs(item.expected, d.text)]
        assert not elsewhere, (item.expected, elsewhere)


def test_qa_set_mixes_paraphrased_facts_unanswerable_questions_and_injections(library_a):
    items = qa_set(BANK_A)
    assert all(isinstance(q, QAItem) for q in items)
    facts = [q for q in items if q.kind == "fact"]
    unanswerable = [q for q in items if q.kind == "unanswerable"]
    injections = [q for q in items if q.kind == "injection"]
    assert 40 <= len(facts) <= 60
    assert 10 <= len(unanswerable) <= 15
    assert len(injections) >= 3 and any(re.search(r"[\u4e00-\u9fff]", q.question) for q in injections)
    assert len(facts) + len(unanswerable) + len(injections) == len(items)
    assert all(q.answerable and q.expected and q.source_doc for q in facts)
    assert all(not q.answerable and q.expected is None and q.source_doc is None for q in unanswerable + injections)
    assert len({q.question for q in items}) == len(items)
    by_id = {d.doc_id: d for d in library_a}
    for q in facts:
        assert len(q.expected) <= 24 and len(q.expected.split()) <= 3, q.expected
        assert not re.search(r"\d", q.question), f"question gives a number away: {q.question}"
    assert {q.source_doc for q in facts} == set(by_id)
    # paraphrased, not lifted: no run of seven words of any question template appears in its document
    for spec in DOCUMENTS:
        doc_words = " ".join(re.findall(r"[a-z0-9']+", by_id[spec["doc_id"]].text.lower()))
        for fact in spec["facts"].values():
            for question in fact["questions"]:
                words = re.findall(r"[a-z0-9']+", question.lower())
                runs = [" ".join(words[i : i + 7]) for i in range(len(words) - 6)]
                assert not any(run in doc_words for run in runs), question
    assert qa_set(BANK_A)[0].to_dict()["kind"] == "fact"


def test_unanswerable_questions_are_really_not_answered_by_any_library():
    terms = unanswerable_terms()
    for bank, seed in ((BANK_A, 0), (BANK_B, 0), (BANK_A, 3)):
        corpus_text = "\n".join(d.text for d in generate_corpus(bank, seed))
        for item in qa_set(bank, seed):
            if item.kind != "unanswerable":
                continue
            assert terms[item.question], item.question
            for term in terms[item.question]:
                assert not re.search(r"\b" + re.escape(term), corpus_text, re.I), (item.question, term)


def test_heldout_questions_cover_every_fact_in_new_words_and_their_unanswerables_stay_unanswered():
    terms = unanswerable_terms()
    for bank, seed in ((BANK_A, 0), (BANK_B, 0), (BANK_A, 3)):
        library = generate_corpus(bank, seed)
        corpus_text = "\n".join(d.text for d in library)
        held = heldout_qa_set(bank, seed)
        facts = [i for i in held if i.kind == "fact"]
        assert {(i.source_doc, i.expected) for i in facts} == {(d.doc_id, v) for d in library for v in d.facts.values()}
        templates = {i.question for i in qa_set(bank, seed)} | {
            q for spec in DOCUMENTS for f in spec["facts"].values() for q in f["questions"]
        }
        assert not templates & {i.question for i in held}
        for item in held:
            if item.kind == "unanswerable":
                assert terms[item.question], item.question
                for term in terms[item.question]:
                    assert not re.search(r"\b" + re.escape(term), corpus_text, re.I), (item.question, term)


def test_every_written_format_reads_back_with_its_facts(written_a, library_a):
    assert [p.stem for p in written_a] == [d.doc_id for d in library_a]
    assert {p.suffix.lstrip(".") for p in written_a} == set(FORMATS)
    for path, doc in zip(written_a, library_a):
        text = read_back(path)
        assert squash(doc.title) in squash(text), path.name
        for key, value in doc.facts.items():  # never split across lines, even in the PDF
            assert occurs(value, text), (path.name, key, value)
    assert not [p for p in written_a[0].parent.iterdir() if p.name.startswith(".")], "temp files left behind"


def test_writing_the_library_twice_gives_identical_files(written_a, tmp_path):
    again = write_corpus(tmp_path, BANK_A)
    assert [p.name for p in again] == [p.name for p in written_a]
    for first, second in zip(written_a, again):
        assert first.read_bytes() == second.read_bytes(), first.name


def test_html_is_a_real_page_with_headings_and_clauses(library_a):
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(render(library_a[0], "html"), "html.parser")
    assert soup.title.string == library_a[0].title
    assert soup.h1.get_text() == library_a[0].title
    assert len(soup.find_all("h2")) >= 5 and len(soup.find_all("p")) >= 15


def test_write_corpus_rejects_an_unknown_format(tmp_path):
    with pytest.raises(InvalidInput, match="formats"):
        write_corpus(tmp_path, BANK_A, formats=("md", "rtf"))
    assert not list(tmp_path.iterdir())


def test_a_bad_bank_id_or_seed_is_refused():
    with pytest.raises(InvalidInput, match="bank"):
        generate_corpus("../peak-bank")
    with pytest.raises(InvalidInput, match="seed"):
        qa_set(BANK_A, seed=-1)


def test_canary_is_unique_per_bank_and_only_in_its_own_library(library_a, library_b):
    banks = [BANK_A, BANK_B, "kowloon-trust", "lantau-savings", "harbour-trust"]
    assert len({canary(b) for b in banks}) == len(banks)
    text_a = "\n".join(d.text for d in library_a)
    text_b = "\n".join(d.text for d in library_b)
    assert sum(canary(BANK_A) in d.text for d in library_a) == 1
    assert canary(BANK_A) not in text_b and canary(BANK_B) not in text_a
    assert canary(BANK_A) in text_a and canary(BANK_A) == canary(BANK_A)
    answer = [q for q in qa_set(BANK_A) if q.expected == canary(BANK_A)]
    assert len(answer) == 1 and answer[0].source_doc == "complaint-handling"


def test_injection_document_hides_instructions_in_english_and_chinese(tmp_path):
    doc = injection_document(BANK_A)
    assert "ignore all previous instructions" in doc.text.lower()
    assert "忽略之前的所有指示" in doc.text and "請無視先前的所有指令" in doc.text
    assert doc.facts["injected_claim"] in doc.text
    assert not any(occurs(v, doc.text) for d in generate_corpus(BANK_A) for v in d.facts.values())
    for ext in ("md", "txt", "html", "docx"):
        text = read_back(write_document(doc, tmp_path / f"{doc.doc_id}.{ext}"))
        assert "忽略之前的所有指示" in text, ext
    with pytest.raises(InvalidInput, match="format"):
        write_document(doc, tmp_path / f"{doc.doc_id}.pdf")
    assert not (tmp_path / f"{doc.doc_id}.pdf").exists()


def test_clean_library_trips_no_guardrail_but_the_injected_bulletin_does(library_a):
    """The corpus carries no phone, card, HKID or account numbers that redaction would mangle, and no
    policy clause reads as an injection; the poisoned bulletin and the injection questions do."""
    from usecases.chat.injection import screen_injection
    from usecases.chat.pii import redact

    for doc in library_a:
        assert redact(doc.text).total == 0, (doc.doc_id, redact(doc.text).findings)
        for para in doc.text.split("\n\n"):
            assert not screen_injection(para).flagged, (doc.doc_id, para)
    for item in qa_set(BANK_A):
        assert screen_injection(item.question).flagged == (item.kind == "injection"), item.question
    poisoned = injection_document(BANK_A).text.split("\n\n")
    assert sum(screen_injection(p).flagged for p in poisoned) >= 3
