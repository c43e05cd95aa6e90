"""Training speed of bioseq against the fastest plain PyTorch loop of the same architecture, and against
the machine's GEMM peak.

For each configuration (one or two directions x conv front end on or off x equal or mixed lengths) the
same data, the same length-grouped batches and the same optimiser (AdamW, PyTorch's fused kernel) are
trained twice: by :func:`bioseq.training.loop.train` with gradient norms recorded every step (and its
metrics, early stopping and best-weights bookkeeping), and by the plain loop below: an ``nn.LSTM`` and a
linear head, last-state read-out, clipping, ``loss.item()`` per batch, a validation pass per epoch, and
nothing else. The plain loop is the fastest correct one: equal lengths run one (bidirectional) ``nn.LSTM``
over the batch and read its final states; mixed lengths run the padded batch and read the forward
direction at each sequence's last valid step, the reverse direction on each sequence reversed within its
length (one row gather), read the same way. A conv front end is ``Conv1d`` + ReLU + max-pool, padding
masked to zero before pooling when lengths differ.

The GEMM peak is the FLOP/s of a large float32 matrix product on one thread. A training step's FLOPs
are counted for the matrix products only (gates: input and recurrent weights, forward and backward;
the conv as a matrix product), at the valid positions only: the share of the peak is the useful work.
Where low precision is available (``--amp auto`` on a GPU, ``--amp bf16`` on a CPU with native bfloat16
instructions) bioseq also trains under it, and its speed-up over float32 is shown (bioseq against itself).

On a GPU (``--device cuda``, timed by the wall clock after synchronising) bioseq runs cuDNN's packed
kernels and the plain loop the same padded model as on the CPU; both in float32, and bioseq once more
under ``--amp auto``.

    python -m bench.train_speed [--n 1000] [--epochs 2] [--repeats 5] [--hidden 64] [--device cuda]
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # before torch is imported; see bench_core

import argparse  # noqa: E402
import dataclasses  # noqa: E402
import itertools  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable, Sequence  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.report import Figure, at_least, info, machine, table  # noqa: E402
from bioseq.data.alphabets import DNA  # noqa: E402
from bioseq.data.encoding import length_batches  # noqa: E402
from bioseq.model.classifier import SequenceClassifier  # noqa: E402
from bioseq.model.config import ModelConfig  # noqa: E402
from bioseq.training.config import TrainConfig  # noqa: E402
from bioseq.training.loop import train  # noqa: E402
from bioseq.training.recorder import GradientRecorder  # noqa: E402

CLOCKS = {"cpu": time.process_time, "wall": time.perf_counter}
BASES = np.frombuffer(b"ACGT", dtype=np.uint8)
CONV = {"filters": 64, "width": 9, "pool": 2}  # bioseq's default DNA front end


@dataclass(frozen=True)
class Setup:
    """One configuration of the comparison."""

    bidirectional: bool
    conv: bool
    mixed: bool

    @property
    def name(self) -> str:
        return (f"{'bi' if self.bidirectional else 'uni'}, conv {'on' if self.conv else 'off'}, "
                f"{'mixed' if self.mixed else 'equal'} lengths")


SETUPS = [Setup(bi, conv, mixed) for bi, conv, mixed in itertools.product((False, True), (False, True),
                                                                           (False, True))]


def best_of(variants: dict[str, Callable[[], object]], repeats: int, clock: str = "cpu",
            times: dict[str, list[float]] | None = None) -> dict[str, float]:
    """Run each variant ``repeats`` times, interleaved; the best time (s) of each on ``clock`` (``wall``
    waits for queued GPU work before reading the clock). Every time is appended to ``times`` if given."""
    now = CLOCKS[clock]
    sync = torch.cuda.synchronize if clock == "wall" and torch.cuda.is_available() else (lambda: None)
    times = {} if times is None else times
    for _ in range(repeats):
        for name, run in variants.items():
            sync()
            t0 = now()
            run()
            sync()
            times.setdefault(name, []).append(now() - t0)
    return {name: min(times[name]) for name in variants}


def gemm_peak(n: int = 2048, repeats: int = 3, clock: str = "cpu", device: str = "cpu") -> float:
    """FLOP/s of an ``n x n`` float32 matrix product on ``device`` (this process's threads on a CPU; TF32
    off on a GPU), best of ``repeats``."""
    a, b = torch.randn(n, n, device=device), torch.randn(n, n, device=device)
    tf32 = torch.backends.cuda.matmul.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = False
    try:
        torch.mm(a, b)
        t = best_of({"mm": lambda: [torch.mm(a, b) for _ in range(3)]}, repeats, clock)["mm"] / 3
    finally:
        torch.backends.cuda.matmul.allow_tf32 = tf32
    return 2 * n**3 / t


def train_flops(length: float, setup: Setup, hidden: int, alphabet: int = 4) -> float:
    """Matrix-product FLOPs of one training sequence of ``length`` (forward + backward, valid positions).

    Per LSTM step and direction, forward ``2 * 4H * (F + H)``; backward the same for the weight gradients,
    ``2 * 4H * H`` for the gradient along h, and ``2 * 4H * F`` for the input's gradient when the input
    has one (after a conv). The conv: ``2 * K * width * filters`` per position forward, the same again for
    its weight gradient (the one-hot input needs none). Element-wise gate maths is not counted.
    """
    steps, features, flops = length, alphabet, 0.0
    if setup.conv:
        flops += 2 * (2 * alphabet * CONV["width"] * CONV["filters"]) * length
        steps, features = np.ceil(length / CONV["pool"]), CONV["filters"]
    g = 4 * hidden
    per_step = 2 * g * (features + hidden) * 2 + 2 * g * hidden + (2 * g * features if setup.conv else 0)
    return flops + per_step * steps * (2 if setup.bidirectional else 1)


# --- the plain loop ------------------------------------------------------------------------------

class PlainNet(nn.Module):
    """The plain model of a :class:`Setup`: (conv front end) -> ``nn.LSTM`` -> linear head on the final states."""

    def __init__(self, setup: Setup, hidden: int, alphabet: int = 4, n_classes: int = 2):
        super().__init__()
        self.setup = setup
        size = alphabet
        if setup.conv:
            self.conv = nn.Conv1d(alphabet, CONV["filters"], CONV["width"], padding="same")
            size = CONV["filters"]
        both = setup.bidirectional and not setup.mixed
        self.lstm = nn.LSTM(size, hidden, batch_first=True, bidirectional=both)
        self.reverse = nn.LSTM(size, hidden, batch_first=True) if setup.bidirectional and setup.mixed else None
        self.head = nn.Linear(hidden * (2 if setup.bidirectional else 1), n_classes)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        B, T = x.shape[:2]
        lengths = lengths.to(x.device)
        if self.setup.conv:
            y = torch.relu(self.conv(x.transpose(1, 2)))  # (B, F, T)
            if self.setup.mixed:  # ReLU output is >= 0, so zero padding never wins a max
                y = y * (torch.arange(T, device=x.device)[None, None, :] < lengths[:, None, None])
            x = nn.functional.max_pool1d(y, CONV["pool"], ceil_mode=True).transpose(1, 2)
            lengths, T = (lengths + CONV["pool"] - 1) // CONV["pool"], x.shape[1]
        if not self.setup.mixed:
            _, (h, _) = self.lstm(x)  # (directions, B, H)
            return self.head(torch.cat(list(h), dim=1))
        rows = torch.arange(B, device=x.device)
        out = [self.lstm(x)[0][rows, lengths - 1]]
        if self.reverse is not None:
            t = torch.arange(T, device=x.device)[None, :]
            flip = torch.where(t < lengths[:, None], lengths[:, None] - 1 - t, t) + T * rows[:, None]
            xr = x.reshape(B * T, -1)[flip.reshape(-1)].view(B, T, -1)
            out.append(self.reverse(xr)[0][rows, lengths - 1])
        return self.head(torch.cat(out, dim=1))


def plain_train(model: nn.Module, xs: Sequence[torch.Tensor], labels: np.ndarray, val_xs: Sequence[torch.Tensor],
                val_labels: np.ndarray, cfg: TrainConfig) -> None:
    """The plain loop: bioseq's batches, pad, AdamW (fused), clip, ``loss.item()``, a validation pass per epoch.
    On a GPU (``cfg.device``) batches are copied from pinned memory without blocking."""
    from torch.nn.utils.rnn import pad_sequence

    device = torch.device(cfg.device)

    def pad(arrays: list[torch.Tensor]) -> torch.Tensor:
        x = pad_sequence(arrays, batch_first=True)
        return x.pin_memory().to(device, non_blocking=True) if device.type == "cuda" else x

    torch.manual_seed(cfg.seed)
    model.to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay, fused=True)
    loss_fn = nn.CrossEntropyLoss()
    lengths, val_lengths = np.array([len(x) for x in xs]), np.array([len(x) for x in val_xs])
    y, val_y = torch.as_tensor(labels, device=device), torch.as_tensor(val_labels, device=device)
    for epoch in range(1, cfg.epochs + 1):
        model.train()
        rng = np.random.default_rng([cfg.seed, epoch])
        for idx in length_batches(lengths, cfg.batch_size, shuffle=True, rng=rng):
            logits = model(pad([xs[i] for i in idx]), torch.as_tensor(lengths[idx]))
            loss = loss_fn(logits, y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), cfg.clip)
            opt.step()
            loss.item()
        model.eval()
        with torch.no_grad():
            for idx in length_batches(val_lengths, 256):
                loss_fn(model(pad([val_xs[i] for i in idx]), torch.as_tensor(val_lengths[idx])), val_y[idx]).item()


# --- the comparison ------------------------------------------------------------------------------

def dna_arrays(n: int, lengths: tuple[int, int], seed: int) -> tuple[list[np.ndarray], np.ndarray]:
    """``n`` one-hot DNA arrays ``(length, 4)``, lengths uniform in ``lengths``, balanced labels."""
    rng = np.random.default_rng(seed)
    arrays = [DNA.table()[BASES[rng.integers(0, 4, int(m))]] for m in rng.integers(lengths[0], lengths[1] + 1, n)]
    return arrays, (np.arange(n) % 2).astype(np.int64)


def model_step_ratio(setup: Setup, mcfg: ModelConfig, hidden: int, arrays: list[np.ndarray], repeats: int,
                     clock: str, device: str) -> float:
    """The plain model's forward + backward time over bioseq's, on one batch of 32 (the models alone)."""
    from bioseq.data.encoding import pad_batch

    x, lengths = pad_batch(arrays[:32])
    x = x.to(device)
    models = {"bioseq": SequenceClassifier(mcfg).to(device).train(), "plain": PlainNet(setup, hidden).to(device)}

    def step(model: nn.Module) -> Callable[[], None]:
        return lambda: [model(x, lengths).sum().backward() for _ in range(10)]

    steps = {k: step(m) for k, m in models.items()}
    for run in steps.values():
        run()
    t = best_of(steps, repeats, clock)
    return t["plain"] / t["bioseq"]


def low_precision(device: str) -> str | None:
    """The ``--amp`` choice whose speed-up is worth showing: ``auto`` on a GPU, ``bf16`` on a CPU with
    native bfloat16 instructions (where ``auto`` stays float32), else none."""
    if torch.device(device).type == "cuda":
        return "auto"
    return "bf16" if torch.ops.mkldnn._is_mkldnn_bf16_supported() else None


def compare(setup: Setup, n: int = 1000, epochs: int = 2, repeats: int = 5, hidden: int = 64,
            clock: str = "cpu", peak: float | None = None, device: str = "cpu") -> dict:
    """Best times of bioseq and the plain loop for ``setup``: seq/s, the ratio, the GEMM-peak share, the
    recorder's share of bioseq's time and the ratio of the models alone. Also bioseq under the
    :func:`low_precision` choice, where there is one (the other runs are float32)."""
    span = (50, 150) if setup.mixed else (100, 100)
    arrays, labels = dna_arrays(n, span, seed=0)
    val_arrays, val_labels = dna_arrays(max(n // 10, 2), span, seed=1)
    xs, val_xs = [torch.from_numpy(a) for a in arrays], [torch.from_numpy(a) for a in val_arrays]
    mcfg = ModelConfig(alphabet_size=4, n_classes=2, hidden=hidden, bidirectional=setup.bidirectional,
                       conv=setup.conv, conv_filters=CONV["filters"], conv_width=CONV["width"],
                       conv_pool=CONV["pool"], pooling="last", dropout=0.0)
    tcfg = TrainConfig(epochs=epochs, batch_size=32, lr=3e-3, weight_decay=1e-2, clip=1.0, class_weights=False,
                       patience=epochs + 1, device=device, seed=0, grad_every=1, amp="off")
    recorder = [0.0, 0.0]  # time recording norms and clipping (record_and_clip), total time of the bioseq runs

    def bioseq(amp: str = "off") -> Callable[[], None]:
        def run() -> None:
            torch.manual_seed(0)
            original, now = GradientRecorder.record_and_clip, CLOCKS[clock]

            def timed(self, *a, **k):
                t = now()
                original(self, *a, **k)
                recorder[0] += now() - t

            GradientRecorder.record_and_clip = timed
            t0 = now()
            try:
                train(SequenceClassifier(mcfg), arrays, labels, val_arrays, val_labels,
                      dataclasses.replace(tcfg, amp=amp))
            finally:
                GradientRecorder.record_and_clip = original
                recorder[1] += now() - t0
        return run

    def plain() -> None:
        torch.manual_seed(0)
        plain_train(PlainNet(setup, hidden), xs, labels, val_xs, val_labels, tcfg)

    plain()  # warm-up: kernel selection, page faults
    variants = {"bioseq": bioseq(), "plain": plain}
    low = low_precision(device)
    if low:
        variants["amp"] = bioseq(low)
    times: dict[str, list[float]] = {}
    t = best_of(variants, repeats, clock, times)
    seqs = n * epochs
    flops = train_flops(float(np.mean([len(a) for a in arrays])), setup, hidden) * seqs
    return {"setup": setup, "ratio": t["plain"] / t["bioseq"], "bioseq": seqs / t["bioseq"],
            "plain": seqs / t["plain"], "share": flops / t["bioseq"] / peak if peak else float("nan"),
            "plain_share": flops / t["plain"] / peak if peak else float("nan"),
            "recorder": recorder[0] / recorder[1] if recorder[1] else float("nan"),
            "amp": t["bioseq"] / t["amp"] if "amp" in t else None,
            "spread": float(np.median(times["plain"]) / t["plain"] - 1),
            "model": model_step_ratio(setup, mcfg, hidden, arrays, repeats, clock, device)}


def shortfall(r: dict, target: float) -> str:
    """Why a configuration falls short: by how much, the models alone, the recorder's part."""
    if r["ratio"] >= target:
        return ""
    return (f"short by {target - r['ratio']:.3f}: the models alone (one batch, forward + backward) run at "
            f"{r['model']:.3f}x; recording the norms and clipping take {100 * r['recorder']:.1f}% of bioseq's "
            f"time; the plain loop's own median is {100 * r['spread']:.1f}% above its best (the machine's noise)")


