"""Uploaded files and the upload folder's bookkeeping (bioseq.app.uploads) are kept apart: an upload called
``source.json`` is stored as it came, and folders written by earlier versions are still read."""

from __future__ import annotations

import json

from bioseq.app import uploads
from bioseq.workspace import uploads_dir

SEQS = b">a label=x\nACGTACGTAC\n>b label=y\nTTTTGGGGCC\n"
USER_JSON = b'{"mine": true}\n'


def test_an_upload_called_source_json_is_kept_as_it_came():
    src = uploads.upload_source([("s.fa", SEQS), ("source.json", USER_JSON)], "header")
    folder = uploads_dir() / src.key.partition(":")[2]
    assert (folder / "source.json").read_bytes() == USER_JSON
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
