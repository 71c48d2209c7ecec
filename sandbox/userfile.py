"""Files a user names by path (import, score, ingest, explain, corpus, a model file): opened once, used by descriptor.

Checking a name and opening it again later lets a link be repointed in between: a scientist of bank A
read, scored and overwrote bank B's files that way (issue 11, finding 1). So every user path is opened
exactly once, and the check is made on what was opened, never on the name:

- the descriptor's real path (`/proc/self/fd/N`, the kernel's answer for that inode) must not lie in the
  store's `workspaces/`, `state/` or `mlruns/` outside this bank's root;
- a regular file with other hard links on the store's disk is refused (a hard link to another bank's file
  is the same inode under another path, which the real path cannot reveal);
- reads take regular files only (a FIFO would block, a device never ends); files inside a folder are opened
  relative to the folder's checked descriptor with `O_NOFOLLOW`, so a link planted in it is not followed;
- outputs go to a temp file created by descriptor in the checked folder, then renamed over the name, so a
  link at the output name is replaced, never written through.

Before opening, the name is checked too (`os.path.abspath` and `os.path.realpath`): a path into another
bank's workspace gets the same refusal whether or not the file exists, so the answer is no existence
oracle (finding 10). File names with control characters are refused: a newline in a name printed fake
lines in listings (finding 15). Every refusal is audited in the platform log (`access.denied`).
"""

from __future__ import annotations

import errno
import os
import re
import secrets
import stat
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from .errors import InvalidInput, SandboxError

# C0 controls, DEL and C1 controls: a name holding one can print as a fake line or recolour a terminal.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_READ = os.O_RDONLY | os.O_CLOEXEC | os.O_NOCTTY | os.O_NONBLOCK  # NONBLOCK: opening a FIFO must not hang
_DIR = os.O_RDONLY | os.O_CLOEXEC | os.O_DIRECTORY
_TMP_PREFIX = ".sandbox-tmp-"


def has_control(text: str) -> bool:
    """True when `text` holds a control character (newline, carriage return, escape, other C0/C1)."""
    return bool(_CONTROL.search(text))


def printable(text: Any) -> str:
    """`text` with each control character written as its escape (\\n, \\x1b): safe to print on one line."""
    return _CONTROL.sub(lambda m: repr(m.group())[1:-1], str(text))


class FileMissing(InvalidInput):
    """The user's path names nothing (a caller may turn this into its own NotFound or a per-file rejection)."""


def _os_error(field: str, shown: str, err: OSError, what: str = "file") -> SandboxError:
    """One line for an OSError met while opening a user's path (no traceback, the field named)."""
    code = err.errno
    if code == errno.ENOENT:
        return FileMissing(field, f"{what} {shown} does not exist", "check the path")
    if code == errno.ENAMETOOLONG:
        return InvalidInput(
            field,
            f"the path {shown[:60]}... is too long for the file system (a name is at most 255 bytes)",
            "use a shorter file name",
        )
    if code == errno.ENOTDIR:
        return InvalidInput(field, f"{shown}: a part of the path is a file, not a folder", "check the path")
    if code in (errno.EACCES, errno.EPERM):
        return InvalidInput(field, f"{shown} cannot be opened (permission denied)", "check the file's permissions")
    if code == errno.ELOOP:
        return InvalidInput(
            field,
            f"{shown} is a symbolic link (or a loop of links), which is not followed here",
            "pass the file itself, not a link to it",
        )
    if code in (errno.EMFILE, errno.ENFILE):
        return InvalidInput(field, "too many files open at once", "pass fewer files in one go")
    return InvalidInput(field, f"{shown} cannot be opened ({os.strerror(code) if code else err})", "check the path")


def _real(fd: int) -> str:
    """The kernel's path of the open inode: what was opened, not what the name says now."""
    try:
        real = os.readlink(f"/proc/self/fd/{fd}")
    except OSError as err:  # no /proc: refuse rather than trust a name
        raise SandboxError(
            f"cannot check where an opened file lives ({err.strerror})", "run the sandbox on Linux with /proc mounted"
        ) from None
    return real[: -len(" (deleted)")] if real.endswith(" (deleted)") else real


