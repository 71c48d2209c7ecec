"""The evidence pack download button, shared by the reviewer console and the bank's Experiments page.

The pack is built only when the button is clicked (Streamlit calls `data` then), through the workspace door
as the signed-in user (`sandbox.evidence.download`, audited), so drawing a page costs nothing.
"""

from __future__ import annotations

import streamlit as st

from apps.web import auth
from sandbox import Actor, SandboxError, evidence
from sandbox.evidence_collect import resolve


def pack_button(
    actor: Actor, bank: str, usecase: str, *, version: str | None = None, run_id: str | None = None, key: str
) -> None:
    """A download button for the pack of a version (or of a run); a one-line reason instead when none can be built."""
    ctx = auth.bank_ctx(actor, "evidence.build", "Evidence pack", bank)
    try:
        subject = resolve(ctx, usecase, version, run_id)
    except SandboxError as err:
        st.caption(f"No evidence pack: {err}")
        return
    which = f"v{subject.version}" if subject.version else subject.run_id[:8]
    name = f"{bank}-{usecase}-{which}-evidence.zip"

    def build() -> bytes:
        return evidence.download(ctx, usecase, subject.version, None if subject.version else subject.run_id).data

    st.download_button(
        f"Download evidence pack ({usecase} {which}, signed zip)",
        data=build,
        file_name=name,
        mime="application/zip",
        key=key,
        icon=":material/folder_zip:",
        help="report.html and report.pdf, the HKMA principles table, gates, reviews, audit entries "
        "and a signed manifest; check it with `sandbox evidence verify FILE.zip`",
    )
