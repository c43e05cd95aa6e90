"""Property-based tests: FASTA round trips, encoding rows, invalid characters, length cutting, batching."""

from __future__ import annotations

import gzip
import math
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bioseq.data.alphabets import ALPHABETS, PROTEIN, Alphabet
from bioseq.data.encoding import LENGTH_POLICIES, clean, encode, fit_length, length_batches
from bioseq.data.io import read_records
from bioseq.errors import InputError

SETTINGS = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])

alphabets = st.sampled_from(list(ALPHABETS.values()))


def letters_of(alpha: Alphabet) -> str:
    """Every character the alphabet accepts: standard letters and ambiguity codes, both cases."""
    return alpha.accepted + alpha.accepted.lower()


@st.composite
def valid_sequences(draw, alpha: Alphabet, min_size: int = 1, stop: bool = True) -> str:
    seq = draw(st.text(st.sampled_from(letters_of(alpha)), min_size=min_size, max_size=300))
    if stop and alpha.name == PROTEIN.name and draw(st.booleans()):
        seq += "*"  # one terminal stop is part of a valid protein
    return seq


ids = st.text(st.characters(categories=("L", "N")) | st.sampled_from("_.|-:>#*"), min_size=1, max_size=16)
descriptions = st.text(st.characters(categories=("L", "N", "P", "S", "Zs")), max_size=20)


@st.composite
def fasta_files(draw):
    alpha = draw(alphabets)
    n = draw(st.integers(1, 6))
    records = [(draw(ids), draw(descriptions), draw(valid_sequences(alpha))) for _ in range(n)]
    return alpha, records


@SETTINGS
@given(fasta_files(), st.integers(1, 100), st.sampled_from(["\n", "\r\n"]), st.booleans(), st.booleans(),
       st.booleans())
def test_fasta_round_trip(data, width, eol, gz, gz_name, blank_lines):
    _, records = data
    text = ""
    for ident, desc, seq in records:
        text += f">{ident} {desc}{eol}" + "".join(seq[i:i + width] + eol for i in range(0, len(seq), width))
        text += eol if blank_lines else ""
    raw = text.encode("utf-8")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / ("in.fa.gz" if gz_name else "in.fa")
        path.write_bytes(gzip.compress(raw) if gz else raw)
        back = list(read_records(path))
    assert [r.id for r in back] == [ident for ident, _, _ in records]
    assert [r.seq for r in back] == [seq for _, _, seq in records]
    assert [r.description for r in back] == [f"{ident} {desc}".rstrip() for ident, desc, _ in records]
    assert [r.number for r in back] == list(range(1, len(records) + 1))


def expected_row(alpha: Alphabet, char: str) -> np.ndarray:
    """The row a letter should encode to, from the alphabet's letters and ambiguity map alone."""
    stands_for = alpha.ambiguity.get(char.upper(), char.upper())
    row = np.zeros(alpha.size)
    for c in stands_for:
        row[alpha.letters.index(c)] += 1 / len(stands_for)
    return row


@SETTINGS
@given(alphabets.flatmap(lambda a: st.tuples(st.just(a), valid_sequences(a, min_size=0))))
def test_encode_rows_sum_to_one_and_match_the_table(data):
    alpha, seq = data
    rows = encode(seq, alpha)
    kept = clean(seq, alpha)
    assert rows.shape == (len(kept), alpha.size) and rows.dtype == np.float32
    np.testing.assert_allclose(rows.sum(1), 1.0, atol=1e-6)
    table = alpha.table()
    for row, char in zip(rows, kept):
        assert np.array_equal(row, table[ord(char)])
        np.testing.assert_allclose(row, expected_row(alpha, char), atol=1e-6)


@st.composite
def one_invalid_character(draw):
    alpha = draw(alphabets)
    seq = draw(valid_sequences(alpha, min_size=0, stop=False))
    at = draw(st.integers(0, len(seq)))
    accepted = set(letters_of(alpha))
    bad = draw(st.characters(exclude_categories=("Cs",)).filter(lambda c: c not in accepted))
    if alpha.name == PROTEIN.name and bad == "*" and at == len(seq):
        at = 0 if seq else at  # a terminal '*' is a valid stop; put it first instead
        if not seq:
            seq = "M"
    return alpha, seq[:at] + bad + seq[at:], at + 1


@SETTINGS
@given(one_invalid_character())
def test_one_invalid_character_is_named_by_position(data):
    alpha, seq, position = data
    with pytest.raises(InputError) as err:
        encode(seq, alpha, file="f.fa", record="3 (x)")
    assert err.value.position == position
    assert f"position {position}:" in str(err.value)
    assert str(err.value).startswith("f.fa: record 3 (x): ")


@SETTINGS
@given(st.text(max_size=80), st.one_of(st.none(), st.integers(1, 100)), st.sampled_from(LENGTH_POLICIES))
def test_fit_length_keeps_a_contiguous_part(seq, max_length, policy):
    cut = fit_length(seq, max_length, policy)
    assert len(cut) == (len(seq) if max_length is None else min(len(seq), max_length))
    assert cut in seq
    if policy == "start":
        assert seq.startswith(cut)
    elif policy == "end":
        assert seq.endswith(cut)


@SETTINGS
@given(st.integers(0, 80), st.integers(1, 100))
def test_fit_length_centre_cuts_both_ends_evenly(n, max_length):
    cut = fit_length(list(range(n)), max_length, "centre")
    assert len(cut) == min(n, max_length)
    if cut:
        assert cut == list(range(cut[0], cut[0] + len(cut)))
        assert abs(cut[0] - (n - 1 - cut[-1])) <= 1


@pytest.mark.parametrize("max_length", [0, -1, -5])
@pytest.mark.parametrize("policy", LENGTH_POLICIES)
def test_fit_length_refuses_a_length_below_one(max_length, policy):
    with pytest.raises(ValueError, match="at least 1"):
        fit_length("ACGTACGT", max_length, policy)


@SETTINGS
@given(st.lists(st.integers(0, 1000), max_size=200), st.integers(1, 50), st.booleans(), st.booleans(),
       st.integers(0, 2**32 - 1))
def test_length_batches_cover_every_index_once(lengths, batch_size, shuffle, group, seed):
    batches = length_batches(lengths, batch_size, shuffle=shuffle, rng=np.random.default_rng(seed), group=group)
    n = len(lengths)
    assert len(batches) == math.ceil(n / batch_size)
    assert all(1 <= len(b) <= batch_size for b in batches)
    flat = np.concatenate(batches) if batches else np.array([], dtype=np.int64)
    assert sorted(flat.tolist()) == list(range(n))
    if group:  # each batch is a run of the length-sorted order: batches never interleave in length
        spans = sorted((min(lengths[i] for i in b), max(lengths[i] for i in b)) for b in batches)
        assert all(hi <= lo for (_, hi), (lo, _) in zip(spans, spans[1:]))
        if not shuffle:
            assert [lengths[i] for i in flat] == sorted(lengths)