def _inside(path: Path, root: Path) -> bool:
    return path == root or path.is_relative_to(root)


class Guard:
    """The rule for one workspace context: its own bank's root yes, the rest of the store's private parts no."""

    def __init__(self, ctx: Any):
        store = ctx.store
        self.ctx = ctx
        self.guarded = tuple(Path(os.path.realpath(g)) for g in (store.workspaces, store.state, store.mlruns))
        self.root = Path(os.path.realpath(ctx.root))
        try:
            self.store_dev: int | None = os.stat(store.home).st_dev
        except OSError:
            self.store_dev = None

    def forbidden(self, path: str) -> bool:
        if not path.startswith("/"):  # pipe:[...], anon_inode:...: not a file of the store
            return False
        p = Path(path)
        return any(_inside(p, g) for g in self.guarded) and not _inside(p, self.root)

    def deny(self, shown: str, real: str, reason: str, message: str | None = None, fix: str | None = None) -> None:
        ctx = self.ctx
        ctx.require(
            "file",
            refusal=reason,
            path=shown,
            real=real,  # audited and raised by access.require
            message=message or f"{shown} is inside the sandbox store but outside the workspace of {ctx.bank}",
            fix=fix or "use your own copy of the file, or one in this bank's workspace",
        )
        raise AssertionError("unreachable: a refusal always raises")

    def precheck(self, path: str, shown: str) -> None:
        """Refuse by name first, the same way whether or not the file exists (no existence oracle)."""
        for candidate in (os.path.abspath(path), os.path.realpath(path)):
            if self.forbidden(candidate):
                self.deny(shown, candidate, "path inside the sandbox store, outside the bank")

    def check_fd(self, fd: int, st: os.stat_result, shown: str) -> str:
        """The checks that count: where the opened inode lives, and whether another name shares it."""
        real = _real(fd)
        if self.forbidden(real):
            self.deny(shown, real, "file inside the sandbox store, outside the bank")
        if stat.S_ISREG(st.st_mode) and st.st_nlink > 1 and st.st_dev == self.store_dev:
            self.deny(
                shown,
                real,
                "hard link on the store's disk",
                f"{shown} has {st.st_nlink} hard links on the sandbox store's disk (one may be another bank's file)",
                "pass a copy of the file (cp makes one), not a hard link",
            )
        return real


def _shown(path: str | os.PathLike, field: str) -> tuple[str, str]:
    """(path to open, path to show); refuses empty paths, NUL and control characters."""
    if isinstance(path, bytes):
        path = os.fsdecode(path)
    raw = os.path.expanduser(os.fspath(path))
    if not raw:
        raise InvalidInput(field, "no path given", "give the path of a file")
    if "\x00" in raw:
        raise InvalidInput(field, f"the path {printable(raw)!r} holds a NUL byte", "give a plain file path")
    if has_control(raw):
        name = os.path.basename(raw.rstrip("/"))
        what = f"the file name {name!r}" if has_control(name) else f"the path {raw!r}"
        raise InvalidInput(
            field,
            f"{what} has control characters (a newline, escape ...), which would print as fake lines",
            "rename the file without them",
        )
    return raw, raw


class UserFile:
    """An opened, checked user file: read it from `fh` (binary, seekable), never reopen it by name.

    `name` (base name as given), `suffix`, `size` (bytes, from fstat) and `path` (as given) are for messages
    and for choosing a parser; `proc_path` names the same inode for an API that insists on a path.
    """

    def __init__(self, fh: BinaryIO, path: str, st: os.stat_result, real: str):
        self.fh = fh
        self.path = path
        self.stat = st
        self.real = real
        self.name = os.path.basename(path.rstrip("/")) or path
        self.suffix = Path(self.name).suffix
        self.size = st.st_size

    @property
    def fd(self) -> int:
        return self.fh.fileno()

    @property
    def proc_path(self) -> str:
        return f"/proc/self/fd/{self.fd}"

    def read_bytes(self, limit: int | None = None) -> bytes:
        """The content from the start; with `limit`, at most limit + 1 bytes (so "too large" can be told)."""
        self.fh.seek(0)
        return self.fh.read() if limit is None else self.fh.read(limit + 1)

    def same_file(self, other: os.stat_result | None) -> bool:
        return other is not None and (other.st_dev, other.st_ino) == (self.stat.st_dev, self.stat.st_ino)

    def close(self) -> None:
        self.fh.close()

    def __enter__(self) -> UserFile:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"UserFile({printable(self.path)!r}, size={self.size})"


