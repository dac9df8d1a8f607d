"""The results table and a description of the machine it was measured on."""

from __future__ import annotations

import math
import os
import platform
import textwrap
from collections.abc import Sequence
from pathlib import Path

import psutil

from .common import Row

__all__ = ["machine", "misses", "render"]

_COLUMNS = (
    ("metric", 43, "<"),
    ("unit", 8, "<"),
    ("voicegraph", 11, ">"),
    ("base (a)", 10, ">"),
    ("base (b)", 10, ">"),
    ("vg/(a)", 8, ">"),
    ("vg/(b)", 8, ">"),
    ("target", 18, ">"),
)


def machine() -> str:
    """One line naming the CPU, core count, memory, Python and the current load average."""
    model = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    load = " ".join(f"{x:.2f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "?"
    mem = psutil.virtual_memory().total / 1024**3
    return (
        f"{model}, {os.cpu_count()} CPUs, {mem:.0f} GiB, Python {platform.python_version()} "
        f"({platform.system()} {platform.release()}), load average {load}"
    )


def _number(value: float | None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if isinstance(value, int) or (float(value).is_integer() and abs(value) >= 10):
        return f"{int(value):,}"
    size = abs(value)
    if size >= 1000:
        return f"{value:,.0f}"
    if size >= 100:
        return f"{value:.0f}"
    if size >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def _ratio(value: float | None) -> str:
    if value is None:
        return "-"
    if value == 0:
        return "0x"
    if value < 0.01:
        return f"{value:.4f}x"
    return f"{value:.2f}x"


def _line(cells: Sequence[str]) -> str:
    parts = [
        f"{cell:{align}{width}}" for cell, (_, width, align) in zip(cells, _COLUMNS, strict=False)
    ]
    line = " ".join(parts)
    if len(cells) > len(_COLUMNS):
        line += "  " + cells[-1]
    return line.rstrip()


def render(rows: Sequence[Row], notes: dict[str, str]) -> str:
    """The table: one block per section, its baseline note, then its rows."""
    header = _line([name for name, _, _ in _COLUMNS] + ["result"])
    out = [header, "-" * len(header)]
    section = None
    for row in sorted(rows, key=lambda r: r.section):  # stable: keeps each section's order
        if row.section != section:
            section = row.section
            if len(out) > 2:
                out.append("")
            out.append(section)
            note = notes.get(section, "")
            if note:
                out += textwrap.wrap(
                    f"({note})", len(header), initial_indent="  ", subsequent_indent="   "
                )
        out.append(
            _line(
                [
                    "  " + row.metric,
                    row.unit,
                    _number(row.vg),
                    _number(row.base_a),
                    _number(row.base_b),
                    _ratio(row.ratio(row.base_a)),
                    _ratio(row.ratio(row.base_b)),
                    row.target,
                    row.verdict,
                ]
            )
        )
    return "\n".join(out)


def misses(rows: Sequence[Row]) -> list[Row]:
    """Rows whose target was missed."""
    return [r for r in rows if r.verdict.startswith("MISSED")]
