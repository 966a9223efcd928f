"""The report page: one HTML file with everything inline (CSS, tables, figures as base64 PNG), so
it opens from a mail attachment or an archive as it opened on the machine that built it."""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Iterable, Sequence
from html import escape
from typing import Any

from twin.report.kpi_rows import (
    KpiRow,
    format_value,
    per_fleet_value,
    violation_rows,
    worst_rows,
)

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#222;background:#fafafa}
main{max-width:1100px;margin:0 auto;padding:16px 24px 48px}
h1{font-size:1.6em;margin:.4em 0 .1em}
h2{font-size:1.25em;margin:1.6em 0 .5em;border-bottom:1px solid #ddd;padding-bottom:.2em}
h3{font-size:1.05em;margin:1.2em 0 .3em}
.sub{color:#555;margin:0 0 1em}
table{border-collapse:collapse;margin:.4em 0 1em;background:#fff;font-size:.92em}
th,td{padding:3px 10px;border-bottom:1px solid #e4e4e4;text-align:left;vertical-align:top}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
tr.group td{background:#f0f3f7;font-weight:600}
.better{color:#2a7d2a}.worse{color:#b02a2a}
figure{margin:0 0 1.6em;background:#fff;padding:8px;border:1px solid #e4e4e4}
figure img{max-width:100%;height:auto;display:block}
figcaption{font-size:.88em;color:#444;margin-top:4px}
nav a{margin-right:1em}
.notes{background:#fff8e1;border:1px solid #f0d98c;padding:6px 12px;font-size:.9em}
code{font-size:.92em}
.meta td:first-child{color:#555}
"""


NUM = ' class="num"'


def data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def anchor(text: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in text.lower()).strip("-")


def table_html(
    headers: Sequence[str],
    rows: Iterable[Sequence[Any]],
    numeric: Sequence[bool] | None = None,
    groups: Sequence[str | None] | None = None,
) -> str:
    """A plain table; `numeric` right-aligns columns; a row whose `groups` entry changes gets a
    group heading row before it."""
    numeric = numeric or [False] * len(headers)
    out = ["<table><thead><tr>"]
    out += [
        f"<th{NUM if n else ''}>{escape(h)}</th>" for h, n in zip(headers, numeric, strict=True)
    ]
    out.append("</tr></thead><tbody>")
    last: str | None = None
    for i, row in enumerate(rows):
        group = groups[i] if groups else None
        if group is not None and group != last:
            out.append(f'<tr class="group"><td colspan="{len(headers)}">{escape(group)}</td></tr>')
            last = group
        out.append("<tr>")
        for cell, n in zip(row, numeric, strict=True):
            text = cell if isinstance(cell, Markup) else escape(str(cell))
            out.append(f"<td{NUM if n else ''}>{text}</td>")
        out.append("</tr>")
    out.append("</tbody></table>")
    return "".join(out)


class Markup(str):
    """Cell text that is already HTML."""


def kpi_table(rows: Sequence[KpiRow]) -> str:
    return table_html(
        ["KPI", "value", "unit", "summary.json key"],
        [
            (r.label, format_value(r.value), r.unit, Markup(f"<code>{escape(r.key)}</code>"))
            for r in rows
        ],
        [False, True, False, False],
        [r.group for r in rows],
    )


def per_fleet_table(
    per_fleet: dict[str, dict[str, Any]], columns: Sequence[tuple[str, str, str]]
) -> str:
    headers = ["fleet", *(f"{h} ({u})" if u else h for _, h, u in columns)]
    rows = [
        [name, *(format_value(per_fleet_value(k, v.get(k))) for k, _, _ in columns)]
        for name, v in per_fleet.items()
    ]
    return table_html(headers, rows, [False, *([True] * len(columns))])


def _delta(ctrl: Any, base: Any) -> str:
    try:
        return format_value(float(ctrl) - float(base))
    except (TypeError, ValueError):
        return ""


def violations_html(violations: dict[str, Any]) -> str:
    rows = [
        (label, unit, format_value(c), format_value(b), _delta(c, b))
        for label, unit, c, b in violation_rows(violations)
    ]
    out = [
        table_html(
            ["", "unit", "controlled", "baseline (uncontrolled)", "controlled - baseline"],
            rows,
            [False, False, True, True, True],
        )
    ]
    worst = worst_rows(violations)
    if worst:
        out.append("<h3>Worst element per kind</h3>")
        out.append(
            table_html(
                ["grid", "element", "beyond its limit by", "at (local time)"],
                [r[:4] for r in worst],
                [False, False, True, False],
            )
        )
    for key, title in (
        ("ev_caused", "steps the EVs caused"),
        ("base_load_alone", "steps base load alone causes"),
    ):
        ctrl = (violations.get("controlled") or {}).get(key)
        base = (violations.get("baseline") or {}).get(key)
        if isinstance(ctrl, dict) or isinstance(base, dict):
            keys = list(dict.fromkeys([*(ctrl or {}), *(base or {})]))
            out.append(f"<h3>{escape(title[0].upper() + title[1:])}</h3>")
            out.append(
                table_html(
                    ["", "controlled", "baseline"],
                    [
                        (
                            k.replace("_", " "),
                            format_value((ctrl or {}).get(k)),
                            format_value((base or {}).get(k)),
                        )
                        for k in keys
                    ],
                    [False, True, True],
                )
            )
    limits = violations.get("limits") or {}
    if limits:
        out.append(
            '<p class="sub">Limits: '
            + escape("; ".join(f"{k.replace('_', ' ')} {_span_text(v)}" for k, v in limits.items()))
            + "</p>"
        )
    return "".join(out)


def _span_text(value: Any) -> str:
    if isinstance(value, list | tuple) and len(value) == 2:
        a, b = value
        return format_value(a) if a == b else f"{format_value(a)} .. {format_value(b)}"
    return format_value(value) if not isinstance(value, dict) else str(value)


def page(
    title: str,
    subtitle: str,
    meta: Sequence[tuple[str, str]],
    notes: Sequence[str],
    sections: Sequence[tuple[str, str]],
) -> str:
    """The whole document: title, a facts table, notes, then (heading, html) sections."""
    nav = " ".join(f'<a href="#{anchor(h)}">{escape(h)}</a>' for h, _ in sections)
    body = [
        f"<h1>{escape(title)}</h1>",
        f'<p class="sub">{escape(subtitle)}</p>' if subtitle else "",
        '<table class="meta">'
        + "".join(f"<tr><td>{escape(k)}</td><td>{escape(v)}</td></tr>" for k, v in meta)
        + "</table>",
        ('<div class="notes">' + "<br>".join(escape(n) for n in notes) + "</div>") if notes else "",
        f"<nav>{nav}</nav>",
    ]
    for heading, html in sections:
        body.append(f'<h2 id="{anchor(heading)}">{escape(heading)}</h2>{html}')
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    body.append(
        f'<p class="sub">Built {stamp} by <code>twin report</code> from the results folder alone.</p>'
    )
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width,initial-scale=1"><title>{escape(title)}</title>'
        f"<style>{CSS}</style></head><body><main>{''.join(body)}</main></body></html>"
    )


def figure_html(slug: str, title: str, caption: str, png: bytes, file_href: str) -> str:
    return (
        f'<figure id="fig-{escape(slug)}"><h3>{escape(title)}</h3>'
        f'<img alt="{escape(title)}" src="{data_uri(png)}">'
        f'<figcaption>{escape(caption)} PNG: <a href="{escape(file_href)}">{escape(file_href)}</a></figcaption></figure>'
    )
