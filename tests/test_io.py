"""Reading sequence files: formats, encodings, damage, and errors that name the file and record."""

from __future__ import annotations

import gzip

import pytest

from bioseq.data.io import Record, chunked, guess_format, parse_text, read_many, read_records, read_upload
from bioseq.errors import InputError

GENBANK = """\
LOCUS       SEQ1                      12 bp    DNA     linear   UNK 01-JAN-1980
DEFINITION  first test record.
ACCESSION   SEQ1
VERSION     SEQ1.1
FEATURES             Location/Qualifiers
ORIGIN
        1 acgtacgtac gt
//
LOCUS       SEQ2                       4 bp    DNA     linear   UNK 01-JAN-1980
DEFINITION  second.
ACCESSION   SEQ2
VERSION     SEQ2.1
FEATURES             Location/Qualifiers
ORIGIN
        1 ggcc
//
"""


def ids_and_seqs(path):
    return [(r.id, r.seq) for r in read_records(path)]


def test_plain_fasta_records(write):
    path = write("a.fa", ">s1 first one\nACGT\nAC\n>s2\nGG\n")
    recs = list(read_records(path))
    assert recs == [Record("s1", "s1 first one", "ACGTAC", str(path), 1), Record("s2", "s2", "GG", str(path), 2)]
    assert recs[0].where == "1 (s1)"


def test_gzip_crlf_and_lowercase(write):
    text = ">s1\r\nacgt\r\nNN\r\n>s2\r\ngg\r\n"
    path = write("a.fa.gz", gzip.compress(text.encode()))
    assert ids_and_seqs(path) == [("s1", "acgtNN"), ("s2", "gg")]
    # the gzip magic number decides, not the name
    assert ids_and_seqs(write("b.fa", gzip.compress(text.encode()))) == [("s1", "acgtNN"), ("s2", "gg")]


@pytest.mark.parametrize("content", [b"", b"\n\n   \n\r\n"], ids=["empty", "blank-lines"])
def test_file_without_records(write, content):
    path = write("e.fa", content)
    with pytest.raises(InputError, match="no FASTA records found") as e:
        list(read_records(path))
    assert e.value.file == str(path)


@pytest.mark.parametrize(("text", "record"), [(">a\n>b\nACGT\n", "1 (a)"), (">a\nAC\n>b\n", "2 (b)")])
def test_header_without_sequence_names_the_record(write, text, record):
    path = write("h.fa", text)
    with pytest.raises(InputError, match="empty record") as e:
        list(read_records(path))
    assert e.value.record == record and str(e.value).startswith(f"{path}: record {record}:")


def test_header_without_identifier(write):
    with pytest.raises(InputError, match="header has no identifier") as e:
        list(read_records(write("n.fa", ">a\nAC\n>\nACGT\n")))
    assert e.value.record == "2"


def test_sequence_before_the_first_header(write):
    path = write("s.fa", "\nACGT\n>a\nAC\n")
    with pytest.raises(InputError, match="line 2: sequence text before the first '>' header") as e:
        list(read_records(path))
    assert e.value.file == str(path)


def test_binary_file(write):
    with pytest.raises(InputError, match="binary file"):
        list(read_records(write("b.fa", b">a\nAC\x00\x01\x02GT\n")))


def test_utf16_file(write):
    with pytest.raises(InputError, match="UTF-16"):
        list(read_records(write("u.fa", ">a\nACGT\n".encode("utf-16"))))


def test_latin1_bytes_name_the_line(write):
    path = write("l.fa", b">a\nACGT\n>b caf\xe9\nACGT\n")
    with pytest.raises(InputError, match=r"line 3: not UTF-8 text") as e:
        list(read_records(path))
    assert e.value.file == str(path)


