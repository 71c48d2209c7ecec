"""Scope check: a passage answers a question only if it is about what the question is about.

Asked "What is the longest repayment period we allow on a car loan?" with no car-loan policy in the
library, the extractive backend answered with the mortgage tenor, cited: the sentence was the best
match, and nothing asked whether it concerned the same product. Here every product, customer type and
qualifying condition the question names (`lexicon.SCOPE_TERMS`, plus any word heading a product phrase:
"a boat loan", "the platinum card") must be matched by the passage, its section heading or its document
title; a product may also be matched by the rest of its document when the passage names no other product
of its family ("credit cards" in a card policy's scope clause), or by a document about the whole family
("Card" policies that name no particular card); a customer type fails only where the passage is about one that
excludes it (business customers for a personal customer; a rule that names no customer type applies to every
customer, and overlapping types, a PEP and a high-risk customer, do not exclude each other); a condition ("a commercial property",
"overseas") must be named by the passage, its section, title or document. Passages that fail are not shown to the backend; when none
is left, the answer is a refusal that names what the documents do not cover.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

from .grounding import STOP
from .lexicon import PRODUCT_HEADS, SCOPE_TERMS, stem, terms

# Words before a product word that say which one, how much or when, not what product it is.
NOT_A_MODIFIER = frozenset(
    """maximum minimum max min new existing same any each every first last next previous daily
