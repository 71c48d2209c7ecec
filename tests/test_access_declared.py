"""One permission door: every action the code names is declared, and only access.require records a refusal."""

from __future__ import annotations

import ast
import functools
from pathlib import Path

from sandbox.access import ACTIONS, ROLES

ROOT = Path(__file__).resolve().parents[1]
SCANNED = ("sandbox", "usecases", "apps", "assurance")
# Calls whose first string argument is an action name: access.require/can, ctx.require/can, the web gate,
# the CLI's platform check.
CHECKS = {"require", "can", "allowed", "gate", "bank_ctx", "refuse", "_require", "_require_platform"}
# The door and the faces decide through access.can/require, never by comparing role names.
NO_ROLE_TESTS = (
    "sandbox/workspace.py",
    "sandbox/server",
    "sandbox/userfile.py",
    "sandbox/review.py",
    "sandbox/bank_runs.py",
    "sandbox/apikeys.py",
    "sandbox/lifecycle.py",
    "apps/cli.py",
    "apps/api.py",
    "apps/web/auth.py",
)  # path prefixes


@functools.lru_cache(maxsize=1)
def _sources() -> list[tuple[str, ast.Module]]:
    out = []
    for top in SCANNED:
        for path in sorted((ROOT / top).rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            out.append((rel, ast.parse(path.read_text(encoding="utf-8"), filename=rel)))
    return out


def _name(func: ast.expr) -> str | None:
    return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None


def _action_of(call: ast.Call) -> str | None:
    """The action a check is called with: its `action=` keyword, else a string literal first or second argument."""
    for kw in call.keywords:
        if kw.arg == "action" and isinstance(kw.value, ast.Constant) and isinstance(kw.value.value, str):
            return kw.value.value
    if _name(call.func) == "PageSpec":  # PageSpec(file, title, icon, action, section)
        arg = call.args[3] if len(call.args) > 3 else None
        return arg.value if isinstance(arg, ast.Constant) and isinstance(arg.value, str) else None
    for arg in call.args[:2]:  # ctx.require(ACTION, ...) or require(actor, ACTION, ...): never a later argument
        if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
            return arg.value
    return None


def action_uses() -> list[tuple[str, int, str]]:
    """(file, line, action) for every literal action named in a check anywhere in the code."""
    uses = []
    for rel, tree in _sources():
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and _name(node.func) in CHECKS | {"PageSpec"}:
                action = _action_of(node)
                if action is not None:
                    uses.append((rel, node.lineno, action))
    return uses


def test_the_scan_finds_the_checks_it_is_meant_to_find():
    found = {(rel, action) for rel, _, action in action_uses()}
    for expected in (
        ("sandbox/workspace.py", "workspace.open"),
        ("sandbox/workspace.py", "path"),
        ("sandbox/userfile.py", "file"),
        ("apps/cli.py", "bank.create"),
        ("sandbox/server_sync.py", "server.run"),
    ):
        assert expected in found, expected


def test_every_action_named_in_the_code_is_declared():
    undeclared = [f"{rel}:{line}: {action!r}" for rel, line, action in action_uses() if action not in ACTIONS]
    assert not undeclared, "declare these in sandbox/access.py ACTIONS:\n" + "\n".join(undeclared)


def test_only_access_require_writes_access_denied():
    writers = []
    for rel, tree in _sources():
        if rel == "sandbox/access.py":
            continue
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and _name(node.func) == "append"
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and node.args[0].value == "access.denied"
            ):
                writers.append(f"{rel}:{node.lineno}")
    assert not writers, "refuse through sandbox.access.require instead:\n" + "\n".join(writers)


def test_the_door_and_the_faces_never_compare_role_names():
    found = []
    for rel, tree in _sources():
        if not rel.startswith(NO_ROLE_TESTS):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Compare) and any(
                isinstance(n, ast.Attribute) and n.attr == "role" for n in (node.left, *node.comparators)
            ):
                consts = {c.value for c in ast.walk(node) if isinstance(c, ast.Constant)}
                if consts & set(ROLES):
                    found.append(f"{rel}:{node.lineno}")
    assert not found, "ask access.can/require for a decision instead:\n" + "\n".join(found)
