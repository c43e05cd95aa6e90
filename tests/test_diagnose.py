"""Diagnosis: hand-made gradient rows, histories and memory curves give each verdict, with remedies."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from bioseq.interpret.diagnose import EXPLODE_NORM, REMEDIES, TIME_DISTANCE, diagnose_run, memory_summary
from bioseq.interpret.memory import effective_memory
from bioseq.interpret.remedies import applicable


def rows(*per_layer: list[float]) -> list[dict]:
    """Gradient rows: ``per_layer[k][s]`` is layer k+1's norm at step s+1."""
    out = []
    for layer, norms in enumerate(per_layer, 1):
        for step, v in enumerate(norms, 1):
            out.append({"epoch": 1, "step": step, "layer": layer, "grad_norm": v})
    return out


def history(*losses: float) -> list[dict]:
    out = []
    for epoch, loss in enumerate(losses, 1):
        out += [{"epoch": epoch, "split": "train", "loss": loss}, {"epoch": epoch, "split": "val", "loss": 9.0}]
    return out


def memory(influence, effective=None) -> dict:
    influence = [float(v) for v in influence]
    return {"distance": list(range(len(influence))), "influence": influence, "max_length": len(influence),
            "effective_memory": effective}


def test_healthy():
    d = diagnose_run(rows([0.4, 0.6], [0.5, 0.7], [0.8, 1.0]), history(0.7, 0.5, 0.3))
    assert d.verdict == "healthy" and d.verdicts == []
    assert d.remedies == []
    assert d.numbers["layer_means"] == {1: pytest.approx(0.5), 2: pytest.approx(0.6), 3: pytest.approx(0.9)}
    assert d.numbers["layer_ratio"] == pytest.approx(0.5 / 0.9)
    assert d.numbers["first_loss"] == pytest.approx(0.7) and d.numbers["last_loss"] == pytest.approx(0.3)
    assert any("gradient reaches layer 1" in f and "0.56" in f for f in d.findings)
    assert any("0.700 -> 0.300" in f for f in d.findings)
    text = d.text()
    assert text.splitlines()[0] == "diagnosis: HEALTHY"
    assert "remedies" not in text


def test_ratio_at_the_threshold_is_healthy():
    d = diagnose_run(rows([0.1], [1.0]))  # exactly 10%: not under it
    assert d.verdict == "healthy"


def test_one_layer_gives_no_ratio():
    d = diagnose_run(rows([0.3, 0.5]))
    assert d.verdict == "healthy"
    assert "layer_ratio" not in d.numbers
    assert any("one recurrent layer" in f and "0.4" in f for f in d.findings)


def test_vanishing_across_layers():
    d = diagnose_run(rows([0.04, 0.06], [0.2, 0.3], [0.9, 1.1]))
    assert d.verdict == "vanishing across layers" and d.verdicts == ["vanishing across layers"]
    assert d.numbers["layer_ratio"] == pytest.approx(0.05)
    finding = next(f for f in d.findings if "layer 1 gets" in f)
    assert "5.0%" in finding and "layer 3" in finding
    assert "L1 0.05" in finding and "L2 0.25" in finding and "L3 1" in finding
    assert "severe" not in finding
    assert d.remedies == list(REMEDIES["vanishing across layers"])
    assert "VANISHING ACROSS LAYERS" in d.text()
    assert "--norm batch" in d.text() and "--activation relu" in d.text()


def test_severe_vanishing_across_layers():
    d = diagnose_run(rows([0.002], [1.0]))
    assert d.verdict == "vanishing across layers"
    assert d.numbers["layer_ratio"] == pytest.approx(0.002)
    assert any("0.2%" in f and "severe" in f for f in d.findings)


@pytest.mark.parametrize("bad", [math.nan, math.inf, 2 * EXPLODE_NORM])
def test_exploding_norms(bad):
    d = diagnose_run(rows([0.5, bad], [0.6, 0.7]))
    assert d.verdict == "exploding"
    assert d.remedies == list(REMEDIES["exploding"])
    assert any("clip" in str(r) for r in d.remedies)
    finding = next(f for f in d.findings if "blow up" in f)
    if math.isfinite(bad):
        assert d.numbers["max_grad_norm"] == pytest.approx(bad)
        assert "2e+03" in finding and "non-finite values: 0" in finding
    else:
        assert d.numbers["max_grad_norm"] == pytest.approx(0.7)
        assert "non-finite values: 1" in finding
    assert d.text().startswith("diagnosis: EXPLODING")


def test_norm_at_the_threshold_is_not_exploding():
    assert diagnose_run(rows([EXPLODE_NORM], [EXPLODE_NORM])).verdict == "healthy"


