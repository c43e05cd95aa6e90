"""Train the ready-to-use models that ship with bioseq (``bioseq/bundled/``): ``python -m bench.bundle [NAME ...]``.

One row of :data:`MODELS` per bundled model: the shared benchmark it is trained on (``../shared/benchmarks/``,
read where it is), the model and training options (the best configuration known when it was last run: change
the row and rerun to ship a better one) and what its model card says about the data (from the benchmark's
``SOURCE.md``). Each model is trained on the benchmark's training split, selected on its validation split
(early stopping, best epoch kept), and its test split is scored **once**; the figures, with a Wilson score
95% interval, go into the model card (the file's ``bundled`` metadata) and ``bench/results/bundled.json``.

    python -m bench.bundle                     # every model in MODELS
    python -m bench.bundle amp splice          # only these
    python -m bench.bundle ss3 --work DIR      # keep the training folder in DIR (ss3: ~20 CPU-minutes)
    python -m bench.bundle ss3 --work DIR --package-only   # re-package DIR's trained model and result
    python -m bench.bundle ss3 --work DIR --resume-cpu 9.5 --epochs 4   # finish a stopped run: its best epoch

The model file is written with :func:`bioseq.model.store.save_model` (safetensors, no pickle), under the
bundled name; nothing of the training machine's paths is kept (data files are named by their file name). The
model's predictions on ``tests/fixtures/bundled/<name>.fa`` are written beside it as the expected predictions of
``tests/test_bundled.py``.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # see bench_core: spinning threads starve on shared CPUs

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections.abc import Sequence  # noqa: E402
from dataclasses import asdict, dataclass, field, replace  # noqa: E402
from pathlib import Path  # noqa: E402

import torch  # noqa: E402

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.report import machine  # noqa: E402
from bench.tuned import wilson  # noqa: E402
from bioseq.data.dataset import load_dataset  # noqa: E402
from bioseq.model.bundled import BUNDLED_DIR  # noqa: E402
from bioseq.model.store import load_model, save_model  # noqa: E402
from bioseq.training.config import TrainConfig  # noqa: E402
from bioseq.training.fit import fit  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "benchmarks"
RESULTS = ROOT / "bench" / "results"
FIXTURES = ROOT / "tests" / "fixtures" / "bundled"  # <name>.fa: a few records; <name>.predictions.csv: expected


@dataclass
class Spec:
    """One bundled model: its benchmark, options, and the card's words about the data."""

    benchmark: str  # bench.benchmarks name, or "secondary_structure"
    model: dict
    train: dict
    data: str
    source: str
    licence: str
    split: str
    published: dict = field(default_factory=dict)
    cpu_budget_min: float | None = None  # labeller only: training stops before an epoch that would not fit


