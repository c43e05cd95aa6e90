"""The encoded-sequence cache (bioseq.data.cache) and the cached dataset (bioseq.data.large): the same records,
encodings, batches, split and summary as the in-memory path; rebuilt when the source changes or the file is
damaged; training through it gives the same run."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import TINY, TINY_TRAIN

from bioseq.data.cache import MAGIC, CacheError, SequenceCache
from bioseq.data.dataset import load_dataset, split_indices, summarize
from bioseq.data.encoding import length_batches, pad_batch, take_batch
from bioseq.data.large import STREAM_BYTES, file_bytes, hashed_leakage, load_cached, split_cached, summarize_cached
from bioseq.data.source import DataOptions
from bioseq.errors import InputError
from bioseq.training.config import TrainConfig
from bioseq.training.fit import fit, load_split_rule

# lower case, IUPAC codes (N, R), a duplicate pair (r2, r5 up to case), lengths 3..14
DNA_TEXT = (">r1 label=a\nACGTN\n>r2 label=b\nacgRT\nGGA\n>r3 label=a\nTTT\n>r4 label=b\nACGTACGTA\n"
            ">r5 label=a\nACGRTGGA\n>r6 label=b\nCCCCGGAAAATTTT\n")


def test_round_trip_equals_the_in_memory_encoding(write):
    path = write("d.fa", DNA_TEXT)
    ds, cached = load_dataset([path], alphabet="dna"), load_cached([path], alphabet="dna")
    assert cached.cache.built and len(cached) == 6
    assert list(cached.ids) == ds.ids == ["r1", "r2", "r3", "r4", "r5", "r6"]
    assert list(cached.seqs) == ds.seqs and cached.seqs[1] == "acgRTGGA"
    assert cached.labels.tolist() == ds.labels.tolist() == [0, 1, 0, 1, 0, 1]
    assert cached.classes == ds.classes == ["a", "b"] and cached.alphabet == ds.alphabet
    assert cached.cache.offsets.tolist() == [0, 5, 13, 16, 25, 33, 47]
    for a, b in zip(ds.encoded(), cached.encoded()):
        assert a.dtype == b.dtype == np.float32 and np.array_equal(a, b)
    assert cached.encoded()[0][4].tolist() == [0.25] * 4  # N: a quarter of each letter
    assert cached.encoded()[1][3].tolist() == [0.5, 0.0, 0.5, 0.0]  # R = A or G


def test_protein_star_length_policy_and_class_map(write):
    path = write("p.fa", ">x label=keep\nMKVLAAGIW*\n>y label=drop\nMKK\n>z label=other\nWWWWWWWWWWWWWKDEL\n")
    kw = {"max_length": 4, "length_policy": "end", "class_map": {"drop": ""}}
    ds, cached = load_dataset([path], **kw), load_cached([path], **kw)
    assert list(cached.seqs) == ds.seqs == ["AGIW", "KDEL"] and list(cached.ids) == ["x", "z"]
    assert cached.truncated == ds.truncated == 2 and cached.alphabet.name == "protein"


def test_reopened_not_rebuilt_and_a_changed_source_rebuilds(write):
    path = write("d.fa", DNA_TEXT)
    assert load_cached([path], alphabet="dna").cache.built
    again = load_cached([path], alphabet="dna")
    assert not again.cache.built and len(again) == 6
    path.write_text(DNA_TEXT + ">r7 label=a\nGATTACA\n")
    changed = load_cached([path], alphabet="dna")
    assert changed.cache.built and len(changed) == 7 and changed.seqs[6] == "GATTACA"
    path.write_text(DNA_TEXT.replace("TTT", "TTA"))  # same size, new content
    assert load_cached([path], alphabet="dna").seqs[2] == "TTA"


def _damage(path, how):
    data = bytearray(path.read_bytes())
    if how == "truncated":
        data = data[: len(data) // 2]
    elif how == "magic":
        data[:8] = b"NOTACACH"
    elif how == "codes":
        data[len(MAGIC) + 2] ^= 0x01  # one letter of record 1 (C -> B)
    elif how == "offsets":
        i = data.index(np.array([0, 5, 13], dtype="<i8").tobytes())
        data[i + 8] = 6
    elif how == "header length":
        data[-16:-8] = np.array([10**9], dtype="<u8").tobytes()
    elif how == "header":
        i = data.rindex(b'"truncated": 0')
        data[i + 13] = ord("7")
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("how", ["truncated", "magic", "codes", "offsets", "header length", "header"])
def test_a_damaged_cache_is_detected_and_rebuilt(write, how):
    path = write("d.fa", DNA_TEXT)
    first = load_cached([path], alphabet="dna")
    seqs, offsets = list(first.seqs), first.cache.offsets.tolist()
    _damage(first.cache.path, how)
    with pytest.raises(CacheError):
        SequenceCache(first.cache.path)
    rebuilt = load_cached([path], alphabet="dna")
    assert rebuilt.cache.built and list(rebuilt.seqs) == seqs and rebuilt.truncated == 0
    assert rebuilt.cache.offsets.tolist() == offsets and SequenceCache(first.cache.path).meta["n"] == 6


def test_batches_identical_to_the_in_memory_path(write):
    path = write("d.fa", DNA_TEXT)
    arrays, view = load_dataset([path], alphabet="dna").encoded(), load_cached([path], alphabet="dna").encoded()
    assert view.lengths.tolist() == [5, 8, 3, 9, 8, 14]
    for idx in length_batches(view.lengths, 4, shuffle=True, rng=np.random.default_rng(3)):
        (x1, l1), (x2, l2) = pad_batch([arrays[i] for i in idx]), take_batch(view, idx)
        assert x2.dtype == torch.float32 and torch.equal(x1, x2) and torch.equal(l1, l2)
    x, lengths = view.batch(np.array([2, 0]))
    assert x.shape == (2, 5, 4) and lengths.tolist() == [3, 5] and x[0, 3:].abs().sum() == 0


def test_split_summary_and_leakage_match(write):
    path = write("d.fa", DNA_TEXT * 1)
    ds, cached = load_dataset([path], alphabet="dna"), load_cached([path], alphabet="dna")
    for seed in range(5):
        train, val = split_cached(cached, 0.34, seed)
        assert (train.index.tolist(), val.index.tolist()) == split_indices(ds, 0.34, seed)
        assert {1, 4} <= set(val.index.tolist()) or not {1, 4} & set(val.index.tolist())  # duplicates together
    assert summarize_cached(cached) == summarize(ds)
    assert summarize(ds)["duplicate_records"] == 1
    leak = hashed_leakage(cached.subset([0, 1, 2]), cached.subset([3, 4, 5]))
    assert leak["count"] == 1 and leak["examples"] == [{"val": "r5", "train": "r2", "similarity": 1.0}]


def test_errors_name_the_same_record(write):
    bad = write("bad.fa", ">r1 label=a\nACGT\n>r2 label=b\nACXGT\n")
    with pytest.raises(InputError) as memory:
        load_dataset([bad], alphabet="dna")
    with pytest.raises(InputError) as cached:
        load_cached([bad], alphabet="dna")
    assert str(cached.value) == str(memory.value) and "r2" in str(cached.value)
    unlabelled = write("u.fa", ">r1 label=a\nACGT\n>r2\nACGT\n")
    with pytest.raises(InputError) as memory:
        load_dataset([unlabelled])
    with pytest.raises(InputError) as cached:
        load_cached([unlabelled])
    assert str(cached.value) == str(memory.value)
    assert not list((bad.parent / "home" / "cache").glob("*"))  # no half-written cache left


def test_one_file_per_class_and_auto(write):
    a, b = write("pos.fa", ">p1\nACGT\n>p2\nAAGT\n"), write("neg.fa", ">n1\nTTGA\n")
    cached = load_cached([a, b])
    assert cached.classes == ["neg", "pos"] and cached.labels.tolist() == [1, 1, 0]
    opts = DataOptions(train=[str(a), str(b)], val_fraction=0.3)
    assert file_bytes([a]) < STREAM_BYTES and not hasattr(load_split_rule(opts)[0], "cache")  # auto: in memory
    assert hasattr(load_split_rule(DataOptions(train=[str(a), str(b)], cache="on", val_fraction=0.3))[0], "cache")


def test_a_missing_file_is_named_with_the_cache_on_or_auto(tmp_path):
    for mode in ("auto", "on"):
        with pytest.raises(InputError, match="no such file"):
            load_split_rule(DataOptions(train=[str(tmp_path / "missing.fa")], cache=mode))


def test_cache_on_refuses_what_it_cannot_read(write):
    path = write("d.fa", DNA_TEXT)
    with pytest.raises(InputError, match="--cache on reads one label per sequence"):
        fit(DataOptions(train=[str(path)], cache="on", split_identity=0.8, alphabet="dna"), TINY,
            TrainConfig(**TINY_TRAIN))


def test_training_through_the_cache_gives_the_same_run(dna_fasta, tmp_path):
    runs = {}
    for mode in ("off", "on"):
        r = fit(DataOptions(train=[str(dna_fasta)], cache=mode), TINY,
                TrainConfig(**{**TINY_TRAIN, "epochs": 2, "max_steps": 3}), out=tmp_path / f"{mode}.safetensors")
        runs[mode] = r
    off, on = runs["off"], runs["on"]
    assert on.result.history == off.result.history and on.result.val_metrics == off.result.val_metrics
    assert on.result.gradients == off.result.gradients and on.summary == off.summary
    assert max(row["step"] for row in on.result.gradients) == 6  # --max-steps 3, two epochs
    assert list(on.val.ids) == list(off.val.ids)
    assert on.bundle.meta["training"]["leakage"]["method"] == "exact duplicates"
    profile_on, profile_off = (r.bundle.meta["training"]["profile"] for r in (on, off))
    assert profile_on["length_max"] == profile_off["length_max"]
    assert np.allclose(profile_on["composition"], profile_off["composition"], atol=1e-6)


def test_validation_files_through_the_cache_keep_the_training_classes(write):
    train = write("t.fa", DNA_TEXT)
    val = write("v.fa", ">v1 label=b\nCCCCGGAAAATTTT\n>v2 label=b\nACGT\n")
    tr, va, rule = load_split_rule(DataOptions(train=[str(train)], val=[str(val)], cache="on", alphabet="dna"))
    assert va.classes == tr.classes == ["a", "b"] and va.labels.tolist() == [1, 1]
    assert rule["method"] == "files" and rule["val_fraction"] == 2 / 8
    leak = hashed_leakage(tr, va)
    assert leak["count"] == 1 and leak["examples"][0] == {"val": "v1", "train": "r6", "similarity": 1.0}


@pytest.mark.parametrize("header", [b"[]", b'"a string"', b"7", b"null", b'{"version": 1}',
                                    b'{"version": 1, "n": "x", "total": [], "sections": 5}'])
def test_a_header_of_valid_json_but_the_wrong_shape_is_rebuilt(write, header):
    """A header that is JSON but not the cache's object (a list, a string, missing or odd fields) is a damaged
    cache: CacheError on opening, then rebuilt, never a traceback."""
    path = write("d.fa", DNA_TEXT)
    first = load_cached([path], alphabet="dna")
    data = first.cache.path.read_bytes()
    head_len = int(np.frombuffer(data[-16:-8], dtype="<u8")[0])
    body = data[:len(data) - 16 - head_len]
    first.cache.path.write_bytes(body + header + np.array([len(header)], dtype="<u8").tobytes() + MAGIC)
    with pytest.raises(CacheError):
        SequenceCache(first.cache.path)
    rebuilt = load_cached([path], alphabet="dna")
    assert rebuilt.cache.built and list(rebuilt.seqs) == list(first.seqs)


def test_per_record_arrays_stay_in_the_memory_map(write, monkeypatch):
    """Opening maps ids, offsets, labels and hashes (views of the file, nothing copied) and checks them a block at
    a time; building spills them to temporary files: neither holds an array of N records."""
    import tracemalloc

    from bioseq.data import cache as cache_module
    from bioseq.data import io as bio

    monkeypatch.setattr(cache_module, "CHUNK", 1 << 12)
    monkeypatch.setattr(bio, "BLOCK", 1 << 14)
    peaks = {}
    tracemalloc.start()
    try:
        for n in (20_000, 60_000):
            path = write(f"many{n}.fa", "".join(f">s{i} label={'ab'[i % 2]}\nACGT{'ACGT'[i % 4]}\n" for i in range(n)))
            tracemalloc.reset_peak()
            before, _ = tracemalloc.get_traced_memory()
            built = cache_module.load_or_build([path], alphabet="dna")
            peaks[n] = tracemalloc.get_traced_memory()[1] - before
        tracemalloc.reset_peak()
        before, _ = tracemalloc.get_traced_memory()
        opened = SequenceCache(built.path)
        peak_open = tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()
    mapped = np.frombuffer(opened.map, dtype=np.uint8)
    for arr in (opened.offsets, opened.id_offsets, opened.labels, opened.hashes, opened.ids_blob, opened.codes):
        assert np.shares_memory(arr, mapped) and not arr.flags.writeable
    assert len(opened) == n and opened.id(n - 1) == f"s{n - 1}" and opened.seq(5) == "ACGTC"
    assert peak_open < 8 * n / 4  # one array alone is 8 bytes a record
    assert built.built and peaks[60_000] - peaks[20_000] < 8 * 40_000  # the arrays took 32 bytes a record, ids 6
