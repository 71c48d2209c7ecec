"""The grounding check: an answer stands only if its sentences and numbers are in the passages it cites.

A generator's answer is never trusted on its own (SmolLM2 invented a fee when
measured here). For each sentence of an answer: the passages it cites (or, for a
sentence citing nothing, every passage the answer cites) must contain most of its
content words, and every number in it must appear in those passages. Citations
must point at passages that exist.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field

from . import zh

CITATION = re.compile(r"\[(\d{1,2})\]")
NUMBER = re.compile(r"(?<![A-Za-z0-9_.])\d+(?:,\d{3})*(?:\.\d+)?")  # after a Chinese character too: "於60日"
WORD = re.compile(r"[a-z][a-z'-]+|\d+(?:\.\d+)?")
SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\[(\"'])|\n+")
STOP = frozenset(
    """a an the and or but if of to in on at by for with from as is are was were be been being this that these
those it its their there then than so such not no nor can could may might must shall should will would do does did done
has have had having which who whom whose what when where why how all any each every both either neither more most other
some own same too very just also into onto over under about above below up down out off again further once here only
per via within without we our you your they them he she his her i me my us""".split()
)
SUPPORT_MIN = 0.7  # share of a sentence's content words found in its cited passages


def split_sentences(text: str) -> list[str]:
    parts = [s.strip() for s in SENTENCE_END.split(text) if s and s.strip()]
    if not zh.has_cjk(text):
        return parts
    return [s for part in parts for s in zh.split_sentences(part)]  # Chinese sentences end at 。！？


def _stem(word: str) -> str:
    for suffix in ("ments", "ment", "ing", "ed", "es", "s"):
        if len(word) > len(suffix) + 3 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


def content_words(text: str) -> set[str]:
    out = {_stem(w) for w in WORD.findall(text.lower()) if w not in STOP and len(w) > 1 and not w[0].isdigit()}
    return out | zh.words(text) if zh.has_cjk(text) else out


def numbers(text: str) -> set[str]:
    """Numbers as written, without thousands separators or trailing zeros after a point: 1,000 -> 1000; 2.50 -> 2.5."""
    out = set()
    for raw in NUMBER.findall(CITATION.sub(" ", zh.fold(text))):  # full-width digits: "６０" == "60"
        n = raw.replace(",", "")
        if "." in n:
            n = n.rstrip("0").rstrip(".")
        out.add(n.lstrip("0") or "0")
    return out


@dataclass
class SentenceCheck:
    sentence: str
    cited: list[int]
    coverage: float
    missing_numbers: list[str]
    supported: bool


@dataclass
class Grounding:
    supported: bool
    sentences: list[SentenceCheck] = field(default_factory=list)
    unsupported_numbers: list[str] = field(default_factory=list)
    bad_citations: list[int] = field(default_factory=list)
    reason: str = ""

    def to_dict(self) -> dict:
        return {
            "supported": self.supported,
            "reason": self.reason,
            "unsupported_numbers": self.unsupported_numbers,
            "bad_citations": self.bad_citations,
            "sentences": [{k: v for k, v in asdict(s).items() if k != "sentence"} for s in self.sentences],
        }


def check(answer: str, passages: dict[int, str]) -> Grounding:
    """Check `answer` (with [n] citations) against passages numbered from 1."""
    body = answer.strip()
    if not body:
        return Grounding(False, reason="empty answer")
    cited_all = sorted({int(n) for n in CITATION.findall(body)})
    bad = [n for n in cited_all if n not in passages]
    if not cited_all:
        return Grounding(False, reason="the answer cites no passage")
    if bad:
        return Grounding(False, bad_citations=bad, reason=f"the answer cites passages that do not exist: {bad}")
    result = Grounding(True)
    for sentence in split_sentences(body):
        cited = sorted({int(n) for n in CITATION.findall(sentence)}) or cited_all
        source = "\n".join(passages[n] for n in cited)
        words = content_words(CITATION.sub(" ", sentence))
        if not words and not numbers(sentence):
            continue  # a bare citation or punctuation
        have = content_words(source)
        coverage = len(words & have) / len(words) if words else 1.0
        missing = sorted(numbers(sentence) - numbers(source))
        ok = coverage >= SUPPORT_MIN and not missing
        result.sentences.append(SentenceCheck(sentence, cited, round(coverage, 3), missing, ok))
        result.unsupported_numbers += missing
        if not ok:
            result.supported = False
    if not result.sentences:
        return Grounding(False, reason="the answer says nothing checkable")
    if not result.supported:
        bad_s = [s for s in result.sentences if not s.supported]
        why = []
        if result.unsupported_numbers:
            why.append(f"numbers not in the cited passages: {', '.join(sorted(set(result.unsupported_numbers)))}")
        if any(s.coverage < SUPPORT_MIN for s in bad_s):
            why.append(
                f"{sum(s.coverage < SUPPORT_MIN for s in bad_s)} sentence(s) not supported by the cited passages"
            )
        result.reason = "; ".join(why)
    return result
