"""On a machine with a CUDA GPU: the GPU tests, then the training speed benchmark on the GPU.

Prints the device, runs ``pytest -m gpu`` (cuDNN's packed path against the CPU fast path, training under
each ``--amp`` choice, pinned copies, the bf16 prediction hook) and ``python -m bench.train_speed --device
cuda`` (bioseq against the plain loop in float32, and the ``--amp auto`` speed-up). Exit status: 0 when the
tests pass, 1 when they fail, 2 without a GPU.

    python bench/gpu_check.py [--quick] [--skip-bench]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="a small benchmark: 300 sequences, one repeat")
    ap.add_argument("--skip-bench", action="store_true", help="the tests only")
    args = ap.parse_args(argv)
    import torch

    if not torch.cuda.is_available():
        print("no CUDA GPU visible to PyTorch: nothing to check", file=sys.stderr)
        return 2
    props = torch.cuda.get_device_properties(0)
    print(f"device: {torch.cuda.get_device_name(0)} ({props.total_memory / 2**30:.0f} GiB), torch {torch.__version__},"
          f" CUDA {torch.version.cuda}, cuDNN {torch.backends.cudnn.version()}, "
          f"bf16 {'supported' if torch.cuda.is_bf16_supported() else 'not supported'}", flush=True)
    tests = subprocess.call([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-m", "gpu",
                             "tests/test_precision.py"], cwd=ROOT)
    if not args.skip_bench:
        sizes = ["--n", "300", "--repeats", "1"] if args.quick else ["--n", "1000", "--repeats", "3"]
        subprocess.call([sys.executable, "-m", "bench.train_speed", "--device", "cuda", *sizes], cwd=ROOT)
    return 0 if tests == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
