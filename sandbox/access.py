"""Who may do what: actors, roles and actions, declared once; one check answers.

Modelled on datasette's permissions: an *actor* asks to perform an *action*
on a *resource* (a bank, the platform, or `SOME_BANK` while a page or listing
has not chosen one). `can()` is the only place that decides; `require()` decides,
audits a refusal in the platform log (`access.denied`) and raises AccessDenied:
every face (the workspace door, the CLI, the web gate, the server) refuses
through it, so a refusal is recorded the same way wherever it happens. Every
action a caller names is declared here; tests/test_access_declared.py scans the
code for names that are not.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, Protocol

from .errors import AccessDenied

Role = Literal["scientist", "reviewer", "admin"]
ROLES: tuple[str, ...] = ("scientist", "reviewer", "admin")


@dataclass(frozen=True)
class Actor:
    name: str
    role: str
    bank: str | None = None  # set for bank roles (scientist)

    def to_dict(self) -> dict:
        return {"name": self.name, "role": self.role, "bank": self.bank}


@dataclass(frozen=True, kw_only=True)
class Action:
    """One thing an actor may ask to do; declared by keyword so a new entry cannot shift another's meaning."""

    name: str
    resource: Literal["bank", "platform"]
    writes: bool
    description: str
    raw_data: bool = False  # touches raw customer rows or document text


def _actions(*items: Action) -> dict[str, Action]:
    return {a.name: a for a in items}