def test_truncated_gzip(write):
    data = gzip.compress(b"".join(b">s%d\nACGTACGTTGCA\n" % i for i in range(5000)))
    path = write("t.fa.gz", data[: len(data) // 2])
    with pytest.raises(InputError, match="damaged or truncated gzip") as e:
        list(read_records(path))
    assert e.value.file == str(path)
    # a gzip cut inside its first block fails before any record
    with pytest.raises(InputError, match="damaged or truncated gzip"):
        list(read_records(write("t2.fa.gz", data[:20])))


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(InputError, match="no such file") as e:
        list(read_records(tmp_path / "nope.fa"))
    assert e.value.file == str(tmp_path / "nope.fa")
    with pytest.raises(InputError, match="is a directory"):
        list(read_records(tmp_path))


def test_reader_is_an_iterator(write):
    """Records come one at a time: a bad third record is only met when the reader gets there."""
    it = read_records(write("lazy.fa", ">a\nAC\n>b\nGT\n>c\n"))
    assert (next(it).id, next(it).id) == ("a", "b")
    with pytest.raises(InputError, match="record 3 \\(c\\)"):
        next(it)


def test_format_by_extension():
    assert guess_format("x.fq") == guess_format("x.FASTQ.gz") == "fastq"
    assert guess_format("x.gb") == guess_format("x.gbk") == guess_format("x.genbank.gz") == "genbank"
    assert guess_format("x.fa") == guess_format("x.txt") == guess_format("x") == "fasta"


def test_fastq(write):
    path = write("r.fq", "@r1 one\nACGT\n+\nIIII\n@r2\nGG\n+\nII\n")
    recs = list(read_records(path))
    assert [(r.id, r.description, r.seq) for r in recs] == [("r1", "r1 one", "ACGT"), ("r2", "r2", "GG")]
    gz = write("r.fastq.gz", gzip.compress(path.read_bytes()))
    assert ids_and_seqs(gz) == [("r1", "ACGT"), ("r2", "GG")]


def test_fastq_damaged_names_the_file(write):
    path = write("bad.fq", "@r1\nACGT\n+\nII\n")  # quality shorter than the sequence
    with pytest.raises(InputError, match=r"not valid FASTQ after record 0") as e:
        list(read_records(path))
    assert e.value.file == str(path)


def test_genbank(write):
    path = write("g.gbk", GENBANK)
    assert ids_and_seqs(path) == [("SEQ1.1", "ACGTACGTACGT"), ("SEQ2.1", "GGCC")]


def test_read_many_and_chunked(write):
    a = write("a.fa", ">a1\nA\n>a2\nC\n")
    b = write("b.fa", ">b1\nG\n")
    recs = list(read_many([a, b]))
    assert [(r.id, r.file, r.number) for r in recs] == [("a1", str(a), 1), ("a2", str(a), 2), ("b1", str(b), 1)]
    assert [[r.id for r in c] for c in chunked(recs, 2)] == [["a1", "a2"], ["b1"]]
    assert [[r.id for r in c] for c in chunked(recs, 5)] == [["a1", "a2", "b1"]]


def test_read_upload_names_the_uploaded_file():
    recs = read_upload(b">x\nACGT\n", "mine.fa")
    assert [(r.id, r.seq, r.file) for r in recs] == [("x", "ACGT", "mine.fa")]
    assert [r.seq for r in read_upload(gzip.compress(b">x\nAC\n"), "mine.fa.gz")] == ["AC"]
    assert [r.seq for r in read_upload(b"@q\nAC\n+\nII\n", "reads.fq")] == ["AC"]
    with pytest.raises(InputError) as e:
        read_upload(b">x\n", "mine.fa")
    assert str(e.value).startswith("mine.fa: record 1 (x): empty record")
    assert "bioseq-upload" not in str(e.value)


def test_parse_text():
    assert [(r.id, r.seq) for r in parse_text("  acg T\n AC \n")] == [("pasted", "acgTAC")]
    recs = parse_text(">x one\nAC\nGT\n>y\nMK\n", name="pasted sequence")
    assert [(r.id, r.seq, r.file) for r in recs] == [("x", "ACGT", "pasted sequence"), ("y", "MK", "pasted sequence")]
    with pytest.raises(InputError, match="nothing was pasted"):
        parse_text(" \n ")
    with pytest.raises(InputError) as e:
        parse_text(">x\n>y\nAC", name="box")
    assert str(e.value).startswith("box: record 1 (x): empty record")


def test_utf8_byte_order_mark_and_tabs_are_accepted(tmp_path):
    p = tmp_path / "bom.fa"
    p.write_bytes(b"\xef\xbb\xbf>a label=x\nAC\tGT\n>b\nGG\n")
    recs = list(read_records(p))
    assert [(r.id, r.seq) for r in recs] == [("a", "ACGT"), ("b", "GG")]


def test_chunked_closes_a_chunk_at_a_letter_budget():
    recs = [Record(f"r{i}", "", "A" * n, "f", i) for i, n in enumerate([5, 5, 20, 1, 1, 1], 1)]
    assert [[r.id for r in c] for c in chunked(recs, 4, letters=10)] == [["r1", "r2"], ["r3"], ["r4", "r5", "r6"]]
    assert [[r.id for r in c] for c in chunked(recs, 4)] == [["r1", "r2", "r3", "r4"], ["r5", "r6"]]


def _pipe(content: bytes) -> str:
    """A process substitution's path (``<(cat x.fa)`` is ``/dev/fd/N``): a pipe holding ``content``."""
    import os

    r, w = os.pipe()
    os.write(w, content)
    os.close(w)
    return f"/dev/fd/{r}"


def test_a_pipe_is_read_once_and_every_reader_sees_its_bytes(write):
    import hashlib

    from bioseq.data.dataset import file_sha256, read_label_table
    from bioseq.data.position_labels import looks_three_line

    text = b">a label=x\nACGT\n>b label=y\nGG\n"
    path = _pipe(text)
    assert not looks_three_line(path)  # the sniff reads it ...
    assert ids_and_seqs(path) == [("a", "ACGT"), ("b", "GG")]  # ... and so does the parse, from the first byte
    assert ids_and_seqs(path) == [("a", "ACGT"), ("b", "GG")] and file_sha256(path) == hashlib.sha256(text).hexdigest()
    assert [r.file for r in read_records(path)] == [path, path]  # messages name the path as given
    assert read_label_table(_pipe(b"id,label\na,x\n")) == {"a": "x"}
    gz = _pipe(gzip.compress(text))
    assert ids_and_seqs(gz) == ids_and_seqs(gz) == [("a", "ACGT"), ("b", "GG")]


def test_chunked_refuses_a_size_below_one_before_reading(write):
    def records():
        raise AssertionError("read")
        yield

    for size in (0, -3):
        with pytest.raises(InputError, match=f"--chunk-size must be at least 1, not {size}"):
            chunked(records(), size)


def _reference(text: str) -> list[tuple[str, str, list[str]]]:
    """The line-by-line FASTA reading the block reader must equal: ``(title, sequence, lines)`` per record."""
    out = []
    for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        if line.startswith(">"):
            out.append((line[1:].rstrip(), "", []))
        elif out and "".join(line.split()):
            out[-1][2].append("".join(line.split()))
    return [(t, "".join(lines), lines) for t, _, lines in out]


@pytest.mark.parametrize("block", [1, 2, 3, 7, 64, 1 << 20])
def test_records_do_not_depend_on_where_the_blocks_of_the_file_end(write, monkeypatch, block):
    """The file is read a block at a time: headers, line ends (\\r\\n split across blocks), tabs, lines of any
    length and non-ASCII text come out the same whatever the block size."""
    from bioseq.data import io as bio

    monkeypatch.setattr(bio, "BLOCK", block)
    text = (">r1 first\r\nAC GT\r\nac\tgt\r\n\r\n>r2 é\rGGG\rTT\r>r3\n" + "ACGT" * 40 + "\n  C C \n>r4 λ x\nNNé\n"
            ">r5\nA")
    path = write("blocks.fa", text.encode())
    want = _reference(text)
    assert [(r.description, r.seq) for r in read_records(path)] == [(t, s) for t, s, _ in want]
    assert [lines for _, lines in bio.read_blocks(path)] == [lines for _, _, lines in want]
    with pytest.raises(InputError, match="line 4: sequence text before the first '>' header"):
        list(read_records(write("pre.fa", "\n \n\t\nAC\n>a\nAC\n")))
    with pytest.raises(InputError, match="line 5: not UTF-8 text") as e:
        list(read_records(write("late.fa", b">a\nAC\n>b\nGG\n>c caf\xe9\nAC\n")))
    assert e.value.file.endswith("late.fa")


def test_a_record_is_held_in_about_a_byte_a_letter(write, monkeypatch):
    """Reading a 4 Mbp record (60 letters a line) peaks at about 1 byte a letter, lines never held (they took
    about 3 bytes a letter: a string object per line, then the joined sequence)."""
    import tracemalloc

    from bioseq.data import io as bio

    monkeypatch.setattr(bio, "BLOCK", 1 << 16)
    n = 60 * 66_667
    path = write("long.fa", ">chr1\n" + ("ACGTTGCAAC" * 6 + "\n") * (n // 60))
    tracemalloc.start()
    try:
        (rec,) = list(read_records(path))
        held, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(rec.seq) == n and rec.seq[:12] == "ACGTTGCAACAC"
    assert held < 1.05 * n and peak < 1.3 * n


def test_stream_records_and_hold_never_hold_a_long_record(write, monkeypatch):
    """``stream_records`` gives a record's letters a block at a time; ``hold`` keeps the first letters of a
    longer record only (a LongRecord with its length and last letter), and the next record is read as usual."""
    import tracemalloc

    from bioseq.data import io as bio
    from bioseq.data.io import LongRecord, stream_records

    monkeypatch.setattr(bio, "BLOCK", 1 << 16)
    n = 3_000_000
    path = write("g.fa", ">big\n" + ("ACGT" * 15 + "\n") * (n // 60) + "C*\n>small\nGG\n")
    tracemalloc.start()
    try:
        sizes = [(head.id, head.seq, sum(len(p) for p in pieces)) for head, pieces in stream_records(path)]
        _, peak_stream = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        recs = list(read_records(path, hold=1000))
        _, peak_hold = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert sizes == [("big", "", n + 2), ("small", "", 2)]
    assert isinstance(recs[0], LongRecord) and (recs[0].length, recs[0].last) == (n + 2, "*")
    assert recs[0].seq == ("ACGT" * 250) and recs[1] == Record("small", "small", "GG", str(path), 2)
    assert peak_stream < n / 5 and peak_hold < n / 5
    assert list(read_records(path, hold=n + 2))[0].seq.endswith("C*")  # up to hold letters: a plain Record
    with pytest.raises(InputError, match=r"record 2 \(e\): empty record"):
        for _, pieces in stream_records(write("e.fa", ">a\nAC\n>e\n>f\nA\n")):
            list(pieces)
