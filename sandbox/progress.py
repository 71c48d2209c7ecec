"""Progress of a long job (simulate, train, ingest, evaluate): one callback shape for every use case.

A use case takes `progress: Progress = None` and calls `report(progress, fraction, message)`; the face
decides how to show it (a terminal bar: `apps.cli_common.progress_reporter`; a Streamlit bar:
`apps.web.labs.progress_bar`; nothing for --json).
"""

from __future__ import annotations

from collections.abc import Callable

Progress = Callable[[float, str], None] | None


def report(progress: Progress, fraction: float, message: str) -> None:
    """Tell `progress` (if any) how far the job is, 0..1 (clamped), and what it is doing."""
    if progress is not None:
        progress(max(0.0, min(1.0, float(fraction))), message)
