"""What the chat assistant returns: the report of an ingest and an answer (the evaluation's report is in evaluate.py).

Plain dataclasses with `to_dict()`, shared by the CLI's --json, the app and the tests.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass
class IngestReport:
    added: list[dict] = field(default_factory=list)  # {doc_id, name, chunks}
    skipped: list[dict] = field(default_factory=list)  # duplicates: {name, duplicate_of}
    replaced: list[dict] = field(default_factory=list)  # same name, new content: {name, old_doc_id, doc_id}
    rejected: list[dict] = field(default_factory=list)  # {name, reason}
    chunks: int = 0  # chunks embedded in this call
    total_chunks: int = 0  # chunks in the index afterwards
    injection_flagged_chunks: int = 0
    wall_s: float = 0.0  # the whole ingest
    index_version: str = ""  # the index snapshot afterwards (v000007), as an answer's trace names it

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Answer:
    question: str  # as redacted
    answer: str
    refused: bool
    citations: list[dict]
    guardrails: dict
    backend: str
    model_id: str
    latency_ms: float
    confidence: float = 0.0
    grounded: bool = False
    fallback: str | None = None
    trace_id: str | None = None
    prompt_hash: str = ""
    model_version: str = ""  # the chat version answering ("" when none is in force: usecases/chat/versions.py)
    model_label: str = ""  # "champion v3", or why it is not the champion

    def to_dict(self) -> dict:
        return asdict(self)
