"""Training in a background thread, for the dashboard.

A :class:`TrainingJob` runs :func:`bioseq.training.fit.fit` in a daemon thread and holds only that
thread and its stop event. Everything the dashboard shows about the run (status, live progress,
curves, result or error) is in its run folder, written by :class:`bioseq.training.runs.RunFolder`
exactly as for a run started from the command line; so the run outlives page switches and browser
reloads, and the worker's ``pid`` in ``run.json`` lets a run whose server died read as
``interrupted``. ``stop()`` sets the event that ``fit`` polls between batches; the best weights so
far are still saved as a model.

A :class:`JobRegistry` holds the jobs of one server process (the dashboard keeps one in
``st.cache_resource``). It claims a run's or study's name (:mod:`bioseq.training.claims`) before the
thread starts, and the thread holds the claim until the run ends: a taken name, or one being trained
from the command line, is refused on the page at once.
"""

from __future__ import annotations

import threading

from ..data.source import DataOptions
from ..errors import InputError
from ..model.store import model_path
from ..workspace import check_name, runs_dir
from .claims import Claim, claim
from .config import TrainConfig
from .fit import fit
from .runs import RunFolder

LAUNCHER = "dashboard"


class TrainingJob:
    """One training run in a daemon thread; see the module docstring. ``claimed`` is the name's claim
    (:mod:`bioseq.training.claims`), held by the thread until the run ends."""

    def __init__(self, name: str, data: DataOptions, model_options: dict, train_cfg: TrainConfig, claimed: Claim):
        self.name = name
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(data, dict(model_options), train_cfg, claimed),
                                        name=f"bioseq-train-{name}", daemon=True)

    def start(self) -> TrainingJob:
        """Mark the run folder (``running``, this process), then train in the thread."""
        RunFolder.named(self.name).start(self.name, LAUNCHER)
        self._thread.start()
        return self

    def _run(self, data: DataOptions, model_options: dict, train_cfg: TrainConfig, claimed: Claim) -> None:
        try:
            fit(data, model_options, train_cfg, name=self.name, should_stop=self._stop.is_set, launcher=LAUNCHER,
                claimed=claimed)
        except Exception as e:  # noqa: BLE001 - recorded in run.json for the page, never raised in the thread
            RunFolder.named(self.name).fail(e)
        finally:
            claimed.release()  # fit releases it too: once is enough, and twice is harmless

    @property
    def alive(self) -> bool:
        """Whether the thread is still training."""
        return self._thread.is_alive()

    def stop(self) -> None:
        self._stop.set()

    def join(self, timeout: float | None = None) -> bool:
        self._thread.join(timeout)
        return not self._thread.is_alive()


class TuningJob:
    """One study (:func:`bioseq.training.tune.tune`) in a daemon thread; ``stop()`` ends it after the
    current epoch, keeping the best model found so far. Its state is in the study folder's ``tune.json``."""

    def __init__(self, name: str, data: DataOptions, budget: float, train_cfg: TrainConfig, model_options: dict,
                 claimed: Claim, cv: int | None = None):
        self.name = name
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(data, budget, train_cfg, dict(model_options),
                                                                claimed, cv), name=f"bioseq-tune-{name}", daemon=True)

    def _run(self, data: DataOptions, budget: float, train_cfg: TrainConfig, model_options: dict,
             claimed: Claim, cv: int | None) -> None:
        from .tune import StudyFolder, tune

        try:
            tune(data, self.name, budget, seed=train_cfg.seed, train_cfg=train_cfg, model_options=model_options,
                 should_stop=self._stop.is_set, claimed=claimed, cv=cv)
        except Exception as e:  # noqa: BLE001 - recorded in tune.json for the page, never raised in the thread
            StudyFolder.named(self.name).path.mkdir(parents=True, exist_ok=True)
            StudyFolder.named(self.name).update(status="failed", error=str(e))
        finally:
            claimed.release()

    alive = TrainingJob.alive
    stop = TrainingJob.stop
    join = TrainingJob.join


class JobRegistry:
    """The training jobs of one process, by run name; at most ``max_running`` train at once."""

    def __init__(self, max_running: int = 2):
        self.max_running = max_running
        self._lock = threading.Lock()
        self._jobs: dict[str, TrainingJob] = {}
        self._tunes: dict[str, TuningJob] = {}

    def start(self, name: str, data: DataOptions, model_options: dict, train_cfg: TrainConfig, *,
              overwrite: bool = False) -> TrainingJob:
        """Start a run; refuses a taken name (unless ``overwrite``: the model and run of that name are replaced),
        a name in training anywhere, or too many concurrent runs here, with :class:`InputError`."""
        name = check_name(name.strip())
        with self._lock:
            held = claim(name, runs_dir() / name, model_path(name), overwrite=overwrite)
            try:
                running = [j.name for j in self._jobs.values() if j.alive]
                if len(running) >= self.max_running:
                    raise InputError(f"{len(running)} runs are already training ({', '.join(running)}); "
                                     "wait for one to finish or stop it")
                if overwrite:
                    RunFolder.named(name).clear()  # the replaced run's files; its model is replaced at the save
                job = TrainingJob(name, data, model_options, train_cfg, held).start()
            except BaseException:
                held.release()
                raise
            self._jobs[name] = job
        return job

    def start_tuning(self, name: str, data: DataOptions, budget: float, train_cfg: TrainConfig,
                     model_options: dict | None = None, cv: int | None = None) -> TuningJob:
        """Start a study (``cv`` K: trials scored by K-fold cross-validation, ``bioseq tune --cv K``); refuses a taken
        name, a second running study or an invalid option (the checks of
        :func:`~bioseq.training.search.check_inputs`) with :class:`InputError`."""
        from .search import check_inputs

        name = check_name(name.strip())
        check_inputs(data, train_cfg, cv=cv)
        with self._lock:
            held = claim(name, runs_dir() / name, model_path(name), kind="study")
            try:
                running = [j.name for j in self._tunes.values() if j.alive]
                if running:
                    raise InputError(f"the study {running[0]!r} is still searching; wait for it or stop it")
                job = TuningJob(name, data, budget, train_cfg, model_options or {}, held, cv)
                job._thread.start()
            except BaseException:
                held.release()
                raise
            self._tunes[name] = job
        return job

    def tuning(self, name: str) -> TuningJob | None:
        with self._lock:
            return self._tunes.get(name)

    def get(self, name: str) -> TrainingJob | None:
        with self._lock:
            return self._jobs.get(name)

    def jobs(self) -> list[TrainingJob]:
        """All jobs started in this process, newest first."""
        with self._lock:
            return list(reversed(self._jobs.values()))

    def active(self) -> list[TrainingJob]:
        return [j for j in self.jobs() if j.alive]

    def stop(self, name: str) -> None:
        job = self.get(name)
        if job is not None:
            job.stop()
