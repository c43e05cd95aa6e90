"""Training progress on standard error, for ``bioseq train`` and ``bioseq cv``: a bar per batch at a terminal, a
line per epoch with the training and validation figures."""

from __future__ import annotations

import sys


def progress_printer(stream=sys.stderr):
    tty = stream.isatty()

    def show(p) -> None:
        if p.phase == "batch" and tty:
            done = (p.epoch - 1) * p.steps_per_epoch + p.step
            total = p.epochs * p.steps_per_epoch
            eta = p.elapsed / done * (total - done) if done else 0
            bar = "#" * int(30 * p.step / p.steps_per_epoch)
            stream.write(f"\repoch {p.epoch}/{p.epochs} [{bar:<30}] loss {p.loss:.4f} eta {eta:.0f}s ")
            stream.flush()
        elif p.phase == "epoch":
            tr, va = p.history[-2], p.history[-1]
            last = f"auroc {va['auroc']:.3f}" if "auroc" in va else f"f1 {va['f1']:.3f} sov {va['sov']:.3f}"
            stream.write(("\r" if tty else "") +
                         f"epoch {p.epoch:>3}/{p.epochs}  train loss {tr['loss']:.4f} acc {tr['accuracy']:.3f}  "
                         f"val loss {va['loss']:.4f} acc {va['accuracy']:.3f} bal {va['balanced_accuracy']:.3f} "
                         f"{last} mcc {va['mcc']:.3f}  [{p.elapsed:.0f}s]\n")
            stream.flush()
    return show