TRAIN_CLASSIFY = {"epochs": 30, "patience": 6, "batch_size": 32, "lr": 3e-3}  # bench.benchmarks.TRAIN
MODELS: dict[str, Spec] = {
    # Chosen on validation only (AMP.eval + DECOY.eval, 708; seed 0 unless stated), against the model shipped before
    # (one-hot, conv 64/5, BiLSTM 64, last: 89.55% on validation): BLOSUM62 rows 90.54; BLOSUM62 + SWA 91.38
    # (seeds 1, 2: 91.38, 91.53); BLOSUM62 + attention read-out 90.54; BLOSUM62 + attention + SWA 91.38;
    # physicochemical + one-hot 91.67 (seeds 1, 2: 90.54, 91.38; 3-seed ensemble 91.53); physchem + SWA 91.24;
    # one-hot + SWA 89.55. Chosen: BLOSUM62 + SWA, an ensemble of seeds 0-2 (mean probabilities): 91.95
    "amp": Spec(
        "amp", {"conv_filters": 64, "conv_width": 5, "hidden": 64, "pooling": "last", "encoding": "blosum62"},
        {**TRAIN_CLASSIFY, "swa": True, "seeds": 3},
        data="AMP Scanner vr.2 dataset: 1,778 antimicrobial peptides (APD vr.3, active against Gram+ and/or Gram- "
             "bacteria) and 1,778 decoys (UniProt UniRef50 sequences of the same lengths), 11-183 aa",
        source="github.com/dan-veltri/amp-scanner-v2, original-dataset/ (commit 933052e); Veltri, Kamath & Shehu, "
               "Deep learning improves antimicrobial peptide recognition, Bioinformatics 34(16):2740 (2018)",
        licence="GPL-3.0 (the source repository's licence; the dataset is not licensed separately)",
        split="the published split: train AMP.tr + DECOY.tr (1,424), validation AMP.eval + DECOY.eval (708; early "
              "stopping), test AMP.te + DECOY.te (1,424; scored once)",
        published={"method": "AMP Scanner vr.2 (CNN + LSTM), same test split", "accuracy": 0.9101}),
    # Chosen on validation only (the seeded validation split, 451; seed 0 unless stated), against the model shipped
    # before (one-hot BiLSTM 64, max, no conv: 94.46% on validation; seeds 1, 2: 93.79, 94.01; their 3-seed
    # ensemble 94.46): learned embedding 16 93.57 (seeds 1, 2: 94.24, 93.35); 3-mer embedding 91.35; embedding + SWA
    # 93.57; embedding + attention read-out 91.80; embedding + label smoothing 0.1 92.90; 3-mer + SWA 91.35;
    # one-hot + SWA 94.46; one-hot + label smoothing 0.1 92.68. Chosen: the embedding, an ensemble of seeds 0-2
    # (mean probabilities): 94.90, 2 sequences of 451 above the old model (within validation noise)
    "splice": Spec(
        "splice", {"conv": False, "hidden": 64, "pooling": "max", "encoding": "embedding"},
        {**TRAIN_CLASSIFY, "epochs": 60, "patience": 8, "seeds": 3},
        data="UCI Molecular Biology (Splice-junction Gene Sequences): 60-nt primate DNA windows, classes EI "
             "(exon-intron, donor), IE (intron-exon, acceptor) and N (neither); de-duplicated to 3,004 sequences",
        source="UCI Machine Learning Repository, dataset 69 (Noordewier, Towell & Shavlik, NIPS 3, 1991); "
               "splice.data as in github.com/shobhit-jajoo/splice-junction-ml (commit 97113bf)",
        licence="CC BY 4.0 (as stated on the UCI page)",
        split="de-duplicated by sequence (a sequence with two labels dropped), then a seeded (0) stratified split: "
              "train 1,802, validation 451 (early stopping), test 751 (scored once); the UCI release has no "
              "fixed split",
        published={"method": "StatLog RBF network (a different, fixed 2,000 / 1,186 split)", "accuracy": 0.959}),
    # bench.secondary_structure's conv + 2-layer BiLSTM; its defaults ran 8 epochs (best 5, 20.7 CPU-min): fewer
    # epochs here so the run fits about 30 minutes of a shared machine
    "ss3": Spec(
        "secondary_structure", {"task": "label", "conv_filters": 128, "conv_width": 11, "hidden": 96, "layers": 2},
        {"epochs": 6, "patience": 2, "batch_size": 32, "lr": 3e-3, "grad_every": 50, "class_weights": False},
        data="protein chains with DSSP 3-state labels (H helix, E strand, C coil) per residue; one-hot sequence "
             "input only (no alignment profiles); only resolved residues (mask 1) are trained on and scored",
        source="train / valid: the NetSurfP-2.0 training set (Klausen et al., Proteins 87:520, 2019) as split by "
               "ProtTrans and FLIP (github.com/J-SNACKKB/FLIP, splits/secondary_structure); test: CB513 (Cuff & "
               "Barton, 1999) in the NetSurfP-2.0 / ProtTrans layout",
        licence="not stated in the benchmark's SOURCE.md (FLIP / NetSurfP-2.0 / CB513 distributions)",
        split="train 9,712 chains, validation 1,080 (early stopping), test CB513 scored once on mask-1 residues, "
              "without the 2 chains identical to a training or validation chain (509 chains)",
        published={"method": "TAPE one-hot (Rao et al. 2019), CB513", "accuracy": 0.69},
        cpu_budget_min=16),
}


