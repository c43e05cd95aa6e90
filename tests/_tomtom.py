"""A stand-in for TomTom in the fast tests (``tests/conftest.py`` puts it in place of
:func:`bioseq.interpret.jaspar._tomtom` for every test not marked ``slow``).

TomTom's kernels are numba functions compiled on their first call (about a minute on a fresh install; the cache
then lives in ``memelite/__pycache__``, or in ``$NUMBA_CACHE_DIR`` when set). The fast tests check the tables
built around the matches, not TomTom: this stand-in gives p = 1e-12 to a reference motif equal to the query (on
either strand, to 1e-4) and 0.5 to every other. The tests marked ``slow`` (``tests/test_jaspar.py``'s matching,
the planted AP-1 and CTCF runs, the real TF-MoDISco page) run the real TomTom.
"""

from __future__ import annotations

import numpy as np

EXACT, OTHER = 1e-12, 0.5


def _same(q: np.ndarray, t: np.ndarray) -> bool:
    return q.shape == t.shape and (np.allclose(q, t, atol=1e-4) or np.allclose(q, t[::-1, ::-1], atol=1e-4))


def exact_p_values(queries: list[np.ndarray], targets: list[np.ndarray]) -> np.ndarray:
    """p-values ``(queries, targets)`` of motifs given as ``(4, W)``, as :func:`memelite.tomtom` takes them."""
    return np.array([[EXACT if _same(q, t) else OTHER for t in targets] for q in queries], dtype=np.float64)
