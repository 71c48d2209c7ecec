"""The use cases as the pages see them: imported lazily, called through their public API only.

A use case that is not installed must not take a page down: `module()` returns
None (and the reason) instead of raising, and pages say what to do. Only the
package's own absence is caught: an import error inside an installed use case
is a bug and raises, with its traceback, instead of reading as "not available".
Long jobs get a Streamlit progress bar through the use cases' `progress`
callback (fraction 0..1, message).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

import streamlit as st

USECASE_MODULES = {"fraud": "usecases.fraud", "risk": "usecases.risk", "chat": "usecases.chat"}


def module(usecase: str, *needs: str) -> tuple[Any | None, str]:
    """The use-case package if it is installed and has every function in `needs`, else (None, why)."""
    return submodule(USECASE_MODULES[usecase], *needs)


def submodule(path: str, *needs: str) -> tuple[Any | None, str]:
    """A module of a use case, or (None, why) when that module (or its package) is not installed."""
    try:
        mod = importlib.import_module(path)
    except ModuleNotFoundError as exc:
        if exc.name is None or not (path == exc.name or path.startswith(exc.name + ".")):
            raise  # the package is there but something it imports is not: a broken install, say so loudly
        return None, f"{path} is not installed"
    missing = [n for n in needs if not callable(getattr(mod, n, None))]
    return (None, f"{path} has no {', '.join(missing)}") if missing else (mod, "")


def progress_bar(label: str) -> Callable[[float, str], None]:
    """A `progress(fraction, message)` callback drawing one Streamlit progress bar."""
    bar = st.progress(0.0, text=label)

    def update(fraction: float, message: str = "") -> None:
        bar.progress(min(max(float(fraction), 0.0), 1.0), text=f"{label}: {message}" if message else label)

    return update


def as_dict(result: Any) -> Any:
    """A use-case result (a dataclass with to_dict(), a DataFrame, a dict) as plain data."""
    if hasattr(result, "to_dict") and not hasattr(result, "columns"):
        return result.to_dict()
    return result


def missing_notice(usecase: str, why: str) -> None:
    st.info(f"The {usecase} use case is not available in this installation yet: {why}.")


def run_job(fn: Callable, ctx: Any, label: str, done: str, **kwargs: Any) -> Any | None:
    """Run a long use-case job with a progress bar; show its result, or the user's mistake as one line."""
    from apps.web import data
    from sandbox import SandboxError

    try:
        out = fn(ctx, progress=progress_bar(label), **kwargs)
    except SandboxError as err:
        st.error(str(err))
        return None
    from apps.web import views

    data.refresh_runs()
    st.success(done)
    result = as_dict(out)
    if isinstance(result, dict):
        st.dataframe(views.readable_summary(result), hide_index=True, width="content")
    with st.expander("Raw result (JSON)"):
        st.json(result, expanded=1)
    return out
