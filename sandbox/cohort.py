"""The cohort view: every bank's champion per use case on one table, for the HKMA reviewer.

One row per (bank, use case): the champion version (the ledger's, `sandbox/lifecycle.py`), its headline
metrics, its gate results, its review state and the command that builds its evidence pack. Chat has no model
lifecycle: its row is the bank's latest finished evaluation. A bank without a champion still has its row
("no champion"), so a reviewer sees who is missing, not only who is there.

Each bank is read through its own workspace door as the acting user, so a scientist sees only their bank and a
reviewer every bank; an admin (no `runs.read`) sees none.
"""

from __future__ import annotations

import io
import os
from typing import Any

from . import atomic, evidence_report, suite_results
from .access import SOME_BANK, Actor, can, require
from .errors import AccessDenied, InvalidInput, NotFound
from .workspace import open_workspace

COLUMNS = (
    "bank",
    "usecase",
    "version",
    "stage",
    "run_id",
    "gates",
    "gates_passed",
    "review",
    "reviewed_by",
    "headline",
    "pack",
    "suite",
    "suite_passed",
)  # suite: the champion's latest regulator-held suite result


def _pack_command(bank: str, usecase: str, version: str | None, run_id: str) -> str:
    which = f"--version {version}" if version else f"--run {run_id}"
    name = f"{bank}-{usecase}-v{version}" if version else f"{bank}-{usecase}-{run_id[:8]}"
    return f"sandbox evidence {bank} {usecase} {which} --out {name}.zip"


def _row(ctx, usecase: str, mv: Any, run_id: str | None) -> dict[str, Any]:
    row: dict[str, Any] = dict.fromkeys(COLUMNS, None)
    row.update(
        bank=ctx.bank, usecase=usecase, stage="no champion" if usecase != "chat" else "no evaluation", headline={}
    )
    if run_id is None:
        return row
    metrics = dict(ctx.get_run(run_id).data.metrics)
    review = mv.review if mv is not None else None
    if review is None:
        st = ctx.read_ledger().review(run_id)
        review = {"decision": st.state, "by": st.by} if st is not None else None
    row.update(
        version=mv.version if mv else None,
        stage=mv.stage if mv else "evaluation",
        run_id=run_id,
        review=review["decision"] if review else "not reviewed",
        reviewed_by=review["by"] if review else None,
        pack=_pack_command(ctx.bank, usecase, mv.version if mv else None, run_id),
    )
    if mv is not None:
        passed = sum(g.passed for g in mv.gates)
        row.update(gates=f"{passed}/{len(mv.gates)} passed", gates_passed=mv.gates_passed)
    chat = None
    if usecase == "chat":
        from . import evidence_collect as collect

        subject = collect.Subject(ctx.bank, usecase, run_id, None, None)
        chat = evidence_report.chat_metrics(collect.artifacts(ctx, subject), mv)
    row["headline"] = {k: round(float(v), 4) for k, v in evidence_report.headline(usecase, metrics, chat).items()}
    return row


def bank_rows(ctx) -> list[dict[str, Any]]:
    """This bank's rows: its champion of each lifecycle use case, and its latest chat evaluation."""
    from . import evidence_collect as collect
    from . import lifecycle

    rows = []
    for usecase in lifecycle.LIFECYCLE_USECASES:
        mv = lifecycle.champion(ctx, usecase)
        run_id = mv.run_id if mv else None
        if mv is None and usecase == "chat":  # no chat champion yet: its latest evaluation, shown as such
            try:
                run_id = collect.latest_eval(ctx, "chat")
            except NotFound:
                run_id = None
        rows.append(_row(ctx, usecase, mv, run_id))
        held = suite_results.latest(ctx, usecase, mv.version) if mv else None  # the ledger's, aggregates only
        rows[-1].update(suite=suite_results.summary(held), suite_passed=held["passed"] if held else None)
    return rows


def rows(store, actor: Actor) -> list[dict[str, Any]]:
    """Every row the actor may read, bank by bank (each through the workspace door)."""
    require(
        actor,
        "runs.read",
        SOME_BANK,
        audit=store.platform_audit(),
        message=f"{actor.name} may not read any bank's models",
        fix="sign in as a reviewer or a bank's scientist",
    )
    banks = [b for b in sorted(store.banks()) if can(actor, "runs.read", b)]
    out = []
    for bank in banks:
        out += bank_rows(open_workspace(bank, actor, store))
    return out


def frame(table: list[dict[str, Any]]):
    """The rows as a DataFrame, one column per headline metric (`metric:<name>`)."""
    import pandas as pd

    names = sorted({k for r in table for k in (r.get("headline") or {})})
    flat = [
        {
            **{c: r.get(c) for c in COLUMNS if c != "headline"},
            **{f"metric:{n}": (r.get("headline") or {}).get(n) for n in names},
        }
        for r in table
    ]
    return pd.DataFrame(flat, columns=[c for c in COLUMNS if c != "headline"] + [f"metric:{n}" for n in names])


def export(store, table: list[dict[str, Any]], out: str | os.PathLike) -> dict[str, Any]:
    """Write the table as CSV or Parquet (by the name's suffix), atomically, outside the sandbox store."""
    path = os.path.abspath(os.path.expanduser(os.fspath(out)))
    if not path.endswith((".csv", ".parquet")):
        raise InvalidInput("--out", f"{os.fspath(out)[:80]!r} is neither .csv nor .parquet", "e.g. --out cohort.csv")
    folder = os.path.realpath(os.path.dirname(path))
    for private in (store.workspaces, store.state, store.mlruns, store.keys):
        root = os.path.realpath(private)
        if folder == root or folder.startswith(root + os.sep):
            raise AccessDenied(
                f"{os.fspath(out)} is inside the sandbox store's {os.path.basename(root)} folder",
                "write the export outside it, e.g. ~/cohort.csv",
            )
    df = frame(table)
    buf = io.BytesIO()
    if path.endswith(".csv"):
        buf.write(df.to_csv(index=False).encode("utf-8"))
    else:
        df.to_parquet(buf, index=False)
    atomic.write_bytes(path, buf.getvalue(), mode=0o600)
    return {"path": path, "rows": len(df), "columns": list(df.columns)}
