"""Motifs with names (:mod:`bioseq.interpret.named_motifs`): the table from TF-MoDISco's patterns and TomTom's
matches, the views' choice between it and the k-mer table, the MEME output; two slow tests train a model on a
planted AP-1 site and on a planted CTCF site and check the full run names them (FOS/JUN, CTCF)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from _linear import linear_bundle, rec
from memelite.io import read_meme

from bioseq.data.alphabets import RNA
from bioseq.errors import InputError
from bioseq.interpret import jaspar, named_motifs, views
from bioseq.interpret.modisco import NoMotifs, Pattern
from bioseq.interpret.views import get_view

KMER_COLUMNS = list(views.KMER_COLUMNS)
CTCF_RUN = {"n": 1000, "length": 80, "epochs": 4}  # generated sequences (half with the site), letters, epochs
RECORDS = [rec("ACGTACGTAC" * 3, "x"), rec("GGTACATTGA" * 3, "y", 2)]


def _fos_jun() -> Pattern:
    ref = jaspar.reference()
    ppm = ref.matrices[ref.names.index("FOS::JUN")]
    return Pattern("pos_1", "+", ppm, ppm - 0.25, 4, 3, [10, 20, 30, 40])


@pytest.fixture
def found(monkeypatch):
    """TF-MoDISco replaced: it 'finds' JASPAR's FOS::JUN matrix in every class explained (or ``found.patterns``)."""
    calls = []

    def discover(onehots, hyps, max_seqlets):
        calls.append((len(onehots), max_seqlets))
        return list(found.patterns), 1.5

    found = type("Found", (), {"patterns": [_fos_jun()], "calls": calls})
    monkeypatch.setattr(named_motifs, "discover", discover)
    return found


def test_a_pattern_gets_its_jaspar_name(found):
    table = named_motifs.named_motifs(linear_bundle(), RECORDS, target="b")
    assert list(table.columns) == named_motifs.COLUMNS and len(table) == 1
    row = table.iloc[0]
    assert (row["target"], row["motif"], row["sign"], row["seqlets"], row["sequences"]) == ("b", "pos_1", "+", 4, 3)
    assert row["match_name"] == "FOS::JUN" and row["match_id"].startswith("MA0099") and row["q_value"] < 1e-6
    assert row["match_family"] == "Fos-related, Jun-related"
    assert row["matches"].startswith(f"{row['match_id']} FOS::JUN (q ") and row["matches"].count(";") == 2
    assert (row["position_median"], row["position_q1"], row["position_q3"]) == (25.0, 17.5, 32.5)
    assert json.loads(row["positions"]) == [10, 20, 30, 40]
    assert np.asarray(json.loads(row["ppm"])).shape == (row["width"], 4)
    assert "TGA" in row["consensus"].upper() and table.attrs["reference"] == "JASPAR2026 CORE vertebrates"
    assert found.calls == [(2, 2000)]


def test_each_predicted_class_is_searched_on_its_own_records(found):
    table = named_motifs.named_motifs(linear_bundle(), RECORDS)  # the linear model predicts b for both
    assert list(table["target"]) == ["b"] and found.calls == [(2, 2000)]


def test_nothing_found_is_one_line(found):
    found.patterns = []
    with pytest.raises(NoMotifs, match="^TF-MoDISco found no motif in 2 of class b .*give it more records"):
        named_motifs.named_motifs(linear_bundle(), RECORDS, target="b", max_seqlets=50)
    assert found.calls == [(2, 50)]


def test_one_class_failing_leaves_the_others_motifs(found, monkeypatch):
    records = [rec("ACGTACGTAC" * 3, "x"), rec("GGTACATTGA" * 3, "y", 2)]
    monkeypatch.setattr(named_motifs, "resolve_targets", lambda bundle, arrays, target: np.array([0, 1]))
    outcomes = iter([NoMotifs("TF-MoDISco failed on 1 records (ValueError: degenerate)"), ([_fos_jun()], 1.0)])

    def discover(onehots, hyps, max_seqlets):
        out = next(outcomes)
        if isinstance(out, Exception):
            raise out
        return out

    monkeypatch.setattr(named_motifs, "discover", discover)
    table = named_motifs.named_motifs(linear_bundle(), records)
    assert table["target"].tolist() == ["b"]  # and the failing class says why (the CLI and the dashboard show it)
    assert table.attrs["notes"] == ["class a: TF-MoDISco failed on 1 records (ValueError: degenerate)"]
    assert "\n  no motif for class a: TF-MoDISco failed on 1 records (ValueError: degenerate)" in \
        get_view("motifs").summary(table, {})
    outcomes = iter([([], 1.0), ([_fos_jun()], 1.0)])  # one class with nothing found: said too
    assert named_motifs.named_motifs(linear_bundle(), records).attrs["notes"] == [
        "class a: TF-MoDISco found no motif in its records"]
    outcomes = iter([NoMotifs("TF-MoDISco failed (x)"), NoMotifs("TF-MoDISco failed (x)")])
    with pytest.raises(NoMotifs, match=r"^class a, b: TF-MoDISco failed \(x\)$"):  # every class: the reasons
        named_motifs.named_motifs(linear_bundle(), records)
    outcomes = iter([NoMotifs("TF-MoDISco failed on 1 records (ValueError: degenerate)"), ([], 1.0)])
    with pytest.raises(NoMotifs, match=r"found no motif in 1 of class b .*; class a: TF-MoDISco failed on 1 records"):
        named_motifs.named_motifs(linear_bundle(), records)


