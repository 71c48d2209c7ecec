"""What kind of value a question asks for (classic factoid QA answer typing), and whether a sentence holds one.

"How long ..." asks for a duration, "how much is the fee ..." for an amount of money, "what is the
maximum LTV ..." for a percentage. The wh-phrase decides first ("how long", "how much", "when");
nouns of the question ("fee", "ratio", "deadline") decide when it has none. The extractive backend
favours sentences holding the expected kind of value and refuses when none of its best sentences does.
"""

from __future__ import annotations

import re

_UNIT = r"(?:seconds?|minutes?|hours?|(?:business |working |calendar )?days?|weeks?|months?|years?)"
HOLDS: dict[str, re.Pattern] = {
    "duration": re.compile(
        rf"\b\d[\d,.]*\s*{_UNIT}\b|\b(one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve)\s+{_UNIT}\b", re.I
    ),
    "money": re.compile(r"\b(HKD|HK\$|USD|RMB|CNY)\s?\d|\$\s?\d|\d[\d,.]*\s?(HKD|dollars|million)\b", re.I),
    "percent": re.compile(r"\d(\.\d+)?\s?%|\bper ?cent\b|\bbasis points\b", re.I),
    "clock": re.compile(r"\b\d{1,2}[:.]\d{2}\b"),
    "code": re.compile(r"\b[A-Z]{2,}(-[A-Z0-9]+){1,}\b"),
    "count": re.compile(r"\d"),
}
# wh-phrases: when one matches, it alone decides the type (first match wins)
_WH: list[tuple[str, re.Pattern]] = [
    (
        "clock",
        re.compile(
            r"(?<!how many )(?<!within )\bhours\b|\bwhat time of day\b|\bwhen are\b.*\b(available|open)\b|"
            r"\b(open|available)\b.*\band when\b",
            re.I,
        ),
    ),
    (
        "duration",
        re.compile(
            r"\bhow (long|soon|quickly|often|fast|frequently|far back)\b|\bby when\b|\bwithin what\b|"
            r"\bwhen (must|should|do|does|is|are|will|can|has|have)\b|"
            r"\bhow many (\w+ )?(seconds|minutes|hours|days|weeks|months|years)\b",
            re.I,
        ),
    ),
    ("count", re.compile(r"\bhow (many|big|large)\b", re.I)),
    ("money", re.compile(r"\bhow much\b|\bthe most .{0,40}\bpay\b", re.I)),
]
# nouns of the question, when no wh-phrase decides (several may apply)
_NOUNS: list[tuple[str, re.Pattern]] = [
    ("percent", re.compile(r"\b(ratio|rate|percentage|percent|share|LTV|DSR|loan-to-value|how high)\b", re.I)),
    (
        "duration",
        re.compile(
            r"(?<!-)\b(deadline|time|target|interval|period|cycle|frequency|longest|shortest|term|tenor|retention|"
            r"delay|timeframe)\b",
            re.I,
        ),
    ),
    (
        "money",
        re.compile(
            r"\b(fee|charge|cost|amount|ceiling|cap|threshold|limit|price|(above|below|from|up to) what)\b", re.I
        ),
    ),
    ("code", re.compile(r"\b(reference|code|identifier)\b", re.I)),
    ("count", re.compile(r"\b(minimum|maximum) (size|number)\b|\bsize of\b", re.I)),
]


def answer_types(question: str) -> list[str]:
    """The kinds of value that would answer `question` (empty: no expectation)."""
    for kind, pat in _WH:
        if pat.search(question):
            return [kind]
    kinds = [kind for kind, pat in _NOUNS if pat.search(question)]
    if "percent" in kinds and "money" in kinds:
        if re.search(r"\b(price|amount|fee|charge|cost)\b", question, re.I):
            kinds.remove("percent")  # "at what purchase price does the lower LTV cap apply": an amount
        else:
            kinds.remove("money")  # "the LTV cap", "the DSR limit": a ratio, not an amount
    if "count" in kinds and "money" in kinds:
        kinds.remove("money")
    if "duration" in kinds and "money" in kinds and not re.search(r"\b(fee|charge|cost|price)\b", question, re.I):
        kinds.remove("money")  # "the time limit", "the deadline ... amount"
    return kinds


def holds_type(sentence: str, types: list[str]) -> bool:
    return any(HOLDS[t].search(sentence) for t in types)