def test_nan_training_loss_is_exploding():
    d = diagnose_run(rows([0.5, 0.5], [0.6, 0.6]), history(0.7, math.nan))
    assert d.verdict == "exploding"
    assert "first_loss" not in d.numbers  # no loss trend from a NaN history
    # a NaN validation loss alone is not a training loss
    assert diagnose_run(rows([0.5], [0.6]), [{"split": "val", "loss": math.nan}]).verdict == "healthy"


def test_vanishing_across_time():
    influence = 0.5 ** np.arange(30)  # far positions (20+) get about 1e-6 of the peak
    d = diagnose_run(rows([0.5], [0.6]), memory=memory(influence, effective=7))
    assert d.verdict == "vanishing across time"
    assert d.numbers["far_influence"] == pytest.approx(influence[TIME_DISTANCE:].max())  # the most any far input keeps
    assert d.numbers["effective_memory"] == 7
    finding = next(f for f in d.findings if f"{TIME_DISTANCE}+ positions" in f)
    assert "get under 1% of the peak influence (at most 0.00%; effective memory 7 positions)" in finding
    assert d.remedies == list(REMEDIES["vanishing across time"])
    assert "VANISHING ACROSS TIME" in d.text() and "--cell lstm" in d.text()


def test_memory_that_reaches_far_is_healthy():
    influence = np.linspace(1.0, 0.5, 30)
    d = diagnose_run(rows([0.5], [0.6]), memory=memory(influence))
    assert d.verdict == "healthy"
    assert d.numbers["far_influence"] == pytest.approx(influence[TIME_DISTANCE:].max())
    assert any("keep" in f for f in d.findings)


def test_short_memory_curve_says_nothing_about_time():
    d = diagnose_run(rows([0.5], [0.6]), memory=memory(0.1 ** np.arange(TIME_DISTANCE)))  # never reaches d=20
    assert d.verdict == "healthy" and "far_influence" not in d.numbers


def test_several_verdicts_are_ordered_and_remedies_merged():
    d = diagnose_run(rows([0.001, math.nan], [1.0, 1.0]), history(0.5, 0.4),
                     memory=memory(0.5 ** np.arange(25)))
    assert d.verdict == "exploding"
    assert d.verdicts == ["exploding", "vanishing across layers", "vanishing across time"]
    assert d.numbers["layer_means"] == {1: pytest.approx(0.001), 2: pytest.approx(1.0)}  # the NaN step left out
    expected, named = [], set()
    for v in d.verdicts:  # each option once: the first verdict's words
        expected += [r for r in REMEDIES[v] if r not in expected and (r.option is None or r.option not in named)]
        named |= {r.option for r in REMEDIES[v]}
    assert d.remedies == expected
    options = [r.option for r in d.remedies if r.option]
    assert len(options) == len(set(options)) and options.count("cell") == 1


def test_empty_input_is_healthy():
    d = diagnose_run([])
    assert d.verdict == "healthy" and d.findings == [] and d.remedies == []


def test_no_gradient_at_all_does_not_claim_it_reaches_layer_1():
    d = diagnose_run(rows([0.0, 0.0], [0.0, 0.0]))
    assert math.isnan(d.numbers["layer_ratio"])
    assert not any("reaches layer 1" in f for f in d.findings)
    assert any("no first/last layer ratio" in f for f in d.findings)


def test_a_labellers_memory_is_counted_from_the_position_labelled():
    from _linear import linear_labeller

    from bioseq.interpret.diagnose import diagnose_model
    from bioseq.task import task_of

    bundle = linear_labeller(w=0.5)  # influence 0.5^(t − p): far inputs get about 1e-6
    seqs = ["ACGT" * 8, "TTGCA" * 6]
    d = diagnose_model(bundle, ["x", "y"], seqs, rows([0.5], [0.6]), [])
    assert d.verdict == "vanishing across time" and d.task == "label"
    assert d.numbers["effective_memory"] == 7  # 1/128 < 1%, as for the classifier's read-out
    finding = next(f for f in d.findings if f"{TIME_DISTANCE}+ positions" in f)
    assert finding.startswith(f"inputs {TIME_DISTANCE}+ positions from the position labelled get under 1% of the "
                              "peak influence (at most 0.00%; effective memory 7 positions)")
    options = {r.option for r in d.remedies}
    assert "cell" in options and not options & task_of("label").unused  # no read-out, no conv pooling for a labeller
    assert {"pooling", "conv_pool"} <= {r.option for r in REMEDIES["vanishing across time"]}


# --- one definition of memory, in the sequence's own terms; remedies that apply --------------------------------

FITS = [{"epoch": 1, "split": "train", "loss": 0.2}, {"epoch": 1, "split": "val", "loss": 0.2,
                                                       "balanced_accuracy": 0.97}]


def curve(**directions) -> pd.DataFrame:
    """A memory curve: ``direction=[relative at distance 0, 1, ...]``."""
    return pd.DataFrame([{"direction": d, "distance": k, "influence": rel, "relative": rel, "sequences": 4}
                         for d, rels in directions.items() for k, rel in enumerate(rels)])


