"""Cached readers over the platform API, keyed by sandbox home, bank and actor.

Pages call these instead of the platform directly so a warm page renders from
memory. Every function opens the bank through `open_workspace` and the
context's own checks (`runs.read`, `audit.read` ...), so the cache never hands
one actor what another was allowed to see: the actor is part of every key.
Runs and their artifacts are immutable once finished, so artifacts are cached
without expiry; run lists, usage and audit tails expire after a few seconds
and are cleared at once after an action that changes them (a sign-off, a run).
"""

from __future__ import annotations

import json
import os
from typing import Any

import streamlit as st

from sandbox import Actor, SandboxError, Store, open_workspace
from sandbox.tracking import USECASES

Who = tuple[str, str, str | None]  # (name, role, bank): hashable, so it can key a cache


def who(actor: Actor) -> Who:
    return (actor.name, actor.role, actor.bank)


def _home() -> str:
    return os.environ.get("SANDBOX_HOME", "")


@st.cache_resource(show_spinner=False, max_entries=256)
def _ctx(home: str, bank: str, w: Who):
    return open_workspace(bank, Actor(*w), Store(home or None))


def ctx(actor: Actor, bank: str):
    """A workspace context for `actor` in `bank` (kept per actor and bank: its MLflow client is reused)."""
    return _ctx(_home(), bank, who(actor))


@st.cache_data(show_spinner=False, ttl=30)
def banks(home: str | None = None) -> dict[str, dict]:
    return Store((home if home is not None else _home()) or None).banks()


def bank_ids() -> list[str]:
    return sorted(banks(_home()))


def bank_name(bank: str) -> str:
    return banks(_home()).get(bank, {}).get("name", bank)


@st.cache_data(show_spinner=False, ttl=60, max_entries=512)
def _runs(home: str, bank: str, w: Who, usecase: str | None, max_results: int, filter_string: str) -> list[dict]:
    c = _ctx(home, bank, w)
    return c.summaries(c.runs(usecase, filter_string=filter_string, max_results=max_results))


def runs(
    actor: Actor, bank: str, usecase: str | None = None, max_results: int = 200, filter_string: str = ""
) -> list[dict]:
    """The bank's runs, newest first (the context refuses a bank the actor may not read).

    `filter_string` is an MLflow search filter, e.g. "metrics.average_precision > 0.7".
    """
    return _runs(_home(), bank, who(actor), usecase, max_results, filter_string)


def latest_run(actor: Actor, bank: str, usecase: str, finished: bool = True) -> dict | None:
    for r in runs(actor, bank, usecase):
        if not finished or r["status"] == "FINISHED":
            return r
    return None


@st.cache_data(show_spinner=False, ttl=60, max_entries=512)
def _run(home: str, bank: str, w: Who, run_id: str) -> dict:
    c = _ctx(home, bank, w)
    return c.summary(c.get_run(run_id))


def run(actor: Actor, bank: str, run_id: str) -> dict:
    return _run(_home(), bank, who(actor), run_id)


@st.cache_data(show_spinner=False, max_entries=1024)
def _artifacts(home: str, bank: str, w: Who, run_id: str) -> list[str]:
    return _ctx(home, bank, w).list_artifacts(run_id)


def artifacts(actor: Actor, bank: str, run_id: str) -> list[str]:
    """Artifact paths the actor may see (reviewers: evidence only)."""
    return _artifacts(_home(), bank, who(actor), run_id)


@st.cache_data(show_spinner=False, max_entries=2048)
def _artifact_text(home: str, bank: str, w: Who, run_id: str, path: str) -> str | None:
    if path not in _artifacts(home, bank, w, run_id):
        return None
    return _ctx(home, bank, w).read_artifact_text(run_id, path)


def artifact_text(actor: Actor, bank: str, run_id: str, path: str) -> str | None:
    return _artifact_text(_home(), bank, who(actor), run_id, path)