def figures(n: int = 1000, epochs: int = 2, repeats: int = 5, hidden: int = 64, clock: str = "cpu",
            setups: Sequence[Setup] = SETUPS, target: float = 0.95, device: str = "cpu",
            gemm_n: int = 2048) -> list[Figure]:
    """One ratio row per configuration (target >= 0.95), the GEMM peak and the shares of it; on a GPU,
    the speed-up of ``--amp auto`` per configuration."""
    peak = gemm_peak(gemm_n, clock=clock, device=device)
    results = [compare(s, n, epochs, repeats, hidden, clock, peak, device) for s in setups]
    figs = [at_least(f"train speed bioseq / plain loop, {r['setup'].name}", r["ratio"], target,
                     note=f"{r['bioseq']:,.0f} vs {r['plain']:,.0f} seq/s, best of {repeats}; " + shortfall(r, target))
            for r in results]
    where = f"{torch.get_num_threads()} thread(s)" if device == "cpu" else torch.cuda.get_device_name(device)
    figs.append(info(f"GEMM peak, float32 {gemm_n} x {gemm_n} matmul", peak / 1e9, " GFLOP/s", note=where))
    figs += [info(f"share of GEMM peak, bioseq training, {r['setup'].name}", 100 * r["share"], "%",
                  note=f"plain loop {100 * r['plain_share']:.1f}%; gate and conv matrix products at valid positions")
             for r in results]
    low = low_precision(device)
    figs += [info(f"--amp {low} speed-up over float32, {r['setup'].name}", r["amp"], "x",
                  note=f"{where}; bioseq against itself" + ("; opt-in on a CPU, auto stays float32" if low == "bf16"
                                                             else ""))
             for r in results if r["amp"] is not None]
    return figs


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=1000, help="training sequences per run (1000)")
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=5, help="interleaved runs per variant; best kept (5)")
    ap.add_argument("--hidden", type=int, default=64)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--clock", choices=sorted(CLOCKS), default=None, help="cpu (default) or wall (default on cuda)")
    ap.add_argument("--device", default="cpu", help="cpu, or cuda for the GPU path (cuDNN, wall clock)")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    clock = args.clock or ("wall" if args.device.startswith("cuda") else "cpu")
    print(machine())
    print(table(figures(args.n, args.epochs, args.repeats, args.hidden, clock, device=args.device)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
