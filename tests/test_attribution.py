"""The attribution registry and its one entry point, ``explain``: every method, one table, clear errors.

The exact values of each method are checked in its own module's tests (``test_saliency``, ``test_ism``,
``test_captum_methods``); here every registered method is held to the contract they share.
"""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path
from types import MappingProxyType

import numpy as np
import pandas as pd
import pytest
from _linear import by_id, expected_linear_saliency, linear_bundle, rec, records

import bioseq
from bioseq.errors import InputError
from bioseq.interpret import attribution
from bioseq.interpret.attribution import COLUMNS, METHODS, attribute, explain, get_method
from bioseq.interpret.memory import memory_curve
from bioseq.interpret.motifs import motifs
from bioseq.model.store import save_model

ROOT = Path(__file__).resolve().parents[1]
# the methods that draw (they take a seed): draws depend on the batch; reproducible for the same records
RANDOM = {m.name for m in METHODS.values() if "seed" in {o.name for o in m.options}}
SEQS = ("ACGTTGCAGTAC", "GGNATCC", "TTTACGTAGGCATGCAAC")
FAST = {"samples": 4, "steps": 4}  # keep the sampled methods quick


def fast(name: str) -> dict:
    return {k: v for k, v in FAST.items() if k in {o.name for o in METHODS[name].options}}


def test_the_registry_holds_bioseqs_and_captums_methods():
    assert {"saliency", "ig", "ism", "deeplift", "gradientshap", "smoothgrad", "occlusion"} <= set(METHODS)
    assert {"gradientshap", "smoothgrad"} <= RANDOM and not {"saliency", "ig", "ism", "deeplift"} & RANDOM
    for name, m in METHODS.items():
        assert m.name == name and m.label and m.help and "\n" not in m.help
        assert m.parse({}) == {o.name: o.default for o in m.options}
    assert METHODS["ig"].parse({}) == {"steps": 32, "simplex": "on"}
    # names as their authors write them; a sentence starts with the label as written, not str.capitalize()
    assert (METHODS["deeplift"].label, METHODS["gradientshap"].label) == ("DeepLIFT", "GradientSHAP")
    assert (METHODS["ig"].heading, METHODS["deeplift"].heading) == ("Integrated gradients", "DeepLIFT")
    assert METHODS["ism"].max_length == 1000
    with pytest.raises(TypeError):
        METHODS["new"] = METHODS["saliency"]  # read-only: shared by every dashboard user


def test_unknown_method_lists_the_known_ones():
    with pytest.raises(InputError, match="unknown attribution method 'colour'; choose one of saliency, ig, ism"):
        explain(linear_bundle(), [rec("ACGT")], "colour")
    assert get_method("ig") is METHODS["ig"]


@pytest.mark.parametrize("method,options,message", [
    ("saliency", {"steps": 4}, "saliency has no option steps; its options: simplex"),
        ("ism", {"simplex": "on"}, "ism has no option simplex; its options: none"),
        ("saliency", {"simplex": "yes"}, "saliency: option simplex must be one of on, off, not 'yes'"),
    ("ig", {"step": 4}, "ig has no option step; its options: steps"),
    ("ig", {"steps": "many"}, "ig: option steps must be int, not 'many'"),
    ("ig", {"steps": 2.5}, "ig: option steps must be int, not 2.5"),
    ("ig", {"steps": 0}, "ig: option steps must be at least 1, not 0"),
    ("deeplift", {"baseline": "random"}, "deeplift: option baseline must be one of zero, uniform, not 'random'"),
    ("smoothgrad", {"noise": -1}, "smoothgrad: option noise must be at least 0"),
])
def test_bad_options_are_one_clear_error(method, options, message):
    with pytest.raises(InputError) as e:
        explain(linear_bundle(), [rec("ACGT")], method, **options)
    assert str(e.value).startswith(message)


def test_options_are_converted_to_their_type():
    assert METHODS["ig"].parse({"steps": "8"}) == {"steps": 8, "simplex": "on"}
    assert METHODS["smoothgrad"].parse({"noise": 1})["noise"] == 1.0


@pytest.mark.parametrize("method", list(METHODS))
def test_every_method_gives_one_tidy_row_per_position(make_bundle, method):
    bundle = make_bundle(seed=2)
    df = explain(bundle, records(*SEQS), method, **fast(method))
    assert list(df.columns) == COLUMNS
    assert len(df) == sum(map(len, SEQS))
    for i, s in enumerate(SEQS):
        sub = df[df["id"] == f"s{i}"]
        assert sub["position"].tolist() == list(range(1, len(s) + 1)) and "".join(sub["letter"]) == s
    assert (df["method"] == method).all() and np.isfinite(df["score"]).all() and df["score"].abs().max() > 0
    predicted = bioseq.predict(bundle, records(*SEQS)).set_index("id")["prediction"]
    assert (df.groupby("id")["target"].first() == predicted).all()  # the target is each record's prediction
    chosen = explain(bundle, records(*SEQS), method, target="a", **fast(method))
    assert (chosen["target"] == "a").all()