ACTIONS: dict[str, Action] = _actions(
    # platform administration
    Action(name="bank.create", resource="platform", writes=True, description="create a bank workspace"),
    Action(name="bank.list", resource="platform", writes=False, description="list banks"),
    Action(
        name="workspace.open",
        resource="bank",
        writes=False,
        description="open a bank's workspace (its own scientists, reviewers, admins)",
    ),
    Action(name="user.add", resource="platform", writes=True, description="add a user"),
    Action(name="user.list", resource="platform", writes=False, description="list users"),
    Action(name="quota.set", resource="platform", writes=True, description="set a bank's compute quota"),
    Action(name="server.run", resource="platform", writes=True, description="run the multi-user MLflow server"),
    Action(name="platform.audit.read", resource="platform", writes=False, description="read the platform audit log"),
    Action(
        name="store.doctor",
        resource="platform",
        writes=True,
        description="check the store and repair what is safe (sandbox doctor)",
    ),
    Action(
        name="store.backup",
        resource="platform",
        writes=False,
        description="back up the whole store (every bank's data)",
        raw_data=True,
    ),
    Action(
        name="store.restore",
        resource="platform",
        writes=True,
        description="restore the whole store from a backup",
        raw_data=True,
    ),
    # bank evidence: what a reviewer may read
    Action(name="runs.read", resource="bank", writes=False, description="read runs, metrics, plots, model cards"),
    Action(name="models.read", resource="bank", writes=False, description="read registered models and model cards"),
    Action(name="audit.read", resource="bank", writes=False, description="read and verify a bank's audit trail"),
    Action(
        name="audit.verify",
        resource="bank",
        writes=False,
        description="check that a bank's audit chain is intact (hashes and counts, no entries)",
    ),
    Action(name="usage.read", resource="bank", writes=False, description="read compute usage and quota"),
    Action(name="eval.read", resource="bank", writes=False, description="read evaluation reports"),
    Action(
        name="review.sign",
        resource="bank",
        writes=False,
        description="approve a run or request changes (reviewer sign-off)",
    ),
    # bank work: scientists of that bank only
    Action(
        name="data.read", resource="bank", writes=False, description="read raw rows and workspace files", raw_data=True
    ),
    Action(name="data.write", resource="bank", writes=True, description="write workspace files", raw_data=True),
    # refused by the door's own confinement checks (require(..., refusal=why)), never granted to anyone else
    Action(name="path", resource="bank", writes=False, description="reach a path inside the workspace", raw_data=True),
    Action(
        name="file",
        resource="bank",
        writes=False,
        description="open a file or folder the user names (outside other banks and the store)",
        raw_data=True,
    ),
    Action(name="runs.write", resource="bank", writes=True, description="start runs and log to them"),
    Action(name="models.load", resource="bank", writes=False, description="load a model to score with", raw_data=True),
    Action(name="fraud.simulate", resource="bank", writes=True, description="simulate transactions", raw_data=True),
    Action(name="fraud.import", resource="bank", writes=True, description="import transactions", raw_data=True),
    Action(name="fraud.train", resource="bank", writes=True, description="train a fraud detector", raw_data=True),
    Action(name="fraud.score", resource="bank", writes=False, description="score transactions", raw_data=True),
    Action(name="risk.simulate", resource="bank", writes=True, description="simulate applicants", raw_data=True),
    Action(name="risk.train", resource="bank", writes=True, description="train credit-risk models", raw_data=True),
    Action(
        name="risk.explain", resource="bank", writes=False, description="explain applicant decisions", raw_data=True
    ),
    Action(name="chat.ingest", resource="bank", writes=True, description="ingest documents", raw_data=True),
    Action(
        name="chat.delete", resource="bank", writes=True, description="delete a document from the index", raw_data=True
    ),
    Action(name="chat.ask", resource="bank", writes=False, description="ask the assistant", raw_data=True),
    Action(name="chat.eval", resource="bank", writes=True, description="evaluate the assistant", raw_data=True),
    # assurance, AI vs AI (usecases/assure/): attacks on the bank's own models, in its own workspace
    Action(
        name="assure.chat_redteam",
        resource="bank",
        writes=True,
        description="red-team the chat assistant (generated attacks on a scratch index)",
        raw_data=True,
    ),
    Action(
        name="assure.fraud_attack",
        resource="bank",
        writes=True,
        description="attack the fraud champion with a query-budgeted fraud ring, then retrain in defender rounds",
        raw_data=True,
    ),
    # regulator-held test suites (usecases/assure/suites.py): reviewers own them, banks never read them; a run
    # executes under the platform identity (role "platform"), which alone loads the bank's champion for it
    Action(
        name="assure.suite_manage",
        resource="platform",
        writes=True,
        description="create and list the regulator's held-out test suites (banks never read them)",
    ),
    Action(
        name="assure.suite_run",
        resource="platform",
        writes=True,
        description="run a held-out suite against a bank's champion under the platform identity (aggregates only)",
    ),
    # model lifecycle (sandbox/lifecycle.py); reviewers decide with review.sign
    Action(name="models.submit", resource="bank", writes=True, description="submit a model version for review"),
    Action(
        name="models.promote",
        resource="bank",
        writes=True,
        description="promote an approved model version to champion, or roll back",
    ),
    Action(
        name="models.gates",
        resource="bank",
        writes=True,
        description="set the bank's model gate thresholds (a bank may only tighten them)",
    ),
    Action(
        name="models.gates.loosen",
        resource="bank",
        writes=True,
        description="set a gate threshold looser than the sandbox default (the sandbox admin only)",
    ),
    # the HTTP API (apps/api.py): keys for one's own bank work or reviews, never for platform administration
    Action(
        name="api_key.create",
        resource="platform",
        writes=True,
        description="create an API key for one's own use (scoped to one's bank, or a reviewer's banks)",
    ),
    # evidence packs (sandbox/evidence.py): built from evidence a reviewer may read, never raw rows
    Action(
        name="evidence.build",
        resource="bank",
        writes=False,
        description="build a signed evidence pack of a model version (reports, gates, reviews, audit entries)",
    ),
)

