"""Dashboard speed figures, measured in a real browser: prints them, asserts nothing.

    .venv/bin/python bench/bench_dashboard.py [--sequences 10000] [--length 200]

Targets (issue 4): first render <= 2 s after the server is up; each page <= 1 s without work;
10,000 uploaded sequences of 200 bp predicted in <= 10 s on 2 cores.

What it does, in a fresh temporary workspace:

1. saves a DNA model with the default architecture (random weights: speed does not depend on them),
   naming the benchmark FASTA as its training data (the Gates page reads its sequences from there);
2. starts ``streamlit run app.py`` and waits for ``/_stcore/health``;
3. opens the home page in Chromium: time to the first elements (title, quick start) and to the
   workspace status (PyTorch loaded);
4. loads the DNA example and opens every page through the sidebar, twice: the first visit may
   compute (gates, saliency, gradient flow are then cached), the second is the page alone;
5. uploads N random sequences on Predict and times it until the download button appears, and
   times the same prediction in-process (``bioseq.app.predictions.predict_frame``).

It also prints the load average, since other processes on a shared machine change every figure.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # as the dashboard does (see dashboard/__init__.py)

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
PAGES = ["Data", "Train", "Gradient flow", "Gates and saliency", "Predict", "Models"]
TITLES = {"Gates and saliency": "Gates & saliency"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def prepare(home: Path, n: int, length: int) -> Path:
    """A default DNA model with a finished run, and a FASTA of ``n`` sequences."""
    os.environ["BIOSEQ_HOME"] = str(home)
    from bioseq.data.alphabets import DNA
    from bioseq.data.synthetic import motif_dna, write_fasta
    from bioseq.model.classifier import SequenceClassifier
    from bioseq.model.store import ModelBundle, model_path, save_model
    from bioseq.training.fit import default_model_config

    fasta = write_fasta(home / "bench.fa", motif_dna(n, length=length, seed=7))
    cfg = default_model_config("dna", DNA.size, 2)
    training = {"files": [{"path": str(fasta), "sha256": "", "role": "train"}]}  # for the Gates page
    save_model(model_path("bench"), ModelBundle(SequenceClassifier(cfg).eval(), DNA, ["background", "motif"],
                                                meta={"name": "bench", "training": training}))
    return fasta


def start_server(home: Path) -> tuple[subprocess.Popen, str, float]:
    port = free_port()
    env = {**os.environ, "BIOSEQ_HOME": str(home)}
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
                             "--server.port", str(port)], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.STDOUT)
    url = f"http://localhost:{port}"
    t0 = time.perf_counter()
    while True:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                if r.read() == b"ok":
                    return proc, url, time.perf_counter() - t0
        except OSError:
            time.sleep(0.1)
        if proc.poll() is not None or time.perf_counter() - t0 > 120:
            raise SystemExit("the dashboard did not start")


IDLE = "() => document.querySelector('[data-testid=stApp]')?.getAttribute('data-test-script-state') === 'notRunning'"


def settled(page) -> None:
    """Wait until the script run has finished (Streamlit marks its root element)."""
    page.wait_for_function(IDLE, timeout=600_000)


def visit(page, label: str) -> float:
    t = time.perf_counter()
    page.locator('[data-testid="stSidebarNav"] a', has_text=label).first.click()
    page.get_by_role("heading", name=TITLES.get(label, label), exact=True).first.wait_for(timeout=600_000)
    settled(page)
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sequences", type=int, default=10_000)
    ap.add_argument("--length", type=int, default=200)
    a = ap.parse_args()
    from playwright.sync_api import sync_playwright

    rows: list[tuple[str, float, str]] = []
    with tempfile.TemporaryDirectory(prefix="bioseq-bench-") as tmp:
        home = Path(tmp) / "home"
        fasta = prepare(home, a.sequences, a.length)
        proc, url, boot = start_server(home)
        rows.append(("server up (health check answers)", boot, ""))
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
                page = browser.new_page(viewport={"width": 1400, "height": 1000})
                t = time.perf_counter()
                page.goto(url)
                page.get_by_text("Quick start").wait_for(timeout=120_000)
                rows.append(("first render: home title and quick start", time.perf_counter() - t, "<= 2 s"))
                page.get_by_text("Saved models").wait_for(timeout=120_000)
                settled(page)
                rows.append(("home complete: workspace status (PyTorch loaded)", time.perf_counter() - t, ""))
                page.get_by_role("button", name="Load the DNA example").click()
                page.get_by_text("Dataset: DNA motif").wait_for(timeout=120_000)
                settled(page)
                for round_ in ("first visit", "again"):
                    for label in PAGES:
                        target = "<= 1 s" if round_ == "again" else ""
                        rows.append((f"page {label} ({round_})", visit(page, label), target))
                visit(page, "Predict")
                t = time.perf_counter()
                page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(fasta))
                page.get_by_role("button", name="Download predictions (CSV)").wait_for(timeout=600_000)
                settled(page)
                rows.append((f"Predict page: upload + predict {a.sequences:,} x {a.length} bp, table shown",
                             time.perf_counter() - t, "<= 10 s"))
                browser.close()
        finally:
            proc.terminate()
            proc.wait(20)
        from bioseq.app import predictions as batch
        from bioseq.data.io import read_upload
        from bioseq.model.store import load_model, model_path

        bundle = load_model(model_path("bench"))
        t = time.perf_counter()
        records = read_upload(fasta.read_bytes(), fasta.name)
        frame = batch.predict_frame(bundle, records)
        rows.append((f"library: read + predict {len(frame):,} x {a.length} bp (predict_frame)",
                     time.perf_counter() - t, "<= 10 s"))
    import torch

    print(f"bioseq dashboard benchmark; {os.cpu_count()} CPUs, torch threads {torch.get_num_threads()}, "
          f"load average {os.getloadavg()[0]:.1f} (1 min)")
    width = max(len(r[0]) for r in rows)
    for name, secs, target in rows:
        print(f"  {name:<{width}}  {secs:7.2f} s  {target}")


if __name__ == "__main__":
    main()
