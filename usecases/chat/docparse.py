"""Parse untrusted documents (PDF, Word, HTML) in a child process with a time and a memory limit.

A 13 KB PDF kept pypdf busy for 127 s and 789 MB before it failed; a malformed .docx or a PDF over one of
pypdf's own limits ended `chat ingest` with a traceback (issue 11, findings 8 and 9). So the parsers run in a
worker process that the ingest starts once (on its first PDF, Word or HTML file) and reuses for the rest:

- the child caps its own address space (RLIMIT_AS) and, per document, its CPU time (RLIMIT_CPU); the parent
  kills it when a document takes longer than the wall-time limit and starts a fresh one for the next file;
- the document's bytes (already size-capped by the caller) go through a pipe: the child never opens a path;
- page, object and decompression caps (pypdf's Configuration, a page cap, the unzipped size of a .docx) stop
  most hostile files in the child before the time or memory limit is reached;
- every failure is one reason for that file (the other files of the ingest go on): the limit that was hit and
  the setting that raises it, or the kind of damage the parser reported.

This file is also the child's program (`python -I docparse.py --serve MEMORY_BYTES`), so its top level imports
the standard library only; the parent side imports the sandbox lazily.
"""

from __future__ import annotations

import io
import json
import os
import select
import struct
import subprocess
import sys
import time
from typing import Any

# Defaults of the limits (SANDBOX_<NAME> overrides each; see sandbox/bounded.py).
LIMITS = {
    "MAX_DOC_PAGES": (500, "pages of a PDF"),
    "MAX_DOC_SECONDS": (20, "seconds to read one PDF, Word or HTML document"),
    "MAX_DOC_MEMORY_MB": (1024, "MiB of memory of the document reader"),
    "MAX_DOC_UNZIPPED_MB": (256, "MiB of a Word document once unzipped"),
}
MAX_DOCX_PARTS = 10_000
KINDS = ("pdf", "docx", "html")


# -- the child ------------------------------------------------------------------
class Refused(Exception):
    """A document the child will not read: (problem, fix, setting or None)."""

    def __init__(self, problem: str, fix: str, setting: str | None = None):
        super().__init__(problem)
        self.problem, self.fix, self.setting = problem, fix, setting


def _pdf(data: bytes, opts: dict) -> dict:
    import pypdf
    from pypdf import PdfReader
    from pypdf.errors import LimitReachedError, PdfReadError

    if not data.lstrip()[:5].startswith(b"%PDF"):
        raise Refused("is not a PDF (no %PDF header)", "upload the original PDF file")
    pages_cap, chars_cap = int(opts["max_pages"]), int(opts["max_chars"])
    config = getattr(pypdf, "apply_configuration", None)  # pypdf >= 6.10: the reader's limits, tightened a little
    ctx = config(xform_maximum_invocations_per_extraction=1_000) if config else _null()
    try:
        with ctx:
            reader = PdfReader(io.BytesIO(data))
            if reader.is_encrypted:
                raise Refused("is an encrypted (password-protected) PDF", "remove the password and upload it again")
            n = len(reader.pages)
            if n > pages_cap:
                raise Refused(
                    f"has {n:,} pages (limit {pages_cap:,}, set by SANDBOX_MAX_DOC_PAGES)",
                    "split it into smaller documents",
                    "MAX_DOC_PAGES",
                )
            pages, chars = [], 0
            for page in reader.pages:
                text = page.extract_text() or ""
                chars += len(text)
                if chars > 2 * chars_cap:  # before the parent joins wrapped lines and normalises spaces
                    raise Refused(
                        f"has too much text (over {chars_cap:,} characters)", "split it into smaller documents"
                    )
                pages.append(text)
            title = str((reader.metadata or {}).get("/Title") or "").strip()
    except LimitReachedError as err:
        raise Refused(
            f"is over a safety limit of the PDF reader ({str(err)[:120]})",
            "export the PDF again (print to PDF) and upload it",
        ) from None
    except PdfReadError as err:
        raise Refused(f"is a damaged PDF ({str(err)[:120]})", "export the PDF again and upload it") from None
    return {"pages": pages, "title": title}


