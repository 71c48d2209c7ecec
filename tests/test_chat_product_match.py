"""Issue 15 part 3: an answer never borrows another product's figure.

Asked about a car loan with no car-loan policy, the assistant answered with the mortgage tenor, cited. Each question
here comes in a pair that differs only in the product (or the customer type, or the condition): the covered one is
answered correctly, the other is refused with the part the documents do not cover named. The pairs are generated
from the synthetic library's templates and glossary, for every product its documents name.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

chat = pytest.importorskip("usecases.chat")

from usecases.chat import scope  # noqa: E402
from usecases.chat.corpus import generate_corpus, write_corpus  # noqa: E402
from usecases.chat.corpus_templates import DOCUMENTS  # noqa: E402
from usecases.chat.evaluate import fact_present  # noqa: E402
from usecases.chat.lexicon import SCOPE_TERMS  # noqa: E402

BANK = "harbour-bank"  # the demo's first bank, its library as `make demo` writes it (seed 0)
PASSWORD = "product-match-pw-1"


@pytest.fixture(scope="module")
def ctx(tmp_path_factory):
    from sandbox import Store, open_workspace

    home = tmp_path_factory.mktemp("product-match")
    store = Store(home)
    store.init("root", PASSWORD)
    store.create_bank(BANK)
    store.add_user("pam", "scientist", PASSWORD, bank=BANK)
    c = open_workspace(BANK, store.actor("pam"), store)
    chat.ingest(c, write_corpus(home / "docs", BANK))
    return c


def _ask(ctx, question: str):
    return chat.ask(ctx, question, backend="extractive", trace=False)


def _body(ans) -> str:
    return ans.answer.rsplit("\n\n", 1)[0]


def _library_docs() -> dict:
    """doc_id -> the scope ids its whole text names (as the check sees an ingested document)."""
    return {d.doc_id: (scope.ids(d.title + "\n" + d.text), scope.ids(d.title)) for d in generate_corpus(BANK)}


def _library_products() -> dict[str, str]:
    """Every product a document title of the library names -> that document."""
    out = {}
    for d in generate_corpus(BANK):
        for key in scope.ids(d.title):
            if SCOPE_TERMS[key][0] == "product":
                out.setdefault(key, d.doc_id)
    return out


def _uncovered(kind: str, only: str | None = None) -> list[str]:
    """Specific glossary entries of `kind` that no document of the library (or document `only`) matches, by the
    check's own rule."""
    docs = [
        scope._Doc("", {}, ids, set(), title_ids)
        for d, (ids, title_ids) in _library_docs().items()
        if only is None or d == only
    ]
    out = []
    for key, (k, family, _display, _sp) in SCOPE_TERMS.items():
        m = scope.Mention(k, key, family, SCOPE_TERMS[key][2])
        if k != kind or m.generic:
            continue
        if not any(scope._satisfied(m, set(), set(), d) for d in docs):
            out.append(key)
    return out


def _singular(display: str) -> str:
    if display.endswith("ies"):
        return display[:-3] + "y"
    return re.sub(r"s$", "", display) if not display.endswith("ss") else display


def _swap(question: str, mention: scope.Mention, key: str) -> str:
    phrase = _singular(SCOPE_TERMS[key][2])
    return question.replace(mention.phrase, phrase, 1)


def _template_questions() -> list[tuple[str, str, str]]:
    """(question, expected fact, source doc) for every wording of every fact question in the corpus templates."""
    facts = {d.doc_id: d.facts for d in generate_corpus(BANK)}
    return [
        (q, facts[spec["doc_id"]][key], spec["doc_id"])
        for spec in DOCUMENTS
        for key, fact in spec["facts"].items()
        for q in fact["questions"]
    ]


def _pairs(kind: str, generic: bool = False) -> list[tuple[str, str, str, str, bool]]:
    """(covered question, expected fact, swapped question, swapped term's name, covered nowhere, source) for every template wording
    that names a `kind` term (a generic product word with `generic`): the swap takes a term its source document does
    not cover, of the same family where one exists, preferring one no document covers."""
    nowhere = set(_uncovered(kind))
    out = []
    for question, expected, source in _template_questions():
        for m in scope.mentions(question):
            if m.kind != kind or m.generic != generic:
                continue
            cands = [k for k in _uncovered(kind, only=source) if k != m.key]
            cands.sort(
                key=lambda k: (SCOPE_TERMS[k][1] != m.family, k not in nowhere, SCOPE_TERMS[k][2].startswith("the "))
            )
            if cands:
                key = cands[0]
                out.append((question, expected, _swap(question, m, key), SCOPE_TERMS[key][2], key in nowhere, source))
            break
    return out


def _check_pairs(ctx, pairs) -> tuple[list, list]:
    """(uncovered questions answered or refused without naming what is missing, covered questions answered wrongly).
    A pair is (covered question, its fact, swapped question, the swapped term as a refusal names it, covered nowhere,
    the covered question's source document)."""
    leaks, wrong = [], []
    for covered, expected, swapped, phrase, nowhere, source in pairs:
        a = _ask(ctx, covered)
        assert a.guardrails["scope"]["missing"] is None, covered  # the scope check never refuses the covered one
        if a.refused or not fact_present(expected, _body(a)):
            wrong.append((covered, _body(a)))
        b = _ask(ctx, swapped)
        if nowhere:  # no document covers it: refused, and the refusal names it
            ok = b.refused and f"do not cover {phrase.lower()}" in b.answer.lower()
        else:  # another document covers it (a card policy for every card): never the source document's figure
            ok = b.refused or not any(Path(c["document"]).stem == source for c in b.citations)
        if not ok:
            leaks.append((swapped, _body(b)))
    return leaks, wrong


