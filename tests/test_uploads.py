"""Uploaded files and the upload folder's bookkeeping (bioseq.app.uploads) are kept apart: an upload called
``source.json`` is stored as it came, and folders written by earlier versions are still read. A failed upload
leaves nothing behind; an upload can be deleted; a model upload whose name is taken is imported under another."""

from __future__ import annotations

import json
import re

import pytest

from bioseq.app import uploads
from bioseq.errors import InputError, ModelFileError
from bioseq.model.store import list_models, model_path, read_meta, save_model
from bioseq.workspace import uploads_dir

SEQS = b">a label=x\nACGTACGTAC\n>b label=y\nTTTTGGGGCC\n"


def test_an_upload_called_source_json_is_kept_as_it_came():
    mine = b">c label=x\nACGTTT\n>d label=y\nGGGTTT\n"  # a FASTA file the user happened to call source.json
    src = uploads.upload_source([("s.fa", SEQS), ("source.json", mine)], "header")
    folder = uploads_dir() / src.key.partition(":")[2]
    assert (folder / "source.json").read_bytes() == mine
    assert uploads.source_by_key(src.key) == src  # the dataset is still found after a browser reload
    assert uploads.recent_sources() == [src]


def test_no_upload_name_can_take_the_manifests_name():
    assert uploads.safe_filename(uploads.MANIFEST) != uploads.MANIFEST
    assert uploads.safe_filename("../" + uploads.MANIFEST) != uploads.MANIFEST


def test_a_folder_written_by_an_earlier_version_is_still_read():
    src = uploads.upload_source([("s.fa", SEQS)], "header")
    folder = uploads_dir() / src.key.partition(":")[2]
    (folder / "source.json").write_text((folder / uploads.MANIFEST).read_text())  # the manifest as it was named
    (folder / uploads.MANIFEST).unlink()
    assert uploads.source_by_key(src.key) == src and uploads.recent_sources() == [src]
    assert uploads.display_names(src) == {src.train[0]: "s.fa"}


def test_an_earlier_uploads_json_file_is_not_taken_for_a_manifest():
    [path] = uploads.save_uploads([("source.json", json.dumps({"key": "upload:0000000000000000"}).encode())])
    assert uploads.source_by_key(f"upload:{path.parent.name}") is None


# ---------- a failed upload leaves nothing behind ----------

BAD = {"empty.fa": (b"", "header"), "notes.txt": (b"these are my notes\n", "header"),
       "odd.fa": (b">a label=x\nACGT!!ACGT\n>b label=y\nACGTACGT\n", "header"),
       "short.fa": (b">a\nACGTACGT\nMMMM\n>b\nACGTACGT\nMMMMOOOO\n", "positions")}


def listing(folder) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*")) if folder.exists() else []


@pytest.mark.parametrize("name", list(BAD))
def test_a_failed_upload_leaves_nothing_behind(name):
    good = uploads.upload_source([("s.fa", SEQS)], "header")
    before = listing(uploads_dir())
    data, mode = BAD[name]
    with pytest.raises(InputError, match=f"^{re.escape(name)}: "):  # named as the user called it
        uploads.upload_source([(name, data)], mode)
    assert listing(uploads_dir()) == before and uploads.recent_sources() == [good]


def test_a_failed_upload_into_an_empty_workspace_makes_no_folder():
    with pytest.raises(InputError):
        uploads.upload_source([("empty.fa", b"")], "header")
    assert not uploads_dir().exists()


def test_two_files_of_one_name_are_refused_before_anything_is_written():
    with pytest.raises(InputError, match="two uploaded files are both called 's.fa'"):
        uploads.save_uploads([("s.fa", SEQS), ("dir/s.fa", SEQS)])
    assert not uploads_dir().exists()


def test_delete_upload():
    src = uploads.upload_source([("s.fa", SEQS)], "header")
    uploads.delete_upload(src.key)
    assert uploads.recent_sources() == [] and uploads.source_by_key(src.key) is None
    for key in (src.key, "upload:../../etc", "example:dna_motif"):
        with pytest.raises(InputError, match="no such upload"):
            uploads.delete_upload(key)


# ---------- a model upload whose name is taken can be imported under another ----------