def _docx(data: bytes, opts: dict) -> dict:
    import zipfile

    import docx

    cap = int(opts["max_unzipped"])
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            infos = z.infolist()
    except (zipfile.BadZipFile, ValueError) as err:
        raise Refused(
            f"is not a readable Word document ({type(err).__name__})",
            "save it again as .docx from Word, or upload it as PDF",
        ) from None
    if len(infos) > MAX_DOCX_PARTS:
        raise Refused(f"holds {len(infos):,} parts (limit {MAX_DOCX_PARTS:,})", "save it again as .docx from Word")
    unzipped = sum(i.file_size for i in infos)
    if unzipped > cap:
        raise Refused(
            f"unzips to {unzipped / 2**20:,.0f} MiB (limit {cap / 2**20:,.0f} MiB, set by SANDBOX_MAX_DOC_UNZIPPED_MB)",
            "save it again as .docx from Word, or split it",
            "MAX_DOC_UNZIPPED_MB",
        )
    doc = docx.Document(io.BytesIO(data))
    parts = [p.text for p in doc.paragraphs if p.text.strip()]
    for table in doc.tables:
        for row in table.rows:
            cells = [c.text.strip() for c in row.cells if c.text.strip()]
            if cells:
                parts.append(" | ".join(dict.fromkeys(cells)))
    return {"text": "\n\n".join(parts), "title": (doc.core_properties.title or "").strip()}


_BLOCKS = [
    "p",
    "div",
    "section",
    "article",
    "header",
    "footer",
    "main",
    "aside",
    "nav",
    "li",
    "ul",
    "ol",
    "dt",
    "dd",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "tr",
    "table",
    "blockquote",
    "pre",
    "br",
    "hr",
    "title",
    "figcaption",
]


def _html(data: bytes, opts: dict) -> dict:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(data.decode("utf-8"), "html.parser")
    for tag in soup(["script", "style", "noscript", "template"]):
        tag.decompose()
    title_tag = soup.find("h1") or soup.find("title")
    title = " ".join(title_tag.get_text(" ").split()) if title_tag else ""
    if soup.head:
        soup.head.decompose()
    # Block elements become paragraph breaks; inline elements (a clause number in a <span>) stay in their line.
    for tag in soup.find_all(_BLOCKS):
        tag.insert_before("\n\n")
        tag.insert_after("\n\n")
    for cell in soup.find_all(["th", "td"]):
        cell.insert_after(" ")
    return {"text": soup.get_text(""), "title": title}


class _null:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: Any) -> None:
        return None


_PARSERS = {"pdf": _pdf, "docx": _docx, "html": _html}


def _read_exact(fd: int, n: int) -> bytes | None:
    buf = bytearray()
    while len(buf) < n:
        chunk = os.read(fd, min(n - len(buf), 1 << 20))
        if not chunk:
            return None
        buf += chunk
    return bytes(buf)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _send(fd: int, obj: dict) -> None:
    body = json.dumps(obj, ensure_ascii=False).encode("utf-8", "surrogatepass")
    _write_all(fd, struct.pack(">Q", len(body)) + body)


def serve(memory_bytes: int) -> None:
    """The child's loop: one request (header, bytes) in, one reply out, until stdin closes."""
    import resource

    def cap(which: int, soft: int) -> None:
        hard = resource.getrlimit(which)[1]
        if hard != resource.RLIM_INFINITY:
            soft = min(soft, hard)
        resource.setrlimit(which, (soft, hard))

    cap(resource.RLIMIT_CORE, 0)
    cap(resource.RLIMIT_AS, memory_bytes)
    rin, wout = sys.stdin.fileno(), sys.stdout.fileno()
    sys.stdout = sys.stderr  # a stray print from a library must not corrupt the protocol
    while True:
        head = _read_exact(rin, 4)
        if head is None:
            return
        raw_header = _read_exact(rin, struct.unpack(">I", head)[0])
        raw_size = _read_exact(rin, 8)
        data = _read_exact(rin, struct.unpack(">Q", raw_size)[0]) if raw_size else None
        if raw_header is None or data is None:
            return
        header = json.loads(raw_header)
        used = sum(resource.getrusage(resource.RUSAGE_SELF)[:2])
        cap(resource.RLIMIT_CPU, int(used + float(header.get("seconds", 20)) + 2))  # SIGXCPU ends a runaway parse
        fatal = False
        try:
            reply = {"ok": True, **_PARSERS[header["kind"]](data, header)}
            if len(reply.get("text", "")) > 2 * int(header["max_chars"]):  # before the parent normalises spaces
                raise Refused(
                    f"has too much text (over {header['max_chars']:,} characters)", "split it into smaller documents"
                )
        except Refused as err:
            reply = {"ok": False, "problem": err.problem, "fix": err.fix, "setting": err.setting}
        except MemoryError:
            reply = {"ok": False, "problem": "memory", "fix": "", "setting": "MAX_DOC_MEMORY_MB"}
            fatal = True
        except RecursionError:
            reply = {"ok": False, "problem": "is nested too deeply to read", "fix": "save it again from its editor"}
        except Exception as err:  # noqa: BLE001 - untrusted input: any parser failure is a reason for this file
            reply = {
                "ok": False,
                "problem": f"could not be read ({type(err).__name__}: {str(err)[:120]})",
                "fix": "save it again from its editor (or as PDF) and upload it",
            }
        del data
        try:
            _send(wout, reply)
        except MemoryError:
            _send(wout, {"ok": False, "problem": "memory", "fix": "", "setting": "MAX_DOC_MEMORY_MB"})
            fatal = True
        if fatal:  # a heap that ran out once is not trusted with the next document
            return


