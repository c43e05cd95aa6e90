"""The model card a training run saves with its model (``meta`` of :mod:`bioseq.model.store`), and the checks
made before training that the model can be saved at all.

:class:`Card` holds what is known before training (data files and their SHA-256, counts, split, profile):
everything the save needs besides the result is then in memory, so a data file deleted or changed during
training cannot lose the model. :meth:`Card.check` runs before training: the model path can be written,
and the metadata of the largest result the run can have (every epoch, every confusion count) fits the
format's header limit (:data:`bioseq.model.store.MAX_HEADER`).
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass

import torch

from ..data.source import DataOptions
from ..metrics import METRICS
from ..metrics.positions import POSITION_METRICS
from ..model import ensemble
from ..model.config import ModelConfig
from ..model.store import ModelBundle, check_header, check_writable, file_meta, header_bytes
from .config import TrainConfig
from .loop import TrainResult

# how genome regions were read into windows: what ``bioseq evaluate --regions`` reads them with again
REGION_READING = ("width", "flank", "background", "bed_label_column", "val_chroms", "test_chroms")

_WIDEST_FLOAT = -1.2345678901234567e-300  # the longest a float64 prints in JSON (24 characters)


@dataclass
class Card:
    """What the model card says apart from the training result (see the module docstring)."""

    name: str
    data: DataOptions
    alphabet: object
    classes: list[str]
    train_cfg: TrainConfig
    files: list[dict]
    counts: dict
    val_counts: dict
    split: dict
    leakage: dict
    profile: dict
    run_dir: str
    per_position: bool = False

    def meta(self, result: TrainResult, results: list[TrainResult]) -> dict:
        """The model's ``meta``: this card and the result (``results``: one per ensemble member)."""
        data, cfg = self.data, self.train_cfg
        return {
            "name": self.name,
            **({"labelling": {"labels": list(self.classes), "ignore_label": data.ignore_label,
                              "mask": bool(data.mask)}} if self.per_position else {}),
            "seed": cfg.seed,
            **({"ensemble": {"origin": "seeds", "seeds": [cfg.seed + k for k in range(len(results))],
                             "member_val_metrics": [r.val_metrics for r in results],
                             "member_histories": [r.history for r in results]}} if len(results) > 1 else {}),
            "training": {
                "files": self.files, "labels": os.path.abspath(data.labels) if data.labels else None,
                "class_map": data.class_map, "counts": self.counts, "profile": self.profile,
                "val_counts": self.val_counts, "split": self.split, "leakage": self.leakage,
                "train_config": asdict(cfg), "best_epoch": result.best_epoch,
                "val_metrics": result.val_metrics, "confusion": result.confusion,
                "history": result.history, "seconds": result.seconds,
                "stopped_early": result.stopped_early, "interrupted": result.interrupted,
                "run_dir": self.run_dir,
                **({"regions": {k: getattr(data, k) for k in REGION_READING}} if data.regions else {}),
            },
        }

    def bundle(self, model, result: TrainResult, results: list[TrainResult]) -> ModelBundle:
        return ModelBundle(model, self.alphabet, self.classes, self.data.max_length, self.data.length_policy,
                           meta=self.meta(result, results))

    def check(self, path: str | os.PathLike, cfg: ModelConfig) -> None:
        """Before training: :class:`~bioseq.errors.ModelFileError` if the model could not be saved at ``path``
        (a folder that cannot be written, metadata over the format's limit)."""
        check_writable(path)
        with torch.device("meta"):  # shapes only, no memory
            model = ensemble.build([cfg] * self.train_cfg.seeds)
        widest = self._widest_result()
        meta = file_meta(self.bundle(model, widest, [widest] * self.train_cfg.seeds), path)
        n, total = len(self.classes), sum(self.val_counts.values())
        # the n x n confusion matrix, written as JSON: "[[0, 0], [0, 0]]" with every count's extra digits
        # (a count of 10 or more takes 10 records per extra digit at least)
        confusion = (2 + 3 * n * n + 2 * (n - 1) if n else 2) + total // 9 + 1
        check_header(header_bytes(meta, model.state_dict(), extra=confusion - 2), path)

    def _widest_result(self) -> TrainResult:
        """A result as long in JSON as this run's can be, less the confusion matrix (empty)."""
        keys = POSITION_METRICS if self.per_position else METRICS
        epochs = self.train_cfg.epochs

        def row(split: str) -> dict:
            return {"epoch": epochs, "split": split, **dict.fromkeys(keys, _WIDEST_FLOAT)}
        return TrainResult([row(s) for _ in range(epochs) for s in ("train", "val")], [], epochs, [],
                           dict.fromkeys(keys, _WIDEST_FLOAT), _WIDEST_FLOAT, True, True)
