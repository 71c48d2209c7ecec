"""Text out of uploaded policy documents: .txt .md .html .docx .pdf, one place for every check.

Each failure names the file and the fix (empty, binary, oversized, encrypted or
text-less PDF, text that is not UTF-8, a damaged .docx). Nothing here touches
the index: a rejected file is reported and the index is left as it was.
"""
from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

from sandbox import userfile
from sandbox.errors import InvalidInput

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


def _decode_text(name: str, data: bytes) -> str:
    if b"\x00" in data[:8192]:
        raise _bad(name, "looks binary (it contains NUL bytes)", "upload a text, Markdown, HTML, Word (.docx) or PDF document")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise _bad(name, f"is not UTF-8 text (bad byte at offset {err.start})",
                   "save it as UTF-8 (e.g. `iconv -f big5 -t utf-8 FILE > FILE.utf8`) and upload again") from None
    sample = text[:20000]
    if sample and len(_CONTROL.findall(sample)) > 0.01 * len(sample):
        raise _bad(name, "looks binary (too many control characters)", "upload a text document")
    return text


_BLOCKS = ["p", "div", "section", "article", "header", "footer", "main", "aside", "nav", "li", "ul", "ol", "dt", "dd",
           "h1", "h2", "h3", "h4", "h5", "h6", "tr", "table", "blockquote", "pre", "br", "hr", "title", "figcaption"]


def _html_text(name: str, data: bytes) -> tuple[str, str]:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(_decode_text(name, data), "html.parser")
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
    return soup.get_text(""), title

def _docx_text(name: str, data: bytes) -> tuple[str, str]:
    try:
        import docx
        from docx.opc.exceptions import PackageNotFoundError
    except ImportError as err:  # pragma: no cover - a declared dependency
        raise _bad(name, "Word documents need python-docx", "pip install python-docx") from err
    try:
        doc = docx.Document(io.BytesIO(data))
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError) as err:
        raise _bad(name, f"is not a readable Word document ({type(err).__name__})",
                   "save it again as .docx from Word, or upload it as PDF") from None
    parts = [p.text for p in doc.paragraphs if p.text.strip()]
    for table in doc.tables:
        for row in table.rows:
            cells = [c.text.strip() for c in row.cells if c.text.strip()]
            if cells:
                parts.append(" | ".join(dict.fromkeys(cells)))
    return "\n\n".join(parts), (doc.core_properties.title or "").strip()


def _pdf_text(name: str, data: bytes) -> tuple[str, str]:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    if not data.lstrip()[:5].startswith(b"%PDF"):
        raise _bad(name, "is not a PDF (no %PDF header)", "upload the original PDF file")
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise _bad(name, "is an encrypted (password-protected) PDF", "remove the password and upload it again")
        pages = [page.extract_text() or "" for page in reader.pages]
        title = str((reader.metadata or {}).get("/Title") or "").strip()
    except PdfReadError as err:
        raise _bad(name, f"is a damaged PDF ({err})", "export the PDF again and upload it") from None
    text = "\n".join(unwrap(p) for p in pages if p.strip())
    if not text.strip():
        raise _bad(name, "has no text layer (a scanned PDF?)", "run OCR on it first, or upload the source document")
    return text, title


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
    if len(data) > MAX_BYTES:
        raise _bad(name, f"is too large ({_size(len(data))}, limit {_size(MAX_BYTES)})", "split it into smaller documents")
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
        raise _bad(name, f"has too much text ({len(text):,} characters, limit {MAX_CHARS:,})", "split it into smaller documents")
    return Extracted(name=Path(name).name, title=title, kind="html" if suffix == ".htm" else suffix.lstrip("."),
                     text=text, size=len(data))


def extract_file(path: Path | str | userfile.UserFile) -> Extracted:
    """Extract a document given as a checked `UserFile` (read by its descriptor, never reopened) or a plain path."""
    if not isinstance(path, userfile.UserFile):
        path = Path(path)
        if not path.is_file():
            raise _bad(path.name, f"not found at {path}", "check the path")
    with userfile.reading(path, f"file {path.name}") as src:
        if src.size > MAX_BYTES:  # refuse before reading a huge file into memory
            raise _bad(src.name, f"is too large ({_size(src.size)}, limit {_size(MAX_BYTES)})", "split it into smaller documents")
        return extract_bytes(src.name, src.read_bytes(MAX_BYTES))


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
