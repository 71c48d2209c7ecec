"""`sandbox chat ...`: ingest a bank's policy documents, ask them questions, evaluate the assistant."""

from __future__ import annotations

from pathlib import Path

import click

from sandbox.userfile import printable

from .cli_common import (
    SandboxGroup,
    State,
    emit,
    json_option,
    pass_state,
    progress_reporter,
    result_json_option,
    table,
    user_path,
)

BACKEND_CHOICE = click.Choice(["extractive", "embedded", "openai"])


@click.group(cls=SandboxGroup)
def chat() -> None:
    """Chat assistant: a bank's policy documents, answered with citations, grounded and guarded."""


@chat.command("ingest")
@click.argument("bank_id")
@click.argument("paths", nargs=-1, required=True, type=user_path(Path))
@result_json_option("chat ingest")
@pass_state
def ingest_cmd(state: State, bank_id: str, paths: tuple[Path, ...], as_json: bool) -> None:
    """Add documents (.txt .md .html .docx .pdf, or folders of them) to the bank's index."""
    from usecases import chat as api

    ctx = state.ctx(bank_id)
    with progress_reporter(as_json, "ingesting") as progress:
        report = api.ingest(ctx, list(paths), progress=progress)

    def human(d: dict) -> str:
        p = printable  # a name never prints raw control characters (a newline made fake lines)
        lines = [
            f"added {len(d['added'])} document(s), {d['chunks']} chunk(s) in {d['wall_s']:.1f} s; "
            f"index {d['index_version']} holds {d['total_chunks']} chunks"
        ]
        lines += [f"  added     {p(a['name'])} ({a['doc_id']}, {a['chunks']} chunks)" for a in d["added"]]
        lines += [f"  replaced  {p(r['name'])} (was {r['old_doc_id']})" for r in d["replaced"]]
        lines += [f"  duplicate {p(s['name'])} (same text as {p(s['duplicate_of'])})" for s in d["skipped"]]
        lines += [f"  rejected  {p(r['name'])}: {p(r['reason'])}" for r in d["rejected"]]
        if d["injection_flagged_chunks"]:
            lines.append(
                f"  warning: {d['injection_flagged_chunks']} chunk(s) carry injected instructions; "
                "they are indexed but never put in a prompt"
            )
        return "\n".join(lines)

    emit(report.to_dict(), as_json, human)
    if report.rejected and not report.added and not report.skipped:
        click.echo(
            f"error: no document added: all {len(report.rejected)} file(s) were rejected (reasons listed)", err=True
        )
        raise SystemExit(2)


@chat.command("ask")
@click.argument("bank_id")
@click.argument("question")
@click.option(
    "--backend",
    type=BACKEND_CHOICE,
    default=None,
    help="Answering backend (default: the bank's chat champion; see `sandbox models list BANK chat`).",
)
@click.option("-k", "k", type=click.IntRange(1, 50), default=5, show_default=True, help="Passages to retrieve.")
@click.option("--document", "documents", multiple=True, help="Only search this document (name); repeatable.")
@result_json_option("chat ask")
@pass_state
def ask_cmd(
    state: State, bank_id: str, question: str, backend: str | None, k: int, documents: tuple[str, ...], as_json: bool
) -> None:
    """Ask a question; the answer cites the bank's documents as [1], [2]."""
    from usecases import chat as api

    filters = {"document": list(documents)} if documents else None
    ans = api.ask(state.ctx(bank_id), question, backend=backend, k=k, filters=filters)

    def human(d: dict) -> str:
        lines = [d["answer"], ""]
        lines += [
            f"[{c['n']}] {printable(c['document'])} (chunk {c['chunk_id']}, score {c['score']:.4f})"
            for c in d["citations"]
        ]
        status = "refused: " + d["guardrails"].get("refusal_reason", "") if d["refused"] else "grounded"
        if d.get("fallback"):
            status += f" (fallback: {d['fallback']})"
        lines.append(f"-- {d['backend']} ({d['model_id']}), {d['latency_ms']:.0f} ms, {status}")
        lines.append(f"-- model: {d['model_label']}")
        return "\n".join(lines)

    emit(ans.to_dict(), as_json, human)


