"""A corpus of bad and odd-but-valid sequence files, through ``bioseq predict``, ``bioseq train`` and the readers.

Bad files: the command exits non-zero with one stderr line naming the file (and the record where
there is one), no traceback, and leaves no output file and no temporary file behind. The library
raises :class:`InputError` with the same names. Odd-but-valid files: one row per record, in input
order. The tests through ``bioseq`` processes are ``slow`` (minutes of process starts); the library
tests over the same corpus are not.
"""

from __future__ import annotations

import csv
import gzip
import random
import subprocess
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
from _robust import assert_one_line_error, run_cli, tiny_models
from conftest import TINY_ARGS

from bioseq.data.io import read_records
from bioseq.errors import InputError
from bioseq.model.store import load_model
from bioseq.prediction.predict import predict_files

DNA_SEQ = "ACGTTGCAAGGCTTACGATC"  # 20 letters
PROTEIN_SEQ = "MKWVTFISLLLLFSSAYSRGV"  # 21 letters


def fasta(*records: tuple[str, str], eol: str = "\n") -> str:
    """FASTA text with a ``label=`` token in every header (so ``bioseq train`` could use it)."""
    return "".join(f">{ident} label={'ab'[i % 2]}{eol}{seq}{eol}" for i, (ident, seq) in enumerate(records))


def truncated_gzip() -> bytes:
    data = gzip.compress(fasta(*[(f"s{i}", DNA_SEQ) for i in range(300)]).encode(), mtime=0)
    return data[: len(data) // 2]


def latin1_late() -> bytes:
    """5000 records (more than one prediction chunk); the header of record 4500 is Latin-1."""
    text = "".join(f">s{i} label={'ab'[i % 2]}{' café' if i == 4500 else ''}\n{DNA_SEQ}\n" for i in range(1, 5001))
    return text.encode("latin-1")


@dataclass(frozen=True)
class Bad:
    id: str
    content: bytes | None  # None: the file does not exist; DIRECTORY: a folder
    names: tuple[str, ...] = ()  # what the one-line message must name besides the file
    model: str = "dna"
    reader: bool = True  # the reader itself refuses it (not only the alphabet check)
    filename: str = "input.fa"


DIRECTORY = b"<directory>"

BAD = [
    Bad("empty", b""),
    Bad("blank-lines-only", b"\n\n   \n\t\n\n"),
    Bad("header-no-sequence", b">lonely label=a\n", ("record 1 (lonely)",)),
    Bad("sequence-no-header", f"{DNA_SEQ}\n{DNA_SEQ}\n".encode(), ("line 1",)),
    Bad("binary", bytes(range(256)) * 16),
    Bad("invalid-letters-dna", fasta(("s1", DNA_SEQ), ("s2", DNA_SEQ[:10] + "1" + DNA_SEQ[10:])).encode(),
        ("record 2 (s2)", "position 11", "'1'"), reader=False),
    Bad("invalid-letters-protein", fasta(("p1", PROTEIN_SEQ), ("p2", "MKW#TFISLL")).encode(),
        ("record 2 (p2)", "position 4", "'#'"), model="protein", reader=False),
    Bad("protein-to-dna-model", fasta(("p1", PROTEIN_SEQ), ("p2", PROTEIN_SEQ[::-1])).encode(),
        ("PROTEIN", "DNA"), reader=False),
    Bad("dna-to-protein-model", fasta(("d1", DNA_SEQ * 2), ("d2", DNA_SEQ[::-1] * 2)).encode(),
        ("DNA", "PROTEIN"), model="protein", reader=False),
    Bad("utf16", fasta(("s1", DNA_SEQ), ("s2", DNA_SEQ)).encode("utf-16"), ("UTF-16",)),
    Bad("utf16-no-bom", fasta(("s1", DNA_SEQ), ("s2", DNA_SEQ)).encode("utf-16-le")),
    Bad("latin1", f">s1 label=a caf\xe9\n{DNA_SEQ}\n>s2 label=b\n{DNA_SEQ}\n".encode("latin-1"), ("UTF-8",)),
    Bad("latin1-after-first-chunk", latin1_late(), ("line 8999", "UTF-8")),
    Bad("truncated-gzip", truncated_gzip(), ("gzip",), filename="input.fa.gz"),
    Bad("empty-record-among-valid", f">s1 label=a\n{DNA_SEQ}\n>s2 label=b\n\n>s3 label=a\n{DNA_SEQ}\n".encode(),
        ("record 2 (s2)", "empty")),
    Bad("missing-file", None, ("no such file",)),
    Bad("directory", DIRECTORY, ("directory",)),
]

# bioseq train reads through the same reader; one of each kind of failure, to keep the suite quick.
TRAIN_BAD = ["empty", "invalid-letters-dna", "truncated-gzip", "empty-record-among-valid", "directory"]


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> dict[str, Path]:
    return tiny_models(tmp_path_factory)


def make(tmp_path: Path, case: Bad) -> Path:
    path = tmp_path / "data" / case.filename
    path.parent.mkdir(parents=True, exist_ok=True)
    if case.content == DIRECTORY:
        path.mkdir()
    elif case.content is not None:
        path.write_bytes(case.content)
    return path


def by_id(cases, wanted):
    return [c for c in cases if c.id in wanted]


@pytest.fixture(scope="module")
def bad_runs(models, tmp_path_factory) -> dict[tuple[str, str], tuple[Path, subprocess.CompletedProcess, list]]:
    """Every ``bioseq predict`` and ``bioseq train`` of a bad file, two processes at a time.

    Returns, per ``(command, case id)``: the input path, the finished process, and what was left in
    the output folder (predict) or the registry folder (train).
    """
    root = tmp_path_factory.mktemp("bad")

    def job(command: str, case: Bad):
        base = root / command / case.id
        path = make(base, case)
        out_dir = base / "out"
        out_dir.mkdir()
        if command == "predict":
            proc = run_cli("predict", models[case.model], path, "-o", out_dir / "out.csv", home=base / "home")
            return path, proc, sorted(out_dir.iterdir())
        proc = run_cli("train", path, "--name", "bad", "--epochs", "1", *TINY_ARGS, "--quiet",
                       home=base / "home")
        registry = base / "home" / "models"
        return path, proc, sorted(registry.iterdir()) if registry.exists() else []

    jobs = [("predict", c) for c in BAD] + [("train", c) for c in by_id(BAD, TRAIN_BAD)]
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(lambda j: job(*j), jobs))
    return {(command, case.id): r for (command, case), r in zip(jobs, results)}


