"""Finding 13: a card written `4111.1111.1111.1111` and an HKID written `A-123456-3` reached the audit log and
mlflow.db. Every written form of a card (any common separator, 13-19 digits passing Luhn) and of an HKID (one or
two letters, separators between the parts, with or without parentheses) must be redacted in the answer, the audit
entry and the MLflow trace, while amounts, dates, product codes and phone-like references stay as they are.

The forms are generated (separators x layouts x sentences), not listed, so a form nobody wrote down is covered too.
"""

from __future__ import annotations

import itertools
import json
import random
import re
from pathlib import Path

import pytest

from sandbox import open_workspace
from usecases.chat.pii import hkid_check_digit, luhn_ok, redact

PASSWORD = "correct-horse-9"
BANK = "pii-test-bank"
NAMED = "statement 4111.1111.1111.1111 A-123456-3.md"  # a file name is free text too

# Separators people put between the groups of a card / the parts of an HKID (full-width and en-dash are folded).
CARD_SEPS = ["", " ", "-", ".", "/", "_", " - ", " / ", " . ", "  ", "\u2013", "\uff0d", "\u00b7"]
HKID_SEPS = ["", " ", "-", ".", "/", " - ", "_"]
# Card layouts: group sizes (13 to 19 digits; Visa, Mastercard, Amex, Diners, UnionPay).
LAYOUTS = [(4, 4, 4, 4), (4, 6, 5), (4, 6, 4), (4, 4, 4, 4, 3), (4, 4, 4, 1), (4, 4, 4, 4, 2), (5, 5, 5, 4)]
SENTENCES = [
    "My card {} was charged twice.",
    "card:{}",
    "Card no.{} please",
    "({})",
    "卡號{}已被扣款。",
    "Refund to {}, thanks",
    "{}",
]
HKID_SENTENCES = [
    "Customer {} called about a dispute.",
    "身份證{}已核實",
    "ID {}, please",
    "({})",
    "{}",
    "Ms Chan ({}) signed.",
]


def luhn_card(rng: random.Random, n: int, first: str = "4") -> str:
    """A random n-digit number that passes the Luhn check."""
    body = first + "".join(rng.choice("0123456789") for _ in range(n - 2))
    return next(body + d for d in "0123456789" if luhn_ok(body + d))


def written(digits: str, layout: tuple[int, ...], sep: str) -> str:
    out, i = [], 0
    for size in layout:
        out.append(digits[i : i + size])
        i += size
    return sep.join(out)


def card_variants(seed: int = 13) -> list[tuple[str, str]]:
    """(written form, digits) for every layout x separator, each a fresh random card."""
    rng = random.Random(seed)
    out = []
    for layout, sep in itertools.product(LAYOUTS, CARD_SEPS):
        digits = luhn_card(rng, sum(layout), first=rng.choice("3456"))
        out.append((written(digits, layout, sep), digits))
    return out


def hkid_variants(seed: int = 14) -> list[tuple[str, str]]:
    """(written form, letters+digits) for 1 and 2 letters x separators x check-digit styles, right check digits."""
    rng = random.Random(seed)
    out = []
    for n_letters, sep1, sep2, style in itertools.product((1, 2), HKID_SEPS, HKID_SEPS, ("bare", "()", "[]", " ()")):
        letters = "".join(rng.choice("ABCDEGHKMPRVWXYZ") for _ in range(n_letters))
        digits = "".join(rng.choice("0123456789") for _ in range(6))
        check = hkid_check_digit(letters, digits)
        tail = {"bare": check, "()": f"({check})", "[]": f"[{check}]", " ()": f" ({check})"}[style]
        if style != "bare" and sep2.strip():
            tail = tail.strip()
        out.append((f"{letters}{sep1}{digits}{sep2}{tail}", letters + digits))
    return out


# Numbers that are not PII and must come through unchanged (amounts, dates, references, versions, phone-like codes).
KEEP = [
    "A dispute must be raised within 60 days; the fee is HKD 8,000 or 50% of the amount, whichever is lower.",
    "Effective 2024-01-15, the daily FPS limit is HK$100,000 and the card limit is $50,000.00.",
    "Between 01.01.2025 and 31.12.2025, refunds of up to HKD 2,500.50 are processed within 7 working days.",
    "Posted 2024/01/15 - 2024/02/16; statement dates 15/01/2024 and 16.02.2024.",
    "See section 4.2.1, clause 12, policy POL-123-456789, form CD-17 version 3, ISBN 978-3-16-148410-0.",
    "The limit is HKD 12,345,678.90 or EUR 1.234.567,89 per year (rates +2.0%).",
    "Software 10.4.2024.1 on host 192.168.100.200; build 2024.11.05.1234.",
    "Quote plan code HB2024111 or product PC2345678; reference G1234560; plan HB-202401-1.",
    "Call 1234 5678 now. Pager 4123 4567. Ref POL-23456789. Limit HKD 23456789.",
    "Tel 2345 6789 / 9123 4567 is the hotline list.",
    "Complaints are answered within 30 days; 95.5% were resolved in 2023 (12,345 cases).",
    "信用卡爭議須於結單日起60天內提出，手續費為港幣150元，上限為50%。",
]


# -- the redactor on every generated form ---------------------------------------------------------


@pytest.mark.parametrize("template", SENTENCES)
def test_every_written_form_of_a_card_is_redacted(template):
    missed = []
    for form, _digits in card_variants():
        out = redact(template.format(form)).text
        if out != template.format("[CARD]"):
            missed.append((form, out))
    assert not missed, missed[:10]


