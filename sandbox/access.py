"""Who may do what: actors, roles and actions, declared once; one check answers.

Modelled on datasette's permissions: an *actor* asks to perform an *action*
on a *resource* (a bank, or the platform). `can()` is the only place that
decides; `WorkspaceContext.require()` calls it and audits every denial.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Role = Literal["scientist", "reviewer", "admin"]
ROLES: tuple[str, ...] = ("scientist", "reviewer", "admin")


@dataclass(frozen=True)
class Actor:
    name: str
    role: str
    bank: str | None = None  # set for bank roles (scientist)

    def to_dict(self) -> dict:
        return {"name": self.name, "role": self.role, "bank": self.bank}


@dataclass(frozen=True)
class Action:
    name: str
    resource: Literal["bank", "platform"]
    writes: bool
    description: str
    raw_data: bool = False  # touches raw customer rows or document text


def _actions(*items: Action) -> dict[str, Action]:
    return {a.name: a for a in items}


ACTIONS: dict[str, Action] = _actions(
    # platform administration
    Action("bank.create", "platform", True, "create a bank workspace"),
    Action("bank.list", "platform", False, "list banks"),
    Action("user.add", "platform", True, "add a user"),
    Action("user.list", "platform", False, "list users"),
    Action("quota.set", "platform", True, "set a bank's compute quota"),
    Action("server.run", "platform", True, "run the multi-user MLflow server"),
    Action("platform.audit.read", "platform", False, "read the platform audit log"),
    Action("store.doctor", "platform", True, "check the store and repair what is safe (sandbox doctor)"),
    Action("store.backup", "platform", False, "back up the whole store (every bank's data)", raw_data=True),
    Action("store.restore", "platform", True, "restore the whole store from a backup", raw_data=True),
    # bank evidence: what a reviewer may read
    Action("runs.read", "bank", False, "read runs, metrics, plots, model cards"),
    Action("models.read", "bank", False, "read registered models and model cards"),
    Action("audit.read", "bank", False, "read and verify a bank's audit trail"),
    Action("usage.read", "bank", False, "read compute usage and quota"),
    Action("eval.read", "bank", False, "read evaluation reports"),
    Action("review.sign", "bank", False, "approve a run or request changes (reviewer sign-off)"),
    # bank work: scientists of that bank only
    Action("data.read", "bank", False, "read raw rows and workspace files", raw_data=True),
    Action("data.write", "bank", True, "write workspace files", raw_data=True),
    Action("runs.write", "bank", True, "start runs and log to them"),
    Action("models.load", "bank", False, "load a model to score with", raw_data=True),
    Action("fraud.simulate", "bank", True, "simulate transactions", raw_data=True),
    Action("fraud.import", "bank", True, "import transactions", raw_data=True),
    Action("fraud.train", "bank", True, "train a fraud detector", raw_data=True),
    Action("fraud.score", "bank", False, "score transactions", raw_data=True),
    Action("risk.simulate", "bank", True, "simulate applicants", raw_data=True),
    Action("risk.train", "bank", True, "train credit-risk models", raw_data=True),
    Action("risk.explain", "bank", False, "explain applicant decisions", raw_data=True),
    Action("chat.ingest", "bank", True, "ingest documents", raw_data=True),
    Action("chat.delete", "bank", True, "delete a document from the index", raw_data=True),
    Action("chat.ask", "bank", False, "ask the assistant", raw_data=True),
    Action("chat.eval", "bank", True, "evaluate the assistant", raw_data=True),
)

# What each role may do. Scope is applied in can(): scientists only in their bank.
ROLE_ACTIONS: dict[str, frozenset[str]] = {
    "scientist": frozenset(
        n for n, a in ACTIONS.items() if a.resource == "bank" and n != "review.sign"
    ),
    "reviewer": frozenset(
        {"runs.read", "models.read", "audit.read", "usage.read", "eval.read", "review.sign",
         "bank.list", "platform.audit.read"}
    ),
    "admin": frozenset(
        {"bank.create", "bank.list", "user.add", "user.list", "quota.set", "server.run",
         "platform.audit.read", "usage.read", "store.doctor", "store.backup", "store.restore"}
    ),
}


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str

    def __bool__(self) -> bool:
        return self.allowed


def can(actor: Actor, action: str, bank: str | None = None) -> Decision:
    """Decide whether `actor` may perform `action` on `bank` (None = the platform)."""
    spec = ACTIONS.get(action)
    if spec is None:
        return Decision(False, f"unknown action {action!r}")
    if action not in ROLE_ACTIONS.get(actor.role, frozenset()):
        return Decision(False, f"role {actor.role} may not {spec.description} ({action})")
    if spec.resource == "bank":
        if bank is None:
            return Decision(False, f"{action} needs a bank")
        if actor.role == "scientist" and actor.bank != bank:
            return Decision(False, f"{actor.name} works for {actor.bank}, not {bank}")
    return Decision(True, f"role {actor.role} may {action}")


def actions_for(role: str) -> list[str]:
    return sorted(ROLE_ACTIONS.get(role, ()))
