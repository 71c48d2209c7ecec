"""Named crash points for the crash-safety tests: `SANDBOX_CRASH_AT=<name>` makes the process SIGKILL itself there.

A writer calls `crash_point("chat.index.before_current")` between the steps whose order makes it crash-safe;
tests/security/test_crash.py kills a real command at each point and checks that the previous good state (or
the new one, whole) still answers and verifies. Unset, it costs one environment lookup.
"""

from __future__ import annotations

import os
import signal


def crash_point(name: str) -> None:
    if os.environ.get("SANDBOX_CRASH_AT") == name:
        os.kill(os.getpid(), signal.SIGKILL)
