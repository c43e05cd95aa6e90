"""Presets of the Train page: named option sets over the form's defaults."""

from __future__ import annotations

import pytest

from bioseq.app import presets, train_form
from bioseq.errors import InputError


def test_presets():
    rnn = presets.preset_values("Vanilla RNN", "dna")
    assert (rnn["cell"], rnn["conv"], rnn["bidirectional"], rnn["pooling"]) == ("rnn", False, False, "last")
    deep = presets.preset_values("Deep RNN + batch norm + skip")
    assert (deep["layers"], deep["norm"], deep["skip"]) == (3, "batch", True)
    assert presets.preset_values(presets.DEFAULT_PRESET, "protein") == train_form.defaults("protein")
    with pytest.raises(InputError, match="unknown preset"):
        presets.preset_values("nope")


def test_every_preset_sets_form_fields_to_allowed_values():
    fields = {o.name: o for o in train_form.fields()}
    for name, (description, values) in presets.PRESETS.items():
        assert description and set(values) <= set(fields), name
        for k, v in values.items():
            assert fields[k].kind != "choice" or v in fields[k].allowed, (name, k)
