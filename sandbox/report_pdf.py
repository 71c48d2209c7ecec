"""The evidence report as a PDF, printed with fpdf2 (pure Python) from the same blocks as the HTML.

Why not headless Chromium: it is not on every host (CI, a reviewer's laptop), and a pack must build the same
everywhere. Why the same blocks rather than parsing the HTML: both files then say the same thing by
construction. Text is set in the PDF core font Helvetica (no font file to find or embed, and three times
faster than an embedded TrueType font): the few non-Latin-1 characters the reports use are spelt in ASCII
(`ASCII_FOR`), any other is replaced. The PDF's creation date is fixed by the caller (the run's time) and fpdf2
writes no random file id, so the same input gives the same bytes.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime
from typing import Any

from .report_html import Block, Link, markdown_html

_STATUS_FILL = {
    "met": (227, 244, 225),
    "partly": (255, 244, 214),
    "not addressed": (253, 226, 225),
    "pass": (227, 244, 225),
    "FAIL": (253, 226, 225),
}


ASCII_FOR = str.maketrans(
    {
        "\u201c": '"',
        "\u201d": '"',
        "\u2018": "'",
        "\u2019": "'",
        "\u2013": "-",
        "\u2014": "-",
        "\u2265": ">=",
        "\u2264": "<=",
        "\u2026": "...",
        "\u00d7": "x",
        "\u2212": "-",
        "\u2192": "->",
        "\u2248": "~",
    }
)


class _Printer:
    def __init__(self, title: str, created: datetime):
        from fpdf import FPDF

        self.pdf = pdf = FPDF(orientation="P", unit="mm", format="A4")
        pdf.set_creation_date(created)
        pdf.set_title(title)
        pdf.set_creator("Financial GenAI Sandbox evidence pack")
        pdf.set_auto_page_break(True, margin=14)
        pdf.set_margins(14, 14, 14)
        self.family = "Helvetica"
        pdf.add_page()

    def text(self, value: Any) -> str:
        if isinstance(value, Link):
            value = value.text or value.target
        elif isinstance(value, (list, tuple)):
            value = "\n".join(self.text(v) for v in value) or "-"
        elif isinstance(value, float):
            value = f"{value:.4g}"
        s = "" if value is None else str(value)
        return s.translate(ASCII_FOR).encode("latin-1", "replace").decode("latin-1")

    def heading(self, text: str, size: int) -> None:
        self.pdf.set_font(self.family, "B", size)
        self.pdf.multi_cell(0, size * 0.55, self.text(text), new_x="LMARGIN", new_y="NEXT")
        self.pdf.ln(1.5)

    def para(self, text: str, size: float = 9) -> None:
        self.pdf.set_font(self.family, "", size)
        self.pdf.multi_cell(0, size * 0.5, self.text(text), new_x="LMARGIN", new_y="NEXT")
        self.pdf.ln(1.5)

    def table(self, columns: tuple[str, ...], rows: tuple[tuple[Any, ...], ...], size: float = 7) -> None:
        from fpdf.fonts import FontFace

        pdf = self.pdf
        pdf.set_font(self.family, "", size)
        with pdf.table(
            headings_style=FontFace(emphasis="BOLD", fill_color=(238, 242, 246)),
            line_height=size * 0.5,
            text_align="LEFT",
            first_row_as_headings=True,
        ) as t:
            t.row([self.text(c) for c in columns])
            for r in rows:
                row = t.row()
                for v in r:
                    fill = _STATUS_FILL.get(v) if isinstance(v, str) else None
                    row.cell(self.text(v), style=FontFace(fill_color=fill) if fill else None)
        pdf.ln(2)

    def markdown(self, text: str, size: float = 8) -> None:
        """A Markdown text (the model card) with its headings, lists and tables, through fpdf2's HTML subset.

        The HTML comes from `markdown_html`, which keeps raw HTML as text and emits no image or link, so nothing in a
        bank-written card is fetched or followed while the PDF is printed.
        """
        from fpdf.fonts import TextStyle

        heading = {"color": (11, 83, 148), "font_style": "B", "b_margin": 1}
        styles = {
            "h3": TextStyle(font_size_pt=size + 3, t_margin=3, **heading),
            "h4": TextStyle(font_size_pt=size + 1.5, t_margin=3, **heading),
            "h5": TextStyle(font_size_pt=size + 0.5, t_margin=2, **heading),
            "h6": TextStyle(font_size_pt=size, t_margin=2, **heading),
        }
        self.pdf.set_font(self.family, "", size)
        self.pdf.write_html(
            markdown_html(self.text(text)), font_family=self.family, tag_styles=styles, li_prefix_color=(29, 39, 51)
        )
        self.pdf.ln(2)

    def image(self, caption: str, png: bytes) -> None:
        pdf = self.pdf
        if pdf.get_y() > pdf.h - 100:
            pdf.add_page()
        pdf.image(io.BytesIO(png), w=min(150, pdf.epw))
        self.para(caption, 8)


def render(title: str, blocks: list[Block], created: datetime | None = None) -> bytes:
    """The PDF's bytes. `created` is written as the document's creation date (default: a fixed epoch)."""
    p = _Printer(title, created or datetime(2000, 1, 1, tzinfo=UTC))
    for b in blocks:
        if b.kind == "h1":
            p.heading(b.text, 16)
        elif b.kind == "h2":
            p.heading(b.text, 12)
        elif b.kind == "p":
            p.para(b.text)
        elif b.kind == "kv":
            p.table(("field", "value"), b.rows)
        elif b.kind == "table":
            p.table(b.columns, b.rows)
        elif b.kind == "img":
            p.image(b.text, b.data)
        elif b.kind == "pre":
            p.para(b.text, 7.5)
        elif b.kind == "md":
            p.markdown(b.text)
    return bytes(p.pdf.output())
