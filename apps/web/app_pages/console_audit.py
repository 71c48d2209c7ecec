"""HKMA console, audit trail: each bank's hash-chained log, verified end to end, and its latest events."""
from __future__ import annotations

import json

import pandas as pd
import streamlit as st

from apps.web import auth, data
from apps.web.app_pages import enter

actor = enter("console_audit.py")

st.title("Audit trail")
st.caption("Every bank's append-only, hash-chained audit log. Verification walks the whole chain and names the first "
           "edited, deleted, inserted or reordered entry.")

banks = data.bank_ids()
if not banks:
    st.info("No banks yet.")
    st.stop()

status = []
for bank in banks:
    auth.bank_ctx(actor, "audit.read", "Audit trail", bank)
    _, result = data.audit(actor, bank, 1)
    status.append({"bank": data.bank_name(bank), "chain": "verified" if result["ok"] else "BROKEN",
                   "entries": result["entries"], "first bad line": result["first_bad_line"] or "",
                   "reason": result["reason"]})
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
rows = [{"seq": e["seq"], "time": e["ts"][:19].replace("T", " "), "actor": e["actor"], "event": e["event"],
         "details": json.dumps(e["data"], sort_keys=True, default=str)[:300], "hash": e["hash"][:12]}
        for e in reversed(entries) if not pick or e["event"] in pick]
st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch", height=520)
