"""HKMA console, audit trail: each bank's hash-chained log, verified end to end, and its latest events."""

from __future__ import annotations

import json
import re

import pandas as pd
import streamlit as st

from apps.web import auth, data, views
from apps.web.app_pages import enter

# What an entry is about, said first: the run and the decision before a long comment.
LEAD_FIELDS = (
    "bank",
    "usecase",
    "subject",
    "version",
    "run_id",
    "decision",
    "stage",
    "state",
    "action",
    "document",
    "file",
    "rows",
)
_ISO_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")


def _summary(d: dict) -> str:
    return " · ".join(f"{k.replace('_', ' ')} {_short(d[k])}" for k in LEAD_FIELDS if k in d and d[k] not in ("", None))


def _details(d: dict) -> str:
    rest = {k: v for k, v in d.items() if k not in LEAD_FIELDS}
    return "; ".join(f"{k.replace('_', ' ')}: {_short(v, 160)}" for k, v in sorted(rest.items()))


def _short(v, n: int = 40) -> str:
    if isinstance(v, str) and _ISO_TIME.match(v):
        return views.local_time(v)  # times in the record are UTC; people read Hong Kong time
    text = v if isinstance(v, str) else json.dumps(v, sort_keys=True, default=str)
    return text if len(text) <= n else text[: n - 1] + "…"


actor = enter("console_audit.py")

st.title("Audit trail")
st.caption(
    "Every bank's append-only, hash-chained audit log. Verification walks the whole chain and names the first "
    "edited, deleted, inserted or reordered entry."
)

banks = data.bank_ids()
if not banks:
    st.info("No banks yet.")
    st.stop()

status = []
for bank in banks:
    auth.bank_ctx(actor, "audit.read", "Audit trail", bank)
    _, result = data.audit(actor, bank, 1)
    status.append(
        {
            "bank": data.bank_name(bank),
            "chain": "verified" if result["ok"] else "BROKEN",
            "entries": result["entries"],
            "first bad line": result["first_bad_line"] or "",
            "reason": result["reason"],
        }
    )
st.dataframe(pd.DataFrame(status), hide_index=True, width="stretch")
for s in status:
    if s["chain"] != "verified":
        st.error(f"{s['bank']}: the audit chain is broken at line {s['first bad line']}: {s['reason']}")

bank = st.selectbox("Bank", banks, format_func=data.bank_name, key="audit_bank")
n = st.slider("Latest events", 20, 500, 100, step=20, key="audit_n")
entries, result = data.audit(actor, bank, n)
if result["ok"]:
    st.success(f"Chain verified: {result['entries']} entries, every hash links to the one before.")
events = sorted({e["event"] for e in entries})
pick = st.multiselect("Events", events, default=[], key="audit_events", placeholder="all events")
rows = [
    {
        "time": views.local_time(e["ts"]),
        "actor": e["actor"],
        "event": e["event"],
        "what": _summary(e["data"]),
        "details": _details(e["data"]),
        "seq": e["seq"],
        "hash": e["hash"][:12],
    }
    for e in reversed(entries)
    if not pick or e["event"] in pick
]
if rows:
    st.dataframe(
        pd.DataFrame(rows),
        hide_index=True,
        width="stretch",
        height="content",
        column_config={
            "what": st.column_config.TextColumn(width="large"),
            "details": st.column_config.TextColumn(width="large"),
        },
    )
else:
    st.info("No events match.")
with st.expander("Raw entries (JSON)"):
    st.json([e for e in reversed(entries) if not pick or e["event"] in pick][:50], expanded=False)
