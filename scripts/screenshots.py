"""Retake every screenshot of the docs (docs/screenshots/*.png) from the current dashboard.

    python scripts/screenshots.py                 # all of them, into docs/screenshots/
    python scripts/screenshots.py --only train predict --out /tmp/shots

Unattended, offline and in a few minutes: it trains small models on the bundled examples in a temporary
``$BIOSEQ_HOME`` (a DNA classifier, a per-position labeller and a short tuning study, a few epochs each), starts
``streamlit run app.py`` on a free local port with that workspace, and drives Debian's Chromium
(``/usr/bin/chromium``, headless, through Playwright; every request off the machine is refused) through the pages,
taking each page whole. The temporary workspace is removed at the end (``--keep`` keeps it). It prints each file
it wrote. Needs the dev requirements (playwright) and Chromium: ``bash scripts/test.sh`` installs both.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlencode, urlparse

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
               "--disable-sync", "--no-first-run"]
IDLE = "() => document.querySelector('[data-testid=stApp]')?.getAttribute('data-test-script-state') === 'notRunning'"
DNA, LABELLER, STUDY = "dna-demo", "tm-demo", "kdel-study"
DNA_DATA, LABELLER_DATA = "example:dna_motif", "example:protein_tm"


def say(text: str) -> None:
    print(f"screenshots: {text}", flush=True)


# ---------------------------------------------------------------------------------------------- the workspace


def needs(shot: str) -> set[str]:
    """The models (or study) a screenshot needs in the workspace."""
    if shot in ("home", "data", "labeller_data"):
        return set()
    return {STUDY} if shot == "tune" else {LABELLER} if shot.startswith("labeller_") else {DNA}


def train_models(home: Path, wanted: set[str]) -> None:
    """A DNA classifier, a labeller and a nine-trial study (those ``wanted``): small and quick, but trained enough
    to look real."""
    # idle OpenMP threads sleep (as the CLI and the dashboard ask): spinning ones are slower on a busy machine
    env = {**os.environ, "BIOSEQ_HOME": str(home), "PYTHONPATH": str(ROOT), "OMP_WAIT_POLICY": "PASSIVE"}
    python = [sys.executable, "-m", "bioseq", "train", "--quiet", "--epochs", "3"]
    jobs = [
        (LABELLER, [*python, "data/protein_tm.train.fa", "--name", LABELLER, "--hidden", "32"]),
        (DNA, [*python, "data/dna_motif.train.fa", "--name", DNA]),  # last: the Train page opens on it
    ]
    small = home.parent / "kdel-small.fa"
    tune_code = (
        "import itertools, sys\n"
        "from bioseq.data.io import read_records\n"
        "from bioseq.data.source import DataOptions\n"
        "from bioseq.training.config import TrainConfig\n"
        "from bioseq.training.tune import tune\n"
        f"records = itertools.islice(read_records({str(ROOT / 'data' / 'protein_kdel.train.fa')!r}), 400)\n"
        f"open({str(small)!r}, 'w').write(''.join(f'>{{r.description}}\\n{{r.seq}}\\n' for r in records))\n"
        # one epoch a trial, and enough trials that five or more finish (the search may stop some after one epoch):
        # the panel shows the importances from five finished trials on
        f"tune(DataOptions([{str(small)!r}]), {STUDY!r}, '5m', max_trials=9, seed=0,\n"
        "     train_cfg=TrainConfig(epochs=1, batch_size=32))\n")
    jobs.insert(1, (STUDY, [sys.executable, "-c", tune_code]))
    for name, argv in [(n, argv) for n, argv in jobs if n in wanted]:
        start = time.time()
        r = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True)
        if r.returncode != 0:
            raise SystemExit(f"screenshots: training {name} failed:\n{(r.stdout + r.stderr)[-3000:]}")
        say(f"trained {name} in {time.time() - start:.0f} s")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(home: Path, log: Path) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    env = {**os.environ, "BIOSEQ_HOME": str(home), "PYTHONPATH": str(ROOT)}
    out = open(log, "w")
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
                             "--server.port", str(port), "--browser.gatherUsageStats", "false"],
                            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://localhost:{port}"
    deadline = time.time() + 90
    while time.time() < deadline and proc.poll() is None:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                if r.read() == b"ok":
                    return proc, url
        except OSError:
            time.sleep(0.3)
    proc.kill()
    raise SystemExit(f"screenshots: the dashboard did not start; its log: {log}")


# ---------------------------------------------------------------------------------------------- the browser


def is_local(url: str) -> bool:
    u = urlparse(url)
    return u.scheme in {"data", "blob", "about"} or u.hostname in {"localhost", "127.0.0.1", "::1", "[::1]"}


class Shooter:
    """One browser page on the dashboard; :meth:`open` a page by its address, :meth:`shoot` it whole."""

    def __init__(self, page, url: str, out: Path):
        self.page, self.url, self.out = page, url, out
        self.written: list[Path] = []

    def settle(self) -> None:
        self.page.wait_for_timeout(300)
        self.page.wait_for_function(IDLE, timeout=180_000)

    def open(self, name: str, **query: str) -> None:
        self.page.goto(f"{self.url}/{name}" + (f"?{urlencode(query)}" if query else ""))
        self.settle()

    def pick(self, label: str, value: str) -> None:
        """Choose ``value`` in the selectbox labelled ``label`` (type it, then Enter)."""
        box = self.page.locator('[data-testid="stSelectbox"]').filter(has=self.page.get_by_text(label, exact=True))
        if box.count() == 0:  # only one to choose from: no selectbox
            return
        box.first.locator("input").click()
        self.page.keyboard.type(value)
        self.page.wait_for_timeout(400)
        self.page.keyboard.press("Enter")
        self.page.evaluate("() => document.activeElement && document.activeElement.blur()")  # no focus ring
        self.settle()

    def charts(self, at_least: int) -> None:
        self.page.locator('[data-testid="stVegaLiteChart"]').nth(at_least - 1).wait_for(timeout=180_000)

    def shoot(self, name: str) -> None:
        errors = self.page.locator('[data-testid="stException"]')
        if errors.count():
            raise SystemExit(f"screenshots: {name}: the page shows an exception: {errors.first.inner_text()[:500]}")
        height = self.page.evaluate("() => Math.max(...[...document.querySelectorAll('[data-testid=stMain], "
                                    "[data-testid=stAppViewContainer]')].map(e => e.scrollHeight), 1000)")
        size = self.page.viewport_size
        self.page.set_viewport_size({"width": size["width"], "height": min(int(height), 6000)})
        self.page.wait_for_timeout(1000)  # let the charts re-lay out
        path = self.out / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        self.page.set_viewport_size(size)
        self.written.append(path)
        say(f"wrote {path}")


def home(s: Shooter) -> None:
    s.open("")
    s.page.get_by_role("button", name="Load the DNA example").click()
    s.page.get_by_text("Dataset: DNA motif").wait_for()
    s.settle()
    s.shoot("home")


def data(s: Shooter) -> None:
    s.open("data", data=DNA_DATA)
    s.page.get_by_text("Records per class").first.wait_for()
    s.charts(4)
    s.shoot("data")


def train(s: Shooter) -> None:
    s.open("train", data=DNA_DATA, model=DNA)
    s.pick("Run", DNA)
    s.page.get_by_text("saved as model").first.wait_for()
    s.charts(1)
    s.shoot("train")


def gradient_flow(s: Shooter) -> None:
    s.open("gradient_flow", data=DNA_DATA, model=DNA)
    s.page.get_by_text("Effective memory").first.wait_for()
    s.charts(3)
    s.shoot("gradient_flow")


def gates(s: Shooter) -> None:
    s.open("gates_saliency", data=DNA_DATA, model=DNA)
    s.page.get_by_text("Explain the score of").wait_for()
    s.charts(1)
    s.shoot("gates_and_saliency")


def predict(s: Shooter) -> None:
    s.open("predict", data=DNA_DATA, model=DNA)
    s.page.locator('[data-testid="stFileUploaderDropzoneInput"][multiple]').set_input_files(
        str(ROOT / "data" / "dna_motif.test.fa"))
    s.page.get_by_role("button", name="Download predictions (CSV)").wait_for(timeout=180_000)
    s.page.get_by_text("labelled sequences").first.wait_for()
    s.settle()
    s.charts(1)
    s.shoot("predict")
    s.page.get_by_role("tab", name="Predictions").click()
    s.page.get_by_text("Click a row to see which letters drove its prediction").wait_for()
    s.settle()
    grid = s.page.locator('[data-testid="stDataFrame"]').first.bounding_box()
    s.page.mouse.click(grid["x"] + 18, grid["y"] + 35 + 35 * 2 + 17)  # the third row's selection box
    s.page.get_by_text("Saliency of seq3").wait_for()
    s.settle()
    s.shoot("predict_table")


def models(s: Shooter) -> None:
    s.open("models", data=DNA_DATA, model=DNA)
    s.page.get_by_text("Model card").wait_for()
    s.charts(1)
    s.shoot("models")


def tune(s: Shooter) -> None:
    s.open("train", data=DNA_DATA)
    s.page.get_by_text("Search the options").wait_for()
    s.pick("Study", STUDY)
    s.page.get_by_text("Chosen options").wait_for(timeout=120_000)
    s.charts(2)
    s.shoot("tune")


def labeller_data(s: Shooter) -> None:
    s.open("data", data=LABELLER_DATA)
    s.page.get_by_text("Positions per label:").wait_for()
    s.charts(4)
    s.shoot("labeller_data")


def labeller_train(s: Shooter) -> None:
    s.open("train", data=LABELLER_DATA, model=LABELLER)
    s.pick("Run", LABELLER)
    s.page.get_by_text("SOV").first.wait_for()
    s.charts(1)
    s.shoot("labeller_train")


def labeller_gradient_flow(s: Shooter) -> None:
    s.open("gradient_flow", data=LABELLER_DATA, model=LABELLER)
    s.page.get_by_text("Memory span per position").wait_for()
    s.charts(4)
    s.shoot("labeller_gradient_flow")


def labeller_gates(s: Shooter) -> None:
    s.open("gates_saliency", data=LABELLER_DATA, model=LABELLER)
    s.page.get_by_text("Accuracy on this record").wait_for()
    box = s.page.locator('input[aria-label="Position t"]')
    box.fill("20")  # inside the first segment of the first record
    box.press("Enter")
    s.page.evaluate("() => document.activeElement && document.activeElement.blur()")
    s.settle()
    s.page.get_by_text("True label at 20").wait_for()
    s.charts(1)
    s.shoot("labeller_gates")


def labeller_predict(s: Shooter) -> None:
    s.open("predict", data=LABELLER_DATA, model=LABELLER)
    s.page.locator('[data-testid="stFileUploaderDropzoneInput"]').first.set_input_files(
        str(ROOT / "data" / "protein_tm.test.fa"))
    s.page.get_by_role("button", name="Download predictions (CSV)").wait_for(timeout=180_000)
    s.page.get_by_text("Evaluation on the true labels").wait_for()
    s.settle()
    s.charts(1)
    s.shoot("labeller_predict")


def labeller_models(s: Shooter) -> None:
    s.open("models", data=LABELLER_DATA, model=LABELLER)
    s.page.get_by_text("label (one label per position)").first.wait_for(state="attached")
    s.charts(1)
    s.shoot("labeller_models")


# name (for --only): what takes it, and the files (docs/screenshots/<file>.png) it writes
SHOTS: dict[str, tuple[Callable[[Shooter], None], tuple[str, ...]]] = {
    "home": (home, ("home",)), "data": (data, ("data",)), "train": (train, ("train",)),
    "gradient_flow": (gradient_flow, ("gradient_flow",)), "gates_and_saliency": (gates, ("gates_and_saliency",)),
    "predict": (predict, ("predict", "predict_table")), "models": (models, ("models",)), "tune": (tune, ("tune",)),
    "labeller_data": (labeller_data, ("labeller_data",)), "labeller_train": (labeller_train, ("labeller_train",)),
    "labeller_gradient_flow": (labeller_gradient_flow, ("labeller_gradient_flow",)),
    "labeller_gates": (labeller_gates, ("labeller_gates",)),
    "labeller_predict": (labeller_predict, ("labeller_predict",)),
    "labeller_models": (labeller_models, ("labeller_models",)),
}


def take(url: str, out: Path, names: list[str]) -> list[Path]:
    from playwright.sync_api import sync_playwright

    off_machine: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        context.route(lambda u: not is_local(u), lambda route: (off_machine.append(route.request.url),
                                                                 route.abort("blockedbyclient")))
        page = context.new_page()
        page.set_default_timeout(90_000)
        s = Shooter(page, url, out)
        try:
            for name in names:
                SHOTS[name][0](s)
        except Exception:
            failure = Path(tempfile.gettempdir()) / "bioseq-screenshots-failure.png"  # never among the docs
            page.screenshot(path=str(failure), full_page=True)
            say(f"failed at {name}; the page as it was: {failure}")
            raise
        finally:
            browser.close()
    if off_machine:
        say(f"note: refused requests off the machine: {sorted(set(off_machine))}")
    return s.written


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python scripts/screenshots.py", description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots", help="folder (docs/screenshots)")
    ap.add_argument("--only", nargs="+", choices=list(SHOTS), metavar="NAME",
                    help=f"retake only these ({', '.join(SHOTS)})")
    ap.add_argument("--keep", action="store_true", help="keep the temporary workspace and the server's log")
    a = ap.parse_args(argv)
    if not CHROMIUM.exists():
        raise SystemExit(f"screenshots: needs Debian's Chromium at {CHROMIUM} (sudo apt-get install chromium)")
    out = a.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    home_dir = Path(tempfile.mkdtemp(prefix="bioseq-screenshots-"))
    start = time.time()
    say(f"workspace {home_dir}")
    server = None
    try:
        names = a.only or list(SHOTS)
        train_models(home_dir / "home", set().union(*(needs(n) for n in names)))
        server, url = start_server(home_dir / "home", home_dir / "streamlit.log")
        say(f"dashboard at {url}")
        written = take(url, out, names)
    finally:
        if server is not None:
            server.terminate()
            try:
                server.wait(10)
            except subprocess.TimeoutExpired:
                server.kill()
        if not a.keep:
            shutil.rmtree(home_dir, ignore_errors=True)
    say(f"{len(written)} screenshots in {out} ({time.time() - start:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