def train_classifier(name: str, spec: Spec, root: Path, work: Path, echo) -> dict:
    """Train ``spec`` on its benchmark, score the test split once; the model is ``work/<name>.safetensors``."""
    from bench import benchmarks as bm

    task = bm.make_task(spec.benchmark, root, work)
    tc = TrainConfig(**{**spec.train, "device": "cpu"})
    t0, c0 = time.perf_counter(), time.process_time()
    r = fit(task.data, spec.model, tc, out=work / f"{name}.safetensors", log_dir=work / "run", overwrite=True)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    b = r.bundle
    m = bm.scores([b], load_dataset(task.tests["test"], alphabet=b.alphabet, classes=b.classes), task.positive)
    lo, hi = wilson(m["accuracy"] * m["n"], m["n"])
    test = {"accuracy": m["accuracy"], "wilson95": [lo, hi], "n": m["n"], "unit": "sequences",
            **{k: m[k] for k in ("balanced_accuracy", "mcc", "f1", "auroc", "auprc") if k in m}}
    echo(f"{name}: test accuracy {m['accuracy']:.4f} [{lo:.3f}, {hi:.3f}] (n {m['n']}); {wall / 60:.1f} min wall, "
         f"{cpu / 60:.1f} CPU-min")
    return {"test": test, "best_epoch": r.result.best_epoch, "train_wall_s": wall, "train_cpu_s": cpu,
            "notes": task.notes}


def train_labeller(name: str, spec: Spec, root: Path, work: Path, echo, threads: int,
                   resume_cpu_min: float | None = None, resume_wall_min: float = 0.0) -> dict:
    """Train the secondary-structure labeller (:mod:`bench.secondary_structure`); the model is
    ``work/ss3.safetensors``, renamed to ``work/<name>.safetensors``. ``resume_cpu_min``: continue a stopped
    run from its checkpoint in ``work``, that many CPU-minutes already used (at or over the budget: no further
    epoch, the best one so far kept)."""
    from bench import secondary_structure as ss

    r = ss.run(root / spec.benchmark, threads, echo=echo, cpu_budget_s=spec.cpu_budget_min * 60, work=work,
               model=spec.model, train=spec.train,
               resume_cpu_s=None if resume_cpu_min is None else resume_cpu_min * 60, resume_wall_s=resume_wall_min * 60)
    if name != "ss3":
        (work / "ss3.safetensors").replace(work / f"{name}.safetensors")
    t = r["test"]
    lo, hi = wilson(t["q3"] * t["scored_residues"], t["scored_residues"])
    test = {"accuracy": t["q3"], "wilson95": [lo, hi], "n": t["scored_residues"], "unit": "residues",
            "chains": t["chains"], "mcc": t["mcc"], "f1": t["macro_f1"], "sov": t["sov"],
            "accuracy_all_511_chains": r["test_all_511"]["q3"]}
    return {"test": test, "best_epoch": r["best_epoch"], "train_wall_s": r["train_wall_s"],
            "train_cpu_s": r["train_cpu_s"], "stopped_by_budget": r["stopped_by_budget"],
            "resumed_after_cpu_s": r["resumed_after_cpu_s"]}


def card(name: str, spec: Spec, result: dict, threads: int) -> dict:
    """The ``bundled`` entry of the model file's metadata: what the model card shows."""
    return {"data": spec.data, "source": spec.source, "licence": spec.licence, "split": spec.split,
            "test": result["test"], "published": spec.published, "command": f"python -m bench.bundle {name}",
            "options": {"model": spec.model, "train": spec.train, "cpu_budget_min": spec.cpu_budget_min},
            "best_epoch": result["best_epoch"], "resumed_after_cpu_s": result.get("resumed_after_cpu_s"),
            "train_wall_s": result["train_wall_s"],
            "train_cpu_s": result["train_cpu_s"], "threads": threads, "machine": result.get("machine", "")}


def _file_names(training: dict) -> dict:
    """The training summary with every data file named by its file name only (no path of this machine)."""
    def strip(v):
        if isinstance(v, dict):
            return {k: strip(x) for k, x in v.items()}
        if isinstance(v, list):
            return [strip(x) for x in v]
        return Path(v).name if isinstance(v, str) and os.sep in v and Path(v).is_absolute() else v
    return strip(training)