def test_top_keeps_that_many_motifs_per_class(found):
    found.patterns = [_fos_jun(), Pattern("pos_2", "+", np.full((6, 4), 0.25), np.zeros((6, 4)), 3, 2, [5, 6, 7]),
                      Pattern("neg_1", "-", np.eye(4)[[0, 1, 2, 3, 0, 1]], np.zeros((6, 4)), 2, 2, [8, 9])]
    assert named_motifs.named_motifs(linear_bundle(), RECORDS, target="b")["motif"].tolist() == [
        "pos_1", "pos_2", "neg_1"]
    assert named_motifs.named_motifs(linear_bundle(), RECORDS, target="b", top=2)["motif"].tolist() == [
        "pos_1", "pos_2"]
    table = get_view("motifs").table(linear_bundle(), RECORDS, "b", k=None, top=1)  # as the CLI passes --top
    assert table["motif"].tolist() == ["pos_1"] and table.attrs["notes"] == []
    with pytest.raises(InputError, match="^top must be at least 1 motif per class, not 0$"):
        named_motifs.named_motifs(linear_bundle(), RECORDS, target="b", top=0)


def test_the_motifs_view_declares_the_columns_of_both_tables(protein_bundle):
    view = get_view("motifs")
    assert view.columns_for(linear_bundle()) == tuple(named_motifs.COLUMNS)  # a DNA model: the named motifs
    assert view.columns_for(linear_bundle(), {"kmers": True}) == views.KMER_COLUMNS
    assert view.columns_for(protein_bundle) == views.KMER_COLUMNS
    assert get_view("gates").columns_for(linear_bundle()) == get_view("gates").columns


def test_an_rna_motif_is_written_in_its_own_letters(found, make_bundle):
    table = named_motifs.named_motifs(make_bundle(RNA, ("a", "b")), [rec("ACGUACGUAC" * 3, "r")], target="a")
    assert "U" in table["consensus"].iloc[0].upper() and "T" not in table["consensus"].iloc[0].upper()
    assert table["match_name"].iloc[0] == "FOS::JUN"  # JASPAR (DNA) reads U as T


def test_records_shorter_than_the_window_are_refused_before_any_work(found):
    with pytest.raises(NoMotifs, match="^TF-MoDISco needs records of at least 21 letters .*the longest here has 20$"):
        named_motifs.named_motifs(linear_bundle(), [rec("ACGTA" * 4, "x")])
    assert found.calls == []


@pytest.mark.parametrize("options, message", [
    ({"max_seqlets": 5}, "max seqlets must be at least 20, not 5"),
    ({"jaspar_release": "1999"}, "unknown JASPAR release '1999'"),
    ({"target": "nope"}, "unknown class 'nope'"),
])
def test_bad_options_are_refused_before_any_work(found, options, message):
    with pytest.raises(InputError, match=message):
        named_motifs.named_motifs(linear_bundle(), RECORDS, **options)
    assert found.calls == []


def test_a_protein_model_keeps_the_kmer_table(found, protein_bundle):
    with pytest.raises(InputError, match="named motifs need a DNA or RNA model"):
        named_motifs.named_motifs(protein_bundle, [rec("MKKLLPTAAAGLLLLAAQPAMA", "p")])
    table = get_view("motifs").table(protein_bundle, [rec("MKKLLPTAAAGLLLLAAQPAMA", "p")], k=3, top=2)
    assert list(table.columns) == KMER_COLUMNS and found.calls == []


def test_the_motifs_view_names_dna_motifs_unless_kmers(found):
    named = get_view("motifs").table(linear_bundle(), RECORDS, "b", k=3, top=2, jaspar_taxa=None)
    assert list(named.columns) == named_motifs.COLUMNS
    kmers = get_view("motifs").table(linear_bundle(), RECORDS, "b", k=3, top=2, kmers=True)
    assert list(kmers.columns) == KMER_COLUMNS and len(found.calls) == 1


