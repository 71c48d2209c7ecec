"""Talking to the server over REST as the sync account (MLflow's basic-auth client with explicit
credentials, not process-wide environment variables), and the checks the sync and `start` make through it."""

from __future__ import annotations

import base64
import urllib.error
import urllib.request


# -- talking to the server as the sync account ------------------------------------
def _host_creds(url: str, username: str, password: str):
    from mlflow.utils.credentials import get_default_host_creds

    creds = get_default_host_creds(url)  # keeps TLS settings from the environment
    creds.username, creds.password, creds.token = username, password, None
    return creds


def _auth_client(url: str, username: str, password: str):
    """MLflow's basic-auth app client, with explicit credentials instead of process-wide env vars."""
    import warnings

    with warnings.catch_warnings():  # mlflow.server imports starlette's deprecated WSGI shim: noise for CLI users
        warnings.filterwarnings("ignore", message=".*starlette.middleware.wsgi is deprecated.*")
        from mlflow.server import get_app_client
    from mlflow.utils.rest_utils import http_request, verify_rest_response

    base = type(get_app_client("basic-auth", tracking_uri=url))
    creds = _host_creds(url, username, password)

    class _Client(base):  # type: ignore[misc, valid-type]
        def _request(self, endpoint, method, *, expected_status: int = 200, **kwargs):
            resp = http_request(creds, endpoint, method, **kwargs)
            resp = verify_rest_response(resp, endpoint, expected_status=expected_status)
            if resp.status_code == 204 or not resp.content:
                return {}
            return resp.json()

    return _Client(url)


def _error_code(exc: Exception) -> str:
    return str(getattr(exc, "error_code", "") or "")


def _http_status(exc: Exception) -> int | None:
    getter = getattr(exc, "get_http_status_code", None)
    try:
        return int(getter()) if getter else None
    except (TypeError, ValueError):
        return None


def health(url: str, timeout: float = 2.0) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=timeout) as resp:
            return resp.status == 200
    except (urllib.error.URLError, OSError, ValueError):
        return False


def can_log_in(url: str, username: str, password: str) -> bool:
    """True when the server accepts these credentials."""
    req = urllib.request.Request(f"{url}/api/2.0/mlflow/users/current")
    token = base64.b64encode(f"{username}:{password}".encode()).decode()
    req.add_header("Authorization", f"Basic {token}")
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status == 200
    except urllib.error.HTTPError as exc:
        if exc.code in (401, 403):
            return False
        if exc.code == 404:  # an older server without /users/current: fall back to a cheap authenticated read
            return _login_by_search(url, token)
        raise
    except (urllib.error.URLError, OSError):
        return False


def _login_by_search(url: str, token: str) -> bool:
    req = urllib.request.Request(f"{url}/api/2.0/mlflow/experiments/search?max_results=1")
    req.add_header("Authorization", f"Basic {token}")
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status == 200
    except urllib.error.HTTPError as exc:
        return exc.code != 401


def _user_grants(auth, username: str) -> tuple[dict[tuple[str, str], str], list[dict]]:
    """The user's own grants (their synthetic role) as {(resource_type, resource_id): permission},
    and the rows they hold through other (hand-made) MLflow roles."""
    from mlflow.server.auth.routes import LIST_USER_PERMISSIONS

    rows = auth._request(LIST_USER_PERMISSIONS, "GET", params={"username": username}).get("permissions", [])
    own = [r for r in rows if str(r.get("role_name", "")).startswith("__user_")]
    return (
        {(r["resource_type"], str(r["resource_pattern"])): r["permission"] for r in own},
        [r for r in rows if r not in own],
    )
