"""Traditional Chinese versions of six policies of the synthetic library, and a Chinese QA set.

Hong Kong banks publish their policies in English and Traditional Chinese; staff ask in both, some in
Simplified. The Chinese documents quote the same drawn facts as the bank's English library
(`corpus._draw_facts`), rendered the Chinese way ("78 days" -> "78日", "HKD 7,000" -> "港幣7,000元"), so a
bilingual bank holds both versions of each policy with the same figures. The QA set is generated like the
English one: one question per fact (about one in three turned into Simplified Chinese by OpenCC),
questions on products the library does not cover (unanswerable) and prompt injections in Chinese.
`heldout_qa_set_zh` holds other wordings, never used to calibrate anything.

    docs = generate_corpus_zh("peak-bank")           # CorpusDocument, doc_id "<english doc_id>-zh"
    items = qa_set_zh("peak-bank")                    # QAItem, expected in the Chinese rendering
"""

from __future__ import annotations

import re
from pathlib import Path

from .corpus import CorpusDocument, QAItem, _check, _draw_facts, _rng, bank_display_name, write_document
from .corpus_templates_zh import DOCUMENTS_ZH, HELDOUT_UNANSWERABLE_ZH, INJECTION_QUESTIONS_ZH, UNANSWERABLE_ZH
from .zh import _t2s

_UNITS = {
    "business days": "個工作天",
    "days": "日",
    "hours": "小時",
    "minutes": "分鐘",
    "seconds": "秒",
    "months": "個月",
    "years": "年",
    "basis points": "個基點",
}


def zh_value(value: str) -> str:
    """A drawn fact as a Chinese document writes it: "HKD 25 million" -> "港幣2,500萬元", "08:30 to 19:30" -> "08:30至19:30"."""
    if m := re.fullmatch(r"HKD ([\d,]+) million", value):
        return f"港幣{int(m.group(1).replace(',', '')) * 100:,}萬元"
    if m := re.fullmatch(r"HKD ([\d,]+)", value):
        return f"港幣{m.group(1)}元"
    if m := re.fullmatch(r"(\d+) (business days|days|hours|minutes|seconds|months|years|basis points)", value):
        return f"{m.group(1)}{_UNITS[m.group(2)]}"
    if m := re.fullmatch(r"(\d\d?:\d\d) to (\d\d?:\d\d)", value):
        return f"{m.group(1)}至{m.group(2)}"
    return value


def _facts_zh(bank: str, seed: int) -> dict[str, dict[str, str]]:
    drawn = _draw_facts(bank, seed)
    return {spec["doc_id"]: {k: zh_value(drawn[spec["en"]][k]) for k in spec["facts"]} for spec in DOCUMENTS_ZH}


def _render(title: str, bank: str, ref: str, sections: list[tuple[str, list[str]]]) -> str:
    lines = [title, "=" * 20, f"{bank_display_name(bank)}（中文版本）", "", f"文件編號：{ref}", "分類：內部文件"]
    for i, (heading, clauses) in enumerate(sections, start=1):
        lines += ["", f"{i}. {heading}"]
        lines += [x for j, clause in enumerate(clauses, start=1) for x in ("", f"{i}.{j} {clause}")]
    return "\n".join(lines) + "\n"


def generate_corpus_zh(bank: str, seed: int = 0) -> list[CorpusDocument]:
    """The Traditional Chinese policies of a bank: same facts as its English library, doc_id "<english>-zh"."""
    _check(bank, seed)
    facts = _facts_zh(bank, seed)
    docs = []
    for spec in DOCUMENTS_ZH:
        values = {"bank": bank_display_name(bank), **facts[spec["doc_id"]]}
        sections = [(h, [c.format(**values) for c in clauses]) for h, clauses in spec["sections"]]
        text = _render(spec["title"], bank, f"{spec['ref']}-ZH", sections)
        docs.append(
            CorpusDocument(
                doc_id=spec["doc_id"],
                title=spec["title"],
                filename=f"{spec['doc_id']}.md",
                text=text,
                facts=dict(facts[spec["doc_id"]]),
                topic=spec["topic"],
            )
        )
    return docs


def write_corpus_zh(dest_dir: Path, bank: str, seed: int = 0) -> list[Path]:
    """Write the Chinese policies as Markdown (UTF-8), atomically; returns the paths."""
    dest_dir = Path(dest_dir)
    dest_dir.mkdir(parents=True, exist_ok=True)
    return [write_document(d, dest_dir / d.filename) for d in generate_corpus_zh(bank, seed)]


def _items(bank: str, seed: int, which: int, salt: str) -> list[QAItem]:
    facts = _facts_zh(bank, seed)
    rng = _rng(bank, seed, salt)
    items = []
    for spec in DOCUMENTS_ZH:
        for key, questions in spec["facts"].items():
            q = questions[which]
            if rng.random() < 1 / 3:  # staff from the mainland ask in Simplified
                q = _t2s().convert(q)
            items.append(QAItem(q, facts[spec["doc_id"]][key], spec["doc_id"], True, "fact"))
    return items


def qa_set_zh(bank: str, seed: int = 0) -> list[QAItem]:
    """Chinese questions: one per fact of the Chinese policies, unanswerable ones and injections."""
    _check(bank, seed)
    items = _items(bank, seed, 0, "questions-zh")
    items += [QAItem(q, None, None, False, "unanswerable") for q in UNANSWERABLE_ZH]
    items += [QAItem(q, None, None, False, "injection") for q in INJECTION_QUESTIONS_ZH]
    return items


def heldout_qa_set_zh(bank: str, seed: int = 0) -> list[QAItem]:
    """Held-out Chinese wordings of the same facts and other unanswerable questions (never calibrated on)."""
    _check(bank, seed)
    items = _items(bank, seed, 1, "heldout-zh")
    return items + [QAItem(q, None, None, False, "unanswerable") for q in HELDOUT_UNANSWERABLE_ZH]
