"""Batches from the encoded-sequence cache (bioseq.data.encoded_view): the view holds an index and a length per
record only, and the mapped pages it reads are given back (at random in batches, and after every whole pass)."""

from __future__ import annotations

import os
import tracemalloc

import numpy as np
import pytest

from bioseq.data import cache as cache_module
from bioseq.data.encoded_view import EncodedView
from bioseq.data.large import hashed_leakage, load_cached, split_cached, summarize_cached
from bioseq.data.profile import training_profile

pytestmark = pytest.mark.skipif(not os.path.exists("/proc/self/smaps"), reason="reads /proc/self/smaps")
N, LENGTH = 20_000, 200  # 4 MB of letters


def resident_kib(path) -> int:
    """KiB of the file ``path`` mapped into this process's resident memory."""
    total, mine = 0, False
    with open("/proc/self/smaps") as fh:
        for line in fh:
            if line[0].islower() or line[0].isdigit():  # a mapping's first line
                mine = line.rstrip().endswith(str(path))
            elif mine and line.startswith("Rss:"):
                total += int(line.split()[1])
    return total


@pytest.fixture
def big(write):
    rng = np.random.default_rng(0)
    letters = np.frombuffer(b"ACGT", dtype=np.uint8)[rng.integers(0, 4, (N, LENGTH))]
    text = "".join(f">s{i} label={'ab'[i % 2]}\n{row.tobytes().decode()}\n" for i, row in enumerate(letters))
    return load_cached([write("big.fa", text)], alphabet="dna")


def test_random_batches_keep_the_resident_map_under_the_release_size(big, monkeypatch):
    """Records read at random map pages in blocks: counted as such, the map is released every 1 MiB here (before,
    only the letters were counted, and 100 batches of 8 left most of the 4 MB file resident)."""
    monkeypatch.setattr(cache_module, "RELEASE", 1 << 20)
    view, rng = big.encoded(), np.random.default_rng(1)
    big.cache.release()
    for _ in range(100):
        view.batch(rng.choice(N, 8, replace=False))
    assert resident_kib(big.cache.path) <= 1024


def test_whole_passes_give_back_the_pages_they_read(big):
    """Split, summaries, leakage and the training profile each read every record; none leaves pages resident."""
    train, val = split_cached(big, 0.2, seed=0)
    assert resident_kib(big.cache.path) == 0
    for step in (lambda: summarize_cached(train), lambda: hashed_leakage(train, val),
                 lambda: training_profile(train.encoded())):
        step()
        assert resident_kib(big.cache.path) == 0


def test_a_view_holds_eight_bytes_a_record(big):
    """The index and the lengths (int32 while they fit), no int64 starts: 8 bytes a record, not 24."""
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        view = EncodedView(big.cache, np.arange(N))
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert held < 9 * N and view.lengths.dtype == np.int32 and int(view.lengths.sum()) == N * LENGTH
    x, lengths = view.batch([3, 0])
    assert x.shape == (2, LENGTH, 4) and lengths.dtype.is_signed and lengths.tolist() == [LENGTH, LENGTH]
