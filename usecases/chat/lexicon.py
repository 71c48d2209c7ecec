"""Words of a question or a sentence as the extractive backend compares them: stemmed, domain acronyms unified.

Bank staff write "DSR" where the policy says "debt-servicing ratio", "KYC" where it says "customer due
diligence", "LTV" for "loan-to-value". `terms()` maps every spelling of such a term to one token, and
stems the rest with the Snowball English stemmer (PyStemmer), so "acknowledgement" meets "acknowledges"
and "sampling" meets "sample". The glossary holds banking terms and acronyms only, not question wordings.
"""
from __future__ import annotations

import re
from functools import lru_cache

from .grounding import STOP, _stem

# canonical token -> spellings (regular expressions, matched case-insensitively on word boundaries)
GLOSSARY: dict[str, tuple[str, ...]] = {
    "dsr": (r"dsr", r"debt[- ]servic(?:e|ing)[- ]ratios?"),
    "ltv": (r"ltv", r"loan[- ]to[- ]value(?:[- ]ratios?)?"),
    "fps": (r"fps", r"faster payments? system"),
    "cdd": (r"cdd", r"kyc", r"know[- ]your[- ]customer", r"customer due diligence"),
    "aml": (r"aml", r"anti[- ]money[- ]laundering"),
    "cft": (r"cft", r"counter[- ]terrorist financing"),
    "mlro": (r"mlro", r"money laundering reporting officer"),
    "str": (r"strs?", r"suspicious transaction reports?"),
    "jfiu": (r"jfiu", r"joint financial intelligence unit"),
    "pep": (r"peps?", r"politically exposed persons?"),
    "fdrc": (r"fdrc", r"financial dispute resolution centre"),
    "apr": (r"apr", r"annual percentage rate"),
    "otp": (r"otps?", r"one[- ]time passwords?"),
    "pin": (r"pin", r"personal identification number"),
    "genai": (r"genai", r"gen ai", r"generative ai", r"generative artificial intelligence"),
    "hkma": (r"hkma", r"hong kong monetary authority"),
    "atm": (r"atms?", r"automated teller machines?"),
    "hkid": (r"hkid", r"hong kong identity cards?"),
}
_CANON = [(token, re.compile(r"\b(?:" + "|".join(spellings) + r")\b", re.I)) for token, spellings in GLOSSARY.items()]
_WORD = re.compile(r"[a-z][a-z'-]+|\d+(?:\.\d+)?")

try:  # Snowball English; the crude suffix stripper of the grounding check when PyStemmer is missing
    import Stemmer as _pystemmer

    _snowball = _pystemmer.Stemmer("english")

    def _stem_word(word: str) -> str:
        return _snowball.stemWord(word)
except ImportError:  # pragma: no cover - a declared dependency
    _stem_word = _stem


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    word = word.lower()
    if word.endswith("'s"):
        word = word[:-2]
    return _stem_word(word.strip("'"))


def canonical(text: str) -> str:
    """Every spelling of a glossary term replaced by its token ("debt-servicing ratio" -> "dsr")."""
    for token, pattern in _CANON:
        text = pattern.sub(f" {token} ", text)
    return text


def terms(text: str) -> set[str]:
    """Stemmed content words of `text`, glossary terms unified, hyphenated words also counted by their parts."""
    out: set[str] = set()
    for w in _WORD.findall(canonical(text).lower()):
        if w in STOP or len(w) < 2 or w[0].isdigit():
            continue
        out.add(stem(w))
        if "-" in w:
            out.update(stem(part) for part in w.split("-") if len(part) > 1 and part not in STOP)
    return out
