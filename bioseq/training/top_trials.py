"""The model a finished ``bioseq tune`` search saves: the best trial, or the ensemble of the best few.

Rule (``--ensemble K``, default 3): the K best complete trials (by validation loss; fewer when fewer are
complete) are combined, their probabilities averaged (:mod:`bioseq.model.ensemble`), and that ensemble and the
best trial alone are scored on the same validation set with the same loss (plain cross-entropy,
:func:`bioseq.training.loop.evaluate`). The ensemble is saved only when its loss is lower
(:func:`ensemble_wins`); else the best trial is. Trials whose models cannot be combined (other classes or
inputs) leave the best trial. ``--ensemble 1`` always saves the best trial. The decision goes to ``tune.json``
(``ensemble``) and the model card (``meta["tuning"]["ensemble"]``).
"""

from __future__ import annotations

from pathlib import Path

from ..data.source import DataOptions
from ..model.store import combine, load_model, save_model
from ..task import task_of
from .study import StudyFolder, complete_trials, keep_best, trials_table


def ensemble_wins(single_loss: float, ensemble_loss: float) -> bool:
    """Whether the ensemble is better on validation: a strictly lower loss."""
    return ensemble_loss < single_loss


def validation(data: DataOptions, seed: int, task: str) -> tuple:
    """The study's validation set (the split every trial used) as ``(arrays, targets)``."""
    from .fit import loader, targets_of

    val = loader(data, task_of(task).per_position)(data, seed)[1]
    return val.encoded(), targets_of(val)


def val_loss(model, val: tuple) -> float:
    """``model``'s plain cross-entropy on ``val`` (:func:`validation`)."""
    from .loop import evaluate

    return float(evaluate(model.eval(), *val)[0]["loss"])


def final_model(folder: StudyFolder, study, out: Path, name: str, k: int, data: DataOptions, seed: int,
                task: str) -> dict:
    """Save the final model to ``out`` by the rule above; the decision, as written to ``tune.json``."""
    done = complete_trials(study)
    keep_best(folder, study, done[0], out, name)  # again: with several workers, the last copy may be stale
    members = done[:k]
    if len(members) < 2:
        return {"chosen": "best trial", "why": "one complete trial" if k > 1 else "--ensemble 1"}
    bundles = [load_model(folder.trial_dir(t.number) / "model.safetensors") for t in members]
    try:
        together = combine(bundles, origin=f"top {len(members)} trials of study {name}")
        val = validation(data, seed, task)
        single, joint = val_loss(bundles[0].model, val), val_loss(together.model, val)
    except (ValueError, RuntimeError) as e:  # e.g. members with other inputs: they cannot share one batch
        return {"chosen": "best trial", "why": f"the top trials cannot form an ensemble ({e})"}
    decision = {"chosen": "ensemble" if ensemble_wins(single, joint) else "best trial",
                "members": [t.number for t in members], "best_trial_val_loss": single, "ensemble_val_loss": joint}
    if decision["chosen"] == "ensemble":
        together.meta = {**together.meta, "name": name, "tuning": {
            "study": str(folder.db.resolve()), "best_trial": members[0].number,
            "members": decision["members"], "best_val_loss": members[0].value, "ensemble": decision,
            "trials": trials_table(study), "seed": folder.info().get("seed")}}
        save_model(out, together)
    else:
        best = load_model(out)
        best.meta["tuning"] = {**best.meta["tuning"], "ensemble": decision}
        save_model(out, best)
    return decision
