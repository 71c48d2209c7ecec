"""The extractive backend for Chinese questions: the sentence of the passages that best answers, cited.

The English scorer leans on an English embedding model and English stems; a Chinese question gets its own:
the IDF-weighted share of the question's words (jieba segments and their two-character pieces, in the
Simplified matching form, so Traditional and Simplified wordings score alike) found in a sentence, plus a
bonus when the sentence holds the kind of value the question asks for (a duration, an amount, a percentage,
a time of day). Sentences end at 。！？. Below `ZH_EXTRACT_MIN` it refuses. A question naming a product the
passages never mention (汽車貸款 when only the mortgage policy speaks of 還款期) is refused, naming it:
a figure from another product, cited, is worse than a refusal.

The answer quotes the original sentence (Traditional stays Traditional) so the grounding check finds it.
"""

from __future__ import annotations

import math
import re

from . import zh

# Calibrated on the Chinese QA set of the calibration banks (peak-bank seeds 0-1, lantau-bank seed 0) only.
ZH_EXTRACT_MIN = 0.45
TYPE_BONUS = 0.2
_CLAUSE_NO = re.compile(r"^\d+(\.\d+)*\.?\s*")
# question cues (matching form) -> the value a sentence must hold
_TYPES = [
    (
        re.compile(
            r"多久|多长|几日|几天|多少日|多少天|期限|几个月|多少个月|几年|多少年|何时|几耐|多快|多少个工作天|几个工作天|多少分钟|几分钟|多少小时|几小时|多少秒|几秒|频率|多经常|每隔"
        ),
        re.compile(r"\d+\s*(?:个)?(?:日|天|工作天|月|年|小时|分钟|秒)"),
    ),
    (
        re.compile(r"多少钱|金额|费用|收费|几多钱|多少元|港币|港元|限额|起点|门槛|分界|楼价|损失|承担"),
        re.compile(r"港币|港元|hk\$|\d\s*元|\d+\s*万"),
    ),
    (re.compile(r"百分之|比率|成数|比例|%"), re.compile(r"%|百分之")),
    (re.compile(r"几点|开放时间|办公时间|服务时间|营业时间|什么时间|哪段时间"), re.compile(r"\d{1,2}:\d{2}")),
]
# products and customer types a question may name: one the passages never mention is not answered from them
PRODUCTS = (
    "汽车贷款",
    "车贷",
    "私人贷款",
    "私人分期",
    "学生贷款",
    "商业贷款",
    "定期存款",
    "储蓄户口",
    "外币",
    "保险",
    "强积金",
    "白金卡",
    "白金信用卡",
    "年费",
    "旅游",
    "保险箱",
    "股票",
    "基金",
    "债券",
    "外汇",
    "支票簿",
    "提早还款",
    "转按",
    "加按",
    "信用卡",
    "按揭",
    "转数快",
    "投诉",
    "尽职审查",
    "可疑交易",
)
REFUSAL_ZH = "文件未有涵蓋此問題。"


def _types(question_s: str) -> list[re.Pattern]:
    return [val for cue, val in _TYPES if cue.search(question_s)]


def missing_product(question: str, passages) -> str | None:
    """A product the question names that no passage mentions (in the matching form), or None."""
    q = zh.simplified(question)
    text = "\n".join(zh.simplified(p.text) for p in passages)
    for term in PRODUCTS:
        if term in q and term not in text:
            return term
    return None


def rank(question: str, passages) -> list[tuple[float, int, str]]:
    """(score, passage number, original sentence), best first."""
    cands: list[tuple[int, str, str]] = []  # (n, original, matching form)
    for p in passages:
        for s in zh.split_sentences(p.text):
            s = _CLAUSE_NO.sub("", s).strip()
            if zh.has_cjk(s) and len(s) >= 6:
                cands.append((p.n, s, zh.simplified(s)))
    q_words = zh.words(question)
    if not cands or not q_words:
        return []
    sent_words = [zh.words(s) for _, s, _ in cands]
    n = len(cands)
    idf = {w: math.log((n + 1) / (1 + sum(w in sw for sw in sent_words))) + 1.0 for w in q_words}
    mass = sum(idf.values())
    types = _types(zh.simplified(question))
    scored = []
    for (pn, s, s_norm), sw in zip(cands, sent_words):
        score = sum(idf[w] for w in q_words & sw) / mass
        if types:
            score += TYPE_BONUS if any(t.search(s_norm.lower()) for t in types) else -TYPE_BONUS
        scored.append((score, pn, s))
    scored.sort(key=lambda t: (-t[0], t[1]))
    return scored


def answer(question: str, passages) -> str | None:
    """The cited sentence answering a Chinese question, or None to refuse."""
    if missing_product(question, passages):
        return None
    ranked = rank(question, passages)
    if not ranked or ranked[0][0] < ZH_EXTRACT_MIN:
        return None
    _, n, sentence = ranked[0]
    return f"{sentence.rstrip('。；;.')} [{n}]。"
