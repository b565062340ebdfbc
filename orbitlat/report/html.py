"""The report page: number formatting, HTML tables, the CSS and the page template (no JavaScript,
nothing external, so the page opens offline).
"""
from __future__ import annotations

import html
from typing import Any, Sequence
import numpy as np

__all__ = []


def __dir__() -> list[str]:  # tab completion (IPython, Jedi) and dir() show the API, not the imports
    return list(__all__)


# ---------------------------------------------------------------------------
# small helpers
# ---------------------------------------------------------------------------
def _fmt(v: Any, nd: int = 1) -> str:
    """A number for prose: NaN as 'n/a', large values with thousands separators."""
    try:
        x = float(v)
    except (TypeError, ValueError):
        return str(v)
    if not np.isfinite(x):
        return "n/a"
    if abs(x) >= 1000:
        return f"{x:,.0f}"
    return f"{x:.{nd}f}"

def _pct(v: Any, nd: int = 1) -> str:
    try:
        x = float(v)
    except (TypeError, ValueError):
        return str(v)
    return "n/a" if not np.isfinite(x) else f"{100 * x:.{nd}f} %"

def _cell(v: Any, float_digits: int, pct: bool) -> tuple[str, bool]:
    """(text, is_number) of one table cell."""
    if isinstance(v, (bool, np.bool_)):
        return str(bool(v)), False
    if isinstance(v, (int, np.integer)):
        return f"{int(v):,}" if abs(int(v)) >= 10000 else str(int(v)), True
    if isinstance(v, (float, np.floating)):
        x = float(v)
        if not np.isfinite(x):
            return "n/a", True
        if pct:
            return _pct(x), True
        if x.is_integer() and abs(x) >= 1:
            return (f"{x:,.0f}" if abs(x) >= 10000 else f"{x:.0f}"), True
        if abs(x) >= 10000:
            return f"{x:,.0f}", True
        return f"{x:.{float_digits}f}", True
    return str(v), False

def _table_html(df, *, float_digits: int = 2, index: bool = True, pct_cols: Sequence[str] = ()) -> str:
    """An HTML table: numbers right-aligned (class ``num``), text left-aligned, everything escaped."""
    e = html.escape
    cols = list(df.columns)
    head = ([e(str(df.index.name or ""))] if index else []) + [e(str(c)) for c in cols]
    rows = []
    for idx, row in zip(df.index, df.itertuples(index=False)):
        cells = []
        if index:
            cells.append(f"<th>{e(str(idx))}</th>")
        for c, v in zip(cols, row):
            text, num = _cell(v, float_digits, c in pct_cols)
            cells.append(f"<td class='num'>{e(text)}</td>" if num else f"<td>{e(text)}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return ("<table class='tbl'><thead><tr>" + "".join(f"<th>{h}</th>" for h in head) + "</tr></thead><tbody>"
            + "".join(rows) + "</tbody></table>")

def _json_default(o: Any):
    if isinstance(o, (np.integer,)):
        return int(o)
    if isinstance(o, (np.floating,)):
        return float(o) if np.isfinite(o) else None
    if isinstance(o, np.ndarray):
        return o.tolist()
    return str(o)

_CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif;max-width:1100px;margin:1.5em auto;
padding:0 1em;color:#222;line-height:1.45}
h1{font-size:1.6em;margin-bottom:.2em}h2{border-bottom:2px solid #ddd;padding-bottom:.2em;margin-top:1.8em}
.meta{color:#666;margin-top:0}.warn{background:#fff4d6;border:1px solid #e0c060;padding:.5em .8em}
nav{margin:.8em 0 1.2em 0}nav a{color:#2060a0}
table.tbl{border-collapse:collapse;font-size:.85em;margin:.6em 0 1em 0}
table.tbl th,table.tbl td{border-bottom:1px solid #e4e4e4;padding:.25em .6em;text-align:left;vertical-align:top}
table.tbl thead th{background:#f4f6f8}table.tbl td.num{text-align:right;white-space:nowrap}
table.tbl tbody th{font-weight:600}
figure{margin:1em 0}figure img{max-width:100%;height:auto;border:1px solid #eee}
figcaption{color:#555;font-size:.9em}ul.concl li{margin-bottom:.5em}code{background:#f4f4f4;padding:0 .2em}
"""

_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title><style>{css}</style></head>
<body>
{body}
</body></html>
"""
