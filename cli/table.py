"""Plain-text tables in restatectl's style: an upper-case header row, columns left-aligned and
two spaces apart, no borders, no colour (the output is pasted into tickets and grepped)."""

from __future__ import annotations

from collections.abc import Sequence

EMPTY = "(none)"
_GAP = "  "


def cell(value: object) -> str:
    """How one value reads in a table: null is "-", booleans are yes/no."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def render(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """The table as lines joined by newlines (no trailing newline, no trailing spaces);
    a table without rows is its header and a line saying "(none)"."""
    texts = [[cell(v) for v in row] for row in rows]
    for row in texts:
        if len(row) != len(headers):
            raise ValueError(f"a row has {len(row)} cells for {len(headers)} columns: {row}")
    widths = [max([len(h), *(len(row[i]) for row in texts)]) for i, h in enumerate(headers)]
    lines = [_line(headers, widths)]
    lines.extend(_line(row, widths) for row in texts)
    if not texts:
        lines.append(EMPTY)
    return "\n".join(lines)


def _line(cells: Sequence[str], widths: Sequence[int]) -> str:
    return _GAP.join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()
