"""One object per task: what differs between classifying a whole sequence and labelling each of its positions.

Everything else asks the model's :class:`Task` (:func:`task_of`) instead of asking which task it is. As in
gReLU, a model's output is read as ``(batch, length, classes)``: a classifier's output is one position.

* :class:`Classify`: logits ``(B, C)``, targets ``(B,)`` class indices; probabilities kept as ``(N, C)``.
* :class:`Label` (sequence labelling, the lecture's C = Σₜ C⁽ᵗ⁾): logits ``(B, T, C)``, targets ``(B, T)`` int64
  with :data:`~bioseq.data.position_labels.UNSCORED` at padded and unscored positions; the loss is the mean of the
  per-position cross-entropies over scored positions (:func:`position_loss`), and probabilities are kept as one
  ``(length, C)`` array per sequence. Unscored positions enter no loss and no metric.

Bound to a split's labels (:meth:`Task.bind`) a task is the training objective: ``loss`` returns ``(mean loss,
weight)`` (sequences, or the scored positions' class-weight sum) so the loop averages batches exactly. Only numpy
loads with this module; data, metrics, pandas and torch load when a method needs them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from .task_tools import (  # noqa: F401 - the Task's helpers, importable from here as before
    class_weight_vector,
    detected,
    encode_cut,
    label_string,
    pad_targets,
    position_loss,
    probability_frame,
    refuse_options,
    weight_warnings,
)

NAMES = ("classify", "label")


class Task:
    """What a task decides; bound to labels (:meth:`bind`) it is also the training objective."""

    name = ""
    per_position = False  # the output has a length axis
    unit, word, words, noun = "sequences", "class", "classes", "classifier"  # the words for what is labelled
    batch_size, chunk_size = 512, 4096  # prediction's records per forward pass and per chunk
    formats: tuple[str, ...] = ("csv",)
    fixed: tuple[str, ...] = ()  # model options that do not apply (left out of a tuning search)
    headline: tuple[str, ...] = ("accuracy", "balanced_accuracy", "auroc", "auprc", "mcc", "f1")
    figure = "balanced_accuracy"  # the one validation figure a model's short description gives
    scope = ""  # how the validation figures are counted, after "validation (best epoch N"
    written = ""  # "wrote N <written>predictions"

    def __init__(self, labels=None, n_classes: int = 0, weight=None):
        self.labels, self.n_classes, self.weight = labels, n_classes, weight

    def worst(self, confusion, classes: Sequence[str]) -> tuple[str, float] | None:
        """What goes beside the headline so that a mean cannot hide one bad class, from a confusion matrix:
        ``None`` for a classifier (its headline has balanced accuracy and MCC); a labeller's worst label and
        its F1 (:func:`~bioseq.metrics.positions.worst_label`)."""
        return None

    def weakest(self, confusion, classes: Sequence[str]) -> str:
        """:meth:`worst` in words, ``worst label S: F1 0.550`` ('' when none)."""
        found = self.worst(confusion, classes)
        return f"worst {self.word} {found[0]}: F1 {found[1]:.3f}" if found else ""

    def summary(self, s: dict) -> str:
        """The training data's labels in a data summary ``s`` (:func:`bioseq.data.dataset.summarize`)."""
        return f"({self.counted(s['per_class'])})"

    def counted(self, counts: dict) -> str:
        """Counts per class (a labeller's: positions per label) in words: ``background 640, motif 640``."""
        return ", ".join(f"{k} {v:,}" for k, v in (counts or {}).items())

    def describe(self, meta: dict) -> str:
        """``bioseq info``'s line on the task and its classes, from a model file's metadata."""
        return f"classes:       {', '.join(meta['classes'])}"

    def bind(self, labels, n_classes: int, weight=None) -> Task:
        """This task as the objective for ``labels`` (one split)."""
        return type(self)(labels, n_classes, weight)

    # --- the objective (training) ---------------------------------------------------------------------------
    def run(self, model, x, lengths, y):
        """The logits of a training or validation batch."""
        return model(x, lengths)

    def subset(self, idx: np.ndarray):  # the labels of records idx
        return np.asarray(self.labels)[idx]

    def visited(self, buf, batches: Sequence[np.ndarray]) -> tuple[Task, object]:
        """The objective and kept probabilities of the records in ``batches`` only: a partial epoch
        (``--max-steps``) is scored on the records it saw."""
        idx = np.sort(np.concatenate(list(batches))) if len(batches) else np.zeros(0, dtype=np.int64)
        kept = [buf[i] for i in idx] if isinstance(buf, list) else buf[idx]
        return self.bind(self.subset(idx), self.n_classes, self.weight), kept

    # --- reading and predicting -----------------------------------------------------------------------------
    def read(self, paths, hold: int | None = None):
        """The records of ``paths`` to predict, streaming, in order (``hold``: :func:`bioseq.data.io.read_records`)."""
        from .data.io import read_many
        return read_many(paths, hold=hold)

    def cut(self, bundle) -> int | None:
        """How much of a record the model reads at most (``None``: all of it)."""
        return bundle.max_length

    def encode(self, bundle, records) -> list[np.ndarray]:
        """The rows the model reads per record to predict (:func:`encode_cut`)."""
        return encode_cut(bundle, records)

    # the words and options of looking inside a model (interpret): where its output is read, the inputs nearest
    # that, the plural of ``word``, and the model options it does not use (remedies naming them are left out)
    origin, nearest, plural, unused = "the read-out", "last", "classes", frozenset()

    too_long = ("slide the model along it with `bioseq scan MODEL FILE` (in the dashboard: Scan a long sequence, "
                "on the Predict page)")

    record_columns: tuple[str, ...] = ("p_",)  # a record's row's own columns (``p_``: one per class)

    def truth(self, classes: Sequence[str], records, labels=None) -> list:
        """Each record's true label indices per output row (``UNSCORED`` where unknown) from ``labels`` as the
        task keeps them; a classifier's are class names, found in the records as in training when ``None``."""
        from .data.dataset import known_labels
        index = {c: i for i, c in enumerate(classes)}
        return [np.array([index.get(lab, -100)]) for lab in (known_labels(records) if labels is None else labels)]

    def true_cell(self, truth: np.ndarray, classes: Sequence[str]):  # a record's ``true`` cell: its class
        return classes[truth[0]] if truth[0] >= 0 else None

    def rows(self, out: np.ndarray, lengths) -> list[np.ndarray]:
        """Per sequence of a batch, its rows of the output ``out`` (a classifier's is one row)."""
        return list(out)

    def gather(self, rows: list, n_classes: int):
        """Per-sequence rows as the task keeps them for a whole set."""
        return np.stack(rows).astype(np.float32) if rows else np.zeros((0, n_classes), dtype=np.float32)

    def table(self, classes: Sequence[str], records, probs, flags: Callable[[], object], *,
              with_sequence: bool = False):
        """The prediction table of ``bioseq predict`` for one chunk: ``id, prediction, p_<class>..., length,
        unlike_training, file`` (plus ``sequence`` on request); ``flags()`` gives ``length`` and ``flag``."""
        table = probability_frame(classes, probs)
        table.insert(0, "id", [r.id for r in records])
        found = flags()
        table["length"] = found["length"].to_numpy()
        table["unlike_training"] = found["flag"].to_numpy()
        table["file"] = [r.file for r in records]
        if with_sequence:
            table["sequence"] = [r.seq for r in records]
        return table

    def check_format(self, fmt: str | None) -> str:
        from .errors import BioseqError
        if fmt not in (None, "csv"):
            raise BioseqError("--format fasta writes a predicted label per position; this model gives one label "
                              "per sequence (its CSV is the default output)")
        return "csv"

    def write(self, fh, classes, records, probs, flags, fmt: str, first: bool, with_sequence: bool = False) -> None:
        """One chunk of ``bioseq predict``'s output in ``fmt``."""
        self.table(classes, records, probs, flags, with_sequence=with_sequence).to_csv(
            fh, header=first, index=False, float_format="%.6g", lineterminator="\n")

    # --- evaluation -----------------------------------------------------------------------------------------
    label_options: tuple[str, ...] = ("labels",)  # where a model of this task reads the truth, besides the files
    labels_from = "gives one label per sequence (its labels come from label=VALUE headers or --labels)"

    def refuse_other_labels(self, model: str, **given) -> None:
        """Refuse a label option of the other task (``labels_fasta`` for a classifier): it would be ignored."""
        refuse_options(given, self.label_options, f"not for this model: {model} {self.labels_from}")

    def labelled(self, bundle, files, check: Callable, *, labels=None, **_):
        """Labelled ``files`` read once and checked against the model (``check`` the alphabet of records)."""
        from .data.dataset import load_dataset, parse_class_map
        from .data.io import read_many
        records = list(read_many(files))
        check(bundle, records)
        return load_dataset(files, labels=labels, alphabet=bundle.alphabet, classes=bundle.classes,
                            max_length=bundle.max_length, length_policy=bundle.length_policy, records=records,
                            class_map=parse_class_map((bundle.meta.get("training") or {}).get("class_map")))

    def evaluation(self, classes: Sequence[str], ds, probs):
        """The :class:`~bioseq.metrics.classification.Evaluation` of ``probs`` against ``ds``'s labels."""
        from .metrics import classification_metrics, confusion, metric_notes
        from .metrics.classification import Evaluation
        m = classification_metrics(ds.labels, probs)
        m.pop("loss")
        m["n"] = len(ds)
        classes = list(classes)
        table = probability_frame(classes, probs)
        table.insert(0, "true", [classes[int(y)] for y in ds.labels])
        table.insert(0, "id", ds.ids)
        return Evaluation(classes, m, confusion(ds.labels, probs.argmax(1), len(classes)), table,
                          metric_notes(m, np.bincount(ds.labels, minlength=len(classes))))


