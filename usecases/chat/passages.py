"""The text of cited passages, for the scientist who asked: the chat page shows the sentence an answer rests on.

Read from the bank's current index by chunk id (`<doc_id>#<chunk_no>`, as citations name them) and passed
through the same chunk guardrail the answer's passages went through, so the text shown is what the assistant
saw (personal details redacted). Document text is raw bank data: `data.read`, never a reviewer."""

from __future__ import annotations

from . import guardrails
from . import index as _index


def passage_texts(ctx, chunk_ids: list[str]) -> dict[str, str]:
    """{chunk id: redacted passage text} for the ids still in the bank's index (a deleted document's are absent)."""
    ctx.require("data.read")
    wanted = set(chunk_ids)
    if not wanted:
        return {}
    snap = _index.load(ctx.path("chat", "index", create=True))
    if not snap.size:
        return {}
    chunks = snap.chunks
    ids = chunks["doc_id"] + "#" + chunks["chunk_no"].astype(str)
    return {cid: guardrails.check_chunk(text).text for cid, text in zip(ids, chunks["text"]) if cid in wanted}
