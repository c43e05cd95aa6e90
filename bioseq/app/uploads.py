"""Files uploaded in the dashboard: sequence files and labels saved into the workspace as a
:class:`~bioseq.data.source.DataSource`, sequence files read for prediction, and model files.

Uploaded bytes are written to ``$BIOSEQ_HOME/uploads/<digest>/<name>``, where the digest is the
SHA-256 of the names and contents, so ``fit()`` can read paths and the same upload is stored once.
Beside them, ``.source.json`` records how the files were last used as a dataset (label source, labels
file, alphabet, the names the user gave the files), so the dashboard can offer recent datasets again and
find the current one after a browser reload (by its key ``upload:<digest>``). No upload can take that
name (:func:`safe_filename` drops leading dots), so an upload called ``source.json`` is kept as it is;
folders written before, whose manifest is ``source.json``, are still read.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import re
import shutil
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path

from ..data.examples import EXAMPLES, example
from ..data.io import Record, read_upload
from ..data.source import LABEL_MODES, DataSource
from ..errors import BioseqError, InputError, ModelFileError
from ..model.store import load_model, model_path, read_meta, register_model
from ..workspace import NAME_RE, atomic_write, check_name, uploads_dir
from .data_report import report

MANIFEST = ".source.json"  # a name no upload can take (safe_filename drops leading dots)
OLD_MANIFEST = "source.json"  # the manifest of upload folders written by earlier versions

_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_filename(name: str) -> str:
    """A file name without folders or odd characters; keeps suffixes such as ``.fa.gz``."""
    base = _SAFE.sub("_", Path(str(name)).name).lstrip(".") or "upload.fa"
    return base[:120]


def save_uploads(files: Sequence[tuple[str, bytes]]) -> list[Path]:
    """Write uploaded ``(name, bytes)`` pairs into the workspace; return their paths, in order."""
    return _save(files)[0]


def _save(files: Sequence[tuple[str, bytes]]) -> tuple[list[Path], list[Path]]:
    """:func:`save_uploads`, and what it added (files, then the folder if it made it), deepest first."""
    if not files:
        raise InputError("no files were uploaded")
    names = [safe_filename(name) for name, _ in files]
    twice = next((n for i, n in enumerate(names) if n in names[:i]), None)
    if twice:
        raise InputError(f"two uploaded files are both called {twice!r}; rename one", twice)
    h = hashlib.sha256()
    for fname, (_, data) in zip(names, files):
        h.update(fname.encode() + b"\0" + hashlib.sha256(data).digest())
    folder = uploads_dir() / h.hexdigest()[:16]
    added = [p for p in (folder, folder.parent) if not p.is_dir()]
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for fname, (_, data) in zip(names, files):
        path = folder / fname
        if not path.is_file():
            added.insert(0, path)
        if not path.is_file() or path.read_bytes() != data:
            atomic_write(path, lambda tmp, data=data: Path(tmp).write_bytes(data))
        paths.append(path)
    return paths, added


def upload_source(files: Sequence[tuple[str, bytes]], label_mode: str = "header",
                  labels: tuple[str, bytes] | None = None, alphabet: str | None = None, *,
                  labels_fasta: Sequence[tuple[str, bytes]] = (), mask: Sequence[tuple[str, bytes]] = (),
                  ignore_label: str | None = None, check: Callable[[DataSource], object] = report) -> DataSource:
    """Save uploads and describe them as a :class:`DataSource`, validated by ``check`` (the Data page's
    :func:`~bioseq.app.data_report.report`) before it is kept: when the data fails, the files this upload
    added are removed again and the error names the files as the user called them.

    Per-position labels (``label_mode="positions"``): three-line FASTA ``files``, or sequence ``files`` with
    ``labels_fasta`` (and ``mask``) files matched by record id; ``ignore_label`` is never scored."""
    if label_mode not in LABEL_MODES or label_mode == "regions":  # regions: region_source
        raise InputError(f"unknown label source {label_mode!r}; choose one of {', '.join(LABEL_MODES)}")
    if label_mode == "table" and labels is None:
        raise InputError("upload a labels file (CSV or TSV with columns id,label)")
    if label_mode == "files" and len(files) < 2:
        raise InputError("one file per class needs at least two files")
    if label_mode != "positions":
        labels_fasta, mask, ignore_label = (), (), None
    if ignore_label is not None and len(ignore_label) != 1:
        raise InputError(f"the unscored label must be one character, not {ignore_label!r}")
    extra = list(labels_fasta) + list(mask)
    paths, added = _save(list(files) + extra + ([labels] if labels else []))
    table = str(paths.pop()) if labels else None
    cut = len(files)
    paths, label_paths, mask_paths = paths[:cut], paths[cut:cut + len(labels_fasta)], paths[cut + len(labels_fasta):]
    names = ", ".join(safe_filename(n) for n, _ in files)
    folder = paths[0].parent
    source = DataSource(names, tuple(str(p) for p in paths), label_mode, table, alphabet=alphabet,
                        description=f"uploaded: {names}", key=f"upload:{folder.name}",
                        labels_fasta=tuple(map(str, label_paths)), mask=tuple(map(str, mask_paths)),
                        ignore_label=ignore_label or None)
    original = {str(p): n for p, (n, _) in zip([*paths, *label_paths, *mask_paths], [*files, *extra])}
    if labels:
        original[table] = labels[0]
    try:
        check(source)
    except BioseqError as e:
        _remove(added)  # a failed upload leaves nothing behind
        raise _named(e, original) from None
    manifest = {**asdict(source), "original_names": original,
                "saved": _dt.datetime.now(_dt.UTC).isoformat(timespec="microseconds")}
    atomic_write(folder / MANIFEST, lambda tmp: Path(tmp).write_text(json.dumps(manifest, indent=1)))
    return source


def region_source(beds: Sequence[tuple[str, bytes]], genome: str | tuple[str, bytes], options: dict | None = None,
                  alphabet: str | None = None, *, check: Callable[[DataSource], object] = report,
                  label_beds: Sequence[tuple[str, bytes]] = ()) -> DataSource:
    """Save uploaded BED files (and the genome, when it is uploaded rather than a path on this machine) and describe
    them as a :class:`DataSource` of genome regions, validated by ``check`` first (a failed one keeps nothing).
    ``options`` are region options of :class:`~bioseq.data.source.DataOptions` (``width``, ``flank``,
    ``background``, ``val_chroms``, ``test_chroms``, ``bed_label_column``); ``None`` values are left out.
    ``label_beds``: BED files of features that label each letter of the windows (``--regions-labels``), for a
    labeller."""
    if not beds:
        raise InputError("upload at least one BED file of regions")
    uploaded = not isinstance(genome, str)
    if not uploaded and not genome.strip():
        raise InputError("give the genome FASTA: a path on this machine, or upload it")
    paths, added = _save(list(beds) + list(label_beds) + ([genome] if uploaded else []))
    genome_path = str(paths.pop()) if uploaded else str(Path(genome.strip()).expanduser())
    label_paths = tuple(str(paths.pop(len(beds))) for _ in label_beds)
    names = ", ".join(safe_filename(n) for n, _ in beds)
    chosen = tuple((k, v) for k, v in {**(options or {}), "regions_labels": label_paths}.items()
                   if v not in (None, "", ()))
    source = DataSource(names, (), "regions", alphabet=alphabet, description=f"genome regions: {names} on "
                        f"{genome[0] if uploaded else genome_path}", key=f"upload:{paths[0].parent.name}",
                        regions=tuple(map(str, paths)), genome=genome_path, region_options=chosen)
    original = {str(p): n for p, (n, _) in zip([*paths, *label_paths], [*beds, *label_beds])}
    if uploaded:
        original[genome_path] = genome[0]
    try:
        source.data_options().validate()
        check(source)
    except BioseqError as e:
        _remove(added)
        raise _named(e, original) from None
    manifest = {**asdict(source), "original_names": original,
                "saved": _dt.datetime.now(_dt.UTC).isoformat(timespec="microseconds")}
    atomic_write(paths[0].parent / MANIFEST, lambda tmp: Path(tmp).write_text(json.dumps(manifest, indent=1)))
    return source


def _remove(added: list[Path]) -> None:
    for p in added:
        try:
            p.rmdir() if p.is_dir() else p.unlink(missing_ok=True)
        except OSError:
            pass  # a folder another upload wrote into meanwhile stays


def _named(e: BioseqError, original: dict[str, str]) -> BioseqError:
    """``e`` with each stored path replaced by the name the user gave the file (the files are gone)."""
    text = e.args[0] if e.args and isinstance(e.args[0], str) else None
    if text is not None:
        for stored, name in sorted(original.items(), key=lambda kv: -len(kv[0])):
            text = text.replace(stored, name)
        e.args = (text, *e.args[1:])
    return e


def delete_upload(key: str) -> None:
    """Delete the uploaded dataset ``upload:<digest>`` (its folder in the workspace)."""
    shutil.rmtree(_upload_folder(key))


def _manifest(folder: Path) -> dict | None:
    """The folder's manifest; in a folder written by an earlier version, its ``source.json`` if that is one
    (the key names the folder), not an upload of that name."""
    for name in (MANIFEST, OLD_MANIFEST):
        try:
            m = json.loads((folder / name).read_text())
        except (OSError, ValueError):
            continue
        if name == MANIFEST or (isinstance(m, dict) and m.get("key") == f"upload:{folder.name}"):
            return m
    return None


def _from_manifest(m: dict) -> DataSource | None:
    """The saved dataset, if its files are all still there."""
    fields = {k: m.get(k) for k in ("name", "label_mode", "labels", "alphabet", "description", "key", "ignore_label",
                                    "genome")}
    groups = {k: tuple(m.get(k) or ()) for k in ("train", "val", "test", "labels_fasta", "mask", "regions")}
    chosen = tuple((k, tuple(v) if isinstance(v, list) else v) for k, v in m.get("region_options") or ())
    src = DataSource(**groups, **{k: v for k, v in fields.items() if v is not None}, region_options=chosen)
    files = [*src.train, *src.labels_fasta, *src.mask, *([src.labels] if src.labels else []), *src.regions,
             *([src.genome] if src.genome else [])]
    return src if files and all(Path(f).is_file() for f in files) else None


def recent_sources(limit: int = 10) -> list[DataSource]:
    """Datasets made from uploads, most recently used first (those whose files are gone are skipped)."""
    folder = uploads_dir()
    found = []
    for d in folder.iterdir() if folder.is_dir() else []:
        m = _manifest(d) if d.is_dir() else None
        src = _from_manifest(m) if m else None
        if src is not None:
            found.append((m.get("saved") or "", src))
    return [s for _, s in sorted(found, key=lambda x: x[0], reverse=True)[:limit]]


def source_by_key(key: str) -> DataSource | None:
    """The dataset with this key (``example:<name>`` or ``upload:<digest>``), or ``None``."""
    kind, _, name = (key or "").partition(":")
    if kind == "example":
        try:
            return example(name).source()
        except InputError:
            return None
    if kind == "upload" and re.fullmatch(r"[0-9a-f]{16}", name):
        m = _manifest(uploads_dir() / name)
        return _from_manifest(m) if m else None
    return None


def source_of_files(train: Sequence[str], labels: str | None = None) -> DataSource | None:
    """The bundled example or kept upload whose training files (and labels table) are ``train`` (and
    ``labels``), paths compared resolved; ``None`` when those data are no longer in the workspace."""
    def same(paths) -> tuple:
        return tuple(str(Path(p).resolve()) for p in paths or ())
    want = (same(train), same([labels] if labels else []))
    for src in [e.source() for e in EXAMPLES] + recent_sources(limit=1000):
        if (same(src.train), same([src.labels] if src.labels else [])) == want:
            return src
    return None


def rename_upload(key: str, new: str) -> DataSource:
    """Give the uploaded dataset ``upload:<digest>`` the name ``new`` (a name, as models and runs take, that
    no other kept upload has); its files stay where they are. Returns the renamed dataset."""
    if not isinstance(new, str) or not NAME_RE.fullmatch(new):
        raise InputError(f"invalid upload name {new!r}: use letters, digits, '.', '_' or '-' (at most 100)")
    folder = _upload_folder(key)
    m = _manifest(folder)
    if m is None:
        raise InputError(f"no such upload: {key!r}")
    if any(s.name == new and s.key != key for s in recent_sources(limit=10_000)):
        raise InputError(f"an upload called {new!r} is already kept; choose another name")
    m["name"] = new
    text = json.dumps(m, indent=1)
    atomic_write(folder / MANIFEST, lambda tmp: Path(tmp).write_text(text))
    return _from_manifest(m)


def _upload_folder(key: str) -> Path:
    kind, _, digest = (key or "").partition(":")
    folder = uploads_dir() / digest
    if kind != "upload" or not re.fullmatch(r"[0-9a-f]{16}", digest) or not folder.is_dir():
        raise InputError(f"no such upload: {key!r}")
    return folder


def display_names(source: DataSource | None) -> dict[str, str]:
    """Stored upload path -> the file name the user chose, for messages about an uploaded dataset."""
    if source is None or not source.key.startswith("upload:"):
        return {}
    m = _manifest(uploads_dir() / source.key.partition(":")[2]) or {}
    return dict(m.get("original_names") or {})


def read_uploads(files: Sequence[tuple[str, bytes]]) -> list[Record]:
    """Records of several uploaded sequence files, in order; errors name the file and record."""
    if not files:
        raise InputError("no files were uploaded")
    return [r for name, data in files for r in read_upload(data, name)]


def save_model_upload(data: bytes, name: str, *, register: bool = False, as_name: str | None = None) -> Path:
    """Store an uploaded model file after validating its metadata (nothing is unpickled).

    With ``register`` it becomes ``models/<name>.safetensors`` in the registry, the name ``as_name`` or else
    the one inside the file (a model of that name already there is an error); otherwise it is kept under
    ``uploads/models/<digest>``. A file that fails the checks is not kept.
    """
    digest = hashlib.sha256(data).hexdigest()[:16]
    tmp = uploads_dir() / "models" / f"{digest}.safetensors"
    tmp.parent.mkdir(parents=True, exist_ok=True)
    if not tmp.is_file() or tmp.stat().st_size != len(data):
        tmp.write_bytes(data)
    try:
        meta = read_meta(tmp)
        load_model(tmp)  # metadata, config and weights must agree
    except ModelFileError as e:
        tmp.unlink(missing_ok=True)
        raise ModelFileError(str(e).replace(str(tmp), safe_filename(name))) from None
    if not register:
        return tmp
    try:
        target = check_name(as_name or str(meta.get("name") or Path(name).stem))
        if model_path(target).exists():
            raise ModelFileError(f"{target}: a model with this name is already in the registry; import it under "
                                 "another name, or rename or delete the one in the registry first")
        return register_model(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