class Classify(Task):
    """One label per sequence: ``labels`` is ``(N,)``."""

    name = "classify"

    def __init__(self, labels=None, n_classes: int = 0, weight=None):
        super().__init__(None if labels is None else np.asarray(labels), n_classes, weight)
        if labels is not None:
            from torch import nn

            self.loss_fn = nn.CrossEntropyLoss(weight=weight)

    def targets(self, idx: np.ndarray, width: int, device):
        import torch
        return torch.as_tensor(self.labels[idx], device=device)

    def loss(self, logits, y) -> tuple:
        return self.loss_fn(logits, y), float(len(y))

    def buffer(self) -> np.ndarray:
        return np.zeros((len(self.labels), self.n_classes), dtype=np.float32)

    def keep(self, buf, idx: np.ndarray, logits, lengths) -> None:
        import torch
        buf[idx] = torch.softmax(logits.detach().float(), 1).cpu().numpy()

    def metrics(self, buf, loss: float) -> dict:
        from .metrics import classification_metrics
        return classification_metrics(self.labels, buf, loss)

    def confusion(self, buf) -> list[list[int]]:
        from .metrics import confusion
        return confusion(self.labels, np.asarray(buf).argmax(1), self.n_classes)

    def flat(self, labels) -> np.ndarray:
        """All labels of a split as one array, for class weights."""
        return np.asarray(labels)


