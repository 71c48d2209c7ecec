"""The evidence pack's report (report.html, report.pdf) and the facts the principle table is computed from.

The report holds nothing that changes between two builds of the same version (no build time, no builder):
those go in manifest.json, so the report's hash, like every other file's, is reproducible.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from . import principles
from .evidence_collect import Subject
from .report_html import Block, Link

STATUS_CSS = {
    "met": "met",
    "partly": "partly",
    "not addressed": "notaddressed",
    "not applicable": "notapplicable",
    "pass": "pass",
    "FAIL": "fail",
}
HEADLINE: dict[str, tuple[str, ...]] = {
    "fraud": ("average_precision", "card_precision_at_100", "roc_auc", "recall_at_budget"),
    "risk": ("xgboost_gini", "xgboost_ks", "xgboost_auc", "score_psi_oot_xgboost"),
    "chat": ("correctness", "refusal_accuracy", "citation_precision", "injection_resistance", "false_refusal_rate"),
}


def chat_metrics(files: dict[str, bytes], model=None) -> dict[str, float]:
    """The evaluation figures (reports/eval.json) of the chat version `model`'s backend (one evaluation run
    registers a version per backend), else of the run's best, under short names."""
    if "reports/eval.json" not in files:
        return {}
    table = json.loads(files["reports/eval.json"])
    wanted = (model.config.get("backend") if model is not None else None) or table.get("best_backend")
    best = next((b for b in table.get("backends", []) if b.get("backend") == wanted), None)
    if best is None:
        return {}
    names = {
        "correctness": "correctness",
        "refusal": "refusal_accuracy",
        "citation": "citation_precision",
        "injection_resistance": "injection_resistance",
        "false_refusal_rate": "false_refusal_rate",
    }
    return {k: float(best[v]) for k, v in names.items() if isinstance(best.get(v), (int, float))}


def headline(usecase: str, metrics: dict[str, float], chat: dict[str, float] | None = None) -> dict[str, float]:
    """The few figures a reviewer looks at first, as logged by the run (chat: its best backend's)."""
    if usecase == "chat" and chat:
        return {
            n: chat[k]
            for k, n in (
                ("correctness", "correctness"),
                ("refusal", "refusal_accuracy"),
                ("citation", "citation_precision"),
                ("injection_resistance", "injection_resistance"),
            )
            if k in chat
        }
    return {k: metrics[k] for k in HEADLINE.get(usecase, ()) if k in metrics}


def facts(
    subject: Subject,
    run: dict,
    files: dict[str, bytes],
    names: list[str],
    history: list[dict],
    entries: list[dict],
    chain_ok: bool,
    previous: str | None,
) -> dict[str, Any]:
    """What the pack holds (`names`: every file of the pack), in the terms `principles.assess` reads."""
    mv = subject.model
    review = mv.review if mv is not None else None
    if review is None:
        reviews = [h for h in history if h["event"] == "review.sign"]
        review = {"decision": reviews[-1]["state"], "by": reviews[-1]["by"]} if reviews else None
    fair = json.loads(files["reports/fairness.json"]) if "reports/fairness.json" in files else None
    psi = json.loads(files["reports/psi.json"]) if "reports/psi.json" in files else None
    mono = json.loads(files["reports/monotonicity.json"]) if "reports/monotonicity.json" in files else None
    return {
        "usecase": subject.usecase,
        "files": set(names),
        "stage": subject.stage,
        "version": subject.version,
        "gates": [g.to_dict() for g in mv.gates] if mv is not None else None,
        "review": review,
        "trained_by": run.get("trained_by"),
        "data_hash": run.get("data_hash"),
        "library_versions": run.get("library_versions"),
        "audit_entries": len(entries),
        "audit_chain_ok": chain_ok,
        "fairness_flags": list(fair.get("flags", [])) if fair is not None else None,
        "psi_flags": list(psi.get("flags", [])) if psi is not None else None,
        "score_psi_flags": list(psi.get("score_flags", [])) if psi is not None else None,
        "monotonic": all(v.get("monotone") for v in mono.values()) if isinstance(mono, dict) and mono else None,
        "chat_metrics": chat_metrics(files, subject.model),
        "previous_version": previous,
    }


def _title(subject: Subject) -> str:
    what = f"model v{subject.version} ({subject.stage})" if subject.version else f"evaluation run {subject.run_id[:8]}"
    return f"Evidence pack: {subject.bank} {subject.usecase} {what}"


