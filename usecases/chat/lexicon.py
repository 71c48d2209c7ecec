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


# -- scope vocabulary: what a question is about (products, customer types, conditions) ----------------------------
# Used by `scope.py` to check that a cited passage (or its section or document) is about the product, customer
# type and condition the question names: a mortgage tenor must never answer a car-loan question.
# id -> (kind, family, display name, spellings). A family groups products one question could mean by its generic
# word ("a loan": any loan); the family's own generic entry has id == family. Spellings are regular expressions,
# matched case-insensitively on word boundaries, longest first.
SCOPE_TERMS: dict[str, tuple[str, str, str, tuple[str, ...]]] = {
    # products: loans
    "loan": ("product", "loan", "loans", (r"loans?", r"lending", r"borrowings?")),
    "mortgage": (
        "product",
        "loan",
        "mortgages",
        (
            r"(?:residential |property |home )?mortgages?(?: loans?)?",
            r"home loans?",
            r"housing loans?",
            r"property loans?",
            r"home financ(?:e|ing)",
        ),
    ),
    "car-loan": (
        "product",
        "loan",
        "car loans",
        (
            r"(?:car|auto|automobile|vehicle|motor(?: vehicle)?) (?:loans?|financ(?:e|ing)|leas(?:e|ing))",
            r"hire[- ]purchase(?: loans?| agreements?)?",
        ),
    ),
    "personal-loan": (
        "product",
        "loan",
        "personal loans",
        (r"personal (?:instalment |installment )?loans?", r"(?:instalment|installment|unsecured) loans?"),
    ),
    "business-loan": (
        "product",
        "loan",
        "business loans",
        (r"(?:business|sme|commercial|corporate) loans?", r"trade financ(?:e|ing)"),
    ),
    "student-loan": ("product", "loan", "student loans", (r"student loans?", r"education loans?")),
    "tax-loan": ("product", "loan", "tax loans", (r"tax loans?",)),
    "overdraft": ("product", "loan", "overdrafts", (r"overdrafts?(?: facilit(?:y|ies))?", r"overdrawn")),
    # products: cards
    "card": ("product", "card", "cards", (r"cards?", r"cardholders?")),
    "credit-card": ("product", "card", "credit cards", (r"credit cards?(?: accounts?)?", r"credit cardholders?")),
    "debit-card": ("product", "card", "debit cards", (r"debit cards?", r"debit cardholders?", r"atm cards?")),
    "prepaid-card": ("product", "card", "prepaid cards", (r"prepaid cards?", r"stored[- ]value cards?")),
    # products: payments
    "payment": ("product", "payment", "payments", (r"payments?", r"transfers?")),
    "fps": ("product", "payment", "FPS payments", (r"fps(?: payments?| transfers?)?", r"faster payments? system")),
    "wire-transfer": (
        "product",
        "payment",
        "telegraphic transfers",
        (r"(?:telegraphic|wire|international|cross[- ]border) transfers?", r"remittances?", r"swift transfers?"),
    ),
    "cheque": ("product", "payment", "cheques", (r"cheques?",)),
    "ex-gratia": ("product", "payment", "ex gratia payments", (r"ex[- ]gratia(?: payments?)?", r"goodwill payments?")),
    # products: accounts and deposits
    "account": ("product", "account", "accounts", (r"accounts?",)),
    "savings-account": ("product", "account", "savings accounts", (r"savings accounts?",)),
    "current-account": ("product", "account", "current accounts", (r"current accounts?", r"checking accounts?")),
    "time-deposit": ("product", "account", "time deposits", (r"(?:time|fixed|term) deposits?",)),
    "safe-deposit-box": ("product", "account", "safe deposit boxes", (r"safe deposit box(?:es)?",)),
    # products: investments and insurance
    "investment": ("product", "investment", "investments", (r"investments? products?", r"investments?")),
    "securities": (
        "product",
        "investment",
        "securities trading",
        (r"securities(?: trading)?(?: accounts?)?", r"stock trading", r"shares? trading", r"brokerage accounts?"),
    ),
    "fund": ("product", "investment", "investment funds", (r"unit trusts?", r"mutual funds?", r"investment funds?")),
    "insurance": (
        "product",
        "insurance",
        "insurance",
        (r"insurance(?: products?| polic(?:y|ies))?", r"annuit(?:y|ies)"),
    ),
    "mpf": ("product", "mpf", "MPF schemes", (r"mpf(?: schemes?)?", r"mandatory provident fund(?: schemes?)?")),
    # customer types; a family holds the types that exclude each other (a rule for business customers does not answer
    # for personal ones), the others overlap (a PEP may be high-risk and self-employed) and are each their own family
    "personal-customer": (
        "customer",
        "segment",
        "personal customers",
        (
            r"personal (?:customers?|clients?|banking customers?)",
            r"individual (?:customers?|clients?)",
            r"retail customers?",
        ),
    ),
    "business-customer": (
        "customer",
        "segment",
        "business customers",
        (
            r"(?:business|corporate|commercial|sme|company) (?:customers?|clients?|accounts?|cardholders?)",
            r"smes?",
            r"corporates",
        ),
    ),
    "non-resident": (
        "customer",
        "non-resident",
        "non-resident customers",
        (
            r"non[- ]residents?(?: customers?| clients?| borrowers?| applicants?)?",
            r"overseas (?:customers?|clients?|borrowers?|applicants?)",
            r"foreign nationals?",
        ),
    ),
    "first-time-buyer": (
        "customer",
        "first-time-buyer",
        "first-time buyers",
        (r"first[- ]time (?:home ?)?(?:buyers?|purchasers?|borrowers?|applicants?)",),
    ),
    "student": ("customer", "student", "students", (r"students?",)),
    "senior": (
        "customer",
        "age",
        "elderly customers",
        (
            r"(?:elderly|senior|older) (?:customers?|clients?|citizens?|people|persons?)",
            r"seniors",
            r"retirees?",
            r"pensioners?",
        ),
    ),
    "minor": ("customer", "age", "minors", (r"minors?", r"under[- ]18s?", r"children", r"child")),
    "self-employed": (
        "customer",
        "self-employed",
        "self-employed customers",
        (r"self[- ]employed(?: customers?| borrowers?| applicants?)?",),
    ),
    "vulnerable": (
        "customer",
        "vulnerable",
        "vulnerable customers",
        (r"vulnerable (?:customers?|clients?|persons?|people)",),
    ),
    "high-risk": (
        "customer",
        "high-risk",
        "high-risk customers",
        (r"high[- ]risk (?:customers?|clients?|relationships?)",),
    ),
    "pep": ("customer", "pep", "politically exposed persons", (r"peps?", r"politically exposed persons?")),
    "private-banking": (
        "customer",
        "segment",
        "private banking clients",
        (
            r"private banking(?: customers?| clients?)?",
            r"(?:premier|priority|wealth) (?:banking )?(?:customers?|clients?)",
        ),
    ),
    "guarantor": ("customer", "guarantor", "guarantors", (r"guarantors?",)),
    "joint": (
        "customer",
        "joint",
        "joint accounts",
        (r"joint (?:accounts?|borrowers?|applicants?|account ?holders?)",),
    ),
    # qualifying conditions (each its own family)
    "overseas": (
        "condition",
        "overseas",
        "transactions overseas",
        (r"overseas", r"abroad", r"outside (?:of )?hong kong", r"foreign countr(?:y|ies)"),
    ),
    "mainland": (
        "condition",
        "mainland",
        "the Mainland",
        (r"(?:the )?mainland(?: china)?", r"cross[- ]boundary", r"greater bay area"),
    ),
    "foreign-currency": (
        "condition",
        "foreign-currency",
        "foreign currencies",
        (r"foreign currenc(?:y|ies)", r"foreign exchange", r"(?:usd|rmb|cny)[- ](?:denominated|accounts?)"),
    ),
    "owner-occupied": (
        "condition",
        "owner-occupied",
        "owner-occupied properties",
        (r"owner[- ]occupied", r"self[- ]use", r"own use"),
    ),
    "non-owner-occupied": (
        "condition",
        "non-owner-occupied",
        "investment properties",
        (
            r"non[- ]owner[- ]occupied",
            r"investment propert(?:y|ies)",
            r"not occupied by the borrower",
            r"buy[- ]to[- ]let",
            r"rental (?:income|propert(?:y|ies))",
        ),
    ),
    "commercial-property": (
        "condition",
        "commercial-property",
        "commercial properties",
        (r"(?:commercial|industrial|non[- ]residential) propert(?:y|ies)", r"car ?parking spaces?"),
    ),
    "contactless": (
        "condition",
        "contactless",
        "contactless payments",
        (r"contactless(?: payments?| transactions?)?", r"tap(?:[- ]and[- ]go| to pay)?(?: payments?| transactions?)?"),
    ),
    "weekend": (
        "condition",
        "weekend",
        "weekends and public holidays",
        (r"weekends?", r"public holidays?", r"saturdays?", r"sundays?"),
    ),
}
# Words that head a product phrase: "a boat loan", "the platinum card", "the green mortgage scheme". A word before one
# of them names the product (its modifier), and the passage must name it too, whether the glossary knows it or not.
PRODUCT_HEADS = re.compile(
    r"^(?:loans?|cards?|accounts?|deposits?|programmes?|programs?|schemes?|plans?|bonds?|"
    r"facilit(?:y|ies)|overdrafts?|mortgages?|insurance|financing|transfers?|remittances?|"
    r"wallets?|cheques?)$"
)
