"""The platform: isolated bank workspaces, access control, audit, tracking and compute quotas.

It imports no use case and no app. Start at `open_workspace`.
"""

from . import lifecycle  # noqa: E402,F401 - registers the lifecycle's ledger kinds: ctx.audit refuses to forge them
from .access import ACTIONS, SOME_BANK, Actor, can, require
from .errors import (
    AccessDenied,
    AuditChainBroken,
    AuthenticationFailed,
    InvalidInput,
    NotFound,
    QuotaExceeded,
    SandboxError,
    StoreError,
)
from .store import Store, validate_bank_id
from .workspace import WorkspaceContext, open_workspace

__all__ = [
    "ACTIONS",
    "AccessDenied",
    "Actor",
    "AuditChainBroken",
    "AuthenticationFailed",
    "InvalidInput",
    "NotFound",
    "QuotaExceeded",
    "SOME_BANK",
    "SandboxError",
    "Store",
    "StoreError",
    "WorkspaceContext",
    "can",
    "open_workspace",
    "require",
    "validate_bank_id",
]
