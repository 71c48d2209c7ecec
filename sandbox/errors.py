"""Errors a user can cause, each carrying the fix.

The CLI and the apps print `str(err)` as one line and exit non-zero; anything
that is not a `SandboxError` is a bug and keeps its traceback.
"""

from __future__ import annotations


class SandboxError(Exception):
    """A user-facing error: what is wrong, and how to fix it."""

    exit_code = 1

    def __init__(self, message: str, fix: str | None = None):
        self.message = message
        self.fix = fix
        super().__init__(f"{message}: {fix}" if fix else message)


class InvalidInput(SandboxError):
    """Bad input at the boundary; names the field."""

    exit_code = 2

    def __init__(self, field: str, problem: str, fix: str | None = None):
        self.field = field
        super().__init__(f"{field}: {problem}", fix)


class AccessDenied(SandboxError):
    """A refusal from `access.require` (audited there); `reason` is the decision's own words."""

    exit_code = 3

    def __init__(self, message: str, fix: str | None = None, reason: str = ""):
        self.reason = reason
        super().__init__(message, fix)


class AuthenticationFailed(SandboxError):
    exit_code = 3


class NotFound(SandboxError):
    exit_code = 4


class QuotaExceeded(SandboxError):
    exit_code = 5


class StoreError(SandboxError):
    """The store is missing, locked or corrupted."""

    exit_code = 6


class AuditChainBroken(SandboxError):
    exit_code = 7
