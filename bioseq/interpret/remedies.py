"""What to try for each verdict of the diagnosis, as data: which option, which value, and why.

The table is ``remedies.json`` next to this module (one list of remedies per verdict, in order).

A :class:`Remedy` names an option by its options-table name (:mod:`bioseq.options`), so the CLI shows
its flag (``--lr``) and the dashboard its form label ("Learning rate"); ``value`` is the suggested
value (``None``: the words say which way to move it). Remedies without an option are advice in
words. ``str(remedy)`` is the CLI's wording: ``why (--flag value)``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from types import MappingProxyType
from typing import Any


@dataclass(frozen=True)
class Remedy:
    """One thing to try: ``why`` in words, and the option (and value) that does it, if any."""

    why: str
    option: str | None = None  # an options-table name, e.g. "lr"
    value: Any = None  # a value of that option, a tuple of alternatives, or None

    def _option(self):
        from ..options import option

        return option(self.option)

    @property
    def flag(self) -> str | None:
        """The CLI flag, e.g. ``--lr``."""
        return self._option().flag if self.option else None

    @property
    def label(self) -> str | None:
        """The dashboard's form label, e.g. ``Learning rate``."""
        return self._option().label if self.option else None

    def setting(self, name: str | None = None) -> str:
        """The option and value as ``name value`` (``name`` defaults to the flag): ``--norm batch``."""
        name = name or self.flag or ""
        if self.value is None:
            return name
        if isinstance(self.value, bool):
            return name if self.value or not name.startswith("--") else "--no-" + name[2:]
        shown = " / ".join(map(str, self.value)) if isinstance(self.value, tuple) else str(self.value)
        return f"{name} {shown}"

    def __str__(self) -> str:
        return f"{self.why} ({self.setting()})" if self.option else self.why

    def words(self, surface: str = "cli") -> str:
        """The remedy worded for ``surface``: the flag on the command line (``str``), the form field in the
        dashboard: ``add batch normalisation between layers (“Normalisation” set to batch)``."""
        if surface == "cli" or not self.option:
            return str(self)
        from ..options import mention

        values = self.value if isinstance(self.value, tuple) else (self.value,)
        shown = mention(self.option, values[0], "dashboard")
        if len(values) > 1:
            shown += "".join(f" or {v}" for v in values[1:])
        return f"{self.why} ({shown})"


def _load() -> MappingProxyType:
    """``remedies.json``: per verdict, rows ``[why]``, ``[why, option]`` or ``[why, option, value]`` (a list
    value is a choice of alternatives)."""
    table = json.loads(resources.files(__package__).joinpath("remedies.json").read_text(encoding="utf-8"))
    return MappingProxyType({verdict: tuple(Remedy(*row[:2], *(tuple(v) if isinstance(v, list) else v
                                                                 for v in row[2:])) for row in rows)
                             for verdict, rows in table.items()})


REMEDIES = _load()  # verdict -> (Remedy, ...), read-only


def applicable(remedies, settings: dict | None = None, unused=frozenset()) -> list[Remedy]:
    """``remedies`` as a reader should see them: each option once (the first remedy naming it), advice in words
    once; without one whose value is the current setting (a choice of alternatives: when the current value is
    among them), one on an option the model's cell does not read (the cell registry: the forget-gate bias is an
    LSTM's), or one on an option in ``unused`` (a labeller's read-out). ``settings``: option values by name
    (the model's and the training's); an option it does not hold is taken as not set."""
    from ..model import cells

    settings = settings or {}
    cell = settings.get("cell")
    out: list[Remedy] = []
    seen: set = set()
    for r in remedies:
        key = r.option or r.why
        if key in seen or r.option in unused:
            continue
        if r.option and cell is not None and not cells.reads(r.option, cell):
            continue
        if r.option in settings and r.value is not None and _current(settings[r.option], r.value):
            continue
        seen.add(key)
        out.append(r)
    return out


def _current(now, value) -> bool:
    """Whether the suggestion ``value`` (or a tuple of alternatives) is the setting ``now`` already."""
    values = value if isinstance(value, tuple) else (value,)
    return any(now == v and isinstance(now, bool) == isinstance(v, bool) for v in values)
