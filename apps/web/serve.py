"""Serve the web app through Streamlit with the HTTP hardening Streamlit has no setting for.

Run as `python apps/web/serve.py run apps/web/app.py [streamlit options]` (what `sandbox app`, the demo and the
browser tests start; see `apps.cli_web.streamlit_command`). Why a wrapper:

- Streamlit answers `/_stcore/metrics` (sessions, cache sizes) to anyone who can reach the port, before any sign-in,
  and has no option to turn it off; `/_stcore/agent/*` (a second way to drive the app) and
  `/_stcore/script-health-check` are not needed either. They answer 404 here, before Streamlit sees the request.
- Streamlit sends no anti-framing headers, so another site could frame the sign-in or the reviewer's sign-off and
  trick clicks (click-jacking). Every HTTP response gets `X-Frame-Options: DENY`,
  `Content-Security-Policy: frame-ancestors 'none'`, `X-Content-Type-Options: nosniff` and
  `Referrer-Policy: same-origin`.
- XSRF protection and CORS checks are forced on, static serving and the agent API off, whatever a
  `.streamlit/config.toml` says.
- `/ready` is a status page rendered on the server (no JavaScript): 200 and "ready" once Streamlit can take a
  browser connection, 503 before. A status check or `chromium --headless --screenshot URL/ready` gets a painted
  page at once, where the app itself is a blank page until its JavaScript has drawn it (4 first screenshots in 6).

How: the ASGI app that Streamlit's server builds (`starlette_server.create_starlette_app`) is wrapped in
`Hardening` before uvicorn serves it. If Streamlit's internals are not the ones this was written for (another
major version), it refuses to start: fail closed, never serve unguarded.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# Paths (as segment sequences, matched anywhere in the path so a baseUrlPath prefix changes nothing) that answer 404.
BLOCKED: tuple[tuple[str, ...], ...] = (
    ("_stcore", "metrics"),
    ("_stcore", "agent"),
    ("_stcore", "script-health-check"),
)
SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"x-frame-options", b"DENY"),
    (b"content-security-policy", b"frame-ancestors 'none'"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
)
# Streamlit options forced on every launch (command-line options win over config files).
FORCED_OPTIONS: tuple[tuple[str, str], ...] = (
    ("server.enableXsrfProtection", "true"),
    ("server.enableCORS", "true"),
    ("server.enableStaticServing", "false"),
    ("server.enableAgentApi", "false"),
    ("global.developmentMode", "false"),
)


def blocked(path: str) -> bool:
    """True when `path` (decoded, as the ASGI scope holds it) reaches one of the BLOCKED endpoints, however it is
    spelled: case, doubled or trailing slashes."""
    segments = [s for s in path.lower().split("/") if s]
    for b in BLOCKED:
        n = len(b)
        if any(tuple(segments[i : i + n]) == b for i in range(len(segments) - n + 1)):
            return True
    return False


READY_PAGE = (
    "<!doctype html><html lang=en><head><meta charset=utf-8><title>Financial GenAI Sandbox: {state}</title>"
    "<style>body{{font:16px system-ui,sans-serif;margin:3em;color:#1f2328}}b{{color:{colour}}}</style></head>"
    "<body><h1>Financial GenAI Sandbox</h1><p>Web app: <b>{state}</b>{detail}</p>"
    '<p><a href="./">Open the app and sign in</a></p></body></html>'
)


def ready_path(path: str) -> bool:
    """The status page's path, `/ready` (after any baseUrlPath prefix)."""
    segments = [s for s in path.lower().split("/") if s]
    return bool(segments) and segments[-1] == "ready"


class Hardening:
    """ASGI middleware around Streamlit's whole app: security headers on every HTTP response, 404 for BLOCKED,
    the `/ready` status page."""

    def __init__(self, app, runtime=None) -> None:
        self.app = app
        self.runtime = runtime

    async def _ready(self, send) -> None:
        ok, message = (
            (False, "no runtime") if self.runtime is None else await self.runtime.is_ready_for_browser_connection
        )
        state, colour = ("ready", "#1a7f37") if ok else ("starting", "#9a6700")
        detail = "" if ok else f" ({message})"
        body = READY_PAGE.format(state=state, colour=colour, detail=detail.replace("<", "&lt;")).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 200 if ok else 503,
                "headers": [
                    (b"content-type", b"text/html; charset=utf-8"),
                    (b"cache-control", b"no-cache"),
                    *SECURITY_HEADERS,
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":  # the WebSocket and the lifespan pass through unchanged
            await self.app(scope, receive, send)
            return
        if blocked(scope.get("path", "")):
            await send(
                {
                    "type": "http.response.start",
                    "status": 404,
                    "headers": [(b"content-type", b"text/plain; charset=utf-8"), *SECURITY_HEADERS],
                }
            )
            await send({"type": "http.response.body", "body": b"Not found"})
            return
        if ready_path(scope.get("path", "")) and scope.get("method") in ("GET", "HEAD"):
            await self._ready(send)
            return
        names = {name for name, _ in SECURITY_HEADERS}

        async def send_hardened(message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() not in names]
                message = {**message, "headers": [*headers, *SECURITY_HEADERS]}
            await send(message)

        await self.app(scope, receive, send_hardened)


def install() -> None:
    """Make Streamlit's server wrap its app in `Hardening` and register no metrics routes; raise if it cannot."""
    try:
        from streamlit.web.server.starlette import starlette_app, starlette_server

        build = starlette_server.create_starlette_app
        starlette_app.create_metrics_routes  # noqa: B018  (checked: patched below)
    except (ImportError, AttributeError) as err:
        import streamlit

        raise SystemExit(
            f"error: this Streamlit ({streamlit.__version__}) does not serve through the Starlette app "
            f"that apps/web/serve.py hardens ({err}); install streamlit>=1.67 (make setup)"
        ) from None
    if getattr(build, "_sandbox_hardened", False):
        return

    def create_hardened_app(runtime):
        return Hardening(build(runtime), runtime)

    create_hardened_app._sandbox_hardened = True  # type: ignore[attr-defined]
    starlette_server.create_starlette_app = create_hardened_app
    starlette_app.create_metrics_routes = lambda *args, **kwargs: []


def forced_argv(argv: list[str]) -> list[str]:
    """`argv` with FORCED_OPTIONS set (replacing any value given for them)."""
    out, skip = [], False
    forced = {f"--{name}" for name, _ in FORCED_OPTIONS}
    for a in argv:
        if skip:
            skip = False
            continue
        if a in forced:
            skip = True
            continue
        if a.split("=", 1)[0] in forced:
            continue
        out.append(a)
    for name, value in FORCED_OPTIONS:
        out += [f"--{name}", value]
    return out


def main(argv: list[str] | None = None) -> None:
    """`streamlit` with `install()` applied: `serve.py run APP [options]`."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] != "run":
        raise SystemExit("usage: serve.py run APP [streamlit options]")
    install()
    from streamlit.web import cli as stcli

    sys.argv = ["streamlit", *forced_argv(argv)]
    stcli.main()


if __name__ == "__main__":
    here = Path(__file__).resolve().parent  # run as a script: its folder is not a package root, the checkout is
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != here]
    sys.path.insert(0, str(ROOT))
    main()
