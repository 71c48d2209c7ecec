"""Compute figures reach a finished run from one background thread, flushed before the process exits.

The usage ledger (sandbox/compute.py), written synchronously, is the record quotas are checked against;
a fifth synchronous SQLite transaction at the end of every run would cost about a quarter of a bare run,
so the MLflow copy of the figures is written here, off the run's critical path.
"""

from __future__ import annotations

import atexit
import logging
import queue
import threading
import time
from typing import Any

from .compute import Meter

_logger = logging.getLogger(__name__)


class BackgroundWriter:
    """One long-lived thread that writes metrics after their run ended; flush() waits for it."""

    def __init__(self) -> None:
        self._queue: queue.Queue = queue.Queue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def submit(self, client: Any, run_id: str, metrics: list) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._work, name="sandbox-compute-metrics", daemon=True)
                self._thread.start()
                atexit.register(self.flush)
        self._queue.put((client, run_id, metrics))

    def _work(self) -> None:
        while True:
            client, run_id, metrics = self._queue.get()
            try:
                client.log_batch(run_id, metrics=metrics, synchronous=True)
            except Exception as exc:  # noqa: BLE001 - the ledger holds the figures; say so and go on
                _logger.warning("could not log compute metrics to run %s: %s", run_id, exc)
            finally:
                self._queue.task_done()

    def flush(self) -> None:
        self._queue.join()


COMPUTE_WRITER = BackgroundWriter()


def log_compute(client: Any, run_id: str, meter: Meter) -> None:
    """Queue a run's compute figures (`compute_wall_seconds`, `compute_cpu_seconds`) for its MLflow record."""
    from mlflow.entities import Metric

    now = int(time.time() * 1000)
    COMPUTE_WRITER.submit(
        client,
        run_id,
        [Metric("compute_wall_seconds", meter.wall_s, now, 0), Metric("compute_cpu_seconds", meter.cpu_s, now, 0)],
    )


def flush_tracking() -> None:
    """Wait until every finished run's compute metrics are in MLflow."""
    COMPUTE_WRITER.flush()
