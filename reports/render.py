"""Rendering a report document to Markdown, HTML and the terminal.

A report is a list of :class:`Section` objects: prose, tables (pandas DataFrames) and figures (PNG
bytes). ``format_*`` functions return strings; nothing here writes files.
"""

from __future__ import annotations

import base64
import html
from dataclasses import dataclass, field

import pandas as pd

__all__ = ["Figure", "Section", "Table", "format_html", "format_latex_table", "format_markdown",
           "format_markdown_table", "format_terminal_table"]


@dataclass(frozen=True)
class Table:
    caption: str
    frame: pd.DataFrame
    csv_name: str | None = None  # file name of the CSV twin in the report folder


@dataclass(frozen=True)
class Figure:
    caption: str
    filename: str  # PNG file name in the report folder
    png: bytes = field(repr=False)
    # Vector twins for publishing, file name -> bytes (e.g. {"energy.svg": ..., "energy.pdf": ...}).
    vectors: dict[str, bytes] = field(default_factory=dict, repr=False)


@dataclass(frozen=True)
class Section:
    title: str
    text: str = ""
    tables: tuple[Table, ...] = ()
    figures: tuple[Figure, ...] = ()


def _cell(value: object) -> str:
    if isinstance(value, float):
        if value != value:  # NaN: not applicable
            return "n/a"
        if value == 0:
            return "0"
        if abs(value) >= 1e5 or abs(value) < 1e-3:
            return f"{value:.3e}"
        return f"{value:.4g}"
    return str(value)


