"""Model files written by earlier mains still load and predict the same (tests/fixtures/legacy): per-sequence
and per-position tables alike, row by row.

The fixtures were printed on another machine: the last digit of a float32 result depends on the CPU's vector
instructions, so probabilities are compared within PROB_TOL (the CSV prints 6 decimals) and the predicted class
must be the same wherever the top two probabilities are further apart than that tolerance.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from bioseq.model.store import load_model
from bioseq.prediction.predict import predict_files

LEGACY = Path(__file__).parent / "fixtures" / "legacy"
MODELS = sorted(p.name.removesuffix(".safetensors") for p in LEGACY.glob("*.safetensors"))
PROB_TOL = 1e-5


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as fh:
        return list(csv.DictReader(fh))


INPUTS = {"dna": "dna.fa", "protein": "protein.fa", "tm": "tm.fa"}  # a model's input, by its name's first word


def test_there_are_legacy_models():
    assert len(MODELS) == 7  # five from 25f8dda, a classifier and a labeller from 3c1cabf (before the Task object)


@pytest.mark.parametrize("name", MODELS)
def test_legacy_model_predicts_the_same(name, tmp_path):
    fasta = LEGACY / INPUTS[name.split("_")[0]]
    bundle = load_model(LEGACY / f"{name}.safetensors")
    out = tmp_path / "p.csv"
    predict_files(bundle, [fasta], str(out))
    then, now = _rows(LEGACY / f"{name}.predictions.csv"), _rows(out)
    assert [r["id"] for r in now] == [r["id"] for r in then]
    prob_cols = [c for c in then[0] if c.startswith("p_")]
    assert prob_cols and set(prob_cols) <= set(now[0])  # newer columns may follow
    for old, new in zip(then, now):
        for col in prob_cols:
            assert abs(float(new[col]) - float(old[col])) <= PROB_TOL, (old["id"], col, old[col], new[col])
        top = sorted((float(old[c]) for c in prob_cols), reverse=True)
        if top[0] - top[1] > PROB_TOL:
            assert new["prediction"] == old["prediction"], old["id"]