@pytest.mark.slow
@pytest.mark.parametrize("case", BAD, ids=lambda c: c.id)
def test_predict_refuses_bad_file(case: Bad, bad_runs):
    path, proc, left = bad_runs["predict", case.id]
    assert_one_line_error(proc, str(path), *case.names)
    assert left == [], "an output or temporary file was left behind"


@pytest.mark.parametrize("case", BAD, ids=lambda c: c.id)
def test_library_refuses_bad_file(case: Bad, models, tmp_path):
    path = make(tmp_path, case)
    if case.reader:
        with pytest.raises(InputError) as err:
            list(read_records(path))
        for name in (str(path), *case.names):
            assert name in str(err.value)
    else:
        assert len(list(read_records(path))) == 2  # the file reads; its letters are the problem
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    with pytest.raises(InputError) as err:
        predict_files(load_model(models[case.model]), [path], str(out_dir / "out.csv"))
    for name in (str(path), *case.names):
        assert name in str(err.value)
    assert list(out_dir.iterdir()) == []


@pytest.mark.slow
@pytest.mark.parametrize("case", by_id(BAD, TRAIN_BAD), ids=lambda c: c.id)
def test_train_refuses_bad_file(case: Bad, bad_runs):
    path, proc, left = bad_runs["train", case.id]
    assert_one_line_error(proc, str(path), *case.names)
    assert left == [], "a model or temporary file was left in the registry"


# --- odd but valid ---------------------------------------------------------------------------------

def _big_sequence() -> str:
    rng = random.Random(3)
    return "".join(rng.choice("ACGT") for _ in range(300_000))


@dataclass(frozen=True)
class Odd:
    id: str
    content: bytes
    ids: tuple[str, ...]
    seqs: tuple[str, ...]
    model: str = "dna"
    filename: str = "input.fa"
    env: tuple[tuple[str, str], ...] = ()


BIG = _big_sequence()
WRAPPED = "".join(random.Random(4).choice("ACGT") for _ in range(500))
ASCII_LOCALE = (("PYTHONUTF8", "0"), ("LC_ALL", "C"), ("LANG", "C"), ("PYTHONCOERCECLOCALE", "0"))

