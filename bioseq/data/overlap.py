"""Overlap between sequence files: which test sequences have a training sequence at or above an identity.

:func:`check_overlap` reads the files (any format :mod:`bioseq.data.io` reads; no labels needed),
detects the alphabet, searches every test sequence against every training sequence with MMseqs2 or
CD-HIT (:mod:`bioseq.data.homology`) and keeps each test sequence's most identical training sequence.
``bioseq check-overlap`` and the Data page show its :class:`Overlap`: one row per test sequence that
has such a training sequence, ``test_id, test_file, train_id, train_file, identity``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from ..errors import InputError
from .alphabets import detect_alphabet
from .homology import IDENTITY, TOOL_LABELS, best_hits, choose_tool, search, tool_version
from .io import Record, read_many

COLUMNS = ["test_id", "test_file", "train_id", "train_file", "identity"]


@dataclass
class Overlap:
    """The test sequences with a training sequence at ``identity`` or more (``table``), of ``tested``."""

    table: pd.DataFrame
    tested: int
    identity: float
    tool: str
    version: str = ""

    @property
    def share(self) -> float:
        """The share of the test sequences that have such a training sequence (0..1)."""
        return self.count / max(self.tested, 1)

    count = property(lambda self: len(self.table), doc="How many test sequences have such a training sequence.")

    def text(self) -> str:
        """One line: how many, the rule, the tool."""
        return (f"{self.count} of {self.tested} test sequences ({self.share:.1%}) have a training sequence "
                f"{self.identity:.0%} or more identical ({IDENTITY}; {TOOL_LABELS[self.tool]} {self.version})")


def overlap_records(train: Sequence[Record], test: Sequence[Record], identity: float = 0.4,
                    tool: str | None = None, alphabet: str | None = None) -> Overlap:
    """:func:`check_overlap` on records already read."""
    if not train or not test:
        raise InputError("no sequences to compare: give training and test files with records")
    if alphabet is None:
        try:
            alphabet = detect_alphabet([r.seq for r in (*train, *test)], "the training and test files").name
        except ValueError as e:
            raise InputError(str(e)) from None
    nucleotide = alphabet != "protein"
    tool = choose_tool(nucleotide, identity, tool)
    best = best_hits(search([r.seq for r in test], [r.seq for r in train], identity, nucleotide, tool))
    rows = [{"test_id": test[q].id, "test_file": test[q].file, "train_id": train[h.target].id,
             "train_file": train[h.target].file, "identity": round(h.identity, 4)} for q, h in sorted(best.items())]
    return Overlap(pd.DataFrame(rows, columns=COLUMNS), len(test), identity, tool, tool_version(tool))


def check_overlap(train_files: Sequence[str | os.PathLike], test_files: Sequence[str | os.PathLike],
                  identity: float = 0.4, tool: str | None = None, alphabet: str | None = None) -> Overlap:
    """Which test sequences have a training sequence at ``identity`` or more (see the module docstring).

    Raises :class:`InputError` for unreadable files and :class:`ToolError` without MMseqs2 or CD-HIT.
    """
    return overlap_records(list(read_many(train_files)), list(read_many(test_files)), identity, tool, alphabet)
