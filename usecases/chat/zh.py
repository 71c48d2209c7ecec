"""Chinese text for the chat: normalised for matching (OpenCC, full-width folded), segmented for BM25 (jieba),
split into sentences on 。！？, and a bilingual glossary of banking terms for cross-language retrieval.

Hong Kong policies are written in Traditional Chinese and staff ask in Traditional or Simplified. Matching
is done on one form: full-width digits and letters folded to ASCII (NFKC), Traditional converted to
Simplified (OpenCC `t2s`), so "結單" meets "结单" and "６０日" meets "60日". The original text is what is
stored, cited and shown; only the tokens BM25 sees and the words the extractive backend compares are
normalised. English text passes through every function here unchanged (nothing is paid for it).

The embedding model (all-MiniLM-L6-v2) is English-centred and no multilingual model ships inside a PyPI
package installable here, so cross-language retrieval goes through `GLOSSARY`: an English question about a
policy gets the Chinese names of the banking terms it uses added to its BM25 query, and a Chinese question
the English ones, so each finds the other language's version of a policy where the bank has both.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

CJK = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
SENTENCE_END_ZH = re.compile(r"(?<=[。！？!?；;])\s*|\n+")
_TOKEN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+|[a-z0-9][a-z0-9.%$,:]*", re.I)
# function words and the ways a question is asked: they never decide which sentence answers it
STOP_ZH = frozenset(
    """的 了 是 在 和 与 及 或 有 为 于 之 其 等 可 须 将 会 也 都 就 而 并 被 把 对 由 以 从 到 向 给 该 此 这 那