ODD = [
    Odd("crlf", f">a\r\n{DNA_SEQ[:10]}\r\n{DNA_SEQ[10:]}\r\n>b\r\nGGGTTTAAAC\r\n".encode(),
        ("a", "b"), (DNA_SEQ, "GGGTTTAAAC")),
    Odd("lowercase", f">a\n{DNA_SEQ.lower()}\n>b\nggcaTTAcgN\n".encode(), ("a", "b"), (DNA_SEQ.lower(), "ggcaTTAcgN")),
    Odd("iupac", b">a\nACGTNNRYSWKMBDHVACGT\n>b\nNNNNNNNNNNACGT\n>c\nryswkmbdhvn\n", ("a", "b", "c"),
        ("ACGTNNRYSWKMBDHVACGT", "NNNNNNNNNNACGT", "ryswkmbdhvn")),
    Odd("gzip", gzip.compress(f">a\n{DNA_SEQ}\n>b\nTTTTGGGG\n".encode()), ("a", "b"), (DNA_SEQ, "TTTTGGGG"),
        filename="input.fa.gz"),
    Odd("gzip-without-gz-name", gzip.compress(f">a\n{DNA_SEQ}\n>b\nTTTTGGGG\n".encode()), ("a", "b"),
        (DNA_SEQ, "TTTTGGGG")),
    Odd("300kb-sequence", (">big\n" + "\n".join(BIG[i:i + 80] for i in range(0, len(BIG), 80))
                           + f"\n>small\n{DNA_SEQ}\n").encode(), ("big", "small"), (BIG, DNA_SEQ)),
    Odd("unicode-headers", f">α-seq café ☃\n{DNA_SEQ}\n>β\nACGTTT\n>日本\nGGCC\n".encode(),
        ("α-seq", "β", "日本"), (DNA_SEQ, "ACGTTT", "GGCC")),
    Odd("unicode-headers-ascii-locale", f">α-seq café\n{DNA_SEQ}\n>β\nACGTTT\n".encode(),
        ("α-seq", "β"), (DNA_SEQ, "ACGTTT"), env=ASCII_LOCALE),
    Odd("duplicate-ids", f">x\n{DNA_SEQ}\n>x\nTTTTACGT\n>y\nACG\n>x\nGGGG\n".encode(),
        ("x", "x", "y", "x"), (DNA_SEQ, "TTTTACGT", "ACG", "GGGG")),
    Odd("leading-blank-lines", f"\n\n  \n>a\n{DNA_SEQ}\n>b\nACGG\n".encode(), ("a", "b"), (DNA_SEQ, "ACGG")),
    Odd("wrapped-many-lines", (">a\n" + "\n".join(WRAPPED[i:i + 7] for i in range(0, 500, 7))
                               + "\n>b\n" + "\n".join("T" * 20) + "\n").encode(), ("a", "b"), (WRAPPED, "T" * 20)),
    Odd("protein-terminal-stop", f">p1\n{PROTEIN_SEQ}*\n>p2\nMKKLLLPPQQRRSTVWY*\n>p3\n{PROTEIN_SEQ}\n".encode(),
        ("p1", "p2", "p3"), (PROTEIN_SEQ + "*", "MKKLLLPPQQRRSTVWY*", PROTEIN_SEQ), model="protein"),
]


@pytest.fixture(scope="module")
def odd_predictions(models, tmp_path_factory) -> dict[str, tuple[list[str], list[Path]]]:
    """One ``bioseq predict`` per model and locale over all its odd files (a process start is slow).

    Returns, per case id, the ids of that file's rows and what is in the output folder.
    """
    root = tmp_path_factory.mktemp("odd")
    groups: dict[tuple, list[Odd]] = {}
    for case in ODD:
        groups.setdefault((case.model, case.env), []).append(case)

    def run_group(n: int, model: str, env: tuple, cases: list[Odd]) -> dict:
        paths = []
        for case in cases:
            path = root / case.id / case.filename
            path.parent.mkdir()
            path.write_bytes(case.content)
            paths.append(path)
        out = root / f"out{n}" / "out.csv"
        out.parent.mkdir()
        proc = run_cli("predict", models[model], *paths, "-o", out, home=root / "home", **dict(env))
        assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
        with open(out, newline="", encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
        assert all(abs(sum(float(v) for k, v in r.items() if k.startswith("p_")) - 1) < 1e-4 for r in rows)
        left = list(out.parent.iterdir())
        found = {}
        for case in cases:  # rows come in input order, file after file
            found[case.id] = ([r["id"] for r in rows[:len(case.ids)]], left)
            rows = rows[len(case.ids):]
        assert rows == [], "more rows than records"
        return found

    with ThreadPoolExecutor(max_workers=2) as pool:
        parts = pool.map(lambda g: run_group(g[0], *g[1][0], g[1][1]), enumerate(groups.items()))
        return {k: v for part in parts for k, v in part.items()}


@pytest.mark.slow
@pytest.mark.parametrize("case", ODD, ids=lambda c: c.id)
def test_predict_accepts_odd_but_valid_file(case: Odd, odd_predictions):
    ids, left = odd_predictions[case.id]
    assert tuple(ids) == case.ids
    assert [p.name for p in left] == ["out.csv"]  # no temporary file left


@pytest.mark.parametrize("case", ODD, ids=lambda c: c.id)
def test_reader_reads_odd_but_valid_file(case: Odd, models, tmp_path):
    path = tmp_path / case.filename
    path.write_bytes(case.content)
    records = list(read_records(path))
    assert tuple(r.id for r in records) == case.ids
    assert tuple(r.seq for r in records) == case.seqs
    assert [r.number for r in records] == list(range(1, len(case.ids) + 1))
    out = tmp_path / "out.csv"
    assert predict_files(load_model(models[case.model]), [path], str(out)) == len(case.ids)