# What each role may do. Scope is applied in can(): scientists only in their bank.
ROLE_ACTIONS: dict[str, frozenset[str]] = {
    "scientist": frozenset(
        n for n, a in ACTIONS.items() if a.resource == "bank" and n not in ("review.sign", "models.gates.loosen")
    )
    | {"api_key.create"},
    "reviewer": frozenset(
        {
            "runs.read",
            "models.read",
            "audit.read",
            "audit.verify",
            "usage.read",
            "eval.read",
            "review.sign",
            "bank.list",
            "platform.audit.read",
            "workspace.open",
            "evidence.build",
            "assure.suite_manage",
            "assure.suite_run",
            "api_key.create",
        }
    ),
    # The platform identity a suite run executes under (usecases/assure/suite_runs.py): never a user (not in ROLES,
    # so no one can be added with it or sign in as it), bound to one bank; it loads the champion and writes the
    # run's aggregates, so that neither the reviewer nor the bank touches the other's rows. chat.ask: a chat suite
    # asks the bank's assistant its questions (untraced; usecases/assure/chat_suite.py).
    "platform": frozenset(
        {"workspace.open", "runs.read", "runs.write", "models.read", "models.load", "data.read", "chat.ask"}
    ),
    "admin": frozenset(
        {
            "bank.create",
            "bank.list",
            "user.add",
            "user.list",
            "quota.set",
            "server.run",
            "platform.audit.read",
            "usage.read",
            "store.doctor",
            "store.backup",
            "store.restore",
            "workspace.open",
            "audit.verify",
            "models.gates",
            "models.gates.loosen",
        }
    ),
}


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str

    def __bool__(self) -> bool:
        return self.allowed


@dataclass(frozen=True)
class SomeBank:
    """The resource "whichever bank the actor may reach": a scientist's own, any bank for the platform roles.
    For navigation and listings (which pages to show, which banks to list) before one bank is chosen."""

    def __repr__(self) -> str:
        return "SOME_BANK"


SOME_BANK = SomeBank()
Resource = str | SomeBank | None  # a bank id, SOME_BANK, or None (the platform)


def can(actor: Actor, action: str, bank: Resource = None) -> Decision:
    """Decide whether `actor` may perform `action` on `bank` (None = the platform, SOME_BANK = any bank they reach)."""
    spec = ACTIONS.get(action)
    if spec is None:
        return Decision(False, f"unknown action {action!r}")
    if action not in ROLE_ACTIONS.get(actor.role, frozenset()):
        return Decision(False, f"role {actor.role} may not {spec.description} ({action})")
    if spec.resource == "bank":
        if bank is None:
            return Decision(False, f"{action} needs a bank")
        if isinstance(bank, SomeBank):
            bank = actor.bank if actor.role == "scientist" else None
            if actor.role == "scientist" and bank is None:
                return Decision(False, f"{actor.name} works for no bank")
        if (actor.role == "scientist" or actor.bank is not None) and actor.bank != bank:  # bound to one bank
            return Decision(False, f"{actor.name} works for {actor.bank}, not {bank}")
    return Decision(True, f"role {actor.role} may {action}")


class AuditSink(Protocol):
    def append(self, event: str, actor: str, **data: Any) -> dict: ...


def require(
    actor: Actor,
    action: str,
    resource: Resource = None,
    *,
    audit: AuditSink,
    refusal: str | None = None,
    message: str | None = None,
    fix: str | None = None,
    **detail: Any,
) -> Decision:
    """Decide, and on a refusal audit it (`access.denied` in `audit`, the platform log) and raise AccessDenied.

    The one place a refusal is recorded and raised (datasette's `ensure_permission`). `refusal` is a fact the
    caller's own check found (a path leaving the workspace, a file of another bank): it refuses whatever the
    role allows, with that reason. `message`/`fix` override the wording; `detail` goes into the audit entry.
    An undeclared action is refused like any other (and tests/test_access_declared.py fails on it).
    """
    decision = Decision(False, refusal) if refusal else can(actor, action, resource)
    if decision:
        return decision
    bank = resource if isinstance(resource, str) else None
    audit.append(
        "access.denied",
        actor.name,
        action=action,
        **({"bank": bank} if bank else {}),
        role=actor.role,
        reason=decision.reason,
        **detail,
    )
    if fix is None:
        fix = (
            "admins manage banks, users and quotas, not a bank's data: sign in as one of the bank's users"
            if actor.role == "admin" and bank
            else "ask an admin for the right role, or use your own bank"
        )
    where = f" in bank {bank}" if bank else ""
    raise AccessDenied(message or f"{actor.name} may not {action}{where} ({decision.reason})", fix, decision.reason)


def actions_for(role: str) -> list[str]:
    return sorted(ROLE_ACTIONS.get(role, ()))