def test_memory_line_under_1_percent_everywhere_is_not_called_a_reach():
    """The DNA example (max read-out): the memory line stays under 1% at every distance, yet the diagnosis said
    "inputs 20+ positions keep 37.7% of the peak influence" (a share of the curve's own peak) beside an effective
    memory of 16. One curve, one number: no distance keeps 1%, effective memory 0."""
    low = curve(forward=[0.004, 0.006] + [0.0038] * 28, reverse=[0.001] * 30)
    d = diagnose_run(rows([0.5], [0.6]), FITS, memory_summary(low, "dna"))
    assert d.numbers["effective_memory"] == effective_memory(low) == 0
    assert d.numbers["far_influence"] == pytest.approx(0.0038)
    memory_lines = [f for f in d.findings if "influence" in f]
    assert memory_lines == ["no distance from the read-out keeps 1% of the peak influence in the median sequence: "
                            "each sequence's influence sits somewhere else (where its signal is); the model fits "
                            "the validation data"]
    assert d.verdict == "healthy"


def test_a_curve_that_dips_and_rises_has_one_effective_memory():
    """Under 1% at 16, back to 37.7% from 20 on: the effective memory is not 16 while far inputs keep 37.7%."""
    dip = curve(forward=[1.0] * 16 + [0.005] * 4 + [0.377] * 10)
    d = diagnose_run(rows([0.5], [0.6]), FITS, memory_summary(dip, "dna"))
    assert effective_memory(dip) is None  # still above 1% at the farthest distance measured
    assert d.findings[1] == f"inputs {TIME_DISTANCE}+ positions from the read-out keep up to 37.7% of the peak " \
                            "influence (as far as measured)"
    shorter = curve(forward=[1.0] * 16 + [0.005] * 4 + [0.377] * 5 + [0.0] * 5)
    d = diagnose_run(rows([0.5], [0.6]), FITS, memory_summary(shorter, "dna"))
    assert effective_memory(shorter) == 25 and "(effective memory 25 positions)" in d.findings[1]


@pytest.mark.parametrize("alphabet,directions,words", [
    ("protein", {"forward": 0.5 ** np.arange(30)}, "the last ~7 positions (the C-terminal end)"),
    ("dna", {"forward": 0.5 ** np.arange(30)}, "the last ~7 positions (the 3′ end)"),
    ("protein", {"forward": np.zeros(30), "reverse": 0.5 ** np.arange(30)},
     "the first ~7 positions (the N-terminal end)"),
    ("protein", {"forward": 0.5 ** np.arange(30), "reverse": 0.25 ** np.arange(30)},
     "the last ~7 positions (the C-terminal end) and the first ~4 positions (the N-terminal end)"),
])
def test_the_model_uses_which_end_in_the_sequences_terms(alphabet, directions, words):
    c = curve(**{k: list(v) for k, v in directions.items()})
    d = diagnose_run(rows([0.5], [0.6]), FITS, memory_summary(c, alphabet))
    assert d.verdict == "healthy"
    assert d.findings[1].startswith(f"the model uses only {words} (effective memory {effective_memory(c)} positions")


def test_remedies_never_repeat_never_suggest_the_current_value_and_fit_the_cell():
    lstm = {"cell": "lstm", "forget_bias": 1.0, "bidirectional": True, "pooling": "max", "conv_pool": 2,
            "activation": "tanh", "norm": "none", "skip": False, "layers": 2}
    training = {"train_config": {"lr": 0.003, "epochs": 40, "clip": 1.0}}
    d = diagnose_run(rows([0.001, math.nan], [1.0, 1.0]), history(0.5, 0.4), memory(0.5 ** np.arange(25)),
                     training, config=lstm)
    assert d.verdicts == ["exploding", "vanishing across layers", "vanishing across time"]
    shown = [(r.option, r.value) for r in d.remedies]
    assert shown == [("lr", None), ("norm", "batch"), ("skip", True), ("layers", 1)]
    text = d.text()
    assert "--cell" not in text and "--forget-bias" not in text and "--clip" not in text and "--activation" not in text
    # a plain RNN: the cells are suggested, never the LSTM forget-gate bias; ReLU applies to it
    rnn = {**lstm, "cell": "rnn"}
    d = diagnose_run(rows([0.001, 0.001], [1.0, 1.0]), history(0.5, 0.4), memory(0.5 ** np.arange(25)), training,
                     config=rnn)
    options = [r.option for r in d.remedies]
    assert "forget_bias" not in options and options.count("cell") == 1 and "activation" in options
    # the learning rate is 0.003 already: "not learning" does not suggest it
    assert all(r.option != "lr" for r in applicable(REMEDIES["not learning"], {"lr": 0.003}))
    assert any(r.option == "lr" for r in applicable(REMEDIES["not learning"], {"lr": 0.0}))