# -- the parent -------------------------------------------------------------------
def _limit(name: str) -> int:
    from sandbox import bounded

    return bounded.env_int(f"SANDBOX_{name}", LIMITS[name][0])


class DocumentParser:
    """One worker process, started on first use and reused; `parse` raises InvalidInput naming the file.

    Use it as a context manager around an ingest (`with DocumentParser() as p: ...`) so the worker is
    started at most once and stopped at the end."""

    def __init__(self) -> None:
        self.proc: subprocess.Popen | None = None
        self.starts = 0

    # worker lifecycle
    def _start(self) -> subprocess.Popen:
        memory = _limit("MAX_DOC_MEMORY_MB") * 2**20
        self.proc = subprocess.Popen(
            [sys.executable, "-I", os.path.abspath(__file__), "--serve", str(memory)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            close_fds=True,
        )
        self.starts += 1
        return self.proc

    def _stop(self, kill: bool = False) -> None:
        proc, self.proc = self.proc, None
        if proc is None:
            return
        try:
            if kill:
                proc.kill()
            else:
                proc.stdin.close()
            proc.wait(timeout=5)
        except (OSError, subprocess.TimeoutExpired):
            proc.kill()
            proc.wait()
        finally:
            for f in (proc.stdin, proc.stdout):
                try:
                    f.close()
                except OSError:
                    pass

    def close(self) -> None:
        self._stop()

    def __enter__(self) -> DocumentParser:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # one document
    def parse(self, kind: str, name: str, data: bytes, max_chars: int) -> dict:
        """{'pages': [...] or 'text': ..., 'title': ...} of one document, or InvalidInput naming the file."""
        from sandbox.errors import InvalidInput

        seconds = _limit("MAX_DOC_SECONDS")
        header = {
            "kind": kind,
            "max_pages": _limit("MAX_DOC_PAGES"),
            "max_chars": max_chars,
            "seconds": seconds,
            "max_unzipped": _limit("MAX_DOC_UNZIPPED_MB") * 2**20,
        }
        proc = self.proc if self.proc is not None and self.proc.poll() is None else self._start()
        deadline = time.monotonic() + seconds
        head = json.dumps(header).encode()
        try:
            _write_all(proc.stdin.fileno(), struct.pack(">I", len(head)) + head + struct.pack(">Q", len(data)))
            _write_all(proc.stdin.fileno(), data)
            reply = self._reply(proc, deadline)
        except BrokenPipeError:
            reply = None
        if reply is None:  # timed out, or the child died (SIGXCPU, out of memory in C, a crash)
            code = proc.poll()
            self._stop(kill=True)
            if time.monotonic() >= deadline or code in (-9, -24):  # SIGKILL by us / SIGXCPU
                raise InvalidInput(
                    f"file {name}",
                    f"took longer than {seconds} s to read (limit {seconds} s, set by SANDBOX_MAX_DOC_SECONDS)",
                    "split it, or export it again from its editor",
                )
            raise InvalidInput(
                f"file {name}",
                f"made the document reader stop (exit {code}); it may need more than "
                f"{_limit('MAX_DOC_MEMORY_MB')} MiB (set by SANDBOX_MAX_DOC_MEMORY_MB)",
                "export it again from its editor, or split it",
            )
        if reply.get("ok"):
            return reply
        if reply.get("problem") == "memory":
            self._stop(kill=True)
            mb = _limit("MAX_DOC_MEMORY_MB")
            raise InvalidInput(
                f"file {name}",
                f"needs more than {mb} MiB of memory to read (limit {mb} MiB, set by SANDBOX_MAX_DOC_MEMORY_MB)",
                "split it, or export it again from its editor",
            )
        raise InvalidInput(f"file {name}", str(reply.get("problem")), str(reply.get("fix") or "") or None)

    def _reply(self, proc: subprocess.Popen, deadline: float) -> dict | None:
        fd = proc.stdout.fileno()
        buf = bytearray()
        need = 8
        size = None
        while len(buf) < need:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            ready, _, _ = select.select([fd], [], [], left)
            if not ready:
                return None
            chunk = os.read(fd, max(need - len(buf), 1 << 16))
            if not chunk:
                return None
            buf += chunk
            if size is None and len(buf) >= 8:
                size = struct.unpack(">Q", bytes(buf[:8]))[0]
                need = 8 + size
        return json.loads(bytes(buf[8:need]).decode("utf-8", "surrogatepass"))


if __name__ == "__main__" and sys.argv[1:2] == ["--serve"]:
    serve(int(sys.argv[2]))