# -- the vocabulary ------------------------------------------------------------------------------------------------
def test_the_question_names_its_product_with_glossary_synonyms():
    def keys(q):
        return [(m.kind, m.key) for m in scope.mentions(q)]

    assert keys("What is the longest repayment period we allow on a car loan?") == [("product", "car-loan")]
    assert ("product", "car-loan") in keys("How long can an auto loan run?")
    assert ("product", "car-loan") in keys("Maximum tenor of a vehicle loan?")
    assert ("product", "mortgage") in keys("What is the longest tenor on a home loan?")
    assert ("product", "credit-card") in keys("Dispute window for a credit card?")
    assert ("product", "fps") in keys("Hold on a first Faster Payment System transfer?")
    # a product the glossary does not know is still a product: the word before "loan" must be matched
    assert ("modifier", scope.stem("boat")) in keys("What is the maximum tenor for a boat loan?")
    assert ("customer", "first-time-buyer") in keys("LTV for a first-time buyer?")
    assert ("condition", "commercial-property") in keys("LTV for a commercial property?")
    # words that say which one or how much are not products
    assert keys("What is the maximum loan tenor?") == [("product", "loan")]


def test_the_library_names_cards_fps_and_mortgages_and_some_products_are_not_covered():
    products = _library_products()
    assert {"card", "fps", "mortgage"} <= set(products)
    assert {"car-loan", "personal-loan", "time-deposit"} <= set(_uncovered("product"))


# -- the car loan of the demo ----------------------------------------------------------------------------------------
def test_car_loan_question_is_refused_naming_car_loans_and_the_mortgage_one_answered(ctx):
    car = _ask(ctx, "What is the longest repayment period we allow on a car loan?")
    assert car.refused and car.citations == []
    assert "do not cover car loans" in car.answer
    assert "year" not in _body(car)  # never the mortgage tenor
    assert car.guardrails["scope"]["missing"] == "car loan"
    tenor = next(d.facts["max_tenor"] for d in generate_corpus(BANK) if d.doc_id == "mortgage-ltv-dsr")
    home = _ask(ctx, "What is the longest repayment period we allow on a mortgage?")
    assert not home.refused and tenor in home.answer
    assert home.citations[0]["document"].startswith("mortgage-ltv-dsr")
    # the glossary's synonym of the covered product is the covered product
    assert tenor in _ask(ctx, "What is the longest repayment period we allow on a home loan?").answer


def test_a_product_no_glossary_knows_is_refused_by_its_own_word(ctx):
    ans = _ask(ctx, "What is the maximum tenor for a boat loan?")
    assert ans.refused and "do not cover boat loans" in ans.answer


# -- pairs generated from the library, every product ---------------------------------------------------------------
def test_every_library_product_pair_answers_the_covered_and_refuses_the_other(ctx):
    specific = {k for k in _library_products() if SCOPE_TERMS[k][1] != k}
    pairs = _pairs("product")
    assert specific <= {m.key for q, *_ in pairs for m in scope.mentions(q)}  # every product of the library
    leaks, wrong = _check_pairs(ctx, pairs)
    assert not leaks  # every uncovered product refused, naming it
    # the covered side: the extractive scorer's own misses remain (the "maximum DSR" wordings pick the stressed DSR,
    # with or without this check; bench/chat.py measures them); the scope check itself never refuses these
    assert len(wrong) <= 0.25 * len(pairs), wrong


def test_generic_product_words_swapped_for_an_uncovered_product(ctx):
    pairs = _pairs("product", generic=True)[::3]  # "a lost card" -> "a lost car loan": a third of them, for time
    assert len(pairs) >= 5
    leaks, wrong = _check_pairs(ctx, pairs)
    assert not leaks
    assert len(wrong) <= 0.2 * len(pairs), wrong


def test_condition_pairs(ctx):
    pairs = _pairs("condition")
    assert pairs
    leaks, wrong = _check_pairs(ctx, pairs)
    assert not leaks
    assert len(wrong) <= 0.5 * len(pairs), wrong  # the scorer's own misses on LTV wordings, the same without the check


def test_customer_types_that_exclude_each_other_never_answer_for_each_other():
    """A rule for personal customers does not answer for business customers; a rule naming no customer type, or one
    that overlaps (PEPs are high-risk customers), still does."""

    def sat(question: str, passage: str) -> bool:
        m = next(m for m in scope.mentions(question) if m.kind == "customer")
        return scope._satisfied(m, scope.ids(passage), scope.terms(passage), None)

    q = "What is the overdraft limit for business customers?"
    assert not sat(q, "Personal customers may overdraw their current account by up to HKD 5,000.")
    assert sat(q, "Business customers may overdraw their current account by up to HKD 50,000.")
    assert sat(q, "An overdraft is repayable on demand.")
    assert sat("How often do we review a PEP?", "High-risk customers are reviewed every 12 months.")
    assert scope.mentions("How often do we review corporate clients?")[0].key == "business-customer"


def test_template_questions_naming_a_customer_type_are_still_answered(ctx):
    checked = 0
    for question, _expected, _source in _template_questions():
        if any(m.kind == "customer" for m in scope.mentions(question)):
            ans = _ask(ctx, question)
            assert ans.guardrails["scope"]["missing"] is None, question
            checked += 1
    assert checked >= 2


def test_a_qualifier_the_document_does_not_have_is_refused(ctx):
    ans = _ask(ctx, "What is the maximum LTV ratio for a commercial property?")
    assert ans.refused and "do not cover commercial properties" in ans.answer
    ltv = _ask(ctx, "What is the maximum LTV ratio for a property not occupied by the borrower?")
    assert not ltv.refused and "mortgage-ltv-dsr" in ltv.citations[0]["document"]