def test_import_a_model_under_another_name(dna_bundle, tmp_path):
    save_model(model_path("taken"), dna_bundle)
    data = model_path("taken").read_bytes()
    with pytest.raises(ModelFileError, match="^taken: a model with this name is already in the registry; import "
                                             "it under another name"):
        uploads.save_model_upload(data, "copy.safetensors", register=True)
    path = uploads.save_model_upload(data, "copy.safetensors", register=True, as_name="copy")
    assert path == model_path("copy") and read_meta(path)["name"] == "copy"
    assert sorted(m["name"] for m in list_models()) == ["copy", "taken"]
    assert not (uploads_dir() / "models").exists() or not any((uploads_dir() / "models").iterdir())


def test_rename_upload():
    """An upload is renamed as models and runs are: a valid name, not one another upload has; its files stay."""
    src = uploads.upload_source([("s.fa", SEQS)], "header")
    other = uploads.upload_source([("t.fa", SEQS.replace(b"ACGTACGTAC", b"ACGTACGTAA"))], "header")
    renamed = uploads.rename_upload(src.key, "my-reads")
    assert renamed.name == "my-reads" and renamed.train == src.train and renamed.key == src.key
    assert uploads.source_by_key(src.key).name == "my-reads"
    with pytest.raises(InputError, match="an upload called 'my-reads' is already kept"):
        uploads.rename_upload(other.key, "my-reads")
    with pytest.raises(InputError, match="invalid upload name 'no good'"):
        uploads.rename_upload(other.key, "no good")
    with pytest.raises(InputError, match="no such upload"):
        uploads.rename_upload("upload:0123456789abcdef", "x")


def test_source_of_files_finds_a_kept_upload_or_a_bundled_example():
    from bioseq.data.examples import example

    src = uploads.upload_source([("s.fa", SEQS)], "header")
    assert uploads.source_of_files(list(src.train)).key == src.key
    dna = example("dna_motif").source()
    assert uploads.source_of_files(list(dna.train)).key == "example:dna_motif"
    assert uploads.source_of_files(["/nowhere/gone.fa"]) is None


GENOME = b">chr1\n" + b"ACGTTGCA" * 10 + b"\n>chr2\n" + b"GGGCCCAT" * 10 + b"\n"
PEAKS = b"chr1\t0\t16\np1\nchr1\t20\t36\tp2\nchr2\t8\t24\tp3\n".replace(b"\np1", b"\tp1")


def test_a_region_source_from_uploaded_beds_and_a_genome_path(tmp_path):
    genome = tmp_path / "g.fa"
    genome.write_bytes(GENOME)
    src = uploads.region_source([("peaks.bed", PEAKS)], str(genome), {"width": 10, "flank": None,
                                                                        "val_chroms": "chr2", "test_chroms": ""})
    assert src.label_mode == "regions" and src.train == () and src.genome == str(genome)
    assert src.region_options == (("width", 10), ("val_chroms", "chr2"))
    assert src.regions[0].endswith("peaks.bed") and src.name == "peaks.bed"
    opts = src.data_options(val_fraction=0.3)
    assert (opts.regions, opts.genome, opts.width, opts.val_chroms) == (list(src.regions), str(genome), 10, "chr2")
    records = src.records()
    assert len(records) == 6 and records[0].seq == ("ACGTTGCA" * 2)[3:13] and "label=peaks" in records[0].description
    assert uploads.recent_sources() == [src] and uploads.source_by_key(src.key) == src  # found again after a reload


def test_an_uploaded_genome_and_a_bad_region_keep_nothing(tmp_path):
    src = uploads.region_source([("peaks.bed", PEAKS)], ("small.fa", GENOME))
    assert src.genome.endswith("small.fa") and src.description == "genome regions: peaks.bed on small.fa"
    before = sorted(p.name for p in uploads_dir().iterdir())
    with pytest.raises(InputError, match=r"^bad.bed: line 1 \(chr1:70-90\): the region ends past the end of chr1"):
        uploads.region_source([("bad.bed", b"chr1\t70\t90\n")], ("small.fa", GENOME))
    assert sorted(p.name for p in uploads_dir().iterdir()) == before
    with pytest.raises(InputError, match="give the genome FASTA"):
        uploads.region_source([("peaks.bed", PEAKS)], " ")
    with pytest.raises(InputError, match="upload at least one BED file"):
        uploads.region_source([], ("small.fa", GENOME))
