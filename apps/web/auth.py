"""Who is looking: login (sandbox password or OIDC), the acting user, and the per-page access gate.

Every page starts with `gate(action)`: the same `sandbox.access.can` check the
navigation uses to decide which pages to list, run again inside the page (as
`sandbox.access.require`, which audits a refusal) so a URL typed by hand is
refused too. A refusal is shown plainly and stops the page before it touches
any data. Before a bank is chosen, bank pages are checked on `SOME_BANK` (a
scientist's own bank; any bank for reviewers).
"""

from __future__ import annotations

from typing import Any

import streamlit as st
from streamlit.errors import StreamlitSecretNotFoundError

from sandbox import AccessDenied, Actor, SandboxError, Store, open_workspace
from sandbox.access import ACTIONS, SOME_BANK, Resource, can, require

ACTOR_KEY = "sandbox_actor"
ROLE_LABELS = {"scientist": "Bank data scientist", "reviewer": "HKMA reviewer", "admin": "Platform admin"}


def store() -> Store:
    """The sandbox store named by SANDBOX_HOME (else the repository); cheap to construct."""
    return Store()


def current_actor() -> Actor | None:
    actor = st.session_state.get(ACTOR_KEY)
    return actor if isinstance(actor, Actor) else None


def client_id() -> str:
    """Who is knocking, for the sign-in throttle: the browser's remote address (Streamlit gives None on localhost).
    Sessions are not clients: a guesser opens a new one per try."""
    try:
        ip = getattr(st.context, "ip_address", None)
    except Exception:  # noqa: BLE001 - outside a script run (tests) there is no context
        ip = None
    return f"web:{ip or 'localhost'}"


def sign_in(name: str, password: str) -> Actor:
    """Check a name and password against the sandbox users; raises AuthenticationFailed (audited), or
    LoginThrottled after repeated failures for that name or from this client."""
    s = store()
    actor = s.authenticate(name.strip(), password, client=client_id())
    s.platform_audit().append("web.login", actor.name, role=actor.role, method="password")
    st.session_state[ACTOR_KEY] = actor
    return actor


def sign_out() -> None:
    actor = current_actor()
    if actor is not None:
        store().platform_audit().append("web.logout", actor.name)
    for key in list(st.session_state.keys()):
        del st.session_state[key]


# -- OIDC (optional) ------------------------------------------------------
def oidc_configured() -> bool:
    """True when .streamlit/secrets.toml has an [auth] section for st.login."""
    try:
        return "auth" in st.secrets
    except (FileNotFoundError, StreamlitSecretNotFoundError):
        return False


def oidc_user_map() -> dict[str, str]:
    """Email -> sandbox user name, from `[sandbox.oidc_users]` in secrets.toml."""
    try:
        return {str(k).lower(): str(v) for k, v in st.secrets.get("sandbox", {}).get("oidc_users", {}).items()}
    except (FileNotFoundError, StreamlitSecretNotFoundError):
        return {}


def adopt_oidc_user() -> Actor | None:
    """After st.login(): map the identity provider's email to a sandbox user (or refuse)."""
    user = getattr(st, "user", None)
    if user is None or not user.get("is_logged_in", False):
        return None
    email = str(user.get("email") or "").lower()
    name = oidc_user_map().get(email)
    s = store()
    if not name:
        s.platform_audit().append("auth.failed", "(oidc)", method="oidc", reason="email not mapped to a sandbox user")
        st.error(
            f"{email or 'This account'} is not mapped to a sandbox user. Ask an admin to add it under "
            "[sandbox.oidc_users] in .streamlit/secrets.toml."
        )
        return None
    actor = s.actor(name)
    s.platform_audit().append("web.login", actor.name, role=actor.role, method="oidc")
    st.session_state[ACTOR_KEY] = actor
    return actor


# -- the gate -------------------------------------------------------------
def allowed(actor: Actor | None, action: str, bank: str | None = None) -> bool:
    """May this actor use a page or button gated by `action`? Bank actions default to the actor's own bank."""
    if actor is None:
        return False
    return bool(can(actor, action, _resource(action, bank)))


def _resource(action: str, bank: str | None) -> Resource:
    """What a page's action applies to: the platform, the chosen bank, or SOME_BANK before one is chosen."""
    return None if ACTIONS[action].resource == "platform" else (bank or SOME_BANK)


def _require(actor: Actor, action: str, page: str, refusal: str | None = None) -> None:
    """access.require for a page: a refusal is audited (with the page), shown plainly, and stops the page."""
    try:
        require(actor, action, _resource(action, None), audit=store().platform_audit(), refusal=refusal, page=page)
    except AccessDenied as err:
        st.error(
            f"Access refused: {ROLE_LABELS.get(actor.role, actor.role)} {actor.name} may not open **{page}** "
            f"({err.reason})."
        )
        st.caption("Pages are shown by role; every page checks again, so a typed URL is refused too.")
        st.stop()


def refuse(actor: Actor | None, action: str, reason: str, page: str) -> None:
    """Refuse a page for a reason the page found itself (audited), and stop it."""
    if actor is None:
        st.warning("Please sign in first.")
        st.stop()
    _require(actor, action, page, refusal=reason)


def gate(action: str, page: str) -> Actor:
    """First line of every page: the signed-in actor, or a refusal that stops the page."""
    actor = current_actor()
    if actor is None:
        st.warning("Please sign in first.")
        st.stop()
    _require(actor, action, page)
    return actor


def bank_ctx(actor: Actor, action: str, page: str, bank: str | None = None):
    """The actor's workspace context for `bank` (a scientist: their own), with `action` required."""
    bank = bank or actor.bank
    if bank is None:
        refuse(actor, action, "this page belongs to a bank and you work for none", page)
    try:
        ctx = open_workspace(bank, actor, store())
        ctx.require(action)
    except AccessDenied as err:
        st.error(f"Access refused: {err}")
        st.stop()
    except SandboxError as err:
        st.error(str(err))
        st.stop()
    return ctx


def show_error(err: Exception) -> None:
    """A user mistake (SandboxError) as one line with its fix; anything else is a bug and re-raised."""
    if isinstance(err, SandboxError):
        st.error(str(err))
        return
    raise err


def actor_badge(actor: Actor) -> dict[str, Any]:
    """Who is signed in, and the scope of what they see: a scientist her bank, a reviewer every bank's evidence
    (read-only), an admin the platform only (admins see no bank data)."""
    scope = actor.bank or {"reviewer": "all banks (evidence, read-only)", "admin": "platform only, no bank data"}.get(
        actor.role, "none"
    )
    return {"user": actor.name, "role": ROLE_LABELS.get(actor.role, actor.role), "bank": scope}
