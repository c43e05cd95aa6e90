"""The registry of views (:mod:`bioseq.interpret.views`): every view, on a tiny classifier and a tiny labeller,
gives its declared columns for the tasks it supports and refuses the others in one line; the CLI's kinds are
the registry's."""

from __future__ import annotations

import pytest
from _linear import linear_bundle, linear_labeller, rec

from bioseq.cli.inspect import KINDS
from bioseq.errors import InputError
from bioseq.interpret.attribution import METHODS
from bioseq.interpret.views import CLI_VIEWS, VIEWS, get_view

MODELS = {"classify": linear_bundle, "label": linear_labeller}
OPTIONS = {"label": {"mutations": {"position": 3}, "gate-saliency": {"position": 3}, "window": {"positions": [3]}},
           "classify": {"motifs": {"k": 3, "top": 2, "kmers": True}, "logo": {"k": 3}}}  # named: test_named_motifs


@pytest.mark.parametrize("task", list(MODELS))
@pytest.mark.parametrize("name", list(VIEWS))
def test_every_view_gives_its_columns_or_refuses_the_task(name, task):
    view, bundle = VIEWS[name], MODELS[task]()
    records = [rec("ACGTAC", "x"), rec("GGTACA", "y", 2)]
    assert view.fits(bundle) == (task in view.tasks)  # what the dashboard asks before drawing a view
    if task not in view.tasks:
        with pytest.raises(InputError, match=f"^{name} needs a "):
            view.table(bundle, records)
        return
    df = view.table(bundle, records, **OPTIONS[task].get(name, {}))
    want = list(view.columns_for(bundle, OPTIONS[task].get(name, {})))
    assert list(df.columns)[: len(want)] == want and len(df) > 0


def test_the_cli_kinds_are_the_attribution_methods_and_the_cli_views():
    assert KINDS == (*METHODS, *CLI_VIEWS)
    assert set(VIEWS) - set(CLI_VIEWS) == {"tracks", "logo"}
    assert CLI_VIEWS["mutations"].default_records == 20 and CLI_VIEWS["gates"].default_records == 10


def test_an_unknown_view_is_named():
    with pytest.raises(InputError, match="unknown view 'colour'"):
        get_view("colour")
