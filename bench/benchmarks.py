"""bioseq on published benchmarks, each following its ``SOURCE.md`` protocol, beside the published numbers.

* ``amp`` — AMP Scanner v2 (protein): train on ``AMP.tr`` + ``DECOY.tr``, tune on ``*.eval``, test on
  ``*.te``.
* ``ienhancer1`` / ``ienhancer2`` — iEnhancer-2L (DNA, 200 bp): layer 1 enhancer (strong + weak) vs
  non-enhancer, layer 2 strong vs weak, on the given train/test split. Validation is a stratified
  split of the training data only. The test set is reported in full (comparable with published
  numbers) and without the test sequences that also occur in training (the 100 strong enhancers).
  The training files are soft-masked (lower-case repeats); bioseq's encoding is case-insensitive,
  which is checked on the data before training.
* ``splice`` — UCI splice junctions (DNA, 60 bp, EI / IE / N): parsed from ``splice.data``,
  de-duplicated by sequence (a sequence with two labels is dropped), then a seeded stratified
  held-out test split; validation is split from the rest.

* ``secondary_structure`` — protein secondary structure, a label per residue (CB513): run by
  :mod:`bench.secondary_structure` (train → valid → CB513 once, mask = 1 residues only), with its own
  results files ``bench/results/secondary_structure.json`` and ``.md``.

Each classification benchmark tries a few single models (:data:`CANDIDATES`) and an ensemble of seeds of the
best of them (mean probabilities). Only training and validation data take part in training and in
choosing (by validation accuracy, then AUROC); each test set is scored once, for the chosen
candidate. Results go to ``bench/results/benchmarks.json`` and ``benchmarks.md``; ``--only``
updates those benchmarks and keeps the others. A rerun with the same thread count repeats the
numbers (the seed fixes initial weights, batches and splits); 1 and 2 threads round differently.

    python -m bench.benchmarks [--data DIR] [--only amp ...] [--quick] [--threads 2] [--ensemble 5]
    python -m bench.benchmarks --tune CPU_MINUTES [--seeds 0 1 2] [--only amp ...] [--threads 1]   # bench.tuned
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # see bench_core: spinning threads starve on shared CPUs

import argparse  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections.abc import Sequence  # noqa: E402
from dataclasses import asdict, dataclass, field  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.report import machine  # noqa: E402
from bioseq.data.alphabets import DNA  # noqa: E402
from bioseq.data.dataset import Dataset, load_dataset, split_dataset  # noqa: E402
from bioseq.data.encoding import encode  # noqa: E402
from bioseq.data.io import read_records  # noqa: E402
from bioseq.data.source import DataOptions  # noqa: E402
from bioseq.data.synthetic import write_fasta  # noqa: E402
from bioseq.metrics import classification_metrics, confusion  # noqa: E402
from bioseq.training.config import TrainConfig  # noqa: E402
from bioseq.training.fit import fit  # noqa: E402
from bioseq.training.loop import evaluate  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "benchmarks"
RESULTS = ROOT / "bench" / "results"
NAMES = ("amp", "ienhancer1", "ienhancer2", "splice")
LABELLING = ("secondary_structure",)  # per-position benchmarks, each in its own module
SPLIT_SEED = 0

# From each SOURCE.md: the LSTM-family number to meet, and the other published rows for context.
PUBLISHED = {
    "amp": {"target": {"method": "AMP Scanner vr.2 (CNN + LSTM)", "accuracy": 0.9101}, "others": []},
    "ienhancer1": {"target": {"method": "iEnhancer-EBLSTM (BiLSTM ensemble)", "accuracy": 0.772, "mcc": 0.534,
                              "auroc": 0.835},
                   "others": [{"method": "iEnhancer-2L (SVM)", "accuracy": 0.730, "mcc": 0.460, "auroc": 0.8062},
                              {"method": "iEnhancer-ECNN (CNN ensemble)", "accuracy": 0.769, "mcc": 0.537,
                               "auroc": 0.832},
                              {"method": "iEnhancer-DCSA", "accuracy": 0.825, "mcc": 0.651}]},
    "ienhancer2": {"target": {"method": "iEnhancer-EBLSTM (BiLSTM)", "accuracy": 0.658, "mcc": 0.324,
                              "auroc": 0.688},
                   "others": [{"method": "iEnhancer-2L (SVM)", "accuracy": 0.605, "mcc": 0.218, "auroc": 0.6678},
                              {"method": "iEnhancer-ECNN (CNN)", "accuracy": 0.678, "mcc": 0.368, "auroc": 0.748},
                              {"method": "attention-BiLSTM (2022)", "accuracy": 0.735, "mcc": 0.488}]},
    "splice": {"target": {"method": "one-hot (Bi)LSTM, SOURCE.md estimate (not published)", "accuracy": 0.94},
               "others": [{"method": "StatLog RBF network, fixed 2000/1186 split", "accuracy": 0.959},
                          {"method": "StatLog Backprop MLP", "accuracy": 0.912}]},
}


@dataclass
class Candidate:
    """A configuration to try: model options, training options and the seeds of an ensemble."""

    label: str
    model: dict
    train: dict = field(default_factory=dict)
    seeds: tuple[int, ...] = (0,)


# The published AMP Scanner v2 network, with one-hot input in place of its learned embedding.
AMP_SHAPE = {"conv_filters": 64, "conv_width": 16, "conv_pool": 5, "hidden": 100, "bidirectional": False,
             "pooling": "last"}
TRAIN = {"epochs": 30, "patience": 6, "batch_size": 32, "lr": 3e-3}
LONG = {**TRAIN, "epochs": 60, "patience": 8}
LOW_LR = {**TRAIN, "lr": 1e-3}
CANDIDATES = {  # single models; ``--ensemble`` adds an ensemble of the one best on validation
    "amp": [
        Candidate("published shape: conv 64/16, pool 5, LSTM 100", AMP_SHAPE, TRAIN),
        Candidate("bioseq protein default: conv 64/5, BiLSTM 64, last", {}, TRAIN),
        Candidate("conv 64/9, BiLSTM 64, max", {"conv_width": 9, "pooling": "max"}, TRAIN),
    ],
    "ienhancer1": [
        Candidate("bioseq DNA default: conv 64/9, pool 2, BiLSTM 64, max", {}, TRAIN),
        Candidate("conv 64/9, pool 4, BiLSTM 64, max, dropout 0.3", {"conv_pool": 4, "dropout": 0.3}, TRAIN),
        Candidate("conv 64/9, pool 4, BiLSTM 64, mean, dropout 0.3, lr 1e-3",
                  {"conv_pool": 4, "dropout": 0.3, "pooling": "mean"}, LOW_LR),
    ],
    "splice": [  # 60 bp around the site: position matters, so no pooling front end; longer training
        Candidate("bioseq DNA default: conv 64/9, pool 2, BiLSTM 64, max", {}, LONG),
        Candidate("BiLSTM 64, max, no conv", {"conv": False}, LONG),
        Candidate("BiLSTM 64, last, no conv", {"conv": False, "pooling": "last"}, LONG),
        Candidate("BiLSTM 64, attention, no conv", {"conv": False, "pooling": "attention"}, LONG),
        Candidate("conv 64/9, no pool, BiLSTM 64, last", {"conv_pool": 1, "pooling": "last"}, LONG),
    ],
}
CANDIDATES["ienhancer2"] = CANDIDATES["ienhancer1"]


@dataclass
class Task:
    """One benchmark ready to run: training data options, test sets and the positive class."""

    name: str
    title: str
    data: DataOptions
    tests: dict[str, list[str]]
    positive: str | None
    notes: dict = field(default_factory=dict)


def write_labelled(path: Path, records: Sequence[tuple[str, str, str]]) -> str:
    """Write ``(id, sequence, label)`` as FASTA with ``label=`` headers; the sequences are unchanged."""
    return str(write_fasta(path, list(records), width=10**6))


def amp_task(root: Path, work: Path) -> Task:
    d = root / "amp_scanner_v2"
    data = DataOptions([str(d / "AMP.tr.fa"), str(d / "DECOY.tr.fa")],
                       val=[str(d / "AMP.eval.fa"), str(d / "DECOY.eval.fa")])
    return Task("amp", "AMP Scanner v2, AMP vs decoy (protein)", data,
                {"test": [str(d / "AMP.te.fa"), str(d / "DECOY.te.fa")]}, "AMP")


def ienhancer_task(root: Path, work: Path, layer: int) -> Task:
    d = root / "ienhancer_2l"
    label = ({"strong": "enhancer", "weak": "enhancer", "non": "non-enhancer"} if layer == 1
             else {"strong": "strong", "weak": "weak"})

    def records(split: str) -> list[tuple[str, str, str]]:
        return [(f"{split}_{kind}_{r.number}", r.seq, label[kind]) for kind in label
                for r in read_records(d / f"{split}_{kind}_enhancers.txt")]

    train, test = records("train"), records("test")
    masked = [s for _, s, _ in train if s != s.upper()]
    same = all(np.array_equal(encode(s, DNA), encode(s.upper(), DNA)) for s in masked)
    if not same:
        raise AssertionError("bioseq's encoding is not case-insensitive on the soft-masked training sequences")
    ds = load_dataset([write_labelled(work / "train_all.fa", train)])
    fit_part, val_part = split_dataset(ds, 0.2, SPLIT_SEED)  # validation from the training data only
    seen = {s.upper() for _, s, _ in train}
    clean = [r for r in test if r[1].upper() not in seen]
    data = DataOptions([_write_ds(work / "train.fa", fit_part)], val=[_write_ds(work / "val.fa", val_part)])
    positive = "enhancer" if layer == 1 else "strong"
    title = ("iEnhancer-2L layer 1, enhancer vs non-enhancer (DNA)" if layer == 1
             else "iEnhancer-2L layer 2, strong vs weak enhancer (DNA)")
    return Task(f"ienhancer{layer}", title, data,
                {"test": [write_labelled(work / "test.fa", test)],
                 "test without training overlap": [write_labelled(work / "test_clean.fa", clean)]}, positive,
                {"soft_masked_training_sequences": len(masked), "case_insensitive_encoding_checked": same,
                 "test_records": len(test), "test_records_also_in_training": len(test) - len(clean)})


def _write_ds(path: Path, ds: Dataset) -> str:
    return write_labelled(path, [(i, s, ds.classes[y]) for i, s, y in zip(ds.ids, ds.seqs, ds.labels)])


def splice_task(root: Path, work: Path, test_fraction: float = 0.25) -> Task:
    rows = []
    for n, line in enumerate((root / "uci_splice" / "splice.data").read_text().splitlines(), 1):
        cls, name, seq = (c.strip() for c in line.split(","))
        rows.append((f"{n}_{name}", seq.upper(), cls))
    labels_of: dict[str, set[str]] = {}
    for _, s, c in rows:
        labels_of.setdefault(s, set()).add(c)
    kept, seen = [], set()
    for r in rows:  # first record of each sequence; sequences with two labels are dropped
        if len(labels_of[r[1]]) == 1 and r[1] not in seen:
            seen.add(r[1])
            kept.append(r)
    ds = load_dataset([write_labelled(work / "splice_dedup.fa", kept)])
    rest, test = split_dataset(ds, test_fraction, SPLIT_SEED)  # stratified held-out test
    fit_part, val_part = split_dataset(rest, 0.2, SPLIT_SEED + 1)
    data = DataOptions([_write_ds(work / "train.fa", fit_part)], val=[_write_ds(work / "val.fa", val_part)])
    return Task("splice", "UCI splice junctions, EI / IE / N (DNA)", data,
                {"test": [_write_ds(work / "test.fa", test)]}, None,
                {"rows": len(rows), "distinct_sequences": len(labels_of),
                 "dropped_conflicting": sum(len(v) > 1 for v in labels_of.values()), "kept": len(kept),
                 "split": {"train": len(fit_part), "val": len(val_part), "test": len(test),
                           "test_fraction": test_fraction, "seed": SPLIT_SEED}})


def make_task(name: str, root: Path, work: Path) -> Task:
    if name == "amp":
        return amp_task(root, work)
    if name in ("ienhancer1", "ienhancer2"):
        return ienhancer_task(root, work, int(name[-1]))
    if name == "splice":
        return splice_task(root, work)
    raise ValueError(f"unknown benchmark {name!r}; choose from {', '.join(NAMES)}")


# --- running ------------------------------------------------------------------------------------

def scores(bundles: list, ds: Dataset, positive: str | None) -> dict:
    """Metrics of the mean probabilities of ``bundles`` (one model, or an ensemble) on ``ds``."""
    probs = np.mean([evaluate(b.model, ds.encoded(), ds.labels)[1] for b in bundles], axis=0)
    m = classification_metrics(ds.labels, probs)
    m.pop("loss")
    pred = probs.argmax(1)
    m.update(n=len(ds), confusion=confusion(ds.labels, pred, len(ds.classes)), classes=list(ds.classes))
    if len(np.unique(ds.labels)) < 2:  # one class only (e.g. layer 2 without the overlap): MCC is undefined
        m["mcc"] = math.nan
    if positive is not None:
        pos = ds.classes.index(positive)
        is_pos = ds.labels == pos
        m["sensitivity"] = float((pred[is_pos] == pos).mean()) if is_pos.any() else math.nan
        m["specificity"] = float((pred[~is_pos] != pos).mean()) if (~is_pos).any() else math.nan
    return m


def run_candidate(task: Task, cand: Candidate, index: int, work: Path, epochs: int | None, echo,
                  trained: dict | None = None) -> dict:
    """Train every seed of ``cand`` with :func:`bioseq.training.fit.fit` (``trained`` holds seeds already done)."""
    trained = dict(trained or {})  # seed -> (bundle, wall s, CPU s, best epoch)
    new_wall = new_cpu = 0.0
    for seed in cand.seeds:
        tc = TrainConfig(**{**cand.train, "seed": seed, "device": "cpu", **({"epochs": epochs} if epochs else {})})
        if seed in trained:
            continue
        tag = f"{task.name}-c{index}-s{seed}"
        t0, c0 = time.perf_counter(), time.process_time()
        r = fit(task.data, cand.model, tc, out=work / f"{tag}.safetensors", log_dir=work / "runs" / tag)
        trained[seed] = (r.bundle, time.perf_counter() - t0, time.process_time() - c0, r.result.best_epoch)
        new_wall, new_cpu = new_wall + trained[seed][1], new_cpu + trained[seed][2]
    members = [trained[s] for s in cand.seeds]
    bundles = [m[0] for m in members]
    wall, cpu, best = sum(m[1] for m in members), sum(m[2] for m in members), [m[3] for m in members]
    b = bundles[0]
    val = load_dataset(task.data.val, alphabet=b.alphabet, classes=b.classes)
    out = {"label": cand.label, "seeds": list(cand.seeds), "model_config": b.model.cfg.to_dict(),
           "train_config": {**asdict(tc), "seed": list(cand.seeds)}, "best_epochs": best, "wall_s": wall,
           "cpu_s": cpu, "new_wall_s": new_wall, "new_cpu_s": new_cpu, "val": scores(bundles, val, task.positive),
           "bundles": bundles, "trained": trained}
    v = out["val"]
    echo(f"  {cand.label}: val acc {v['accuracy']:.4f} auroc {v['auroc']:.4f} mcc {v['mcc']:.4f} "
         f"(best epochs {best}; {wall:.0f}s wall, {cpu / 60:.1f} CPU-min)")
    return out


def run_task(task: Task, candidates: list[Candidate], work: Path, epochs: int | None, echo,
             ensemble: int = 1) -> dict:
    """Try the candidates (and an ensemble of the best), choose by validation accuracy, then AUROC.

    The test sets are scored once, for the chosen candidate only.
    """
    def key(t: dict) -> tuple:
        return t["val"]["accuracy"], t["val"]["auroc"]

    echo(f"{task.title}: {len(candidates)} candidate(s)" + (f" + an ensemble of {ensemble}" if ensemble > 1 else ""))
    tried = [run_candidate(task, c, i, work, epochs, echo) for i, c in enumerate(candidates)]
    if ensemble > 1:
        i = max(range(len(tried)), key=lambda j: key(tried[j]))
        c = candidates[i]
        tried.append(run_candidate(task, Candidate(f"ensemble of {ensemble}: {c.label}", c.model, c.train,
                                                   tuple(range(ensemble))), i, work, epochs, echo, tried[i]["trained"]))
    chosen = max(tried, key=key)
    b = chosen["bundles"][0]
    tests = {}
    for name, files in task.tests.items():
        ds = load_dataset(files, alphabet=b.alphabet, classes=b.classes)
        tests[name] = scores(chosen["bundles"], ds, task.positive)
        t = tests[name]
        echo(f"  -> {name} ({t['n']}): acc {t['accuracy']:.4f} auroc {t['auroc']:.4f} mcc {t['mcc']:.4f}")
    published = PUBLISHED[task.name]
    strip = [{k: v for k, v in t.items() if k not in ("bundles", "trained")} for t in tried]
    return {"name": task.name, "title": task.title, "notes": task.notes, "chosen": chosen["label"],
            "model_config": chosen["model_config"], "train_config": chosen["train_config"],
            "seeds": chosen["seeds"], "train_wall_s": chosen["wall_s"], "train_cpu_s": chosen["cpu_s"],
            "search_wall_s": sum(t["new_wall_s"] for t in tried), "search_cpu_s": sum(t["new_cpu_s"] for t in tried),
            "candidates": strip, "test": tests, "published": published,
            "accuracy_gap": tests["test"]["accuracy"] - published["target"]["accuracy"]}


def _pct(v) -> str:
    return "-" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{100 * v:.1f}%"


def _num(v) -> str:
    return "-" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.3f}"


def markdown(results: dict, header: str) -> str:
    """The results as a markdown report: one table, then the configurations and candidates."""
    lines = ["# bioseq on published benchmarks", "", header, "",
             "| benchmark | test set | n | accuracy | AUROC | MCC | training (wall / CPU) "
             "| published LSTM-family | accuracy gap |", "|---|---|---|---|---|---|---|---|---|"]
    for r in results.values():
        target = r["published"]["target"]
        for i, (name, t) in enumerate(r["test"].items()):
            lines.append(f"| {r['name'] if i == 0 else ''} | {name} | {t['n']} | {_pct(t['accuracy'])} "
                         f"| {_num(t['auroc'])} | {_num(t['mcc'])} "
                         + (f"| {r['train_wall_s'] / 60:.1f} / {r['train_cpu_s'] / 60:.1f} min "
                            f"| {target['method']}: {_pct(target['accuracy'])}"
                            + (f", AUROC {target['auroc']:.3f}" if "auroc" in target else "")
                            + (f", MCC {target['mcc']:.3f}" if "mcc" in target else "")
                            + f" | {100 * r['accuracy_gap']:+.1f} points |" if i == 0 else "| | | |"))
    for r in results.values():
        lines += ["", f"## {r['title']}", "", f"Chosen on validation: **{r['chosen']}** (seeds {r['seeds']}).",
                  f"Search: {r['search_wall_s'] / 60:.1f} min wall, {r['search_cpu_s'] / 60:.1f} CPU-min.", ""]
        if r["notes"]:
            lines += [f"Data notes: `{json.dumps(r['notes'])}`", ""]
        lines += ["| candidate | val accuracy | val AUROC | val MCC | wall |", "|---|---|---|---|---|"]
        lines += [f"| {c['label']} | {_pct(c['val']['accuracy'])} | {_num(c['val']['auroc'])} "
                  f"| {_num(c['val']['mcc'])} | {c['wall_s'] / 60:.1f} min |" for c in r["candidates"]]
        lines += ["", f"ModelConfig: `{json.dumps(r['model_config'])}`", "",
                  f"TrainConfig: `{json.dumps(r['train_config'])}`"]
        others = r["published"]["others"]
        if others:
            lines += ["", "Other published rows: " + "; ".join(
                f"{o['method']} {_pct(o['accuracy'])}" for o in others)]
    return "\n".join(lines) + "\n"


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python -m bench.benchmarks", description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help=f"benchmark folder ({DEFAULT_DATA})")
    ap.add_argument("--only", nargs="+", choices=NAMES + LABELLING, help="run only these benchmarks")
    ap.add_argument("--quick", action="store_true", help="2 epochs and the first candidate only: a smoke run")
    ap.add_argument("--threads", type=int, default=2, help="torch threads (2)")
    ap.add_argument("--ensemble", type=int, default=5, help="also try an ensemble of this many seeds of the "
                    "best single candidate; 1: none (5)")
    ap.add_argument("--out", type=Path, default=RESULTS, help=f"results folder ({RESULTS})")
    ap.add_argument("--tune", type=float, metavar="CPU_MINUTES", nargs="?", const=10.0, help="instead: `bioseq tune` "
                    "each classification benchmark for this many CPU-minutes per seed (10 when no number is given; "
                    "bench.tuned; results in tuned.json / tuned.md)")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="tuning seeds for --tune (0 1 2)")
    return ap


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    torch.set_num_threads(args.threads)
    header = machine()

    def echo(text: str) -> None:
        print(text, flush=True)

    echo(header)
    if args.tune:
        from bench import tuned

        tuned.run([n for n in NAMES if not args.only or n in args.only], args.data, args.tune, args.seeds, args.out,
                  echo)
        return 0
    for name in [n for n in args.only or NAMES + LABELLING if n in LABELLING]:
        from bench import secondary_structure

        found = secondary_structure.run(args.data / name, args.threads, 1 if args.quick else None, echo=echo)
        if not args.quick:
            secondary_structure.save(found, args.out)
    if args.only and all(n in LABELLING for n in args.only):
        return 0
    json_path = args.out / "benchmarks.json"
    results = json.loads(json_path.read_text()) if json_path.exists() and not args.quick else {}
    with tempfile.TemporaryDirectory(prefix="bioseq-benchmarks-") as tmp:
        os.environ.setdefault("BIOSEQ_HOME", str(Path(tmp) / "home"))  # nothing goes to ~/.bioseq
        for name in [n for n in args.only or NAMES if n in NAMES]:
            work = Path(tmp) / name
            work.mkdir()
            task = make_task(name, args.data, work)
            cands = CANDIDATES[name][:1] if args.quick else CANDIDATES[name]
            ensemble = min(args.ensemble, 2) if args.quick else args.ensemble
            found = run_task(task, cands, work, 2 if args.quick else None, echo, ensemble)
            results[name] = {**found, "machine": header}
    if args.quick:  # a smoke run never overwrites real results
        echo(markdown(results, header + " · quick run"))
        return 0
    args.out.mkdir(parents=True, exist_ok=True)
    echo(write_report(results, args.out))
    return 0


def write_report(results: dict, out: Path) -> str:
    """Write ``benchmarks.json`` and ``benchmarks.md`` from ``results`` (classification and labelling entries)."""
    from bench import secondary_structure

    ordered = {n: results[n] for n in NAMES + LABELLING if n in results}
    (out / "benchmarks.json").write_text(json.dumps(ordered, indent=1, default=float))
    machines = "\n".join(f"- {n}: {r['machine']}" for n, r in ordered.items())
    text = markdown({n: r for n, r in ordered.items() if n in NAMES},
                    "Runs (wall time depends on the machine's other load; CPU time counts every thread):\n\n"
                    + machines)
    if "secondary_structure" in ordered:
        text += "\n#" + secondary_structure.markdown(ordered["secondary_structure"])  # its title one level down
    (out / "benchmarks.md").write_text(text)
    return text


if __name__ == "__main__":
    sys.exit(main())
