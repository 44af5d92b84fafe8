"""One self-contained HTML report: plotly charts with plotly.js inlined, plain HTML tables.

Why plotly: its Python wheel ships the plotly.js runtime itself
(``plotly.offline.get_plotlyjs()``), so the file opens offline with nothing fetched -- no
CDN, font or second package with a native binary (Altair needs ``vl-convert-python`` for
that). It is widely used and kept, draws SVG, and needs no build step. The page carries a
Content-Security-Policy that forbids every network load, so a chart that tried one would
fail loudly in the browser test instead of quietly in a user's browser.

Suppressed cells (``<11``, ``suppressed``) are drawn as gaps and say so in the hover text.
"""

from __future__ import annotations

import html
import json
from collections.abc import Mapping, Sequence
from datetime import datetime

import plotly.graph_objects as go
from plotly.offline import get_plotlyjs

from sync.insights.tables import BUCKETS, Cell, Table

__all__ = ["CHARTS", "render_html"]

CHARTS = ("funnel", "time_to_schedule", "outreach_vs_referrals", "sla_breaches", "data_quality")
_CSP = (
    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
    "img-src data: blob:; font-src data:"
)
_SORTABLE = {"referrals", "leakage_rate", "median_days_to_schedule", "p90_days_to_schedule"}
_STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:24px;color:#1f2933}
h1{font-size:1.5em;margin-bottom:0}.meta{color:#52606d;margin-top:4px}
section{margin:28px 0}h2{font-size:1.15em;border-bottom:1px solid #d9e2ec;padding-bottom:4px}
table{border-collapse:collapse;font-size:.9em}
th,td{padding:4px 10px;border-bottom:1px solid #e4e7eb;text-align:right}
th:first-child,td:first-child{text-align:left}th{background:#f5f7fa}
th.sort{cursor:pointer;text-decoration:underline dotted}th.sort:after{content:" \\2195"}
.grid{display:flex;flex-wrap:wrap;gap:16px}.chart{width:660px;height:380px}
.note{color:#52606d;font-size:.85em}.scroll{overflow-x:auto}
"""
_SORT_JS = """
document.querySelectorAll("table.sortable th.sort").forEach(function (th) {
  th.addEventListener("click", function () {
    var table = th.closest("table"), body = table.tBodies[0], i = th.cellIndex;
    var down = th.dataset.dir !== "desc"; th.dataset.dir = down ? "desc" : "asc";
    Array.from(body.rows).sort(function (a, b) {
      var x = parseFloat(a.cells[i].dataset.v), y = parseFloat(b.cells[i].dataset.v);
      return down ? y - x : x - y;
    }).forEach(function (row) { body.appendChild(row); });
  });
});
"""


def _number(cell: Cell) -> float | None:
    return float(cell) if isinstance(cell, int | float) and not isinstance(cell, bool) else None


def _hover(cell: Cell) -> str:
    return "suppressed (small count)" if isinstance(cell, str) else str(cell)


def _bar(name: str, x: Sequence[Cell], cells: Sequence[Cell], **kw: object) -> go.Bar:
    return go.Bar(
        name=name,
        x=list(x),
        y=[_number(c) for c in cells],
        hovertext=[_hover(c) for c in cells],
        text=[c if isinstance(c, str) else "" for c in cells],
        textposition="outside",
        cliponaxis=False,
        **kw,
    )


def _figures(tables: Mapping[str, Table]) -> dict[str, go.Figure]:
    funnel, tts = tables["funnel"].rows, tables["time_to_schedule"].rows
    timeline, sla = tables["outreach_vs_referrals"].rows, tables["sla_breaches"].rows
    quality = tables["data_quality"].rows
    figs = {
        "funnel": go.Figure(
            go.Bar(
                y=[r["stage"] for r in funnel],
                x=[_number(r["referrals"]) for r in funnel],
                text=[f"{r['referrals']} ({r['share_of_referred'] or 0}%)" for r in funnel],
                textposition="auto",
                cliponaxis=False,
                hovertext=[_hover(r["referrals"]) for r in funnel],
                orientation="h",
            ),
            layout={"yaxis": {"autorange": "reversed"}},
        ),
        "time_to_schedule": go.Figure(
            [
                _bar(label, [r["service_line"] for r in tts], [r[label] for r in tts])
                for _, _, label in BUCKETS
            ],
            layout={"barmode": "group"},
        ),
        "outreach_vs_referrals": go.Figure(
            [
                _bar("outreach", [r["month"] for r in timeline], [r["outreach"] for r in timeline]),
                go.Scatter(
                    name="referrals",
                    x=[r["month"] for r in timeline],
                    y=[_number(r["referrals"]) for r in timeline],
                    mode="lines+markers",
                ),
            ]
        ),
        "sla_breaches": go.Figure(
            [
                _bar(
                    target,
                    [r["service_line"] for r in sla if r["target"] == target],
                    [r["breaches"] for r in sla if r["target"] == target],
                )
                for target in ("respond", "schedule", "close_loop")
            ],
            layout={"barmode": "group"},
        ),
        "data_quality": go.Figure(
            go.Bar(
                x=[_number(r["count"]) or 0 for r in quality],
                y=[f"{r['problem']}: {r['item']}" for r in quality],
                hovertext=[_hover(r["count"]) for r in quality],
                text=[str(r["count"]) for r in quality],
                textposition="outside",
                cliponaxis=False,
                orientation="h",
            )
        ),
    }
    return figs


def _chart(name: str, fig: go.Figure, title: str) -> str:
    fig.update_layout(
        title=title,
        height=380,
        width=660,
        margin={"l": 60, "r": 50, "t": 50, "b": 60},
        font={"family": "system-ui, sans-serif"},
        template="plotly_white",
    )
    div = fig.to_html(
        full_html=False,
        include_plotlyjs=False,
        div_id=f"chart-{name}",
        config={"displayModeBar": False},
    )
    return f'<div class="chart" data-chart="{name}">{div}</div>'


def _table(t: Table, sortable: bool = False) -> str:
    def head(c: str) -> str:
        cls = ' class="sort"' if sortable and c in _SORTABLE else ""
        return f'<th data-col="{html.escape(c)}"{cls}>{html.escape(c.replace("_", " "))}</th>'

    def cell(value: Cell) -> str:
        sort = _number(value)
        shown = "" if value is None else value
        return f'<td data-v="{-1 if sort is None else sort}">{html.escape(str(shown))}</td>'

    body = "".join(
        "<tr>" + "".join(cell(row.get(c)) for c in t.columns) + "</tr>" for row in t.rows
    )
    cls = ' class="sortable"' if sortable else ""
    return (
        f'<table id="table-{t.name}"{cls}><thead><tr>{"".join(map(head, t.columns))}'
        f"</tr></thead><tbody>{body}</tbody></table>"
    )


def render_html(
    tables: Mapping[str, Table], *, program: str, now: datetime, days: int, threshold: int
) -> str:
    """The whole report page (plotly.js inlined once)."""
    figs = _figures(tables)
    charts = "".join(_chart(n, figs[n], tables[n].title) for n in CHARTS)
    note = (
        f"Aggregates only, no patient data. Counts from 1 to {threshold - 1} read "
        f"&lt;{threshold} and rates or times that would reveal them read suppressed "
        "(CMS cell-size suppression)."
    )
    title = html.escape(f"Referral program report: {program}")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{_CSP}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title><style>{_STYLE}</style>
<script>{get_plotlyjs()}</script></head><body>
<h1>{title}</h1>
<p class="meta">Last {days} days to {html.escape(now.isoformat(timespec="minutes"))}.
{note}</p>
<section><h2>{html.escape(tables["summary"].title)}</h2>{_table(tables["summary"])}</section>
<section class="grid">{charts}</section>
<section><h2>Partner scorecard</h2><p class="note">Click volume, leakage or time to schedule
to sort.</p><div class="scroll">{_table(tables["scorecard"], sortable=True)}</div></section>
<section><h2>{html.escape(tables["partner_service_lines"].title)}</h2>
<div class="scroll">{_table(tables["partner_service_lines"])}</div></section>
<section><h2>{html.escape(tables["campaigns"].title)}</h2>
{_table(tables["campaigns"])}</section>
<section><h2>{html.escape(tables["outreach"].title)}</h2>
<div class="scroll">{_table(tables["outreach"])}</div></section>
<section><h2>{html.escape(tables["data_quality"].title)}</h2>
{_table(tables["data_quality"])}</section>
<script>{_SORT_JS}</script>
<script type="application/json" id="report-meta">{json.dumps({"charts": list(CHARTS)})}</script>
</body></html>
"""
