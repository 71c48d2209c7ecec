"""Chat model versions: an evaluated answering configuration under the model lifecycle (sandbox/lifecycle.py).

A chat "model" is not one file: it is how the assistant answers (the backend and its model, the retrieval mode,
k, the embedding model). `chat eval` registers one candidate per backend it evaluated, its gates (correctness,
refusal, injection resistance on the bank's QA set) checked on the metrics the evaluation just computed, and the
configuration recorded in the ledger with it: serving reads the ledger's copy, never the run's artifact.

`chat ask` with no backend answers with the champion's configuration. With none it still answers, with the
sandbox default, and says in every answer that no reviewed configuration is in force and which commands make
one: refusing would leave a scientist unable to try the assistant before its first evaluation. A backend named
explicitly is labelled as not the champion (unless it is the champion's).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sandbox import lifecycle

CONFIG_DIR = "chat_config"


@dataclass(frozen=True)
class Choice:
    """The configuration an answer is made with, and how the answer names it."""

    backend: str
    version: str  # the registered version, "" when none is in force
    label: str


def register_candidates(ctx, run_id: str, backends: dict[str, dict], common: dict[str, Any]) -> dict[str, str]:
    """Inside the evaluation's MLflow run: log each evaluated backend's configuration, register it as a chat
    version and record it as a candidate with its gate results. Returns {backend: version}."""
    import mlflow

    from .answer import make_backend
    from .embed import get_embedder

    out = {}
    for backend, metrics in backends.items():
        config = {"backend": backend, "model_id": make_backend(backend, get_embedder()).model_id, **common}
        mlflow.log_dict(config, f"{CONFIG_DIR}/{backend}/config.json")
        mv = ctx.register_artifacts("chat", run_id, f"{CONFIG_DIR}/{backend}")
        lifecycle.record_candidate(ctx, "chat", mv.version, run_id, metrics, config=config)
        out[backend] = str(mv.version)
    return out


def choose(ctx, backend: str | None) -> Choice:
    """The champion's backend when none is named; otherwise the one named, labelled against the champion."""
    from .answer import default_backend

    champ = lifecycle.champion(ctx, "chat") if ctx.can("models.read") else None
    served = str(champ.config.get("backend") or "") if champ else ""
    if backend is None and champ is not None and served:
        return Choice(served, champ.version, champ.label())
    if backend is None:
        name = default_backend()
        return Choice(
            name,
            "",
            f"no chat champion: the sandbox default ({name}), not reviewed; evaluate (`sandbox chat eval "
            f"{ctx.bank}`), submit, and promote one (`sandbox models promote {ctx.bank} chat VERSION`)",
        )
    if champ is not None and backend == served:
        return Choice(backend, champ.version, champ.label())
    return Choice(backend, "", f"{backend}, chosen by name (not the champion)")
