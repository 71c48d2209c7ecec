"""Checks a newcomer can run (issue 12): lint and format clean, and no function too long to read."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("sandbox", "usecases", "apps")
MAX_LINES = 80
# Functions allowed over MAX_LINES, each with the reason it reads better whole. Empty is the goal.
LONG_ALLOWED: dict[str, str] = {
    "usecases/risk/card.py:render": "model-card template: reads best top to bottom, one section after another",
    "usecases/fraud/card.py:model_card": "model-card template: reads best top to bottom, one section after another",
}


def _ruff() -> list[str]:
    exe = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")
    if exe is None:
        pytest.skip("ruff is not installed (it is in the test extras: make setup)")
    return [exe]


def test_no_function_is_longer_than_a_screen():
    long = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    lines = node.end_lineno - node.lineno + 1
                    name = f"{path.relative_to(ROOT)}:{node.name}"
                    if lines > MAX_LINES and name not in LONG_ALLOWED:
                        long.append(f"{name} ({lines} lines)")
    assert not long, f"functions over {MAX_LINES} lines (split them along their steps): {long}"


def test_ruff_lint_is_clean():
    out = subprocess.run([*_ruff(), "check", "--no-cache", "."], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout[-4000:]


def test_ruff_format_is_clean():
    out = subprocess.run([*_ruff(), "format", "--check", "--no-cache", "."], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout[-4000:]