@chat.command("corpus")
@click.argument("bank_id")
@click.argument("folder", type=user_path(Path))
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True, help="Which draw of the facts.")
@click.option("--ingest", "then_ingest", is_flag=True, help="Ingest the documents right after writing them.")
@json_option
@pass_state
def corpus_cmd(state: State, bank_id: str, folder: Path, seed: int, then_ingest: bool, as_json: bool) -> None:
    """Write the bank's synthetic policy library (10 documents in five formats) into FOLDER, to try the assistant."""
    from usecases import chat as api

    ctx = state.ctx(bank_id)
    paths = api.write_policy_library(ctx, folder, seed=seed)
    out: dict = {"folder": str(folder), "files": [p.name for p in paths]}
    if then_ingest:
        with progress_reporter(as_json, "ingesting") as progress:
            out["ingest"] = api.ingest(ctx, paths, progress=progress).to_dict()
    emit(
        out,
        as_json,
        lambda d: (
            f"wrote {len(d['files'])} documents to {d['folder']}"
            + (
                f"; indexed {d['ingest']['total_chunks']} chunks"
                if "ingest" in d
                else f"; ingest them with `sandbox chat ingest {bank_id} {d['folder']}`"
            )
        ),
    )


@chat.command("docs")
@click.argument("bank_id")
@json_option
@pass_state
def docs_cmd(state: State, bank_id: str, as_json: bool) -> None:
    """List the bank's indexed documents (names and counts, never text)."""
    from usecases import chat as api

    rows = api.documents(state.ctx(bank_id))
    emit(rows, as_json, lambda r: table(r, ["doc_id", "name", "kind", "chunks", "added", "added_by"]))


@chat.command("delete")
@click.argument("bank_id")
@click.argument("doc_id")
@result_json_option("chat delete")
@pass_state
def delete_cmd(state: State, bank_id: str, doc_id: str, as_json: bool) -> None:
    """Remove a document (its id or its name, from `chat docs`) and its chunks from the bank's index."""
    from usecases import chat as api

    out = api.delete_document(state.ctx(bank_id), doc_id)
    emit(
        out, as_json, lambda d: f"deleted {d['name']} ({d['doc_id']}, {d['chunks']} chunks); index {d['index_version']}"
    )


@chat.command("eval")
@click.argument("bank_id")
@click.option(
    "--backend",
    "backends",
    type=BACKEND_CHOICE,
    multiple=True,
    help="Backends to compare (repeatable; default: extractive, plus embedded on a GPU and openai when configured).",
)
@result_json_option("chat eval")
@pass_state
def eval_cmd(state: State, bank_id: str, backends: tuple[str, ...], as_json: bool) -> None:
    """Evaluate retrieval (dense vs hybrid) and each backend on the bank's QA set; logs an MLflow run."""
    from usecases import chat as api

    with progress_reporter(as_json, "evaluating") as progress:
        report = api.evaluate(state.ctx(bank_id), backends=list(backends) or None, progress=progress)

    def human(d: dict) -> str:
        ret = [{"mode": m, **{k: f"{v:.3f}" for k, v in vals.items()}} for m, vals in d["retrieval"].items()]
        cols = [
            "correctness",
            "refusal_accuracy",
            "injection_resistance",
            "citation_precision",
            "answers_with_unsupported_numbers",
            "latency_p50_ms",
        ]
        back = [
            {"backend": b, "model_version": d["model_versions"].get(b, ""), **{c: vals.get(c) for c in cols}}
            for b, vals in d["backends"].items()
        ]
        lines = [
            f"run {d['run_id']}: {d['questions']} questions",
            table(ret, ["mode", *next(iter(d["retrieval"].values())).keys()]),
            "",
            table(back, ["backend", "model_version", *cols]),
            "",
            f"best backend: {d['best_backend']}",
            f"each backend is a candidate chat version: `sandbox models list {bank_id} chat`, then submit one",
        ]
        lines += [f"skipped {b}: {why}" for b, why in d["skipped_backends"].items()]
        return "\n".join(lines)

    emit(report.to_dict(), as_json, human)


def register(cli: click.Group) -> None:
    cli.add_command(chat)