def test_meme_motifs_round_trip(found, tmp_path):
    table = named_motifs.named_motifs(linear_bundle(), RECORDS, target="b")
    path = tmp_path / "found.meme"
    jaspar.write_meme(str(path), named_motifs.meme_motifs(table))
    (name, matrix), = read_meme(str(path)).items()
    assert name == f"b_pos_1_{table['match_id'].iloc[0]}_FOS::JUN"
    np.testing.assert_allclose(matrix.T, json.loads(table["ppm"].iloc[0]))
    assert path.read_bytes() == named_motifs.meme_bytes(table)  # the dashboard's download: the same bytes
    assert named_motifs.meme_bytes(table).startswith(b"MEME version 5\n\nALPHABET= ACGT\n")


@pytest.mark.slow
def test_a_planted_ap1_site_is_found_and_named(tmp_path, capsys):
    """Acceptance: AP-1 (TGACTCA) planted in the positives; a small model trained on them; ``bioseq inspect
    motifs`` (TF-MoDISco on saliency, TomTom against JASPAR 2026 CORE vertebrates) names a FOS/JUN factor first."""
    import bioseq
    from bioseq.cli.commands import main
    from bioseq.data.synthetic import motif_dna, write_fasta

    train = write_fasta(tmp_path / "train.fa", motif_dna(2000, length=100, seed=1))
    test = write_fasta(tmp_path / "test.fa", motif_dna(400, length=100, seed=2))
    bioseq.train([str(train)], out=str(tmp_path / "m.pt"), epochs=25, hidden=16, conv_filters=16, conv_width=9,
                 device="cpu", batch_size=32, seed=0)
    out, meme = tmp_path / "motifs.csv", tmp_path / "motifs.meme"
    code = main(["inspect", "motifs", str(tmp_path / "m.pt"), str(test), "--class", "motif", "-o", str(out),
                 "--meme-out", str(meme)])
    err = capsys.readouterr().err
    assert code == 0, err
    table = pd.read_csv(out)
    print(table.drop(columns=["ppm", "positions"]).to_string(), "\n", err)
    best = table[table["sign"] == "+"].iloc[0]
    assert "TGACTCA" in best["consensus"].upper() or "TGAGTCA" in best["consensus"].upper()
    # JASPAR's families of the FOS and JUN factors (BACH1, a bZIP binding the same TGA(C/G)TCA core, is Jun-related)
    assert {"Fos-related", "Jun-related"} & set(best["match_family"].split(", ")) and best["q_value"] < 0.01
    assert any(m.split(" ")[1].upper().startswith(("FOS", "JUN")) for m in best["matches"].split("; "))
    assert len(read_meme(str(meme))) == len(table)


@pytest.mark.slow
def test_a_planted_ctcf_site_is_found_and_named(tmp_path, capsys):
    """Acceptance: the consensus of JASPAR's CTCF matrix (MA0139, ``GCCACCAGGGGGCGC`` in JASPAR 2026: the reverse
    strand of the CCGCGNGGNGGCAG core) planted in the positives; a small model; ``bioseq inspect motifs`` names
    CTCF first."""
    import bioseq
    from bioseq.cli.commands import main
    from bioseq.data.synthetic import motif_dna, write_fasta

    ref = jaspar.reference()
    i = ref.ids.index(next(m for m in ref.ids if m.startswith("MA0139")))
    site = "".join("ACGT"[j] for j in ref.matrices[i].argmax(1))
    assert ref.names[i] == "CTCF" and site == "GCCACCAGGGGGCGC"
    train = write_fasta(tmp_path / "train.fa", motif_dna(CTCF_RUN["n"], length=CTCF_RUN["length"], motif=site, seed=1))
    test = write_fasta(tmp_path / "test.fa", motif_dna(400, length=CTCF_RUN["length"], motif=site, seed=2))
    bioseq.train([str(train)], out=str(tmp_path / "m.pt"), epochs=CTCF_RUN["epochs"], hidden=16, conv_filters=16,
                 conv_width=9, device="cpu", batch_size=32, seed=0)
    out = tmp_path / "motifs.csv"
    code = main(["inspect", "motifs", str(tmp_path / "m.pt"), str(test), "--class", "motif", "-o", str(out)])
    err = capsys.readouterr().err
    assert code == 0, err
    table = pd.read_csv(out)
    print(table.drop(columns=["ppm", "positions"]).to_string(), "\n", err)
    best = table[table["sign"] == "+"].iloc[0]  # the largest positive motif
    assert best["match_name"] == "CTCF" and best["q_value"] < 0.05
    assert "CCAGGGGGC" in best["consensus"].upper() or "GCCCCCTGG" in best["consensus"].upper()