def _adopt(guard: Guard | None, fd: int, shown: str, field: str, unguarded_real: str = "") -> UserFile:
    """Check an opened descriptor (against the guard, when there is a bank to guard) and wrap it as a regular
    file; closes it on refusal."""
    try:
        st = os.fstat(fd)
        real = guard.check_fd(fd, st, shown) if guard is not None else unguarded_real
        if stat.S_ISDIR(st.st_mode):
            raise InvalidInput(field, f"{shown} is a folder", "pass a file")
        if not stat.S_ISREG(st.st_mode):
            raise InvalidInput(
                field, f"{shown} is not a regular file (a device, pipe or socket)", "pass a regular file"
            )
        os.set_blocking(fd, True)
        fh = os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise
    return UserFile(fh, shown, st, real)


def open_file(ctx: Any, path: str | os.PathLike, field: str = "file") -> UserFile:
    """Open a file the user brings in (their own anywhere, or this bank's), checked by its descriptor.

    Links given by the user are followed: the check is on the inode that was opened, so a link to another
    bank's file is that file and is refused, and repointing the link afterwards changes nothing.
    """
    guard = Guard(ctx)
    raw, shown = _shown(path, field)
    guard.precheck(raw, shown)
    try:
        fd = os.open(raw, _READ)
    except OSError as err:
        raise _os_error(field, shown, err) from None
    return _adopt(guard, fd, shown, field)


@dataclass
class FolderEntry:
    """A file found in a checked folder; `open()` opens it relative to the folder's descriptor, links not followed."""

    folder: UserFolder
    name: str
    path: str

    @property
    def suffix(self) -> str:
        return Path(self.name).suffix

    def open(self, field: str = "file") -> UserFile:
        return self.folder.open(self.name, field)


class UserFolder:
    """An opened, checked folder: list and open what is in it through its descriptor only."""

    def __init__(self, guard: Guard, fd: int, path: str, real: str):
        self.guard = guard
        self.fd = fd
        self.path = path
        self.real = real
        self._children: list[UserFolder] = []

    @property
    def proc_path(self) -> str:
        return f"/proc/self/fd/{self.fd}"

    def open(self, name: str, field: str = "file") -> UserFile:
        shown = os.path.join(self.path, name)
        try:
            fd = os.open(name, _READ | os.O_NOFOLLOW, dir_fd=self.fd)
        except OSError as err:
            raise _os_error(field, shown, err) from None
        return _adopt(self.guard, fd, shown, field)

    def subfolder(self, name: str, field: str = "folder") -> UserFolder:
        shown = os.path.join(self.path, name)
        try:
            fd = os.open(name, _DIR | os.O_NOFOLLOW, dir_fd=self.fd)
        except OSError as err:
            raise _os_error(field, shown, err, "folder") from None
        sub = _adopt_folder(self.guard, fd, shown)
        self._children.append(sub)
        return sub

    def walk(
        self, refuse: Callable[[str], str | None], limit: int, field: str = "paths"
    ) -> tuple[list[FolderEntry], list[dict]]:
        """Every regular file below this folder (sorted, hidden files skipped, links never followed) for which
        `refuse(name)` gives no reason, and a rejection (name, reason) for the others, each link and each bad name."""
        found: list[FolderEntry] = []
        rejected: list[dict] = []

        def visit(folder: UserFolder) -> None:
            with os.scandir(folder.fd) as it:
                entries = sorted(it, key=lambda e: e.name)
            for e in entries:
                shown = os.path.join(folder.path, e.name)
                if has_control(e.name):
                    rejected.append(
                        {
                            "name": printable(e.name),
                            "reason": f"the file name {e.name!r} has control "
                            "characters (a newline, escape ...); rename the file without them",
                        }
                    )
                    continue
                if e.is_symlink():
                    if not e.name.startswith("."):
                        rejected.append(
                            {
                                "name": e.name,
                                "reason": "is a link; links inside a folder are not followed: pass the file itself",
                            }
                        )
                    continue
                if e.is_dir(follow_symlinks=False):
                    try:
                        visit(folder.subfolder(e.name, field))
                    except InvalidInput as err:
                        rejected.append({"name": e.name, "reason": err.message.split(": ", 1)[-1]})
                    continue
                if e.name.startswith("."):
                    continue
                if not e.is_file(follow_symlinks=False):
                    rejected.append({"name": e.name, "reason": "is not a regular file (a device, pipe or socket)"})
                elif (reason := refuse(e.name)) is not None:
                    rejected.append({"name": e.name, "reason": reason})
                else:
                    found.append(FolderEntry(folder, e.name, shown))
                    if len(found) > limit:
                        raise InvalidInput(field, f"more than {limit} files in one go", "pass the folder in parts")

        visit(self)
        return found, rejected

    def close(self) -> None:
        for child in self._children:
            child.close()
        self._children = []
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def __enter__(self) -> UserFolder:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def _adopt_folder(guard: Guard, fd: int, shown: str) -> UserFolder:
    try:
        real = guard.check_fd(fd, os.fstat(fd), shown)
    except BaseException:
        os.close(fd)
        raise
    return UserFolder(guard, fd, shown, real)