def package(name: str, spec: Spec, work: Path, result: dict, threads: int, out: Path) -> Path:
    """Write ``work/<name>.safetensors`` as bundled model ``name`` in ``out``, with its card."""
    b = load_model(work / f"{name}.safetensors")
    b.meta = {**b.meta, "name": name, "training": _file_names(b.meta.get("training") or {}),
              "bundled": card(name, spec, result, threads)}
    b.meta.pop("created", None)
    out.mkdir(parents=True, exist_ok=True)
    path = save_model(out / f"{name}.safetensors", b)
    return path


def write_fixture(name: str, path: Path, folder: Path | None = None) -> Path:
    """The expected predictions of bundled model ``name`` (file ``path``) on ``folder/<name>.fa``, which
    ``tests/test_bundled.py`` compares with what the shipped file predicts."""
    from bioseq.prediction.predict import predict_files

    folder = folder or FIXTURES
    out = folder / f"{name}.predictions.csv"
    out.unlink(missing_ok=True)
    predict_files(load_model(path), [str(folder / f"{name}.fa")], str(out))
    return out


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.bundle", description=__doc__.split("\n\n")[0])
    ap.add_argument("names", nargs="*", help=f"models to train ({', '.join(MODELS)}; default all)")
    ap.add_argument("--data", type=Path, default=DATA, help=f"shared benchmark folder ({DATA})")
    ap.add_argument("--threads", type=int, default=1, help="torch threads (1)")
    ap.add_argument("--work", type=Path, help="keep each model's training folder in WORK/<name> (default: temporary)")
    ap.add_argument("--package-only", action="store_true", help="re-package the trained model and result in --work")
    ap.add_argument("--out", type=Path, default=BUNDLED_DIR, help=f"where the model files go ({BUNDLED_DIR})")
    ap.add_argument("--resume-cpu", type=float, metavar="CPU_MINUTES", help="labeller: continue the stopped run in "
                    "--work from its checkpoint, this many CPU-minutes already used (at the budget: no more epochs)")
    ap.add_argument("--resume-wall", type=float, default=0.0, metavar="MINUTES", help="the stopped run's wall time")
    ap.add_argument("--epochs", type=int, help="at most this many epochs instead of the table's (with --resume-cpu: "
                    "the epochs the stopped run finished, to keep its best one with no further training)")
    a = ap.parse_args(argv)
    unknown = [n for n in a.names if n not in MODELS]
    if unknown:
        ap.error(f"unknown model {unknown[0]!r}; choose from {', '.join(MODELS)}")
    if a.package_only and not a.work:
        ap.error("--package-only needs --work")
    torch.set_num_threads(a.threads)

    def echo(text: str) -> None:
        print(text, flush=True)

    summary_path = RESULTS / "bundled.json"
    with tempfile.TemporaryDirectory(prefix="bioseq-bundle-") as tmp:
        os.environ.setdefault("BIOSEQ_HOME", str(Path(tmp) / "home"))  # nothing goes to ~/.bioseq
        for name in a.names or list(MODELS):
            spec = MODELS[name]
            if a.epochs:
                spec = replace(spec, train={**spec.train, "epochs": a.epochs})
            work = (a.work or Path(tmp)) / name
            work.mkdir(parents=True, exist_ok=True)
            saved = work / "result.json"
            if a.package_only:
                result = json.loads(saved.read_text())
            else:
                echo(f"{name}: training on {spec.benchmark}")
                result = (train_labeller(name, spec, a.data, work, echo, a.threads, a.resume_cpu, a.resume_wall)
                          if spec.cpu_budget_min
                          else train_classifier(name, spec, a.data, work, echo))
                result["machine"] = machine()
                saved.write_text(json.dumps(result, indent=1, default=float))
            path = package(name, spec, work, result, a.threads, a.out)
            echo(f"{name}: {path} ({path.stat().st_size / 1e6:.2f} MB); expected predictions "
                 f"{write_fixture(name, path)}")
            summary = json.loads(summary_path.read_text()) if summary_path.exists() else {}  # others may have run
            summary[name] = {**card(name, spec, result, a.threads), "spec": asdict(spec),
                             "size_bytes": path.stat().st_size}
            RESULTS.mkdir(parents=True, exist_ok=True)
            summary_path.write_text(json.dumps(dict(sorted(summary.items())), indent=1, default=float))
    return 0


if __name__ == "__main__":
    sys.exit(main())
