"""The Financial GenAI Sandbox web app: one entry, a page per view, pages listed by role.

Run with `sandbox app` (or `streamlit run apps/web/app.py`); the store is the
one named by SANDBOX_HOME. Signed-out visitors see only the sign-in page.
Each page is listed only when the signed-in user may use it, and checks again
at its top (`auth.gate`), so a typed URL is refused as well.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.umask(0o077)  # store files 0600, folders 0700, whatever the app's launcher set (every rerun: idempotent)

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # `streamlit run apps/web/app.py` from a checkout without `pip install -e`
    sys.path.insert(0, str(ROOT))

import streamlit as st  # noqa: E402

from apps.web import auth  # noqa: E402
from apps.web.app_pages import PAGES  # noqa: E402

HERE = Path(__file__).resolve().parent

st.set_page_config(page_title="Financial GenAI Sandbox", page_icon=":material/account_balance:", layout="wide")


def login_page() -> None:
    st.title("Financial GenAI Sandbox")
    st.caption(
        "Isolated bank workspaces for fraud, credit-risk and chat experiments on synthetic data, "
        "tracked in MLflow and reviewed by the HKMA."
    )
    with st.form("login"):
        name = st.text_input("User name", key="login_user")
        password = st.text_input("Password", type="password", key="login_password")
        submitted = st.form_submit_button("Sign in", type="primary")
    if submitted:
        try:
            auth.sign_in(name, password)
        except auth.SandboxError as err:
            st.error(str(err.message))
        else:
            st.rerun()
    if auth.oidc_configured():
        st.divider()
        if st.button("Sign in with your organisation (OIDC)"):
            st.login()


def main() -> None:
    actor = auth.current_actor()
    if actor is None and auth.oidc_configured():
        actor = auth.adopt_oidc_user()
    if actor is None:
        nav = st.navigation(
            [st.Page(login_page, title="Sign in", icon=":material/login:", url_path="login")], position="hidden"
        )
        try:
            nav.run()
        finally:
            run_marker()
        return

    sections: dict[str, list] = {}
    for page in PAGES:
        if auth.allowed(actor, page.action):
            sections.setdefault(page.section, []).append(
                st.Page(str(HERE / "app_pages" / page.file), title=page.title, icon=page.icon, url_path=page.url_path)
            )
    with st.sidebar:
        badge = auth.actor_badge(actor)
        st.markdown(f"**{badge['user']}** · {badge['role']}  \n{badge['bank']}")
        if st.button("Sign out", key="sign_out"):
            auth.sign_out()
            if auth.oidc_configured() and getattr(st, "user", None) is not None and st.user.get("is_logged_in", False):
                st.logout()
            st.rerun()
    if not sections:
        st.error(f"No pages for the role {actor.role}.")
        return
    page = st.navigation(sections)
    try:
        page.run()
    finally:
        run_marker()


def run_marker() -> None:
    """An invisible element drawn after the page: browser tests and the tour wait for its run number to change."""
    n = st.session_state.get("_sandbox_run", 0) + 1
    st.session_state["_sandbox_run"] = n
    st.html(f'<div class="sandbox-run" data-run="{n}" style="height:0;overflow:hidden"></div>')


main()
