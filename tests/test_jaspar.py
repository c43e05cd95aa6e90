"""JASPAR and MEME references and TomTom matching (:mod:`bioseq.interpret.jaspar`): a JASPAR matrix finds itself
first, a MEME file round-trips through the writer and the reader, q-values are Benjamini-Hochberg's, bad
references are one line."""

from __future__ import annotations

import numpy as np
import pytest
from memelite.io import read_meme

from bioseq.errors import InputError
from bioseq.interpret import jaspar


def _jaspar_matrix(name: str) -> tuple[str, np.ndarray]:
    ref = jaspar.reference()
    i = ref.names.index(name)
    return ref.ids[i], ref.matrices[i]


def test_the_default_reference_is_jaspar_2026_core_vertebrates():
    ref = jaspar.reference()
    assert ref.source == "JASPAR2026 CORE vertebrates" and len(ref.ids) > 500
    assert "CTCF" in ref.names and all(m.shape[1] == 4 for m in ref.matrices)
    np.testing.assert_allclose(np.concatenate([m.sum(1) for m in ref.matrices]), 1.0)
    assert jaspar.releases()[0] == "2026" and "2024" in jaspar.releases()


def test_fast_tests_match_with_the_stand_in_not_the_real_tomtom():
    """TomTom compiles its numba kernels for about a minute on a fresh install: the fast tests use the exact-match
    stand-in of tests/_tomtom.py (the tests marked slow below run the real one)."""
    from _tomtom import EXACT, OTHER, exact_p_values

    assert jaspar._tomtom is exact_p_values
    matrix_id, matrix = _jaspar_matrix("CTCF")
    (best, second), = jaspar.match([matrix[::-1, ::-1]], jaspar.reference(), top=2)  # its reverse complement
    assert (best.id, best.p_value, second.p_value) == (matrix_id, EXACT, OTHER) and jaspar.compiled()


@pytest.mark.slow  # the real TomTom (about a minute to compile on a fresh install)
@pytest.mark.parametrize("name", ["CTCF", "FOS::JUN"])
def test_a_jaspar_matrix_matches_itself_first(name):
    matrix_id, matrix = _jaspar_matrix(name)
    (best, *rest), = jaspar.match([matrix], jaspar.reference(), top=3)
    assert (best.id, best.name) == (matrix_id, name) and best.q_value < 1e-6 and len(rest) == 2
    assert best.p_value <= rest[0].p_value <= rest[1].p_value
    assert best.family == {"CTCF": "More than 3 adjacent zinc fingers", "FOS::JUN": "Fos-related, Jun-related"}[name]


@pytest.mark.slow  # the real TomTom
def test_a_reverse_complement_matches_too():
    matrix_id, matrix = _jaspar_matrix("CTCF")
    (best, *_), = jaspar.match([matrix[::-1, ::-1]], jaspar.reference())
    assert best.id == matrix_id


def test_q_values_are_benjamini_hochberg():
    # sorted 0.01, 0.03, 0.04, 0.5: p * 4 / rank = 0.04, 0.06, 0.0533, 0.5, then the running minimum from the end
    np.testing.assert_allclose(jaspar.q_values(np.array([0.01, 0.04, 0.03, 0.5])), [0.04, 0.16 / 3, 0.16 / 3, 0.5])
    np.testing.assert_allclose(jaspar.q_values(np.array([0.9, 0.9])), [0.9, 0.9])


def test_the_meme_writer_round_trips(tmp_path):
    a = np.array([[0.7, 0.1, 0.1, 0.1], [0.0, 0.0, 1.0, 0.0], [0.25, 0.25, 0.25, 0.25]])
    b = np.array([[0.0, 1.0, 0.0, 0.0], [0.5, 0.0, 0.0, 0.5]])
    path = tmp_path / "m.meme"
    jaspar.write_meme(str(path), [("motif_pos_1_MA0099.4_FOS::JUN", a, 12), ("motif_neg_1", b, 3)])
    back = read_meme(str(path))
    assert list(back) == ["motif_pos_1_MA0099.4_FOS::JUN", "motif_neg_1"]
    np.testing.assert_allclose(back["motif_pos_1_MA0099.4_FOS::JUN"].T, a)
    np.testing.assert_allclose(back["motif_neg_1"].T, b)
    assert "nsites= 12" in path.read_text()
    ref = jaspar.reference(motifs_file=path)  # a MEME file is a reference too
    assert ref.ids == ("motif_pos_1_MA0099.4_FOS::JUN", "motif_neg_1") and ref.names == ("", "")


def test_a_meme_reference_names_its_motifs(tmp_path):
    matrix_id, matrix = _jaspar_matrix("CTCF")
    path = tmp_path / "mine.meme"
    path.write_text("MEME version 4\n\nALPHABET= ACGT\n\nMOTIF MA_X my_factor\nletter-probability matrix: alength= 4 "
                    f"w= {len(matrix)} nsites= 20\n" + "\n".join(" ".join(f"{v:.6f}" for v in row) for row in matrix)
                    + "\n\n")
    ref = jaspar.reference(motifs_file=str(path))
    assert ref.ids == ("MA_X",) and ref.names == ("my_factor",) and ref.family(0) == ""
    (best,), = jaspar.match([matrix], ref, top=1)
    assert (best.id, best.name) == ("MA_X", "my_factor")


@pytest.mark.parametrize("kwargs, message", [
    ({"release": "1999"}, "unknown JASPAR release '1999'; pyjaspar has 2026, 2024"),
    ({"taxa": "fungi"}, "JASPAR taxa must be one of vertebrates, all, not 'fungi'"),
    ({"collection": "NOPE"}, "JASPAR 2026 has no NOPE motifs for vertebrates"),
])
def test_a_bad_jaspar_choice_is_one_line(kwargs, message):
    with pytest.raises(InputError, match=f"^{message}"):
        jaspar.reference(**kwargs)


def test_a_bad_meme_file_is_named(tmp_path):
    with pytest.raises(InputError, match="nothing.meme: no such MEME file"):
        jaspar.reference(motifs_file=tmp_path / "nothing.meme")
    empty = tmp_path / "empty.meme"
    empty.write_text("MEME version 4\n")
    with pytest.raises(InputError, match="empty.meme: no motifs in this MEME file"):
        jaspar.reference(motifs_file=empty)
    bad = tmp_path / "bad.meme"
    bad.write_text("MOTIF a\nletter-probability matrix: alength= 4 w= 2\n0.1 0.2 x 0.7\n")
    with pytest.raises(InputError, match="bad.meme: not a readable MEME motif file"):
        jaspar.reference(motifs_file=bad)