class Label(Task):
    """One label per position: ``labels`` is a list of ``(length_i,)`` int64 tracks (negative = unscored)."""

    name = "label"
    per_position = True
    unit, word, words, noun = "positions", "label", "labels", "labeller"
    batch_size, chunk_size = 128, 1024
    formats = ("csv", "fasta")
    fixed = ("conv_pool", "pooling")  # one output per position: no pooling
    headline = ("accuracy", "balanced_accuracy", "mcc", "f1", "sov")
    figure = "accuracy"  # per position over scored positions (Q3 for secondary structure)
    scope = ", per position over scored positions"
    written = "records of per-position "
    origin, nearest, plural = "the position labelled", "nearest", "labels"
    unused = frozenset({"pooling", "conv_pool", "strand"})  # no read-out, no pooling, labels read one way
    too_long = "cut it into pieces near the training lengths (a labeller labels every letter of what it reads)"

    def __init__(self, labels=None, n_classes: int = 0, weight=None):
        super().__init__(None if labels is None else list(labels), n_classes, weight)

    def worst(self, confusion, classes: Sequence[str]) -> tuple[str, float] | None:
        from .metrics.positions import worst_label
        return worst_label(confusion, classes)

    def summary(self, s: dict) -> str:
        return (f"labelled positions {self.counted(s['per_class'])} ({s['scored_fraction']:.1%} of positions "
                "scored)")

    def describe(self, meta: dict) -> str:
        how = meta["labelling"]
        return "task:          label (one label per position); labels {}{}{}".format(
            ", ".join(meta["classes"]), f"; never scored: {how['ignore_label']!r}" if how.get("ignore_label") else "",
            "; a mask marked unscored positions" if how.get("mask") else "")

    def run(self, model, x, lengths, y):
        """Logits; batch-norm statistics see only the scored positions of ``y``."""
        from .data.position_labels import UNSCORED
        return model(x, lengths, scored=y[:, : x.shape[1]] != UNSCORED)

    def subset(self, idx: np.ndarray) -> list:
        return [self.labels[i] for i in idx]

    def targets(self, idx: np.ndarray, width: int, device):
        return pad_targets([self.labels[i] for i in idx], width).to(device)

    def loss(self, logits, y) -> tuple:
        loss, count = position_loss(logits, y, self.weight, getattr(self, "smoothing", 0.0))  # recipes.smooth
        return loss, float(count)

    def buffer(self) -> list:
        return [None] * len(self.labels)

    def keep(self, buf, idx: np.ndarray, logits, lengths) -> None:
        import torch
        probs = torch.softmax(logits.detach().float(), -1).cpu().numpy()
        for j, i in enumerate(idx):
            buf[i] = probs[j, : int(lengths[j])]

    def metrics(self, buf, loss: float) -> dict:
        from .metrics.positions import position_metrics
        return position_metrics(self.labels, buf, self.n_classes, loss)

    def confusion(self, buf) -> list[list[int]]:
        from .metrics.positions import position_confusion
        return position_confusion(self.labels, buf, self.n_classes)

    def flat(self, labels) -> np.ndarray:
        """The positions of every sequence as one array, for class weights."""
        return np.concatenate([np.asarray(t) for t in labels]) if len(labels) else np.zeros(0, dtype=np.int64)

    def read(self, paths, hold: int | None = None):
        """Records of ``paths`` in order, streaming; a three-line FASTA gives its sequences (labels dropped)."""
        from .data.position_labels import read_sequences
        return read_sequences(paths, hold=hold)

    def cut(self, bundle) -> int | None:
        return None  # the whole sequence is labelled: every letter gets a label

    def encode(self, bundle, records) -> list[np.ndarray]:
        """Each record's whole sequence, one-hot; the letters must be the model's."""
        from .data.encoding import encode
        return [encode(r.seq, bundle.alphabet, file=r.file, record=r.where) for r in records]

    record_columns = ("scored", "accuracy", "segments", "share_")

    def truth(self, classes, records, labels=None) -> list:  # the label tracks (None: unknown)
        return [None] * len(records) if labels is None else list(labels)

    def true_cell(self, truth, classes):
        return "known" if (truth >= 0).any() else None

    def rows(self, out: np.ndarray, lengths) -> list[np.ndarray]:
        return [out[j, : int(lengths[j])] for j in range(len(out))]

    def gather(self, rows: list, n_classes: int) -> list[np.ndarray]:
        return list(rows)

    def table(self, classes, records, probs, flags=None, *, with_sequence: bool = False):
        """One row per letter: ``id, position`` (1-based), ``letter, prediction, p_<label>...``."""
        lengths = [len(p) for p in probs]
        table = probability_frame(classes, np.concatenate(probs) if probs else np.zeros((0, len(classes))))
        table.insert(0, "letter", [c for r, n in zip(records, lengths) for c in r.seq[:n]])
        table.insert(0, "position", np.concatenate([np.arange(1, n + 1) for n in lengths]) if lengths else [])
        table.insert(0, "id", np.repeat(np.asarray([r.id for r in records], dtype=object), lengths))
        return table

    def check_format(self, fmt: str | None) -> str:
        from .errors import InputError
        if fmt not in (None, *self.formats):
            raise InputError(f"unknown output format {fmt!r}; choose one of {', '.join(self.formats)}")
        return fmt or "csv"

    def write(self, fh, classes, records, probs, flags, fmt: str, first: bool, with_sequence: bool = False) -> None:
        if fmt == "csv":
            return super().write(fh, classes, records, probs, flags, fmt, first)
        for rec, p in zip(records, probs):
            head = rec.description if rec.description and rec.description.startswith(rec.id) else rec.id
            fh.write(f">{head}\n{rec.seq[: len(p)]}\n{label_string(classes, p)}\n")

    label_options = ("labels_fasta", "mask", "ignore_label")
    labels_from = "labels every position (its labels come from three-line FASTA or --labels-fasta)"

    def labelled(self, bundle, files, check: Callable, *, labels_fasta=None, mask=None, ignore_label=None, **_):
        from .data.io import Record
        from .data.position_labels import load_positions
        ignore = ignore_label if ignore_label is not None else bundle.labelling.get("ignore_label")
        ds = load_positions(files, labels_fasta=labels_fasta, mask=mask, ignore_label=ignore,
                            alphabet=bundle.alphabet, label_set=bundle.classes)
        check(bundle, [Record(i, i, s, str(files[0]), k) for k, (i, s) in enumerate(zip(ds.ids, ds.seqs), 1)])
        return ds

    def evaluation(self, classes, ds, probs):
        """The :class:`~bioseq.metrics.positions.PositionEvaluation` of ``probs`` against ``ds``'s tracks."""
        from .metrics.positions import evaluate_tracks
        return evaluate_tracks(classes, ds, probs)


