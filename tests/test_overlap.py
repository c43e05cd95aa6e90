"""check-overlap: the library function, the CLI command (one line on stderr, CSV rows) and its errors."""

from __future__ import annotations

import shutil

import pytest
from _families import families

from bioseq.cli import main
from bioseq.data import homology
from bioseq.data.overlap import COLUMNS, check_overlap
from bioseq.data.synthetic import write_fasta

needs_mmseqs = pytest.mark.skipif(shutil.which("mmseqs") is None, reason="mmseqs is not installed")


@pytest.fixture
def split_files(tmp_path):
    recs = families("protein", n=2, unrelated=2)  # f0 (6), f1 (6), lone0, lone1
    train = write_fasta(tmp_path / "train.fa", recs[:1] + recs[2:6] + recs[12:13])  # f0 but f0_v90, lone0
    test = write_fasta(tmp_path / "test.fa", recs[6:12] + recs[1:2] + recs[13:])  # f1, f0_v90, lone1
    return train, test


@needs_mmseqs
def test_check_overlap_lists_each_close_test_sequence(split_files):
    train, test = split_files
    found = check_overlap([train], [test], identity=0.4)
    assert list(found.table.columns) == COLUMNS and found.tested == 8 and found.count == 1
    row = found.table.iloc[0].to_dict()
    # f0_v90 is 90% identical to f0_root (4 of 40 changed) and to the fragment f0_root[5:25] (2 of 20)
    assert row.pop("train_id") in ("f0_root", "f0_frag")
    assert row == {"test_id": "f0_v90", "test_file": str(test), "train_file": str(train), "identity": 0.9}
    assert found.text().startswith("1 of 8 test sequences (12.5%) have a training sequence 40% or more identical")


@needs_mmseqs
def test_the_cli_writes_the_rows_and_one_line(split_files, tmp_path, capsys):
    train, test = split_files
    out = tmp_path / "overlap.csv"
    assert main(["check-overlap", str(train), "--against", str(test), "--identity", "0.4", "-o", str(out)]) == 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("1 of 8 test sequences (12.5%)") and "MMseqs2" in err[0]
    lines = out.read_text().splitlines()
    assert lines[0] == ",".join(COLUMNS) and len(lines) == 2 and lines[1].startswith("f0_v90,")


def test_the_cli_says_how_to_install_the_tools(split_files, monkeypatch, capsys):
    train, test = split_files
    monkeypatch.setattr(homology, "available", lambda tool: False)
    assert main(["check-overlap", str(train), "--against", str(test)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "sudo apt-get install mmseqs2 cd-hit" in err[0] and "Traceback" not in err[0]


def test_the_cli_refuses_a_bad_identity_and_a_missing_file(split_files, capsys):
    train, _ = split_files
    with pytest.raises(SystemExit) as e:
        main(["check-overlap", str(train), "--against", str(train), "--identity", "1.5"])
    assert e.value.code == 2 and "must be above 0 and at most 1, not 1.5" in capsys.readouterr().err
    assert main(["check-overlap", str(train), "--against", "missing.fa"]) == 2
    assert "missing.fa: no such file" in capsys.readouterr().err


@needs_mmseqs
def test_the_data_page_checks_the_test_files(split_files):
    from bioseq.app.data_report import overlap_check
    from bioseq.data.source import DataSource
    from bioseq.errors import InputError

    train, test = split_files
    found = overlap_check(DataSource("fam", (str(train),), test=(str(test),)), identity=0.4)
    assert found.count == 1 and found.table["test_id"].tolist() == ["f0_v90"]
    with pytest.raises(InputError, match="no test or validation files to check"):
        overlap_check(DataSource("fam", (str(train),)))