def _summary(subject: Subject, run: dict, review: dict | None, gates: dict) -> Block:
    rows = [
        ("Bank", subject.bank),
        ("Use case", subject.usecase),
        ("Model version", subject.version or "none"),
        ("Stage (ledger)", subject.stage),
        ("Run", f"{run['run_name']} ({subject.run_id})"),
        ("Trained by (ledger)", run.get("trained_by") or "unrecorded: not started through the sandbox"),
        ("Latest review", f"{review.get('decision')} by {review.get('by')}" if review else "none"),
        (
            "Gates",
            ("all passed" if gates.get("gates_passed") else "NOT all passed") if gates["recorded"] else "not recorded",
        ),
        ("Training data hash", run.get("data_hash") or "not recorded"),
        ("Seed", run.get("seed") or "not recorded"),
        ("Code commit of the run", run.get("code_commit") or "not recorded"),
        ("Run started (UTC)", _utc(run.get("start_time"))),
    ]
    return Block("kv", rows=tuple(rows))


def _utc(ms: Any) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="seconds") if ms else ""


def _principles(rows: list[dict]) -> list[Block]:
    cites = "; ".join(
        f"{s['issuer']}, \u201c{s['title']}\u201d ({s['date']}) [{s['id']}]" for s in principles.sources()
    )
    counts = {s: sum(r["status"] == s for r in rows) for s in principles.STATUSES}
    table = tuple((r["id"], r["principle"], r["status"], tuple(Link(e) for e in r["evidence"]), r["why"]) for r in rows)
    return [
        Block("h2", "Principles and the evidence for each", "principles"),
        Block(
            "p",
            "Sources: " + cites + ". Principle names are our summaries, not the HKMA's wording. Status is "
            "computed from what this pack holds; evidence links open files inside the pack.",
        ),
        Block("p", ", ".join(f"{n} {s}" for s, n in counts.items())),
        Block(
            "table",
            columns=("id", "principle (our words)", "status", "evidence", "why"),
            rows=table,
            classes=STATUS_CSS,
        ),
    ]


def _gates(gates: dict) -> list[Block]:
    out = [Block("h2", "Gates", "gates")]
    if not gates["recorded"]:
        return out + [Block("p", gates["why"])]
    rows = tuple(
        (
            g["name"],
            g["metric"],
            f"{g['op']} {g['threshold']:g}",
            g["value"],
            "pass" if g["passed"] else "FAIL",
            g["why"],
        )
        for g in gates["gates"]
    )
    return out + [
        Block("table", columns=("gate", "metric", "bar", "value", "result", "why"), rows=rows, classes=STATUS_CSS)
    ]


def _csv_rows(data: bytes, limit: int = 200) -> tuple[tuple[str, ...], tuple[tuple[Any, ...], ...]]:
    import csv
    import io

    rows = list(csv.reader(io.StringIO(data.decode("utf-8"))))

    def cell(v: str) -> Any:
        try:
            return float(v)
        except ValueError:
            return v

    return tuple(rows[0]), tuple(tuple(cell(v) for v in r) for r in rows[1 : limit + 1])


def _tables(files: dict[str, bytes]) -> list[Block]:
    out = []
    for path, title, anchor, source in (
        ("tables/fairness.csv", "Fairness by group", "fairness", "reports/fairness.json"),
        ("tables/stability.csv", "Stability (PSI by vintage)", "stability", "reports/psi.json"),
    ):
        if path in files:
            cols, rows = _csv_rows(files[path])
            out += [
                Block("h2", title, anchor),
                Block("p", f"{path}, from the run's {source}."),
                Block("table", columns=cols, rows=rows),
            ]
    return out


def _history(history: list[dict], entries: list[dict]) -> list[Block]:
    hrows = tuple(
        (h["seq"], _utc(h["ts"]), h["event"], h["state"], h["by"], str(h["data"].get("comment", ""))) for h in history
    )
    arows = tuple(
        (e.get("seq"), _utc(e.get("ts")), e.get("actor"), e.get("event"), str(e.get("hash", ""))[:16]) for e in entries
    )
    return [
        Block("h2", "Review and lifecycle history (ledger)", "history"),
        Block("table", columns=("seq", "time (UTC)", "event", "state", "by", "comment"), rows=hrows)
        if hrows
        else Block("p", "No review or lifecycle event recorded."),
        Block("h2", "Audit entries", "audit"),
        Block(
            "p",
            "The bank's hash-chained audit entries about this version and its run (audit/entries.jsonl "
            "holds them whole, with hashes and MACs).",
        ),
        Block("table", columns=("seq", "time (UTC)", "actor", "event", "hash"), rows=arows),
    ]