个 我们 我 你 您 他 她 它 们 吗 呢 吧 啊 请问 请 问 什么 多少 多久 几 几多 几耐 怎样 怎么 如何 哪 哪些 哪个 是否 能否 可以 可否
需要 要 应 应该 必须 得 能 会否 时 后 前 内 起 计 每 各 所 一个 一 不 没有 有没有 多 长 上 下 时间 情况 客户 银行 本行
""".split()
)


@lru_cache(maxsize=1)
def _t2s():
    import opencc

    return opencc.OpenCC("t2s")


@lru_cache(maxsize=1)
def _s2t():
    import opencc

    return opencc.OpenCC("s2t")


def has_cjk(text: str) -> bool:
    """True when the text holds Chinese characters (ASCII text is answered without a regex)."""
    return not text.isascii() and CJK.search(text) is not None


def fold(text: str) -> str:
    """Full-width digits, letters and punctuation to ASCII (NFKC): "６０日" -> "60日", "ＨＫ＄" -> "HK$"."""
    return text if text.isascii() else unicodedata.normalize("NFKC", text)


def simplified(text: str) -> str:
    """The matching form: folded and converted to Simplified Chinese (English unchanged)."""
    if not has_cjk(text):
        return fold(text)
    return _t2s().convert(fold(text))


def traditional(text: str) -> str:
    """Simplified Chinese to Traditional (for the synthetic library's Simplified questions the other way round)."""
    return _s2t().convert(text)


@lru_cache(maxsize=1)
def _jieba():
    import rjieba

    return rjieba


@lru_cache(maxsize=65536)
def _cut(run: str) -> tuple[str, ...]:
    return tuple(_jieba().cut(run))


def segment(text: str) -> list[str]:
    """Words of `text` in the matching form: Chinese runs cut by jieba, other words kept whole, lowercased."""
    out: list[str] = []
    for m in _TOKEN.finditer(simplified(text)):
        tok = m.group(0)
        if CJK.match(tok):
            out += [w for w in _cut(tok) if w.strip()]
        else:
            out.append(tok.lower().rstrip(".,:"))
    return [w for w in out if w]


def words(text: str) -> set[str]:
    """Content words of Chinese text for matching: segments without function words, and the two-character
    pieces of each stretch between function words, so segmentations that differ ("还款期" / "还款 期") still
    meet and a one-character qualifier counts ("中风险" is not "高风险")."""
    out: set[str] = set()
    stretch = ""
    for w in segment(text) + [""]:
        if w and CJK.match(w) and w not in STOP_ZH:
            stretch += w
            if len(w) >= 2:
                out.add(w)
            continue
        out.update(stretch[i : i + 2] for i in range(len(stretch) - 1))
        stretch = ""
        if w and w not in STOP_ZH and not CJK.match(w):
            out.add(w)
    return out


def for_bm25(text: str) -> str:
    """Text as BM25's tokenizer should see it: Chinese segmented and space-joined; English unchanged."""
    if not has_cjk(text):
        return text
    return " ".join(segment(text))


def split_sentences(text: str) -> list[str]:
    """Chinese sentences end at 。！？ (and ；); lines are sentences too."""
    return [s.strip() for s in SENTENCE_END_ZH.split(text) if s and s.strip()]


# --------------------------------------------------------------------------- bilingual glossary
# (English spellings (regex, case-insensitive), English query words, Chinese terms in the matching form (Simplified)).
GLOSSARY: list[tuple[str, str, tuple[str, ...]]] = [
    (r"dispute[sd]?|chargebacks?", "dispute", ("争议", "退款", "交易争议")),
    (r"card ?holders?", "cardholder", ("持卡人",)),
    (r"credit cards?|cards?", "card", ("信用卡", "卡")),
    (r"provisional credit|temporary credit", "provisional credit", ("临时", "存入")),
    (r"acknowledg\w*", "acknowledge", ("确认", "收到")),
    (r"lost|stolen", "lost stolen", ("遗失", "被盗")),
    (r"replacement", "replacement", ("补发",)),
    (r"contactless|tap", "contactless", ("非接触式",)),
    (r"block(?:ed|ing)?", "block", ("冻结", "止付")),
    (r"liability", "liability", ("责任",)),
    (r"unauthori[sz]ed", "unauthorised", ("未经授权",)),
    (r"mortgages?", "mortgage", ("按揭", "住宅按揭")),
    (r"loan[- ]to[- ]value|ltv", "ltv loan value", ("按揭成数", "贷款价值比率")),
    (r"debt[- ]servic\w* ratio|dsr", "dsr debt servicing ratio", ("供款与入息比率", "供款比率")),
    (r"stress(?:ed)? test", "stress test", ("压力测试",)),
    (r"tenor|repayment (?:term|period)", "tenor repayment", ("还款期",)),
    (r"owner[- ]occupi\w*", "owner occupied", ("自住",)),
    (r"complaints?", "complaint", ("投诉",)),
    (r"hotline", "hotline", ("热线",)),
    (r"final (?:reply|response)", "final reply", ("最终回复",)),
    (r"escalat\w*", "escalation", ("上报",)),
    (r"fps|faster payment", "fps", ("转数快",)),
    (r"scams?|fraud", "scam", ("诈骗", "骗案")),
    (r"payees?", "payee", ("收款人",)),
    (r"cooling[- ]off|hold", "cooling off hold", ("冷静期", "暂缓")),
    (r"due diligence|kyc|cdd", "due diligence", ("尽职审查", "客户尽职审查")),
    (r"periodic review|review", "periodic review", ("定期覆核", "覆核")),
    (r"high[- ]risk", "high risk", ("高风险",)),
    (r"medium[- ]risk", "medium risk", ("中风险",)),
    (r"low[- ]risk", "low risk", ("低风险",)),
    (r"source of funds", "source funds", ("资金来源",)),
    (r"retention|retain|keep", "retention keep", ("保存", "保留")),
    (r"fees?|charges?", "fee", ("费用", "收费")),
    (r"business days|working days", "business days", ("工作天",)),
    (r"suspicious transactions?|str", "suspicious transaction", ("可疑交易",)),
    (r"money laundering|aml", "money laundering", ("洗钱",)),
    (r"generative ai|genai|chatbot", "generative ai chatbot", ("生成式人工智能", "聊天机械人")),
]
_GLOSS = [(re.compile(r"\b(?:" + en + r")\b", re.I), zh) for en, _words, zh in GLOSSARY]
_EN_OF = {z: words_en for _en, words_en, zhs in GLOSSARY for z in zhs}


def expand_query(query: str) -> str:
    """The query with the other language's names of the banking terms it uses appended (for BM25 only)."""
    if has_cjk(query):
        s = simplified(query)
        extra = sorted({_EN_OF[z] for z in _EN_OF if z in s and _EN_OF[z]})
    else:
        extra = sorted({z for pat, zs in _GLOSS if pat.search(query) for z in zs})
    return f"{query} {' '.join(extra)}" if extra else query
