"""An evidence pack's report as one self-contained HTML file: styles inline, charts as data URIs, no scripts.

The report is a list of blocks (`Block`), the same list `report_pdf` prints, so the HTML and the PDF say the
same thing. It reads offline: nothing is fetched, links point at files inside the pack (relative) or at
sections of the report itself. The output depends only on its input (no clock, no random ids), so the same
version and data give the same bytes.
"""

from __future__ import annotations

import base64
import html
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Link:
    """A link to a file inside the pack (or `#section` of the report)."""

    target: str
    text: str = ""


@dataclass(frozen=True)
class Block:
    kind: str  # h1 | h2 | p | kv | table | img | pre | md (Markdown, e.g. the model card)
    text: str = ""
    anchor: str = ""
    columns: tuple[str, ...] = ()
    rows: tuple[tuple[Any, ...], ...] = ()
    data: bytes = b""
    classes: dict[str, str] = field(default_factory=dict)  # cell text -> css class of its cell (status colours)


STYLE = """
body{font-family:-apple-system,'Segoe UI',Helvetica,Arial,sans-serif;margin:2em auto;max-width:1100px;color:#1d2733;
line-height:1.45;padding:0 1em}
h1{font-size:1.6em;border-bottom:3px solid #0b5394;padding-bottom:.3em}h2{font-size:1.2em;margin-top:2em;color:#0b5394}
table{border-collapse:collapse;width:100%;font-size:.88em;margin:.6em 0}th,td{border:1px solid #c8d0d9;padding:.3em .5em;
text-align:left;vertical-align:top}th{background:#eef2f6}td.num{text-align:right;font-variant-numeric:tabular-nums}
.met{background:#e3f4e1}.partly{background:#fff4d6}.notaddressed{background:#fde2e1}.notapplicable{color:#6b7785}
.pass{color:#1e7b34;font-weight:600}.fail{color:#b3261e;font-weight:600}
.card h3{font-size:1.1em}.card h4{font-size:1em;margin-bottom:.3em}.card code{background:#f6f8fa;padding:0 .2em}
.card blockquote{border-left:3px solid #c8d0d9;margin-left:0;padding-left:1em;color:#4a5663}
pre{white-space:pre-wrap;background:#f6f8fa;border:1px solid #e1e6eb;padding:.8em;font-size:.85em}
img{max-width:100%;border:1px solid #e1e6eb;margin:.4em 0}dl{display:grid;grid-template-columns:max-content 1fr;
gap:.2em 1em}dt{font-weight:600}dd{margin:0;word-break:break-all}figure{margin:0 0 1em}
@media print{body{margin:0;max-width:none}h2{page-break-after:avoid}table,img{page-break-inside:avoid}}
"""


def _cell(value: Any) -> str:
    if isinstance(value, Link):
        return f'<a href="{html.escape(value.target, quote=True)}">{html.escape(value.text or value.target)}</a>'
    if isinstance(value, (list, tuple)):
        return "<br>".join(_cell(v) for v in value) or "&ndash;"
    if isinstance(value, float):
        return f"{value:.4g}"
    return html.escape("" if value is None else str(value))


def _table(b: Block) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in b.columns)
    body = []
    for row in b.rows:
        cells = []
        for v in row:
            numeric = isinstance(v, (int, float)) and not isinstance(v, bool)
            css = b.classes.get(v, "") if isinstance(v, str) else ("num" if numeric else "")
            cells.append(f'<td class="{css}">{_cell(v)}</td>' if css else f"<td>{_cell(v)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _markdown() -> Any:
    """A CommonMark parser with tables that keeps raw HTML as text and fetches nothing.

    The model card is written by the bank, and the report opens in a reviewer's browser: a `<script>` in it must
    show as text, not run, and an image or link must not reach outside the pack (the report reads offline).
    """
    from markdown_it import MarkdownIt

    md = MarkdownIt("commonmark", {"html": False}).enable("table").disable("image")
    md.renderer.rules["link_open"] = lambda tokens, idx, options, env: ""
    md.renderer.rules["link_close"] = lambda tokens, idx, options, env: _link_target(tokens, idx)
    return md


def _link_target(tokens: list, idx: int) -> str:
    """A link's target after its text, as text: '[policy](https://x)' reads 'policy (https://x)'."""
    opener = next(t for t in reversed(tokens[:idx]) if t.type == "link_open")
    return f" ({html.escape(str(opener.attrGet('href') or ''))})"


def markdown_html(text: str, shift: int = 2) -> str:
    """Markdown as HTML, headings moved down `shift` levels so that a card's '# title' sits under the report's h2."""
    md = _markdown()
    tokens = md.parse(text)
    for t in tokens:
        if t.type in ("heading_open", "heading_close"):
            t.tag = f"h{min(6, int(t.tag[1]) + shift)}"
    return md.renderer.render(tokens, md.options, {})


def render_block(b: Block) -> str:
    if b.kind == "h1":
        return f"<h1>{html.escape(b.text)}</h1>"
    if b.kind == "h2":
        return f'<h2 id="{html.escape(b.anchor, quote=True)}">{html.escape(b.text)}</h2>'
    if b.kind == "p":
        return f"<p>{html.escape(b.text)}</p>"
    if b.kind == "kv":
        items = "".join(f"<dt>{html.escape(str(k))}</dt><dd>{_cell(v)}</dd>" for k, v in b.rows)
        return f"<dl>{items}</dl>"
    if b.kind == "table":
        return _table(b)
    if b.kind == "img":
        uri = "data:image/png;base64," + base64.b64encode(b.data).decode("ascii")
        return f'<figure><img alt="{html.escape(b.text, quote=True)}" src="{uri}"><figcaption>{html.escape(b.text)}</figcaption></figure>'
    if b.kind == "pre":
        return f"<pre>{html.escape(b.text)}</pre>"
    if b.kind == "md":
        return f'<div class="card">{markdown_html(b.text)}</div>'
    raise ValueError(f"unknown block kind {b.kind!r}")


def render(title: str, blocks: list[Block]) -> bytes:
    """The whole report: UTF-8 HTML with no external reference."""
    body = "\n".join(render_block(b) for b in blocks)
    page = (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title><style>{STYLE}</style></head>\n<body>\n{body}\n</body></html>\n"
    )
    return page.encode("utf-8")
