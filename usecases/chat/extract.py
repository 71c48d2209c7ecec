"""Text out of uploaded policy documents: .txt .md .html .docx .pdf, one place for every check.

Each failure names the file and the fix (empty, binary, oversized, encrypted or
text-less PDF, text that is not UTF-8, a damaged .docx, a document over a page,
time or memory limit). Nothing here touches the index: a rejected file is
reported and the index is left as it was. PDF, Word and HTML files are parsed
in a worker process with a time and memory limit (docparse.py); wrap a batch in
`parsing()` so they share one worker.
"""

from __future__ import annotations

import contextlib
import contextvars
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from sandbox import bounded, userfile
from sandbox.errors import InvalidInput

from .docparse import DocumentParser

SUFFIXES = (".txt", ".md", ".html", ".htm", ".docx", ".pdf")
MAX_BYTES = 20 * 1024 * 1024  # one upload; larger files are refused, not truncated
MAX_CHARS = 2_000_000  # extracted text
# Control characters other than tab/newline/carriage return/form feed: a text file full of them is binary.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")


@dataclass(frozen=True)
class Extracted:
    name: str
    title: str
    kind: str  # suffix without the dot: txt, md, html, docx, pdf
    text: str
    size: int


def _size(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n >= 100_000 else f"{n:,} bytes"


def _bad(name: str, problem: str, fix: str) -> InvalidInput:
    return InvalidInput(f"file {name}", problem, fix)


def max_bytes() -> int:
    """The byte cap of one document: MAX_BYTES, or $SANDBOX_MAX_DOC_BYTES when set."""
    return bounded.env_int("SANDBOX_MAX_DOC_BYTES", MAX_BYTES)


def _too_large(name: str, size: int) -> InvalidInput:
    return _bad(
        name,
        f"is too large ({_size(size)}, limit {_size(max_bytes())}, set by SANDBOX_MAX_DOC_BYTES)",
        "split it into smaller documents",
    )


def _decode_text(name: str, data: bytes) -> str:
    if b"\x00" in data[:8192]:
        raise _bad(
            name, "looks binary (it contains NUL bytes)", "upload a text, Markdown, HTML, Word (.docx) or PDF document"
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise _bad(
            name,
            f"is not UTF-8 text (bad byte at offset {err.start})",
            "save it as UTF-8 (e.g. `iconv -f big5 -t utf-8 FILE > FILE.utf8`) and upload again",
        ) from None
    sample = text[:20000]
    if sample and len(_CONTROL.findall(sample)) > 0.01 * len(sample):
        raise _bad(name, "looks binary (too many control characters)", "upload a text document")
    return text


@contextlib.contextmanager
def parsing() -> Iterator[DocumentParser]:
    """One document-reader process for every PDF, Word and HTML file read inside this block (an ingest):
    started on the first such file, stopped at the end. Outside it each such file starts its own."""
    parser = DocumentParser()
    token = _PARSER.set(parser)
    try:
        yield parser
    finally:
        _PARSER.reset(token)
        parser.close()


_PARSER: contextvars.ContextVar[DocumentParser | None] = contextvars.ContextVar("document_parser", default=None)


def _parse(kind: str, name: str, data: bytes) -> dict:
    """Parse in the worker process (time, memory, page and object limits); a refusal names the file."""
    parser = _PARSER.get()
    if parser is not None:
        return parser.parse(kind, name, data, MAX_CHARS)
    with DocumentParser() as one_off:
        return one_off.parse(kind, name, data, MAX_CHARS)


def _html_text(name: str, data: bytes) -> tuple[str, str]:
    text = _decode_text(name, data)  # the encoding checks give their reasons here, before the worker is asked
    out = _parse("html", name, text.encode("utf-8"))
    return out["text"], out["title"]


def _docx_text(name: str, data: bytes) -> tuple[str, str]:
    out = _parse("docx", name, data)
    return out["text"], out["title"]


def _pdf_text(name: str, data: bytes) -> tuple[str, str]:
    if not data.lstrip()[:5].startswith(b"%PDF"):
        raise _bad(name, "is not a PDF (no %PDF header)", "upload the original PDF file")
    out = _parse("pdf", name, data)
    text = "\n".join(unwrap(p) for p in out["pages"] if p.strip())
    if not text.strip():
        raise _bad(name, "has no text layer (a scanned PDF?)", "run OCR on it first, or upload the source document")
    return text, out["title"]


_NEW_BLOCK = re.compile(r"^(\d+(\.\d+)*\.?\s|[-*\u2022]\s|[A-Z][A-Za-z ]{0,40}:\s)")


def unwrap(page: str) -> str:
    """Join a PDF's hard-wrapped lines back into paragraphs; a clause number, bullet or 'Label:' starts a new one."""
    out: list[str] = []
    for line in (ln.strip() for ln in page.splitlines()):
        if not line:
            continue
        if out and not out[-1].endswith((".", ":", ";", "!", "?")) and not _NEW_BLOCK.match(line):
            out[-1] = f"{out[-1]} {line}"
        else:
            out.append(line)
    return "\n\n".join(out)


def extract_bytes(name: str, data: bytes) -> Extracted:
    """Extract text from a document's bytes; `name` gives the kind by its suffix."""
    suffix = Path(name).suffix.lower()
    if suffix not in SUFFIXES:
        raise _bad(name, f"has an unsupported type {suffix or '(no suffix)'!r}", f"upload one of {', '.join(SUFFIXES)}")
    if not data or not data.strip():
        raise _bad(name, "is empty", "upload a document with text in it")
    if len(data) > max_bytes():
        raise _too_large(name, len(data))
    if suffix == ".pdf":
        text, title = _pdf_text(name, data)
    elif suffix == ".docx":
        text, title = _docx_text(name, data)
    elif suffix in (".html", ".htm"):
        text, title = _html_text(name, data)
    else:
        text, title = _decode_text(name, data), ""
    text = normalise(text)
    title = " ".join(title.split())[:200] or _first_line(text) or Path(name).stem
    if not text:
        raise _bad(name, "has no text after extraction", "upload a document with text in it")
    if len(text) > MAX_CHARS:
        raise _bad(
            name,
            f"has too much text ({len(text):,} characters, limit {MAX_CHARS:,})",
            "split it into smaller documents",
        )
    return Extracted(
        name=Path(name).name,
        title=title,
        kind="html" if suffix == ".htm" else suffix.lstrip("."),
        text=text,
        size=len(data),
    )


def extract_file(path: Path | str | userfile.UserFile) -> Extracted:
    """Extract a document given as a checked `UserFile` (read by its descriptor, never reopened) or a plain path."""
    if not isinstance(path, userfile.UserFile):
        path = Path(path)
        if not path.is_file():
            raise _bad(path.name, f"not found at {path}", "check the path")
    with userfile.reading(path, f"file {path.name}") as src:
        if src.size > max_bytes():  # refuse before reading a huge file into memory
            raise _too_large(src.name, src.size)
        return extract_bytes(src.name, src.read_bytes(max_bytes()))


def _first_line(text: str) -> str:
    for line in text.splitlines():
        line = line.strip().lstrip("#").strip()
        if line and not set(line) <= set("=-_*"):
            return line[:200]
    return ""


def normalise(text: str) -> str:
    """Unify line ends and spaces; keep paragraph breaks (the splitter uses them)."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\u00a0", " ").replace("\t", " ")
    text = re.sub(r"[ \f\v]+", " ", text)
    text = re.sub(r" *\n *", "\n", text)
    text = re.sub(r"\n{3,}", "\n\n", text)
    return text.strip()
