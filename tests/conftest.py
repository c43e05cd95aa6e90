"""Shared fixtures: an isolated workspace, tiny FASTA files, tiny models.

Every test runs with ``$BIOSEQ_HOME`` in its own temporary folder, so nothing touches ``~/.bioseq``.
PyTorch is held to one thread: the suite's tensors are tiny, and on a shared machine more threads
only wait for each other (subprocesses inherit ``OMP_NUM_THREADS``).
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from bioseq.data.alphabets import DNA, PROTEIN  # noqa: E402
from bioseq.data.synthetic import cterm_protein, motif_dna, write_fasta  # noqa: E402
from bioseq.model.classifier import SequenceClassifier  # noqa: E402
from bioseq.model.config import ModelConfig  # noqa: E402
from bioseq.model.store import ModelBundle  # noqa: E402

torch.set_num_threads(1)


def pytest_collection_modifyitems(config, items):
    """Tests marked ``gpu`` are skipped where PyTorch sees no CUDA GPU."""
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA GPU (PyTorch sees none)")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)


# The one tiny model and training setup of the suite: small enough to train in well under a second on one
# core. A test that needs another size derives from these (``{**TINY, "layers": 2}``) and says why.
TINY = {"hidden": 8, "conv_filters": 8, "conv_width": 3, "dropout": 0.0}  # model options (ModelConfig fields)
TINY_TRAIN = {"epochs": 1, "batch_size": 8, "device": "cpu"}  # TrainConfig fields


def cli_args(values: dict) -> list[str]:
    """``bioseq train`` flags for option values: ``{"conv_width": 3, "bidirectional": False}`` gives
    ``["--conv-width", "3", "--no-bidirectional"]``."""
    from bioseq.options import option

    args = []
    for name, value in values.items():
        flag = option(name).flag
        args += ([flag] if value else ["--no-" + flag[2:]]) if isinstance(value, bool) else [flag, str(value)]
    return args


# TINY and TINY_TRAIN as `bioseq train` flags, less --epochs: a test says how long it trains (after these:
# the last --epochs given wins).
TINY_ARGS = cli_args({**TINY, **{k: v for k, v in TINY_TRAIN.items() if k != "epochs"}})


@pytest.fixture(autouse=True)
def dev_null_stays_a_device():
    """Fail the test that replaced ``/dev/null`` with a regular file (as root, a rename over it does), and put
    the device back so that the rest of the suite and the machine keep working."""
    import stat

    yield
    if stat.S_ISCHR(os.lstat("/dev/null").st_mode):
        return
    if os.geteuid() == 0:
        os.unlink("/dev/null")
        os.mknod("/dev/null", stat.S_IFCHR | 0o666, os.makedev(1, 3))
        os.chmod("/dev/null", 0o666)
    pytest.fail("this test replaced /dev/null with a regular file")


@pytest.fixture(autouse=True)
def exact_tomtom(request, monkeypatch):
    """Fast tests match motifs with the stand-in of ``tests/_tomtom.py`` (TomTom compiles for about a minute on a
    fresh install); tests marked ``slow`` run the real TomTom."""
    if "slow" in request.keywords:
        return
    from _tomtom import exact_p_values

    from bioseq.interpret import jaspar

    monkeypatch.setattr(jaspar, "_tomtom", exact_p_values)


@pytest.fixture(autouse=True)
def bioseq_home(tmp_path, monkeypatch) -> Path:
    """A fresh, empty workspace for every test."""
    home = tmp_path / "home"
    monkeypatch.setenv("BIOSEQ_HOME", str(home))
    monkeypatch.delenv("BIOSEQ_DEBUG", raising=False)
    return home


@pytest.fixture
def tiny() -> dict:
    """The tiny model options (:data:`TINY`), a fresh dict a test may change."""
    return dict(TINY)


@pytest.fixture
def tiny_args() -> list[str]:
    """The tiny model as ``bioseq train`` flags (:data:`TINY_ARGS`), a fresh list."""
    return list(TINY_ARGS)


@pytest.fixture
def tiny_train():
    """A one-epoch CPU training config (:data:`TINY_TRAIN`)."""
    from bioseq.training.config import TrainConfig

    return TrainConfig(**TINY_TRAIN)


@pytest.fixture
def write(tmp_path):
    """``write(name, content)`` writes text or bytes under ``tmp_path`` and returns the path."""

    def _write(name: str, content: str | bytes) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
        return path

    return _write


@pytest.fixture
def dna_fasta(tmp_path) -> Path:
    """40 labelled DNA records of length 24 (half carry the motif), ``label=`` headers."""
    return write_fasta(tmp_path / "dna.fa", motif_dna(40, length=24, seed=1))


@pytest.fixture
def protein_fasta(tmp_path) -> Path:
    """20 labelled protein records (``retained``/``secreted``)."""
    return write_fasta(tmp_path / "protein.fa", cterm_protein(20, min_len=20, max_len=30, seed=2))


def _tiny_bundle(alphabet=DNA, classes=("a", "b"), seed: int = 0, **cfg) -> ModelBundle:
    """A randomly initialised model bundle (eval mode); deterministic for a given seed."""
    torch.manual_seed(seed)
    model = SequenceClassifier(ModelConfig(alphabet.size, len(classes), **{**TINY, **cfg})).eval()
    return ModelBundle(model, alphabet, list(classes))


@pytest.fixture
def make_bundle():
    """``make_bundle(alphabet, classes, seed, **model_config)``: a random tiny model bundle."""
    return _tiny_bundle


@pytest.fixture
def dna_bundle() -> ModelBundle:
    return _tiny_bundle(DNA, ("background", "motif"))


@pytest.fixture
def protein_bundle() -> ModelBundle:
    return _tiny_bundle(PROTEIN, ("retained", "secreted"))


@pytest.fixture
def two_letter():
    """``two_letter(n, seed)``: an easy encoded task (see :func:`_two_letter_task`)."""
    return _two_letter_task


def _two_letter_task(n: int, seed: int = 0, min_len: int = 6, max_len: int = 12):
    """Encoded DNA: class 0 is made of A/C, class 1 of G/T; lengths vary. Returns ``(arrays, labels)``."""
    from bioseq.data.encoding import encode

    rng = np.random.default_rng(seed)
    arrays, labels = [], []
    for i in range(n):
        c = i % 2
        seq = "".join(rng.choice(list("AC" if c == 0 else "GT"), int(rng.integers(min_len, max_len + 1))))
        arrays.append(encode(seq, DNA))
        labels.append(c)
    return arrays, np.array(labels, dtype=np.int64)
