"""Admin: banks, users and compute quotas. Admins manage the platform; they see no bank data."""

from __future__ import annotations

from datetime import datetime

import pandas as pd
import streamlit as st

from apps.web import auth, data, views
from apps.web.app_pages import enter
from sandbox.access import ROLES

actor = enter("admin.py")
store = auth.store()

st.title("Banks, users and quotas")
st.caption(
    "Platform administration. Every change is checked by `sandbox.access` and written to the platform audit log."
)


def _checked(action: str) -> bool:
    if not auth.allowed(actor, action):
        st.error(f"Access refused: {actor.name} may not {action}.")
        return False
    return True


def _date(s: str) -> str:
    try:
        return datetime.fromisoformat(s).strftime("%Y-%m-%d %H:%M")
    except (TypeError, ValueError):
        return s or ""


FLASH = "admin_flash"
if st.session_state.get(FLASH):
    st.success(st.session_state.pop(FLASH))


def _done(message: str) -> None:
    """Show `message` after a rerun, so every list and choice on the page includes the change."""
    st.session_state[FLASH] = message
    st.rerun()


banks = store.banks()
col1, col2, col3 = st.columns(3)
with col1, st.form("create_bank", clear_on_submit=True):
    st.markdown("**Create a bank**")
    new_id = st.text_input("Bank id", placeholder="junk-bay-bank", key="adm_bank_id")
    new_name = st.text_input("Display name", placeholder="Junk Bay Bank", key="adm_bank_name")
    if st.form_submit_button("Create bank") and _checked("bank.create"):
        try:
            store.create_bank(new_id.strip(), new_name.strip() or None, by=actor.name)
        except auth.SandboxError as err:
            auth.show_error(err)
        else:
            data.banks.clear()
            _done(f"Created bank {new_id}.")
with col2, st.form("add_user", clear_on_submit=True):
    st.markdown("**Add a user**")
    name = st.text_input("User name", key="adm_user")
    role = st.selectbox("Role", ROLES, key="adm_role")
    bank = st.selectbox("Bank (scientists only)", [""] + sorted(banks), key="adm_user_bank")
    password = st.text_input("Initial password (8+ characters)", type="password", key="adm_password")
    if st.form_submit_button("Add user") and _checked("user.add"):
        try:
            store.add_user(
                name.strip(), role, password, bank=(bank or None) if role == "scientist" else None, by=actor.name
            )
        except auth.SandboxError as err:
            auth.show_error(err)
        else:
            _done(f"Added {role} {name}.")
with col3, st.form("set_quota", clear_on_submit=True):
    st.markdown("**Set a compute quota**")
    qbank = st.selectbox("Bank", sorted(banks), key="adm_quota_bank")
    seconds = st.number_input("Wall-clock seconds", min_value=0.0, value=3600.0, step=600.0, key="adm_quota_s")
    if st.form_submit_button("Set quota") and _checked("quota.set"):
        try:
            store.set_quota(qbank, seconds, by=actor.name)
        except auth.SandboxError as err:
            auth.show_error(err)
        else:
            data.refresh_runs()
            _done(f"Quota of {qbank}: {seconds:,.0f} s.")

banks = store.banks()
users = store.users()
bank_rows = []
for bank_id, rec in sorted(banks.items()):
    quota = store.quota(bank_id)
    used = data.usage(actor, bank_id) if auth.allowed(actor, "usage.read", bank_id) else None
    bank_rows.append(
        {
            "bank": bank_id,
            "name": rec.get("name", bank_id),
            "created": _date(rec.get("created")),
            "scientists": sum(1 for u in users.values() if u.get("bank") == bank_id),
            "quota_s": quota,
            "used_s": None if used is None else used["wall_s"],
        }
    )
st.subheader("Banks")
st.dataframe(pd.DataFrame(bank_rows), hide_index=True, width="stretch")

st.subheader("Compute over time")
usage_rows = [r for b in sorted(banks) if auth.allowed(actor, "usage.read", b) for r in data.usage_records(actor, b)]
by = st.segmented_control("Per", ["bank", "user", "kind"], default="bank", key="adm_usage_by") or "bank"
views.usage_section(usage_rows, by, "sandbox-usage.csv", "adm_usage_csv")

st.subheader("Users")
st.dataframe(
    pd.DataFrame(
        [
            {"user": n, "role": u["role"], "bank": u.get("bank") or "", "created": _date(u.get("created"))}
            for n, u in sorted(users.items())
        ]
    ),
    hide_index=True,
    width="stretch",
)