def _open_dir_creating(guard: Guard, raw: str, shown: str, field: str, create: bool) -> tuple[int, list[str]]:
    """Descriptor of the deepest existing folder on `raw` (checked), and the names still to create below it."""
    missing: list[str] = []
    cur = raw
    while True:
        try:
            fd = os.open(cur, _DIR)
            break
        except FileNotFoundError:
            parent, tail = os.path.split(cur.rstrip("/"))
            if not create or not tail or parent == cur:
                raise _os_error(field, shown, FileNotFoundError(errno.ENOENT, "missing"), "folder") from None
            missing.insert(0, tail)
            cur = parent or "."
        except NotADirectoryError:
            raise InvalidInput(field, f"{shown} is a file", "give a folder (it is created when missing)") from None
        except OSError as err:
            raise _os_error(field, shown, err, "folder") from None
    try:
        guard.check_fd(fd, os.fstat(fd), shown)
    except BaseException:
        os.close(fd)
        raise
    return fd, missing


def _descend(guard: Guard, fd: int, missing: list[str], shown: str, field: str) -> int:
    """Create each missing folder below `fd` by descriptor (no link followed); returns the deepest one's fd."""
    for name in missing:
        try:
            os.mkdir(name, dir_fd=fd)
        except FileExistsError:
            pass
        except OSError as err:
            os.close(fd)
            raise _os_error(field, shown, err, "folder") from None
        try:
            nfd = os.open(name, _DIR | os.O_NOFOLLOW, dir_fd=fd)
        except OSError as err:
            os.close(fd)
            raise _os_error(field, shown, err, "folder") from None
        os.close(fd)
        fd = nfd
        try:
            guard.check_fd(fd, os.fstat(fd), shown)
        except BaseException:
            os.close(fd)
            raise
    return fd


def open_folder(ctx: Any, path: str | os.PathLike, field: str = "folder", create: bool = False) -> UserFolder:
    """Open a folder the user names, checked by its descriptor BEFORE anything in it is listed.

    `create=True` makes it (and missing parents) by descriptor below the deepest existing, checked folder.
    """
    guard = Guard(ctx)
    raw, shown = _shown(path, field)
    guard.precheck(raw, shown)
    fd, missing = _open_dir_creating(guard, raw, shown, field, create)
    fd = _descend(guard, fd, missing, shown, field)
    return UserFolder(guard, fd, shown, _real(fd))