def format_markdown_table(frame: pd.DataFrame) -> str:
    """A DataFrame as a Markdown table (floats to 4 significant digits, NaN as n/a)."""
    cols = [str(c) for c in frame.columns]
    lines = ["| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    for row in frame.itertuples(index=False):
        lines.append("| " + " | ".join(_cell(v).replace("|", "\\|") for v in row) + " |")
    return "\n".join(lines)


def format_markdown(title: str, intro: str, sections: list[Section]) -> str:
    """The report as Markdown; figures are linked to their PNG files beside ``index.md``."""
    out = [f"# {title}", "", intro.strip(), ""]
    for sec in sections:
        out += [f"## {sec.title}", ""]
        if sec.text:
            out += [sec.text.strip(), ""]
        for tab in sec.tables:
            out += [f"**{tab.caption}**" + (f" ([CSV]({tab.csv_name}))" if tab.csv_name else ""), ""]
            out += [format_markdown_table(tab.frame), ""]
        for fig in sec.figures:
            twins = ", ".join(f"[{n.rsplit('.', 1)[-1].upper()}]({n})" for n in fig.vectors)
            out += [f"![{fig.caption}]({fig.filename})", "",
                    f"*{fig.caption}*" + (f" ({twins})" if twins else ""), ""]
    return "\n".join(out).rstrip() + "\n"


_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;max-width:1100px;margin:2em auto;
padding:0 1em;color:#1d232a;line-height:1.45}
h1{font-size:1.7em;border-bottom:2px solid #1d232a;padding-bottom:.2em}h2{margin-top:1.8em;font-size:1.3em}
table{border-collapse:collapse;margin:.6em 0 1.4em;font-size:.88em;display:block;overflow-x:auto;max-width:100%}
th,td{border:1px solid #c8ced6;padding:.25em .6em;text-align:right;white-space:nowrap}
th{background:#eef1f5}td:first-child,th:first-child{text-align:left}
td.str{text-align:left}td.text{text-align:left;white-space:normal;min-width:14em;max-width:38em}
caption{caption-side:top;text-align:left;font-weight:600;padding:.3em 0}
figure{margin:1em 0 2em}figure img{max-width:100%;border:1px solid #e2e6ea}
figcaption{font-size:.9em;color:#4a5561}p.intro{color:#333}code{background:#f3f5f7;padding:0 .2em}
"""


def _html_cell(value: object) -> str:
    # Long prose (definitions, reasons) wraps and reads left to right; numbers stay right-aligned.
    text = html.escape(_cell(value))
    if isinstance(value, str):
        return f'<td class="{"text" if len(value) > 24 else "str"}">{text}</td>'
    return f"<td>{text}</td>"


def _html_table(tab: Table) -> str:
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in tab.frame.columns)
    rows = []
    for row in tab.frame.itertuples(index=False):
        rows.append("<tr>" + "".join(_html_cell(v) for v in row) + "</tr>")
    link = f' (<a href="{html.escape(tab.csv_name)}">CSV</a>)' if tab.csv_name else ""
    return (f"<table><caption>{html.escape(tab.caption)}{link}</caption><thead><tr>{head}</tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table>")


def _paragraphs(text: str) -> str:
    blocks = [b.strip() for b in text.strip().split("\n\n") if b.strip()]
    return "".join(f"<p>{html.escape(' '.join(b.split()))}</p>" for b in blocks)


def format_html(title: str, intro: str, sections: list[Section]) -> str:
    """The report as one self-contained HTML page (figures embedded as base64 PNG)."""
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
        f'<div class="intro">{_paragraphs(intro)}</div>',
    ]
    for sec in sections:
        parts.append(f"<h2>{html.escape(sec.title)}</h2>")
        if sec.text:
            parts.append(_paragraphs(sec.text))
        parts += [_html_table(t) for t in sec.tables]
        for fig in sec.figures:
            data = base64.b64encode(fig.png).decode("ascii")
            parts.append(
                f'<figure><img alt="{html.escape(fig.caption)}" src="data:image/png;base64,{data}">'
                f"<figcaption>{html.escape(fig.caption)}</figcaption></figure>"
            )
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def format_terminal_table(frame: pd.DataFrame, *, max_width: int = 120, max_cell: int = 60,
                          csv_hint: str | None = None) -> str:
    """A compact fixed-width table for the terminal that never drops a column silently.

    Columns that do not fit ``max_width`` continue in further blocks below (the first column repeated as
    the row key, each block headed "columns i-j of n"); text cells longer than ``max_cell`` characters are
    shortened with "..." and a closing line says so and where the full values are (``csv_hint``).
    """
    shortened = False

    def cell(v: object) -> str:
        nonlocal shortened
        text = _cell(v)
        if len(text) > max_cell:
            shortened = True
            return text[: max_cell - 3] + "..."
        return text

    cols = [str(c) for c in frame.columns]
    if not cols:
        return ""
    cells = [cols] + [[cell(v) for v in row] for row in frame.itertuples(index=False)]
    widths = [max(len(r[i]) for r in cells) for i in range(len(cols))]
    # Numbers right-aligned, text (and the row key) left-aligned.
    right = [i > 0 and pd.api.types.is_numeric_dtype(frame.iloc[:, i]) for i in range(len(cols))]
    # Blocks of columns that fit: column 0 (the row key) leads every block.
    blocks: list[list[int]] = []
    current: list[int] = [0]
    used = widths[0]
    for i in range(1, len(cols)):
        if len(current) > 1 and used + 2 + widths[i] > max_width:
            blocks.append(current)
            current, used = [0], widths[0]
        current.append(i)
        used += 2 + widths[i]
    blocks.append(current)
    lines: list[str] = []
    for b, block in enumerate(blocks):
        if len(blocks) > 1:
            if b:
                lines.append("")
            rest = f"{block[1] + 1}" if len(block) == 2 else f"{block[1] + 1}-{block[-1] + 1}"
            lines.append(f"(columns 1-{block[-1] + 1} of {len(cols)})" if b == 0 else
                         f"(columns 1, {rest} of {len(cols)})")
        for n, row in enumerate(cells):
            lines.append("  ".join(row[i].rjust(widths[i]) if right[i] else row[i].ljust(widths[i])
                                   for i in block).rstrip())
            if n == 0:
                lines.append("  ".join("-" * widths[i] for i in block))
    if shortened:
        where = f"; full values in {csv_hint}" if csv_hint else "; full values in the CSV/JSON output"
        lines.append(f"(cells longer than {max_cell} characters shortened with ...{where})")
    return "\n".join(lines)


_LATEX_SPECIAL = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
                  "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}"}


def _latex(text: object) -> str:
    return "".join(_LATEX_SPECIAL.get(ch, ch) for ch in str(text))


def format_latex_table(frame: pd.DataFrame, *, caption: str = "", label: str | None = None) -> str:
    """A DataFrame as a LaTeX ``table`` with booktabs rules (``\\usepackage{booktabs}``).

    Numbers are right-aligned with the same 4 significant digits as the Markdown tables; text is escaped.
    """
    cols = [str(c) for c in frame.columns]
    numeric = [pd.api.types.is_numeric_dtype(frame[c]) for c in frame.columns]
    spec = "".join("r" if n else "l" for n in numeric)
    lines = [r"\begin{table}[htbp]", r"\centering"]
    if caption:
        lines.append(rf"\caption{{{_latex(caption)}}}")
    if label:
        lines.append(rf"\label{{{_latex(label)}}}")
    lines += [rf"\begin{{tabular}}{{{spec}}}", r"\toprule", " & ".join(_latex(c) for c in cols) + r" \\",
              r"\midrule"]
    for row in frame.itertuples(index=False):
        lines.append(" & ".join(_latex(_cell(v)) for v in row) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}", r"\end{table}"]
    return "\n".join(lines) + "\n"