@pytest.mark.parametrize("template", HKID_SENTENCES)
def test_every_written_form_of_an_hkid_is_redacted(template):
    missed = [
        (form, out)
        for form, _ in hkid_variants()
        if (out := redact(template.format(form)).text) != template.format("[HKID]")
    ]
    assert not missed, missed[:10]


def test_the_reported_forms_are_redacted():
    text = "card 4111.1111.1111.1111 and HKID A-123456-3 and a-123456-(3) and AB.987654.3 and 4111/1111/1111/1111"
    assert redact(text).text == "card [CARD] and HKID [HKID] and [HKID] and [HKID] and [CARD]"


def test_a_wrong_hkid_check_digit_is_redacted_in_the_written_form_or_after_a_keyword():
    assert redact("Customer A-123456-(7) called.").text == "Customer [HKID] called."
    assert redact("HKID: A-123456-7").text == "HKID: [HKID]"
    assert redact("HK ID no. AB 987654 2").text == "HK ID no. [HKID]"


@pytest.mark.parametrize("text", KEEP)
def test_amounts_dates_codes_and_phone_like_references_stay(text):
    r = redact(text)
    kept = r.text.replace("[PHONE]", "")  # the hotline list is two phones, not a card
    assert r.text == text or ("Tel" in text and r.kinds == ["phone"]), r.text
    assert "[CARD]" not in kept and "[HKID]" not in kept


def test_numbers_failing_luhn_in_any_layout_are_not_cards():
    rng = random.Random(5)
    for layout, sep in itertools.product(LAYOUTS, CARD_SEPS):
        digits = luhn_card(rng, sum(layout))
        bad = digits[:-1] + str((int(digits[-1]) + 1) % 10)
        assert redact(f"Ref {written(bad, layout, sep)} only").text != "Ref [CARD] only"  # (a part may pass by chance)


@pytest.mark.parametrize(
    "text", ["1." * 50_000, "4111." * 20_000, "A-" * 50_000, "A-123456-" * 11_000, "1 / " * 25_000, "4111 - " * 14_000]
)
def test_separated_forms_stay_linear_on_100000_characters(text):
    import time

    start = time.process_time()
    redact(text)
    assert time.process_time() - start < 1.0


# -- end to end: the answer, the audit log, mlflow.db ------------------------------------------------


@pytest.fixture(scope="module")
def ctx(store, tmp_path_factory):
    """A bank of its own with one small policy document."""
    store.create_bank(BANK)
    store.add_user("pia", "scientist", PASSWORD, bank=BANK)
    chat = pytest.importorskip("usecases.chat")
    c = open_workspace(BANK, store.actor("pia"), store)
    folder = tmp_path_factory.mktemp("pii-docs")
    (folder / "disputes.md").write_text(
        "# Card Disputes Policy\n\nA cardholder may raise a dispute within 52 days from the statement date.\n",
        encoding="utf-8",
    )
    (folder / NAMED).write_text("# Statement note\n\nStatements are issued monthly.\n", encoding="utf-8")
    chat.ingest(c, [folder / "disputes.md", folder / NAMED])
    return c


def _store_bytes(ctx) -> bytes:
    """Every file the audit trail and MLflow keep: state/ (audit logs) and mlruns/ (mlflow.db, its WAL, traces);
    other tests' model files over 20 MB are left out (they hold no text a question could reach)."""
    out = []
    for root in (ctx.store.state, ctx.store.mlruns):
        for p in sorted(Path(root).rglob("*")):
            if p.is_file() and (p.stat().st_size < 20_000_000 or p.name.startswith("mlflow.db")):
                out.append(p.read_bytes())
    return b"\n".join(out)


def test_cards_and_hkids_in_questions_never_reach_the_answer_the_audit_log_or_mlflow(ctx):
    import mlflow

    chat = pytest.importorskip("usecases.chat")
    cards = card_variants(seed=1313)
    rng = random.Random(7)
    hkids = rng.sample(hkid_variants(seed=1414), 40)
    values = [(f, d) for f, d in cards] + hkids
    answers = []
    for i in range(0, len(values), 20):
        batch = values[i : i + 20]
        question = "; ".join(f"my number is {form}" for form, _ in batch) + ". What is the dispute window?"
        ans = chat.ask(ctx, question, backend="extractive")
        answers.append(ans)
        shown = ans.question + ans.answer + json.dumps(ans.to_dict(), ensure_ascii=False)
        for form, key in batch:
            assert form not in shown and key not in re.sub(r"[^0-9A-Za-z]", "", shown), form
    # a filter value and a document name are free text too: the audit and trace sinks redact them
    ans = chat.ask(ctx, "How often are statements issued?", backend="extractive", filters={"document": [NAMED]})
    answers.append(ans)
    mlflow.flush_trace_async_logging()
    for a in answers:
        assert a.trace_id
        dumped = mlflow.get_trace(a.trace_id).to_json()
        assert "4111.1111.1111.1111" not in dumped and "A-123456-3" not in dumped
    entries = [e["data"] for e in ctx.audit_entries() if e["event"] == "chat.ask"]
    assert len(entries) >= len(answers)
    assert "[CARD]" in json.dumps(entries) and "[HKID]" in json.dumps(entries)
    everything = _store_bytes(ctx)
    squeezed = re.sub(rb"[^0-9A-Za-z]", b"", everything)
    leaks = [form for form, key in values if form.encode() in everything or key.encode() in squeezed]
    assert not leaks, leaks[:10]
    assert b"4111.1111.1111.1111" not in everything and b"A-123456-3" not in everything
