"""The warm-start portfolio (bioseq.training.portfolio): every entry a point of the search space with its source."""

from __future__ import annotations

import pytest

from bioseq.training.portfolio import KINDS, PORTFOLIO, kind_of, portfolio
from bioseq.training.search import SPACE


def test_every_entry_is_a_point_of_the_space_and_says_where_it_came_from():
    for entry in PORTFOLIO:
        assert entry["kind"] in KINDS and len(entry["source"]) > 20
        for name, value in entry["params"].items():
            kind, values, *_ = SPACE[name]
            assert (value in values) if kind == "cat" else (values[0] <= value <= values[1]), (entry["source"], name)
    assert {e["kind"] for e in PORTFOLIO} == set(KINDS)  # every kind has entries


@pytest.mark.parametrize("per_position, alphabet, median, kind", [
    (True, "protein", 250, "labeller"), (False, "protein", 30, "protein"), (False, "protein", 301, "long"),
    (False, "dna", 60, "dna_short"), (False, "dna", 200, "dna"), (False, "rna", 99.5, "dna_short"),
    (False, "dna", 1000, "long"),
])
def test_kinds(per_position, alphabet, median, kind):
    assert kind_of(per_position, alphabet, median) == kind


def test_entries_fill_the_defaults_and_skip_what_the_task_fixes():
    defaults = {"cell": "lstm", "hidden": 64, "conv": True, "pooling": "max", "lr": 3e-3}
    chosen = portfolio("dna_short", defaults)
    assert [p for p, _ in chosen] == [{"cell": "lstm", "hidden": 64, "conv": False, "pooling": "max", "lr": 3e-3},
                                      {"cell": "lstm", "hidden": 64, "conv": False, "pooling": "attention",
                                       "lr": 3e-3}]
    labeller = portfolio("labeller", {"layers": 1, "hidden": 64, "lr": 3e-3})  # no conv_pool, no pooling
    assert labeller == [({"layers": 2, "hidden": 96, "lr": 3e-3}, labeller[0][1])]
    assert portfolio("dna", defaults, limit=2) == portfolio("dna", defaults)[:2]
    assert portfolio("protein", {"conv_width": 9, "pooling": "max"})[0][0] != {"conv_width": 9, "pooling": "max"}