TASKS: dict[str, Task] = {t.name: t for t in (Classify(), Label())}


def task_of(x=None) -> Task:
    """The task of a model bundle, a model, a config, a stored config dict, a task name or a task
    (``None``, as in files written before tasks existed: classify)."""
    if isinstance(x, Task):
        return TASKS[x.name]
    if isinstance(x, dict):
        x = x.get("task")
    elif hasattr(x, "cfg"):
        x = x.cfg.task
    elif hasattr(x, "task"):
        x = x.task
    return TASKS[x or "classify"]


def detect(train, labels_fasta=None, mask=None, given: str | None = None, *, per_position: bool = False,
           ignore_label: str | None = None) -> Task:
    """The task of training data (:func:`~.task_tools.detected`); options it does not read are refused."""
    from .errors import ref
    task = TASKS[detected(train, labels_fasta, given, per_position=per_position)]
    refuse_options({"labels_fasta": labels_fasta, "mask": mask, "ignore_label": ignore_label}, task.label_options, (
        "for per-position labels; " + ("--task classify needs one label per sequence (drop --task, or use --task "
                                       "label)" if given else "these files are classification data (one label per "
                                       f"sequence): give per-position labels with {ref('labels_fasta')} or a "
                                       "three-line FASTA, or drop the option")))
    return task
