"""Path confinement: a name inside a root, never outside it ('..', absolute parts, links that lead out).

The workspace door asks this before it hands out a path; the refusal itself is the door's (audited through
`access.require`). Pure: it resolves names and answers, it does not decide who may ask.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath


def bad_part(part: object) -> bool:
    """A part no workspace path may contain: empty, NUL, absolute, '..', or a backslash (a Windows separator)."""
    text = str(part)
    p = PurePosixPath(text)
    return not text or "\x00" in text or p.is_absolute() or ".." in p.parts or "\\" in text


def confined(root: Path, parts: tuple) -> Path | None:
    """`root/parts...` resolved (links followed), or None when it is not inside `root` (itself included)."""
    if any(bad_part(part) for part in parts):
        return None
    resolved = root.joinpath(*map(str, parts)).resolve()
    if resolved != root and not resolved.is_relative_to(root):
        return None
    return resolved


def run_relative(artifact_path: str) -> bool:
    """An artifact path relative to its run (no absolute path, no '..')."""
    p = PurePosixPath(artifact_path)
    return not p.is_absolute() and ".." not in p.parts
