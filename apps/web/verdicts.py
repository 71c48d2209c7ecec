"""The assistant's guardrail verdicts in words: one line per check, what it found and what it did.

The full verdicts stay available as JSON behind a "raw" expander; these lines are what a scientist or a demo
audience reads under an answer (the JSON was some 1,500 px per answer)."""

from __future__ import annotations

import re
from typing import Any

_SENTENCE = re.compile(r"(?<=[.!?。！？])\s*")
_BLOCK_START = re.compile(r"^(\s*)([#>*+|-]|\d+[.)])")
_INLINE = str.maketrans({c: "\\" + c for c in "\\`*_[]<>$:~|"})


def _screen(label: str, rep: dict) -> str:
    inj = rep.get("injection") or {}
    pii = int(rep.get("pii_total") or 0)
    parts = []
    if rep.get("blocked"):
        reasons = ", ".join(inj.get("reasons") or []) or "injected instructions"
        parts.append(f"blocked ({reasons})")
    elif inj.get("flagged"):
        parts.append(f"flagged, score {float(inj.get('score', 0)):.2f}")
    else:
        parts.append("no injection found")
    if pii:
        kinds = ", ".join(sorted({str(f.get("type") or f.get("kind") or "PII") for f in rep.get("pii") or []}))
        parts.append(f"{pii} personal detail{'s' if pii != 1 else ''} redacted ({kinds})")
    return f"{label}: " + "; ".join(parts)


def lines(v: dict[str, Any]) -> list[tuple[bool, str]]:
    """(ok, sentence) per check, in the order the pipeline ran them; ok False marks what stopped or changed the answer."""
    out: list[tuple[bool, str]] = []
    if v.get("question"):
        out.append((not v["question"].get("blocked"), _screen("Question", v["question"])))
    excluded = v.get("chunks_excluded") or []
    if excluded:
        out.append((False, f"Passages: {len(excluded)} left out because they carry instructions to the assistant"))
    if v.get("chunks_redacted"):
        out.append(
            (True, f"Passages: personal details redacted in {v['chunks_redacted']} before the assistant saw them")
        )
    scope = v.get("scope") or {}
    if scope.get("mentions"):
        named = ", ".join(m["phrase"] for m in scope["mentions"])
        if scope.get("missing"):
            out.append((False, f"Scope: the question names {named}; no passage is about {scope['missing']!r}"))
        else:
            out.append((True, f"Scope: every passage used is about {named}"))
    g = v.get("grounding") or {}
    if g:
        sentences = g.get("sentences") or []
        backed = sum(bool(s.get("supported")) for s in sentences)
        text = f"Grounding: {backed} of {len(sentences)} sentence{'s' if len(sentences) != 1 else ''} backed by the cited passages"
        if g.get("unsupported_numbers"):
            text += f"; numbers not in any passage: {', '.join(map(str, g['unsupported_numbers']))}"
        if g.get("bad_citations"):
            text += f"; citations of passages that do not exist: {g['bad_citations']}"
        out.append((bool(g.get("supported")), text))
    if v.get("answer"):
        out.append((not v["answer"].get("blocked"), _screen("Answer", v["answer"])))
    if v.get("refusal_reason"):
        out.append((False, f"Refused: {v['refusal_reason']}"))
    return out


def highlight_passage(passage: str, cited: str) -> str:
    """A cited passage as a Markdown quote whose own Markdown reads as text, the sentence sharing most words with
    `cited` (the answer's sentences citing it) marked. Each line is marked on its own: a mark across a line break
    does not render."""
    words = _tokens(cited)
    lines = [ln for ln in passage.strip().splitlines()]
    parts = [[s for s in _SENTENCE.split(ln) if s] for ln in lines]
    best, best_n = None, 0
    for i, sentences in enumerate(parts):
        for j, sentence in enumerate(sentences):
            n = len(words & _tokens(sentence))
            if n > best_n:
                best, best_n = (i, j), n
    out = []
    for i, sentences in enumerate(parts):
        shown = []
        for j, sentence in enumerate(sentences):
            text = sentence.translate(_INLINE)
            shown.append(f":orange-background[{text}]" if (i, j) == best else text)
        line = " ".join(shown)
        out.append(_BLOCK_START.sub(_escape_block_start, line) if line else "")
    return "> " + "  \n> ".join(out)


def _escape_block_start(m: re.Match) -> str:
    """'## 4.' -> '\\## 4.', '3. Definitions' -> '3\\. Definitions': the line stays text, not a heading or a list."""
    lead, mark = m.group(1), m.group(2)
    return lead + (mark[:-1] + "\\" + mark[-1] if mark[0].isdigit() else "\\" + mark)


def _tokens(text: str) -> set[str]:
    """Latin words and digits, and character pairs of Chinese runs (Chinese has no spaces to split words on)."""
    text = text.lower()
    out = set(re.findall(r"[a-z0-9]+", text))
    for run in re.findall(r"[\u3400-\u9fff]+", text):
        out |= {run[i : i + 2] for i in range(max(len(run) - 1, 1))}
    return out