def report(actor: Actor, bank: str, run_id: str, name: str) -> Any | None:
    """A run's `reports/<name>` parsed as JSON, or None when the run has no such report."""
    path = name if "/" in name else f"reports/{name}"
    text = artifact_text(actor, bank, run_id, path)
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None


@st.cache_data(show_spinner=False, max_entries=512)
def _artifact_bytes(home: str, bank: str, w: Who, run_id: str, path: str) -> bytes:
    return _ctx(home, bank, w).artifact_local_path(run_id, path).read_bytes()


def artifact_bytes(actor: Actor, bank: str, run_id: str, path: str) -> bytes:
    return _artifact_bytes(_home(), bank, who(actor), run_id, path)


@st.cache_data(show_spinner=False, ttl=30, max_entries=256)
def _usage(home: str, bank: str, w: Who) -> dict:
    return _ctx(home, bank, w).usage()


def usage(actor: Actor, bank: str) -> dict:
    return _usage(_home(), bank, who(actor))


@st.cache_data(show_spinner=False, ttl=30, max_entries=256)
def _usage_records(home: str, bank: str, w: Who) -> list[dict]:
    return _ctx(home, bank, w).usage_records()


def usage_records(actor: Actor, bank: str) -> list[dict]:
    """The bank's usage records (who, what kind of work, when, seconds): for charts over time and CSV exports."""
    return _usage_records(_home(), bank, who(actor))


@st.cache_data(show_spinner=False, ttl=10, max_entries=256)
def _audit(home: str, bank: str, w: Who, n: int) -> tuple[list[dict], dict]:
    c = _ctx(home, bank, w)
    return c.audit_entries(n), c.verify_audit().to_dict()


def audit(actor: Actor, bank: str, n: int = 200) -> tuple[list[dict], dict]:
    """The last n audit entries of a bank and the verification of its whole chain."""
    return _audit(_home(), bank, who(actor), n)


@st.cache_data(show_spinner=False, ttl=60, max_entries=256)
def _models(home: str, bank: str, w: Who) -> list[dict]:
    c = _ctx(home, bank, w)
    out = []
    for uc in USECASES:
        for v in c.model_versions(uc):
            out.append(
                {
                    "usecase": uc,
                    "registered_model": v.name,
                    "model_version": int(v.version),  # a number here, so the newest sorts first
                    "run_id": v.run_id,
                    "status": v.status,
                    "created": v.creation_timestamp,
                }
            )
    return sorted(out, key=lambda r: (r["usecase"], -r["model_version"]))


def models(actor: Actor, bank: str) -> list[dict]:
    return _models(_home(), bank, who(actor))


@st.cache_data(show_spinner=False, ttl=60, max_entries=256)
def _workspace_files(home: str, bank: str, w: Who) -> list[dict]:
    """Names, sizes and times of the bank's files (metadata only; needs data.read)."""
    c = _ctx(home, bank, w)
    root = c.path()
    out = []
    for usecase in USECASES:
        try:
            base = c.path(usecase)
        except SandboxError:
            continue
        if not base.is_dir():
            continue
        for p in sorted(base.rglob("*")):
            if p.is_file() and not p.name.startswith("."):
                st_ = p.stat()
                out.append(
                    {
                        "usecase": usecase,
                        "file": str(p.relative_to(root)),
                        "size_kb": round(st_.st_size / 1024, 1),
                        "modified": st_.st_mtime,
                    }
                )
    return out


def workspace_files(actor: Actor, bank: str) -> list[dict]:
    return _workspace_files(_home(), bank, who(actor))


def refresh_runs() -> None:
    """After a run, a training job or a sign-off: forget run lists, usage and audit tails."""
    for fn in (_runs, _run, _usage, _audit, _models, _workspace_files):
        fn.clear()


def runs_with(actor: Actor, bank: str, usecase: str, artifact: str, look: int = 20) -> list[dict]:
    """The bank's latest finished runs of `usecase` that carry `artifact` (among the newest `look`)."""
    done = [r for r in runs(actor, bank, usecase) if r["status"] == "FINISHED"]
    return [r for r in done[:look] if artifact in artifacts(actor, bank, r["run_id"])]
