"""PII redaction for the chat assistant: HKID, Hong Kong phone, card, bank account and email.

`redact(text)` returns the text with every finding replaced by a typed placeholder
(`[HKID]`, `[PHONE]`, `[CARD]`, `[ACCOUNT]`, `[EMAIL]`) and a count per kind; the
values themselves are never kept. Pure standard library, compiled regexes, linear time
(no nested unbounded quantifiers), so it is safe on a 100,000-character input.

What is accepted, and why:

- **HKID**: one or two letters, six digits and a check digit (0-9 or A), with or without
  parentheses (or brackets), the parts glued or separated by a space, a hyphen, a dot, a
  slash or an underscore (a space either side of it allowed): `A123456(3)`, `AB987654(3)`,
  `A1234563`, `A 123456 (3)`, `A-123456-3`, `A.123456.3`, `AB-987654-(3)`. The check digit is computed (weights 9..2 on
  the letters, A=10 .. Z=35, and digits; a blank first letter counts 36; mod 11), but a
  wrong one does not save a value that reads as an HKID: people mistype, and synthetic
  data often has invalid check digits. Redacted:
  - the written form, letters glued to the digits (or joined by a hyphen, dot, slash) and
    the check digit in parentheses (`A123456(7)`, `AB987654(A)`, `A123456 (7)`,
    `A-123456-(7)`), whatever its check digit: reference codes are not written this way;
  - any other form (`A1234567`, `A-123456-7`; `A 123456(7)`, whose letters may be a word:
    `to 123456(7)`) when its check digit is right, or when it comes within four words after an HKID
    keyword in the same sentence (HKID, HK ID, identity card, ID card, ID no. / ID number,
    身份證, 身份证; `HKID number is A1234567`, `身份證號碼：A1234567`).
  A bare `PC2345678` with a wrong check digit and no keyword before it (a product or
  reference code: about 1 in 11 random codes would pass the check) is left alone, so the
  guardrail does not fire on every `XY1234567`. Such a string may still be caught by
  another rule.
- **Phone**: Hong Kong numbers, eight digits starting 2, 3, 5, 6, 7, 8 or 9, written
  `91234567`, `9123 4567` or `9123-4567`, optionally after `+852`, `852`, `00852` or
  `(852)`; `2345 6789/9123 4567` gives two numbers. Without a country code, eight digits
  that read as a date (`20240115`, `2023 2024`) or follow a currency (`HKD 23456789`,
  `$23456789`) are left alone.
- **Card**: 13 to 19 digits that pass the Luhn check, either contiguous or in groups of
  4 to 6 digits (the last group may be shorter) separated by one or two spaces, or by a
  hyphen, dot, slash, underscore or middle dot with at most a space either side, the same
  separator throughout: `4111 1111 1111 1111`, `3782-822463-10005`, `4111.1111.1111.1111`,
  `4111 / 1111 / 1111 / 1111`. When a longer run of numbers fails Luhn, its leading groups
  are tried on their own, so a card followed by another number is still found; a change of
  separator ends a card (`2345 6789/9123 4567` is two phones).
- **Account**: a Hong Kong account number written with hyphens, starting with a 3-digit
  bank or branch code and having 3 or 4 groups and 10 to 17 digits in all:
  `004-123-456789-001` (bank-branch-account-suffix), `123-456789-001` (branch-account-suffix),
  `012-345-67890-1`, `012-875-1-234567`. Also 9 to 17 digits (contiguous or grouped by
  spaces or hyphens) right after the word account / a/c / acct / 賬戶 / 帳戶 / 账户 / 戶口 / 户口
  (`account no. 123456789012`). Dates (`2024-01-15`), amounts (`HKD 8,000`), percentages
  and references with letters (`POL-123-456789`) do not have this shape.
- **Email**: `local@domain.tld` with an ASCII local part of at most 64 characters.

The redacted text also has invisible characters (zero-width spaces and joiners, soft
hyphens, word joiners, BOM, bidi controls) removed, full-width Latin letters, digits and
the symbols `@ + - ( ) . _ %` folded to ASCII, and no-break, thin and ideographic spaces
turned into plain ones, so `９１２３ ４５６７` or `9123\\u200b4567` cannot slip through.

Rules run in this order, each on the output of the previous one (a placeholder holds no
digit, so nothing is counted twice): email, HKID, phone with +852, hyphenated account,
account after its keyword, card, phone without country code. `allow=` keeps public
values (the bank's own hotline or complaints address quoted in its policies).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

__all__ = [
    "PII_KINDS",
    "PLACEHOLDERS",
    "Redaction",
    "hkid_check_digit",
    "is_valid_hkid",
    "luhn_ok",
    "redact",
    "redact_data",
]

# kind -> placeholder, in the order findings are reported.
PLACEHOLDERS: dict[str, str] = {
    "hkid": "[HKID]",
    "phone": "[PHONE]",
    "card": "[CARD]",
    "account": "[ACCOUNT]",
    "email": "[EMAIL]",
}
PII_KINDS: tuple[str, ...] = tuple(PLACEHOLDERS)


@dataclass
class Redaction:
    """The redacted text and, per kind, how many values were replaced (never the values)."""

    text: str
    findings: list[dict] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(f["count"] for f in self.findings)

    @property
    def kinds(self) -> list[str]:
        return [f["kind"] for f in self.findings]

    def to_dict(self) -> dict:
        return {"text": self.text, "findings": [dict(f) for f in self.findings], "total": self.total}


# --- normalisation -----------------------------------------------------------------------

_INVISIBLE = re.compile("[\u00ad\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")
# Full-width forms of what PII is made of, folded one to one.
_FOLD = {0xFF10 + i: ord("0") + i for i in range(10)}
_FOLD.update({0xFF21 + i: ord("A") + i for i in range(26)})
_FOLD.update({0xFF41 + i: ord("a") + i for i in range(26)})
_FOLD.update(
    {
        ord(k): v
        for k, v in {
            "＠": "@",
            "＋": "+",
            "－": "-",
            "（": "(",
            "）": ")",
            "．": ".",
            "／": "/",
            "［": "[",
            "］": "]",
            "\u2010": "-",
            "\u2015": "-",
            "＿": "_",
            "％": "%",
            "\u3000": " ",
            "\u00a0": " ",
            "\u2007": " ",
            "\u2009": " ",
            "\u202f": " ",
            "\u2011": "-",
            "\u2012": "-",
            "\u2013": "-",
            "\u2014": "-",
            "\u2212": "-",
        }.items()
    }
)


_FOLDABLE = re.compile("[\uff01-\uff5e\u3000\u00a0\u2007\u2009\u202f\u2010-\u2015\u2212]")


def _normalise(text: str) -> str:
    if text.isascii():
        return text
    if _INVISIBLE.search(text):
        text = _INVISIBLE.sub("", text)
    if _FOLDABLE.search(text):
        text = text.translate(_FOLD)
    return text


# --- validators --------------------------------------------------------------------------


def _char_value(c: str) -> int:
    return ord(c) - ord("A") + 10 if c.isalpha() else int(c)


def hkid_check_digit(prefix: str, digits: str) -> str:
    """The check digit ('0'-'9' or 'A') of an HKID with letter prefix and six digits."""
    prefix = prefix.upper()
    total = 36 * 9 if len(prefix) == 1 else 0
    chars = prefix + digits
    for w, c in zip(range(len(chars) + 1, 1, -1), chars):  # weights 9..2 (8..2 after a blank)
        total += w * _char_value(c)
    check = (11 - total % 11) % 11
    return "A" if check == 10 else str(check)


# Between the parts of an HKID or the groups of a card: a punctuation mark with at most a space either side, or
# one or two spaces (the punctuation first, so " - " is one separator).
_SEP_CHARS = "-./_\u00b7\u2022"
_PART_SEP = r"(?:[ \t]?[" + _SEP_CHARS + r"][ \t]?|[ \t]{1,2})"
_HKID_FULL = re.compile(r"([A-Za-z]{1,2})" + _PART_SEP + r"?([0-9]{6})" + _PART_SEP + r"?[(\[]?\s?([0-9Aa])\s?[)\]]?")


def is_valid_hkid(value: str) -> bool:
    m = _HKID_FULL.fullmatch(value.strip())
    return bool(m) and hkid_check_digit(m.group(1), m.group(2)) == m.group(3).upper()


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


# --- patterns ----------------------------------------------------------------------------

# Not glued to a word, a code ("POL-1234...") or a number ("1.2345..." "12/3456...").
_NOT_AFTER_WORD = r"(?<![A-Za-z0-9])(?<![0-9][-/.,])(?<![A-Za-z]-)"

_EMAIL = re.compile(
    r"(?<![A-Za-z0-9._%+\-])[A-Za-z0-9._%+\-]{1,64}@"
    r"[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?)*\.[A-Za-z]{2,24}(?![A-Za-z0-9\-])"
)

# Groups: letters, separator, six digits, separator, check digit in parentheses / brackets, or bare.
_HKID = re.compile(
    r"(?<![A-Za-z0-9])([A-Za-z]{1,2})(" + _PART_SEP + r"?)([0-9]{6})(" + _PART_SEP + r"?)"
    r"(?:[(\[] ?([0-9Aa]) ?[)\]]|([0-9Aa]))(?![A-Za-z0-9])"
)

# An HKID keyword followed by at most four words (a CJK character counts as one) and no
# sentence end, up to the end of the text before a candidate. "id" must start a word
# ("prepaid card" is not "id card"); "no." is a word with its full stop.
_HKID_CONTEXT_CHARS = 80
_CTX_SEP = r"[\s:：,，#=\-()（）'\"“”‘’/]*"
_CTX_WORD = r"(?:no\.|[A-Za-z0-9]+|[\u3400-\u9fff])"
_HKID_CONTEXT = re.compile(
    r"(?:(?<![A-Za-z])(?:hk[ \-]?id|(?:identity|id)\s*card|id\s*(?:no\b\.?|number))|身份證|身份证)"
    r"(?:" + _CTX_SEP + _CTX_WORD + r"){0,4}" + _CTX_SEP + r"$",
    re.IGNORECASE,
)

_PHONE_CC = re.compile(
    r"(?<![A-Za-z0-9+])(?:\+852|00852|852|\(\+?852\))[ \-]?([2-35-9][0-9]{3})[ \-]?([0-9]{4})"
    r"(?![0-9])(?![-.,][0-9])"
)

_PHONE = re.compile(
    r"(?<![A-Za-z0-9])(?<![0-9][-.,])(?<![A-Za-z]-)([2-35-9][0-9]{3})([ \-]?)([0-9]{4})(?![0-9%])(?![-.,][0-9])"
)

_ACCOUNT = re.compile(_NOT_AFTER_WORD + r"[0-9]{3}-[0-9]{1,9}-[0-9]{1,9}(?:-[0-9]{1,9})?(?![0-9])(?![-/.][0-9A-Za-z])")

_ACCOUNT_CONTEXT = re.compile(
    r"(?:\b(?:account|acct|a/c)(?:\s*(?:no\.?|number|num\.?|#))?|賬戶|帳戶|账户|戶口|户口)"
    r"(?:\s*(?:號碼|号码|號|号))?\s*[:：#]?\s*"
    r"([0-9]{2,}(?:[ \-][0-9]{1,}){0,4})(?![0-9])",
    re.IGNORECASE,
)

# A run of digit groups joined by separators; cards are searched inside it. Not inside a word or after a
# decimal comma ("1,4111..."); after "No." it may start.
_DIGIT_RUN = re.compile(r"(?<![A-Za-z0-9])(?<![0-9][.,])[0-9]+(?:" + _PART_SEP + r"[0-9]+)*(?![A-Za-z0-9])")
_SEP = re.compile(_PART_SEP)
_CURRENCY_BEFORE = re.compile(r"(?:hk\$|us\$|\$|hkd|usd|rmb|cny|eur|gbp|¥|€|£)\s*$", re.IGNORECASE)
_HAS_DIGIT = re.compile(r"[0-9]")
_THIRTEEN_DIGITS = re.compile(r"[0-9](?:" + _PART_SEP + r"?[0-9]){12}")
_ACCOUNT_WORDS = ("account", "acct", "a/c", "賬戶", "帳戶", "账户", "戶口", "户口")


def _looks_like_date8(digits: str) -> bool:
    year, month, day = int(digits[:4]), int(digits[4:6]), int(digits[6:])
    return 1900 <= year <= 2099 and 1 <= month <= 12 and 1 <= day <= 31


# --- replacers ---------------------------------------------------------------------------


def _allow_key(value: str) -> str:
    """How an allowed value is compared: digits only (country code dropped) for numbers,
    lower case for the rest."""
    digits = "".join(c for c in value if c.isdigit())
    if len(digits) >= 6 and "@" not in value:
        if len(digits) == 11 and digits.startswith("852"):
            return digits[3:]
        if len(digits) == 13 and digits.startswith("00852"):
            return digits[5:]
        return digits
    return value.strip().lower()


def _sub(pattern: re.Pattern, kind: str, text: str, counts: dict, accept=None, allow: frozenset = frozenset()) -> str:
    placeholder = PLACEHOLDERS[kind]

    def repl(m: re.Match) -> str:
        if accept is not None and not accept(m):
            return m.group(0)
        if allow and _allow_key(m.group(0)) in allow:
            return m.group(0)
        counts[kind] = counts.get(kind, 0) + 1
        return placeholder

    return pattern.sub(repl, text)


def _hkid_ok(m: re.Match) -> bool:
    """Redact the written form `A123456(7)` (`A-123456(7)`) always; any other form when its
    check digit is right or an HKID keyword comes just before it."""
    letters, sep1, digits, sep2, in_parens, bare = m.groups()
    word_before = " " in sep1 or "\t" in sep1  # "to 123456(7)", "No. 123456(7)": the letters may be a word
    if in_parens and not word_before:
        return True
    if hkid_check_digit(letters, digits) == (in_parens or bare).upper():
        return True
    before = m.string[max(0, m.start() - _HKID_CONTEXT_CHARS) : m.start()]
    return _HKID_CONTEXT.search(before) is not None


def _account_ok(m: re.Match) -> bool:
    n = sum(c.isdigit() for c in m.group(0))
    return 10 <= n <= 17


def _bare_phone_ok(m: re.Match) -> bool:
    first, sep, second = m.group(1), m.group(2), m.group(3)
    if not sep and _looks_like_date8(first + second):
        return False
    if sep and 1900 <= int(first) <= 2099 and 1900 <= int(second) <= 2099:  # "2023 2024"
        return False
    before = m.string[max(0, m.start() - 6) : m.start()]
    return not _CURRENCY_BEFORE.search(before)


def _redact_context_accounts(text: str, counts: dict, allow: frozenset) -> str:
    def repl(m: re.Match) -> str:
        number = m.group(1)
        n = sum(c.isdigit() for c in number)
        if not 9 <= n <= 17 or (allow and _allow_key(number) in allow):
            return m.group(0)
        counts["account"] = counts.get("account", 0) + 1
        return m.group(0)[: m.start(1) - m.start()] + PLACEHOLDERS["account"]

    return _ACCOUNT_CONTEXT.sub(repl, text)


def _redact_cards(text: str, counts: dict, allow: frozenset) -> str:
    def repl(m: re.Match) -> str:
        run = m.group(0)
        if sum(c.isdigit() for c in run) < 13:
            return run
        parts = _SEP.split(run)
        seps = _SEP.findall(run)
        out: list[str] = []
        i = 0
        while i < len(parts):
            hit = _card_at(parts, seps, i)
            if hit and allow and "".join(parts[i:hit]) in allow:
                hit = 0
            if hit:
                out.append(PLACEHOLDERS["card"])
                counts["card"] = counts.get("card", 0) + 1
                i = hit
            else:
                out.append(parts[i])
                i += 1
            if i < len(parts):
                out.append(seps[i - 1])
        return "".join(out)

    return _DIGIT_RUN.sub(repl, text)


def _card_at(parts: list[str], seps: list[str], i: int) -> int:
    """Index after the longest Luhn-valid card made of parts[i:j] joined by one kind of
    separator, or 0 if none starts at i."""
    first = parts[i]
    if 13 <= len(first) <= 19 and luhn_ok(first):
        return i + 1
    if not 4 <= len(first) <= 6:
        return 0
    best, digits, kind = 0, first, (seps[i].strip() or " ") if i < len(seps) else ""
    for j in range(i + 1, min(len(parts), i + 5)):
        if (seps[j - 1].strip() or " ") != kind:  # "2345 6789/9123 4567": two numbers, not one card
            break
        digits += parts[j]
        if len(digits) > 19:
            break
        if len(digits) >= 13 and luhn_ok(digits):
            best = j + 1
            if (
                len(digits) == 16
            ):  # the common length wins over a longer run that passes by chance ("... 1111 3 times"),
                nxt = j + 1  # but a short last group of an 18/19-digit card ("6212 3456 7890 1234 567") is its own
                if (
                    nxt < len(parts)
                    and 2 <= len(parts[nxt]) <= 3
                    and (seps[j].strip() or " ") == kind
                    and luhn_ok(digits + parts[nxt])
                ):
                    best = nxt + 1
                break
        if not 4 <= len(parts[j]) <= 6:  # only the last group may be short
            break
    return best


def redact(text: str, allow: Iterable[str] = ()) -> Redaction:
    """Replace HKID, phone, card, account and email values in `text` by typed placeholders.

    `allow`: public values that must stay, such as the bank's own hotline or complaints
    address quoted in its policies (`allow=("2345 6789", "disputes@harbourbank.hk")`);
    numbers are compared digit by digit (a +852 prefix ignored), emails case-insensitively."""
    if not isinstance(text, str):
        raise TypeError(f"redact() takes text, not {type(text).__name__}")
    allowed = frozenset(_allow_key(v) for v in allow) if allow else frozenset()
    text = _normalise(text)
    counts: dict[str, int] = {}
    if "@" in text:
        text = _sub(_EMAIL, "email", text, counts, allow=allowed)
    if _HAS_DIGIT.search(text):
        text = _sub(_HKID, "hkid", text, counts, _hkid_ok, allowed)
        if "852" in text:
            text = _sub(_PHONE_CC, "phone", text, counts, allow=allowed)
        if "-" in text:
            text = _sub(_ACCOUNT, "account", text, counts, _account_ok, allowed)
        lowered = text.lower()
        if any(word in lowered for word in _ACCOUNT_WORDS):
            text = _redact_context_accounts(text, counts, allowed)
        if _THIRTEEN_DIGITS.search(text):
            text = _redact_cards(text, counts, allowed)
        text = _sub(_PHONE, "phone", text, counts, _bare_phone_ok, allowed)
    findings = [{"kind": k, "count": counts[k]} for k in PII_KINDS if counts.get(k)]
    return Redaction(text=text, findings=findings)


def redact_data(value, allow: Iterable[str] = ()):
    """A copy of `value` (a str, or dicts/lists/tuples of them) with every string redacted.

    For trace and audit payloads: keys are kept, string values are redacted, other scalars
    pass through unchanged."""
    if isinstance(value, str):
        return redact(value, allow).text
    if isinstance(value, dict):
        return {k: redact_data(v, allow) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(redact_data(v, allow) for v in value)
    return value
