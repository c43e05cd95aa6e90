"""Figures and the table they print in: one row per measured ratio, with its target.

A :class:`Figure` is a plain record (name, value, unit, target, pass/fail) so that every bench
module can hand its results to ``bench/run.py`` without printing twice.
"""

from __future__ import annotations

import math
import os
import platform
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass

import torch


@dataclass
class Figure:
    """One measured figure. ``ok`` is ``None`` when the figure has no target (information only)."""

    name: str
    value: float
    unit: str = ""
    target: str = ""
    ok: bool | None = None
    note: str = ""

    def to_dict(self) -> dict:
        return asdict(self)


def at_least(name: str, value: float, target: float, unit: str = "", note: str = "") -> Figure:
    return Figure(name, value, unit, f">= {target:g}{unit}", bool(value >= target), note)


def at_most(name: str, value: float, target: float, unit: str = "", note: str = "") -> Figure:
    return Figure(name, value, unit, f"<= {target:g}{unit}", bool(value <= target), note)


def info(name: str, value: float, unit: str = "", note: str = "") -> Figure:
    return Figure(name, value, unit, "", None, note)


def verdict(ok: bool | None) -> str:
    return "-" if ok is None else "PASS" if ok else "FAIL"


def _value(f: Figure) -> str:
    if isinstance(f.value, float) and math.isnan(f.value):
        return "n/a"
    return f"{f.value:.3g}{f.unit}" if abs(f.value) < 1000 else f"{f.value:,.0f}{f.unit}"


def table(figures: Iterable[Figure]) -> str:
    """A fixed-width text table: figure, value, target, verdict, note."""
    rows = [(f.name, _value(f), f.target or "-", verdict(f.ok), f.note) for f in figures]
    head = ("figure", "value", "target", "result", "note")
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(4)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(head[:4], widths)) + "  " + head[4]]
    lines.append("  ".join("-" * w for w in widths) + "  " + "-" * 4)
    lines += ["  ".join(c.ljust(w) for c, w in zip(r[:4], widths)) + "  " + r[4] for r in rows]
    return "\n".join(lines)


def machine() -> str:
    """One line about where the figures were measured (the machine may be shared and busy)."""
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else math.nan
    return (f"{platform.node()} · {os.cpu_count()} CPUs · torch {torch.__version__}, {torch.get_num_threads()} "
            f"thread(s), OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY', 'unset')} · load {load:.1f} · "
            f"{time.strftime('%Y-%m-%d %H:%M')}")


def run_sections(sections: Mapping[str, Callable[[], list[Figure]]], skip: Iterable[str], title: str) -> int:
    """Run each section not in ``skip``, printing its figures and time as it ends, then every figure under
    ``title``; 0 (a bench reports, it does not fail)."""
    figs: list[Figure] = []
    for name, section in sections.items():
        if name not in skip:
            t0 = time.perf_counter()
            got = section()
            print(f"\n[{name}: {time.perf_counter() - t0:.0f}s]\n{table(got)}", flush=True)
            figs += got
    print(f"\n{title}\n" + table(figs))
    return 0
