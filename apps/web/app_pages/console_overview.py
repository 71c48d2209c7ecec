"""HKMA console, all banks at a glance: the latest run per bank and use case against the sandbox's thresholds."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from apps.web import auth, data, views
from apps.web.app_pages import enter
from sandbox.tracking import USECASES

actor = enter("console_overview.py")

st.title("All banks at a glance")
st.caption(
    "Latest finished run per bank and use case, its metrics against the sandbox thresholds, and its review status. "
    "Evidence only: no raw rows or document text are reachable from the console."
)

banks = data.bank_ids()
if not banks:
    st.info("No banks yet.")
    st.stop()

rows = []
for bank in banks:
    auth.bank_ctx(actor, "runs.read", "All banks", bank)
    for uc in USECASES:
        run = data.latest_run(actor, bank, uc)
        row = {"bank": data.bank_name(bank), "usecase": uc}
        if run is None:
            rows.append(
                {
                    **row,
                    "run": "(no run yet)",
                    "started": "",
                    "check 1": "",
                    "check 2": "",
                    "flag": "no evidence",
                    "review": "",
                }
            )
            continue
        checks = views.check_thresholds(run)
        cells = []
        for c in checks:
            if c["value"] is None:
                cells.append(f"{c['check']}: not logged")
            else:
                mark = "pass" if c["passes"] else "BELOW"
                cells.append(f"{c['check']} {c['value']:.3f} (min {c['minimum']:.2f}) {mark}")
        if not checks:
            cells.append(
                f"no absolute bar for preset {run.get('params', {}).get('preset', '?')}: see the run's evidence"
            )
        failing = [c["check"] for c in checks if c["passes"] is False]
        missing = [c["check"] for c in checks if c["value"] is None]
        parts = (
            (["below threshold: " + ", ".join(failing)] if failing else [])
            + (["missing: " + ", ".join(missing)] if missing else [])
            + views.count_flags(run)
        )
        flag = "; ".join(parts) or "ok"
        rows.append(
            {
                **row,
                "run": run["run_name"] or run["run_id"][:8],
                "started": views.when(run["start_time"]),
                "check 1": cells[0] if cells else "",
                "check 2": cells[1] if len(cells) > 1 else "",
                "flag": flag,
                "review": views.review_label(run),
            }
        )

df = pd.DataFrame(rows)
c1, c2, c3, c4 = st.columns(4)
c1.metric("Banks", len(banks))
c2.metric("Latest runs", int((df["run"] != "(no run yet)").sum()))
c3.metric("Flags", int((df["flag"] != "ok").sum()))
c4.metric("Approved", int(df["review"].str.startswith("Approved").sum()))


def _colour(v: str) -> str:
    if isinstance(v, str) and v.endswith("(mirror tampered)"):
        return "color: #cf222e; font-weight: 600"
    if v == "ok" or v == "Approved" or (isinstance(v, str) and v.endswith(" pass")):
        return "color: #1a7f37"
    if (
        isinstance(v, str)
        and v
        and (
            v != "ok"
            and v.split(":")[0] in ("below threshold", "missing")
            or v[0].isdigit()
            or v.endswith("BELOW")
            or v == "Changes requested"
        )
    ):
        return "color: #cf222e; font-weight: 600"
    return ""


st.table(views.labelled(df).style.map(_colour, subset=["check 1", "check 2", "flag", "review"]).hide(axis="index"))

st.subheader("Compute used per bank")
usage_rows = []
for bank in banks:
    u = data.usage(actor, bank)
    usage_rows.append(
        {
            "bank": data.bank_name(bank),
            "runs": u["runs"],
            "used_s": u["wall_s"],
            "quota_s": u.get("quota_s"),
            "remaining_s": u.get("remaining_s"),
        }
    )
st.dataframe(pd.DataFrame(usage_rows), hide_index=True, width="stretch")
