"""Model files written by an earlier main still load and predict identically (tests/fixtures/legacy)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bioseq.model.store import load_model
from bioseq.prediction.predict import predict_files

LEGACY = Path(__file__).parent / "fixtures" / "legacy"
MODELS = sorted(p.name.removesuffix(".safetensors") for p in LEGACY.glob("*.safetensors"))


def test_there_are_legacy_models():
    assert len(MODELS) == 5


@pytest.mark.parametrize("name", MODELS)
def test_legacy_model_predicts_the_same_bytes(name, tmp_path):
    fasta = LEGACY / ("protein.fa" if name.startswith("protein") else "dna.fa")
    bundle = load_model(LEGACY / f"{name}.safetensors")
    out = tmp_path / "p.csv"
    predict_files(bundle, [fasta], str(out))
    then = (LEGACY / f"{name}.predictions.csv").read_text().splitlines()
    now = [",".join(row.split(",")[: len(then[0].split(","))]) for row in out.read_text().splitlines()]
    assert now == then  # id, prediction, p_<class>...: the same bytes; newer columns follow