@pytest.mark.parametrize("method", list(METHODS))
def test_every_method_leaves_the_shared_model_as_it_was(make_bundle, method):
    """No .grad on the parameters, still in eval mode, the same weights."""
    bundle = make_bundle(seed=3, cell="gru", dropout=0.5)
    before = {k: v.clone() for k, v in bundle.model.state_dict().items()}
    explain(bundle, records(*SEQS), method, **fast(method))
    assert all(p.grad is None for p in bundle.model.parameters())
    assert not bundle.model.training
    assert all((before[k] == v).all() for k, v in bundle.model.state_dict().items())


@pytest.mark.parametrize("method", sorted(set(METHODS) - RANDOM))
def test_scores_do_not_depend_on_the_batch(make_bundle, method):
    bundle = make_bundle(seed=4, cell="lstm", conv=True)
    together = explain(bundle, records(*SEQS), method, **fast(method))
    alone = explain(bundle, [rec(SEQS[1], "s1", 2)], method, **fast(method))
    np.testing.assert_allclose(by_id(together, "s1"), alone["score"].to_numpy(), rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("method", list(METHODS))
def test_unknown_class_raises_input_error(method):
    with pytest.raises(InputError, match="unknown class 'c'.*a, b"):
        explain(linear_bundle(), [rec("ACGT")], method, target="c")
    with pytest.raises(InputError, match="unknown class 'c'"):
        explain(linear_bundle(), [], method, target="c")


def test_unknown_class_raises_for_memory_and_motifs():
    for fn in (memory_curve, motifs):
        with pytest.raises(InputError, match="unknown class 'c'.*a, b"):
            fn(linear_bundle(), [rec("ACGT")], target="c")


def test_no_records_give_an_empty_table():
    df = explain(linear_bundle(), [], "ig")
    assert list(df.columns) == COLUMNS and df.empty


def test_a_method_refuses_records_over_its_limit(monkeypatch):
    limited = MappingProxyType({**METHODS, "saliency": replace(METHODS["saliency"], max_length=5)})
    monkeypatch.setattr(attribution, "METHODS", limited)
    assert len(explain(linear_bundle(), [rec("ACGTA")], "saliency")) == 5
    with pytest.raises(InputError, match=r"test.fa: record 2 \(s1\): gradient × input is limited to 5 letters; "
                                         "this one has 6"):
        explain(linear_bundle(), records("ACG", "ACGTAC"), "saliency")


def test_attribute_gives_the_arrays_behind_the_table():
    bundle = linear_bundle()
    a = attribute(bundle, records("ACGT", "GGA"), "saliency", target="a")
    assert a.method == "saliency" and a.seqs == ["ACGT", "GGA"] and a.targets.tolist() == [0, 0]
    np.testing.assert_allclose(a.scores[1], expected_linear_saliency("GGA", 0, simplex=True), rtol=1e-6)


def test_bioseq_explain_takes_a_bundle_or_a_model_file(tmp_path):
    bundle = linear_bundle()
    path = save_model(tmp_path / "linear.safetensors", bundle)
    recs = records("ACGTTGCA", "TTGA")
    via_file = bioseq.explain(str(path), recs, method="ig", steps=8)
    via_bundle = bioseq.explain(bundle, recs, "ig", None, steps=8)
    assert list(via_file.columns) == ["id", "position", "letter", "score", "method", "target"]
    pd.testing.assert_frame_equal(via_file, via_bundle)
    np.testing.assert_allclose(by_id(via_file, "s0"), expected_linear_saliency("ACGTTGCA", 1, simplex=True),
                               rtol=1e-5)


# --- end to end -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def default_dna_model(tmp_path_factory):
    """The default DNA model trained on 800 motif sequences (as ``bioseq train`` does), and 30 held-out positives."""
    from bioseq.data.io import read_records
    from bioseq.data.source import DataOptions
    from bioseq.data.synthetic import DNA_MOTIF, motif_dna, write_fasta
    from bioseq.training.fit import fit

    root = tmp_path_factory.mktemp("motif")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("BIOSEQ_HOME", str(root / "home"))
        train = write_fasta(root / "train.fa", motif_dna(800, seed=5))
        bundle = fit(DataOptions([str(train)]), name="attribution-check").bundle
    test = write_fasta(root / "test.fa", motif_dna(60, seed=6))
    positives = [r for r in read_records(test) if "label=motif" in r.description and r.seq.count(DNA_MOTIF) == 1]
    return bundle, positives


@pytest.mark.slow
@pytest.mark.parametrize("method", list(METHODS))
def test_top_position_falls_in_the_planted_motif(default_dna_model, method):
    """At least 90% of motif sequences have their highest-scoring position inside the planted 7-mer."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from bench.attribution_motif import hit_rate

    bundle, positives = default_dna_model
    assert len(positives) >= 25
    assert hit_rate(bundle, positives, method) >= 0.9
