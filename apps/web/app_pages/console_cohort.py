"""HKMA console, cohort: every bank's champion per use case on one table, with a CSV/Parquet export and its pack.

The rows come from `sandbox.cohort.rows` (the ledger's champions, their gates and reviews, read bank by bank
through the workspace door as the signed-in reviewer); a pack is built only when its button is clicked.
"""

from __future__ import annotations

import io
import os

import streamlit as st

from apps.web import auth, data, tables
from apps.web.app_pages import enter
from apps.web.evidence_ui import pack_button
from apps.web.suites_ui import reviewer_section
from sandbox import cohort

actor = enter("console_cohort.py")

st.title("Cohort: every bank's champion")
st.caption(
    "One row per bank and use case: the champion the sandbox's ledger holds (chat: the latest evaluation), "
    "its headline metrics, gate results and review state. Export the table, or download a signed evidence "
    "pack of any row."
)


@st.cache_data(show_spinner="Reading every bank's champion ...", ttl=30)
def _rows(home: str, who: data.Who) -> list[dict]:
    from sandbox import Actor

    return cohort.rows(auth.store(), Actor(*who))


try:
    rows = _rows(os.environ.get("SANDBOX_HOME", ""), data.who(actor))
except auth.SandboxError as err:
    auth.show_error(err)
    st.stop()
if not rows:
    st.info("No banks yet.")
    st.stop()

df = cohort.frame(rows)  # the export: every column, full run ids and metric names
for usecase, title in tables.COHORT_USECASES:  # a table per use case: only its own metrics, no column of blanks
    part, missing = tables.cohort(rows, usecase)
    st.markdown(f"**{title}**")
    if not part.empty:
        part["bank"] = part["bank"].map(data.bank_name)
        st.dataframe(part, hide_index=True, width="stretch", column_config=tables.cohort_columns(part))
    if missing:
        none = "no champion" if usecase != "chat" else "no evaluation"
        st.caption(f"{none.capitalize()} yet: " + ", ".join(data.bank_name(b) for b in missing))
c1, c2, _ = st.columns([1, 1, 3])
c1.download_button(
    "Export CSV",
    df.to_csv(index=False).encode("utf-8"),
    file_name="cohort.csv",
    mime="text/csv",
    key="cohort_csv",
    icon=":material/download:",
)
buf = io.BytesIO()
df.to_parquet(buf, index=False)
c2.download_button(
    "Export Parquet",
    buf.getvalue(),
    file_name="cohort.parquet",
    mime="application/octet-stream",
    key="cohort_parquet",
    icon=":material/download:",
)

reviewer_section(actor)  # regulator-held test suites: run one on a bank's champion (apps/web/suites_ui.py)

st.subheader("Evidence pack")
packable = [r for r in rows if r["run_id"]]
if not packable:
    st.info("No champion or evaluation yet: nothing to pack.")
    st.stop()
row = st.selectbox(
    "Bank and use case",
    packable,
    key="cohort_row",
    format_func=lambda r: (
        f"{data.bank_name(r['bank'])} · {r['usecase']} · "
        + (f"v{r['version']} ({r['stage']})" if r["version"] else r["stage"])
    ),
)
st.code(row["pack"], language="bash")
pack_button(
    actor,
    row["bank"],
    row["usecase"],
    version=row["version"],
    run_id=None if row["version"] else row["run_id"],
    key="cohort_pack",
)