def open_any(ctx: Any, path: str | os.PathLike, field: str = "paths") -> UserFile | UserFolder:
    """Open a path that may be a file or a folder (one open), checked; the caller tells them apart by type."""
    guard = Guard(ctx)
    raw, shown = _shown(path, field)
    guard.precheck(raw, shown)
    try:
        fd = os.open(raw, _READ)
    except OSError as err:
        raise _os_error(field, shown, err) from None
    try:
        st = os.fstat(fd)
    except BaseException:
        os.close(fd)
        raise
    if stat.S_ISDIR(st.st_mode):
        return _adopt_folder(guard, fd, shown)
    return _adopt(guard, fd, shown, field)


class UserOutput:
    """Where a result file goes: a checked folder descriptor and a name. `writing()` writes a temp file in it by
    descriptor and renames it over the name, so the old file stays whole until the new one is complete, and a
    link at the name is replaced, never written through."""

    def __init__(self, guard: Guard, fd: int, missing: list[str], name: str, path: str, field: str):
        self.guard = guard
        self._fd = fd  # the deepest existing folder; `missing` folders are made below it when writing
        self._missing = missing
        self.name = name
        self.path = path
        self.field = field
        self.suffix = Path(name).suffix

    def existing(self) -> os.stat_result | None:
        """What the name holds now (links followed), to refuse writing over the input; None when nothing."""
        if self._missing:
            return None
        try:
            return os.stat(self.name, dir_fd=self._fd)
        except OSError:
            return None

    @contextmanager
    def writing(self) -> Iterator[BinaryIO]:
        self._fd = _descend(self.guard, self._fd, self._missing, self.path, self.field)
        self._missing = []
        dfd = self._fd
        tmp = f"{_TMP_PREFIX}{secrets.token_hex(8)}{self.suffix[:16]}"
        try:
            fd = os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600, dir_fd=dfd)
        except OSError as err:
            raise _os_error(self.field, self.path, err) from None
        try:
            with os.fdopen(fd, "wb") as fh:
                yield fh
                fh.flush()
                os.fsync(fh.fileno())
            try:
                os.rename(tmp, self.name, src_dir_fd=dfd, dst_dir_fd=dfd)
            except OSError as err:
                raise _os_error(self.field, self.path, err) from None
            tmp = ""
            os.fsync(dfd)  # the new name is durable, not just the bytes
        finally:
            if tmp:
                try:
                    os.unlink(tmp, dir_fd=dfd)
                except FileNotFoundError:
                    pass

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __enter__(self) -> UserOutput:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def open_output(ctx: Any, path: str | os.PathLike, field: str = "output") -> UserOutput:
    """Check where the user wants a file written: its folder is opened once and checked by descriptor.

    Missing folders are made only when writing. A name longer than the file system allows is one line
    naming `field`, not a traceback.
    """
    guard = Guard(ctx)
    raw, shown = _shown(path, field)
    folder, name = os.path.split(raw)
    if not name or name in (".", ".."):
        raise InvalidInput(field, f"{shown} is not a file name", "give the path of the file to write, e.g. scores.csv")
    guard.precheck(raw, shown)
    fd, missing = _open_dir_creating(guard, folder or ".", shown, field, create=True)
    try:
        name_max = os.fpathconf(fd, "PC_NAME_MAX")
    except (OSError, ValueError):
        name_max = 255
    longest = max([len(os.fsencode(name))] + [len(os.fsencode(m)) for m in missing])
    if longest > name_max:
        os.close(fd)
        raise InvalidInput(
            field,
            f"the file name {name[:40]}... is {longest} bytes long; the file system allows {name_max}",
            "use a shorter file name",
        )
    return UserOutput(guard, fd, missing, name, shown, field)


@contextmanager
def reading(src: UserFile | str | os.PathLike, field: str = "file") -> Iterator[UserFile]:
    """For parsers: a UserFile passes through untouched (its opener closes it); a plain path (tests, internal
    callers, no bank to check against) is opened once here, as a regular file, and closed after."""
    if isinstance(src, UserFile):
        yield src
        return
    raw, shown = _shown(src, field)
    try:
        fd = os.open(raw, _READ)
    except OSError as err:
        raise _os_error(field, shown, err) from None
    with _adopt(None, fd, shown, field, unguarded_real=raw) as f:
        yield f