weekly monthly quarterly annual yearly longest shortest total whole single outstanding usual standard normal regular
typical relevant applicable specific particular certain different other another given such valid eligible open closed
current old main primary own entire full additional extra further original underlying related affected approved
proposed temporary provisional small large high low big per initial final correct wrong right bank bank's our
customer customer's customers client client's clients staff one two three same-day someone's their his her its
what which whose""".split()
)
_TOKEN = re.compile(r"[a-z][a-z'-]*|\d[\d,.]*")
_HEADING = re.compile(r"^\s*(?:#{1,6}\s*)?(?:\d+(?:\.\d+)*\.?\s+)?([A-Z][^\n:]{1,80}?)\s*$")
_PLACEHOLDER = re.compile(r"\[[A-Z][A-Z_ ]*\]")
_UNCOUNTABLE = ("insurance", "financing", "lending", "leasing", "trading", "banking", "fps", "mpf")


@lru_cache(maxsize=1)
def _patterns() -> list[tuple[str, re.Pattern]]:
    out = []
    for key, (_kind, _family, _display, spellings) in SCOPE_TERMS.items():
        alts = sorted(spellings, key=len, reverse=True)
        out.append((key, re.compile(r"(?<![\w-])(?:" + "|".join(alts) + r")(?![\w-])", re.I)))
    return out


def spans(text: str) -> list[tuple[int, int, str]]:
    """(start, end, id) of the glossary terms in `text`, overlaps resolved in favour of the longer span."""
    found = [(m.start(), m.end(), key) for key, pat in _patterns() for m in pat.finditer(text)]
    found.sort(key=lambda t: (-(t[1] - t[0]), t[0]))
    taken: list[tuple[int, int, str]] = []
    for s, e, key in found:
        if all(e <= ts or s >= te for ts, te, _ in taken):
            taken.append((s, e, key))
    return sorted(taken)


def ids(text: str) -> set[str]:
    return {key for _, _, key in spans(text)}


@dataclass(frozen=True)
class Mention:
    kind: str  # "product" | "customer" | "condition" | "modifier"
    key: str  # a SCOPE_TERMS id, or the modifier's stem
    family: str
    phrase: str  # as the question writes it

    @property
    def generic(self) -> bool:
        return self.kind == "product" and self.key == self.family

    def display(self) -> str:
        if self.kind == "condition":
            return SCOPE_TERMS[self.key][2]
        if self.kind == "product" and self.phrase.replace(" ", "").isupper():
            return SCOPE_TERMS[self.key][2]  # "FPS" -> "FPS payments"
        return _plural(self.phrase)


def _plural(phrase: str) -> str:
    words = phrase.split()
    last = words[-1]
    low = last.lower()
    if low.endswith(("s", "x", "ch", "sh")) or low.endswith(_UNCOUNTABLE):
        return phrase
    if low.endswith("y") and low[-2:-1] not in "aeiou":
        last = last[:-1] + "ies"
    else:
        last += "s"
    return " ".join(words[:-1] + [last])


def mentions(question: str) -> list[Mention]:
    """What the question is about: glossary products, customer types and conditions, and the words that name a
    product the glossary does not know ("boat" in "a boat loan")."""
    question = _PLACEHOLDER.sub(lambda m: " " * len(m.group(0)), question)  # "[CARD]" is a redacted number
    found = spans(question)
    out: list[Mention] = []
    tokens = [(m.start(), m.end(), m.group(0).lower()) for m in _TOKEN.finditer(question)]
    for i, (s, e, key) in enumerate(found):
        kind, family, _display, _ = SCOPE_TERMS[key]
        # the phrase as a refusal names it: "mortgage insurance programme", not "insurance"
        ps, pe = s, e
        while i > 0 and SCOPE_TERMS[found[i - 1][2]][0] == "product" and not question[found[i - 1][1] : ps].strip():
            i -= 1
            ps = found[i][0]
        for ts, te, w in tokens:
            if ts >= pe and not question[pe:ts].strip() and PRODUCT_HEADS.match(w):
                pe = te
        out.append(Mention(kind, key, family, question[ps:pe] if kind == "product" else question[s:e]))
    in_span = [next((k for s, e, k in found if s <= ts < e), None) for ts, _te, _w in tokens]
    seen: set[str] = set()
    for i, (ts, te, w) in enumerate(tokens):
        span_key = in_span[i]
        if span_key is not None:
            if SCOPE_TERMS[span_key][0] != "product" or (i > 0 and in_span[i - 1] == span_key):
                continue  # a product phrase heads from its first word
            family = SCOPE_TERMS[span_key][1]
            end = next(e for s, e, k in found if s <= ts < e)
        elif PRODUCT_HEADS.match(w):
            family, end = "", te
        else:
            continue
        j = i - 1
        while j >= 0 and i - j <= 2:
            pw = tokens[j][2]
            if (
                question[tokens[j][1] : tokens[j + 1][0]].strip()
                or in_span[j] is not None
                or pw in STOP
                or pw in NOT_A_MODIFIER
                or len(pw) < 3
                or pw[0].isdigit()
                or pw.endswith(("ing", "ly", "'s"))
                or PRODUCT_HEADS.match(pw)
            ):
                break
            key = stem(pw)
            if key not in seen:
                seen.add(key)
                out.append(Mention("modifier", key, family, question[tokens[j][0] : end]))
            j -= 1
    return out


# -- evidence: what a passage, its section and its document are about ----------------------------------------
@dataclass
class _Doc:
    title: str
    chunks: dict[int, str]
    ids: set[str]
    terms: set[str]
    title_ids: set[str] = field(default_factory=set)


_doc_cache: dict[tuple, dict[str, _Doc]] = {}


def _docs(snap) -> dict[str, _Doc]:
    key = (id(snap), snap.version, snap.size)
    if key not in _doc_cache:
        if len(_doc_cache) > 8:
            _doc_cache.clear()
        titles = {d["doc_id"]: (d.get("title") or d.get("name") or "") for d in snap.documents}
        by_doc: dict[str, dict[int, str]] = {}
        for doc_id, no, text in zip(snap.chunks["doc_id"], snap.chunks["chunk_no"], snap.chunks["text"]):
            by_doc.setdefault(str(doc_id), {})[int(no)] = str(text)
        docs = {}
        for doc_id, chunks in by_doc.items():
            full = titles.get(doc_id, "") + "\n" + "\n".join(chunks[n] for n in sorted(chunks))
            docs[doc_id] = _Doc(titles.get(doc_id, ""), chunks, ids(full), terms(full), ids(titles.get(doc_id, "")))
        _doc_cache[key] = docs
    return _doc_cache[key]


def section_heading(doc: _Doc, chunk_no: int) -> str:
    """The last heading line before the chunk (a short line without closing punctuation), searched a few chunks back."""
    for n in range(chunk_no - 1, max(chunk_no - 6, -1), -1):
        lines = [ln for ln in doc.chunks.get(n, "").splitlines() if ln.strip()]
        for ln in reversed(lines):
            m = _HEADING.match(ln)
            if m and len(ln.split()) <= 12 and ln.rstrip()[-1:] not in ".;:,)!?":
                return m.group(1)
    return ""


def _satisfied(m: Mention, local_ids: set[str], local_terms: set[str], doc: _Doc | None) -> bool:
    doc_ids = doc.ids if doc else set()
    doc_terms = doc.terms if doc else set()
    if m.kind == "modifier":
        return m.key in local_terms or m.key in doc_terms
    family_of = {k: SCOPE_TERMS[k][1] for k in local_ids | doc_ids}
    if m.generic:
        return any(f == m.family for f in family_of.values())
    if m.key in local_ids:
        return True
    if m.kind == "condition":
        return m.key in doc_ids
    rivals = {k for k in local_ids if family_of[k] == m.family and k != m.family}
    if rivals:  # the passage is about another product (customer type) of the same family
        return False
    if m.kind == "customer":  # a rule that names no customer type applies to every customer
        return True
    if m.key in doc_ids:
        return True
    # a document titled by the whole family ("Card ... Policy") that names no particular one covers every member
    members = {k for k in doc_ids if family_of[k] == m.family}
    return members == {m.family} and doc is not None and m.family in doc.title_ids


@dataclass
class ScopeResult:
    mentions: list[Mention]
    kept: list  # passages that match every mention
    missing: Mention | None  # what no kept passage could match, when none is kept
    covered_elsewhere: bool  # some document of the library matches the missing mention (retrieval missed it)

    def to_dict(self) -> dict:
        return {
            "mentions": [{"kind": m.kind, "phrase": m.phrase} for m in self.mentions],
            "kept": [p.chunk_id for p in self.kept],
            "missing": self.missing.phrase if self.missing else None,
            "covered_elsewhere": self.covered_elsewhere,
        }


def check(snap, question: str, passages: list) -> ScopeResult:
    """Keep the passages that match every product, customer type and condition the question names."""
    ms = mentions(question)
    if not ms:
        return ScopeResult([], list(passages), None, False)
    docs = _docs(snap)
    kept, score = [], {m: 0 for m in ms}
    for p in passages:
        doc_id, _, no = p.chunk_id.rpartition("#")
        doc = docs.get(doc_id)
        heading = section_heading(doc, int(no)) if doc and no.isdigit() else ""
        local = "\n".join([doc.title if doc else "", heading, p.text])
        local_ids, local_terms = ids(local), terms(local)
        ok = [m for m in ms if _satisfied(m, local_ids, local_terms, doc)]
        for m in ok:
            score[m] += 1
        if len(ok) == len(ms):
            kept.append(p)
    if kept:
        return ScopeResult(ms, kept, None, False)
    missing = min(ms, key=lambda m: score[m])  # the first of the least matched, in question order
    elsewhere = any(_satisfied(missing, set(), set(), d) for d in docs.values())
    return ScopeResult(ms, [], missing, elsewhere)