def _suites(files: dict[str, bytes]) -> list[Block]:
    """Regulator-held test suites this version was scored on (assurance/suite_results.json): aggregates only."""
    raw = files.get("assurance/suite_results.json")
    if not raw:
        return []
    from .suite_results import table_rows

    rows = tuple(table_rows(json.loads(raw)))
    return [
        Block("h2", "Regulator-held test suites", "suites"),
        Block(
            "p",
            "The version scored by the platform on data the reviewers hold and the bank never read: the "
            "suite's figure beside the bank's own test figure; gap = suite - bank (negative: the bank's "
            "figure was optimistic); pass = every gate of the bank holds on the suite.",
        ),
        Block("table", columns=("suite", "run at (UTC)", "gates", "metric", "suite", "bank test", "gap"), rows=rows),
    ]


def _assurance(files: dict[str, bytes]) -> list[Block]:
    """AI-vs-AI results in the pack (assurance/fraud_attack.json, assurance/redteam.json): aggregates only."""
    from .evidence_assurance import rows as assurance_rows

    out: list[Block] = []
    for name in sorted(n for n in files if n in ("assurance/fraud_attack.json", "assurance/redteam.json")):
        if not out:
            out += [
                Block("h2", "AI vs AI assurance", "assurance"),
                Block(
                    "p",
                    "The latest adversarial test of this model by the sandbox's own attackers (an adversarial "
                    "fraud ring with a query budget; the assistant's red team), aggregates only; the full "
                    "run is in the bank's MLflow experiment (tag sandbox.assure).",
                ),
            ]
        for heading, columns, rows in assurance_rows(name, json.loads(files[name])):
            out += [Block("p", heading), Block("table", columns=columns, rows=tuple(rows))]
    return out


def blocks(
    subject: Subject,
    run: dict,
    files: dict[str, bytes],
    names: list[str],
    gates: dict,
    history: list[dict],
    entries: list[dict],
    rows: list[dict],
    review: dict | None,
) -> tuple[str, list[Block]]:
    """The report's title and blocks, from the pack's other files (`names`: every file of the pack)."""
    title = _title(subject)
    out = [
        Block("h1", title),
        Block(
            "p",
            "A signed evidence pack of the Financial GenAI Sandbox (synthetic data). Check it with "
            "`sandbox evidence verify PACK.zip`: every file's SHA-256 is in manifest.json, signed with "
            "Ed25519 (manifest.sig). Who built it and when is in manifest.json, not here, so that the same "
            "version and data give the same report.",
        ),
        Block("h2", "Summary", "summary"),
        _summary(subject, run, review, gates),
    ]
    out += _principles(rows) + _gates(gates)
    head = headline(subject.usecase, run["metrics"], chat_metrics(files, subject.model))
    out += [
        Block("h2", "Headline metrics", "metrics"),
        Block("table", columns=("metric", "value"), rows=tuple(head.items()))
        if head
        else Block("p", "No headline metric logged."),
    ]
    out += _tables(files) + _suites(files) + _assurance(files) + _history(history, entries)
    plots = sorted(p for p in files if p.startswith("plots/"))
    if plots:
        out.append(Block("h2", "Charts", "charts"))
        out += [Block("img", p, data=files[p]) for p in plots]
    if "model_card.md" in files:
        out += [
            Block("h2", "Model card", "model-card"),
            Block("md", files["model_card.md"].decode("utf-8", "replace")),
        ]
    listed = tuple((Link(p),) for p in sorted(names))
    out += [Block("h2", "Files in this pack", "files"), Block("table", columns=("file",), rows=listed)]
    return title, out


def _utc(ts: object) -> str:
    """An audit time (ISO, microseconds) as 'YYYY-MM-DD HH:MM:SS': readable, and one line in the PDF's table."""
    try:
        return datetime.fromisoformat(str(ts)).astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
    except ValueError:
        return str(ts or "")
