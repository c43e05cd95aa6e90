"""End to end in a real browser: Playwright drives Debian's Chromium through the whole dashboard.

The path: open the app and load the DNA example; train a small model to the end on the Train page
and see its curves; open Gradient flow and Gates & saliency for it; upload a FASTA on Predict and download the
CSV (and a VCF with its genome in the Variants panel, and download the effects); read the Glossary. Both paths
visit every page of ``dashboard/pages.py``. On every page
visited, a Streamlit exception box, a "Traceback" or a JavaScript error fails the test; so does any request
to an address off this machine (every request is recorded, and the dashboard is a local, offline tool:
an off-machine request is also refused, so a machine without a network behaves the same). A screenshot of
every page goes to ``$BIOSEQ_SCREENSHOTS/<page>.png`` (set it to ``docs/screenshots`` to refresh the docs';
``python scripts/screenshots.py`` retakes them all without the tests).

Run it with ``pytest -m browser tests/test_browser.py``; it is skipped without ``/usr/bin/chromium``.
"""

from __future__ import annotations

import csv
import io
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

import pytest

from dashboard import pages

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
# Screenshots refresh the docs' only when asked: BIOSEQ_SCREENSHOTS=docs/screenshots pytest -m browser
SHOTS = Path(os.environ.get("BIOSEQ_SCREENSHOTS") or Path(tempfile.gettempdir()) / "bioseq-screenshots").resolve()
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
               "--disable-sync", "--no-first-run"]
TRAIN_TIMEOUT_MS = 420_000  # two tiny epochs; generous for a loaded 2-core CI machine

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's Chromium at /usr/bin/chromium "
                       "(apt-get install chromium chromium-driver); Playwright cannot download a browser here"),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(bioseq_home):
    """A dashboard server on a free port, with its workspace in the test's temporary folder."""
    port = _free_port()
    env = {**os.environ, "BIOSEQ_HOME": str(bioseq_home), "OMP_NUM_THREADS": "2"}
    log = open(bioseq_home.parent / "streamlit.log", "w+")
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
                             "--server.port", str(port)], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://localhost:{port}"
    deadline = time.time() + 60
    while True:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                if r.read() == b"ok":
                    break
        except OSError:
            pass
        if time.time() > deadline or proc.poll() is not None:
            proc.kill()
            log.seek(0)
            pytest.fail(f"the dashboard did not start:\n{log.read()[-3000:]}")
        time.sleep(0.3)
    yield url
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1", "[::1]"}
LOCAL_SCHEMES = {"data", "blob", "about"}  # made in the page itself, never fetched


def is_local(url: str) -> bool:
    """Whether a request stays on this machine."""
    u = urlparse(url)
    return u.scheme in LOCAL_SCHEMES or u.hostname in LOCAL_HOSTS


@dataclass
class Watch:
    """What the browser did besides drawing: every request (and websocket) it made, and its JavaScript errors."""

    requests: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    visited: set[str] = field(default_factory=set)  # the pages' addresses ("" for Home)

    def off_machine(self) -> list[str]:
        return sorted({u for u in self.requests if not is_local(u)})


WATCHES: dict[int, Watch] = {}  # id(page) -> its watch


def watch(page) -> Watch:
    return WATCHES[id(page)]


@pytest.fixture
def page():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
        w = Watch()
        # refuse what leaves the machine (the request is still recorded, and fails the test)
        context.route(lambda url: not is_local(url), lambda route: route.abort("blockedbyclient"))
        pg = context.new_page()
        pg.on("request", lambda r: w.requests.append(r.url))
        pg.on("websocket", lambda ws: w.requests.append(ws.url))
        pg.on("pageerror", lambda e: w.page_errors.append(str(e)))
        pg.set_default_timeout(90_000)
        WATCHES[id(pg)] = w
        yield pg
        WATCHES.pop(id(pg))
        browser.close()


IDLE = "() => document.querySelector('[data-testid=stApp]')?.getAttribute('data-test-script-state') === 'notRunning'"


def settle(page) -> None:
    """Wait until Streamlit has finished running the script (it marks its root element)."""
    page.wait_for_timeout(300)  # let a rerun that a click asked for begin
    page.wait_for_function(IDLE, timeout=180_000)


def no_exception(page, where: str) -> None:
    """No exception box, no traceback, no JavaScript error and no request off the machine so far."""
    boxes = page.locator('[data-testid="stException"]')
    assert boxes.count() == 0, f"{where}: exception box: {boxes.first.inner_text()[:2000]}"
    assert "Traceback" not in page.locator("body").inner_text(), f"{where}: a traceback on the page"
    w = watch(page)
    assert not w.page_errors, f"{where}: JavaScript errors: {w.page_errors}"
    assert not w.off_machine(), f"{where}: requests off the machine: {w.off_machine()}"
    w.visited.add(urlparse(page.url).path.strip("/"))


def visited_every_page(page) -> None:
    """The walk saw every page of the frame's list, and no request ever left the machine."""
    w = watch(page)
    assert set(URLS.values()) <= w.visited, f"pages not visited: {set(URLS.values()) - w.visited}"
    assert w.requests and all(is_local(u) for u in w.requests), w.off_machine()


def shoot(page, name: str, path: Path | None = None) -> None:
    """Screenshot of the whole page: Streamlit scrolls inside its main area, so grow the viewport first."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    height = page.evaluate("() => Math.max(...[...document.querySelectorAll('[data-testid=stMain], "
                           "[data-testid=stAppViewContainer]')].map(e => e.scrollHeight), 1000)")
    size = page.viewport_size
    page.set_viewport_size({"width": size["width"], "height": min(int(height), 6000)})
    page.wait_for_timeout(800)  # let the charts re-lay out
    page.screenshot(path=str(path or SHOTS / f"{name}.png"), full_page=True)
    page.set_viewport_size(size)


URLS = {p.title: pages.url(p) for p in pages.PAGES}  # sidebar label -> address: "Home": "", "Data": "data", ...


def go(page, label: str) -> None:
    """Open a page through the sidebar (the session, and so the chosen dataset, carries over)."""
    page.locator('[data-testid="stSidebarNav"] a', has_text=label).first.click()
    page.wait_for_url(lambda url: urlparse(url).path == f"/{URLS[label]}")  # the query (the dataset) stays
    settle(page)
    no_exception(page, label)


def charts(page) -> int:
    return page.locator('[data-testid="stVegaLiteChart"]').count()


def test_dashboard_end_to_end(server, page, tmp_path):
    try:
        walk_through(server, page, tmp_path)
    except BaseException:
        shoot(page, "failure")  # into the screenshot folder, which outlives pytest's temporary folders
        print(f"screenshot of the failure: {SHOTS / 'failure.png'}")
        raise


def open_example(server, page, button: str, dataset: str) -> None:
    """Open the app's Home page and load a bundled example with one click."""
    page.goto(server)
    page.get_by_text("Quick start").wait_for()
    page.get_by_role("button", name=button).click()
    page.get_by_text(dataset).wait_for()
    settle(page)
    no_exception(page, f"home, {button}")


def walk_through(server, page, tmp_path):
    # 1. open the app and load the example data
    open_example(server, page, "Load the DNA example", "Dataset: DNA motif")
    nav = page.locator('[data-testid="stSidebarNav"]')
    links = [s.strip().splitlines()[-1] for s in nav.locator("a").all_inner_texts()]  # after the icon
    assert links == list(URLS), links  # Home, not "app", then the pages in the order of the work
    for section in ("Data and training", "Look inside", "Use", "Help"):
        assert nav.get_by_text(section).count() >= 1, section
    shoot(page, "home")

    go(page, "Data")
    page.get_by_text("Records per class").first.wait_for()
    assert charts(page) >= 4
    no_exception(page, "data")

    # an upload survives a browser reload: the page address carries the dataset
    page.get_by_role("tab", name="Upload files").click()
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').first.set_input_files(
        str(ROOT / "data" / "dna_motif.train.fa"))
    settle(page)
    page.get_by_role("button", name="Use these files").click()
    page.get_by_text("Dataset: dna_motif.train.fa").wait_for()
    settle(page)
    assert "data=upload" in page.url
    page.reload()
    settle(page)
    page.get_by_text("Dataset: dna_motif.train.fa").wait_for()
    page.get_by_text("Records per class").first.wait_for()
    no_exception(page, "data after a reload")
    shoot(page, "data")

    # 2. train a small model to the end and see its curves
    go(page, "Train")
    page.get_by_text("New run").wait_for()
    page.get_by_text("dna_motif.train.fa — 1,600 records").wait_for()  # the dataset carried over
    page.get_by_text("Advanced", exact=True).click()  # the options that most runs leave alone
    for label, value in (("Hidden units", "8"), ("Conv filters", "8"), ("Conv pool", "8"), ("Epochs", "2"),
                         ("Batch size", "128")):
        box = page.locator(f'input[aria-label="{label}"]')
        box.fill(value)
        box.press("Tab")
    page.get_by_text("Bidirectional", exact=True).click()
    name = page.locator('input[aria-label="Run and model name"]')
    name.fill("browser-run")
    name.press("Tab")
    start = page.get_by_role("button", name="Start training")
    start.scroll_into_view_if_needed()
    runs_top = "() => { const h = document.getElementById('runs'); return h ? h.getBoundingClientRect().top : null; }"
    assert page.evaluate(runs_top) is None or page.evaluate(runs_top) < 0  # the run list is above, out of view
    start.click()
    in_view = "() => { const top = (" + runs_top + ")(); return top !== null && top >= 0 && top < window.innerHeight; }"
    page.wait_for_function(in_view, timeout=60_000)  # Start brings the live progress into view
    page.get_by_text("saved as model").wait_for(timeout=TRAIN_TIMEOUT_MS)
    settle(page)
    page.get_by_text("Gradient flow of this run").wait_for()
    assert charts(page) >= 1, "no training curves"
    no_exception(page, "train")
    shoot(page, "train")

    # 3. gradient flow and gates & saliency for that model
    go(page, "Gradient flow")
    page.get_by_text("Per time step").wait_for()
    page.get_by_text("Effective memory").first.wait_for()
    assert charts(page) >= 3
    no_exception(page, "gradient flow")
    shoot(page, "gradient_flow")

    go(page, "Gates & saliency")
    page.get_by_text("Explain the score of").wait_for()
    page.locator('[data-testid="stVegaLiteChart"]').first.wait_for()
    no_exception(page, "gates")
    # any record of the whole dataset can be found by its id, with its label and probabilities
    page.locator('[data-testid="stRadio"] label').filter(has_text="the dataset on the Data page").click()
    settle(page)
    picker = page.locator('[data-testid="stSelectbox"]').filter(has_text="Record (type to search by id)")
    picker.locator("input").click()
    page.keyboard.type("seq1234")
    page.wait_for_timeout(500)
    page.keyboard.press("Enter")
    page.wait_for_function("() => [...document.querySelectorAll('[data-testid=stSelectbox] input')]"
                           ".some(i => i.value.startsWith('seq1234 ·'))")  # the picker shows its value in an input
    settle(page)
    page.get_by_text("True label").wait_for()
    page.get_by_text("p(motif)").wait_for()
    no_exception(page, "gates, a searched record")
    page.get_by_role("tab", name="Saliency", exact=True).click()
    page.get_by_text("Explaining class").wait_for()
    settle(page)
    no_exception(page, "saliency")
    page.get_by_role("tab", name="Gates", exact=True).click()
    shoot(page, "gates_and_saliency")

    # 4. upload a FASTA on Predict and download the CSV
    go(page, "Predict")
    upload = page.locator('[data-testid="stFileUploaderDropzoneInput"][multiple]')  # not the scan panel's
    upload.set_input_files(str(ROOT / "data" / "dna_motif.test.fa"))
    download_button = page.get_by_role("button", name="Download predictions (CSV)")
    download_button.wait_for(timeout=180_000)
    settle(page)
    no_exception(page, "predict")
    with page.expect_download() as info:
        download_button.click()
    saved = tmp_path / "predictions.csv"
    info.value.save_as(saved)
    rows = list(csv.reader(io.StringIO(saved.read_text())))
    assert rows[0][:4] == ["id", "prediction", "p_background", "p_motif"]
    assert {"length", "unlike_training", "file"} <= set(rows[0])
    assert len(rows) == 401 and rows[1][0] == "seq1"
    page.get_by_text("labelled sequences").first.wait_for()  # the test file is labelled: it is evaluated
    shoot(page, "predict")

    # a clicked row keeps its record through filtering
    settle(page)
    page.get_by_role("tab", name="Predictions").click()
    page.get_by_text("Click a row to see which letters drove its prediction").wait_for()
    grid = page.locator('[data-testid="stDataFrame"]').first
    box = grid.bounding_box()
    page.mouse.click(box["x"] + 18, box["y"] + 35 + 35 * 2 + 17)  # the third row's selection box
    page.get_by_text("Saliency of seq3").wait_for()
    settle(page)
    ids = page.locator('[data-testid="stTextInput"]').filter(has_text="Id contains").locator("input")
    ids.fill("seq3")
    ids.press("Enter")
    settle(page)
    page.get_by_text("Predictions (111 of 400)").wait_for()  # seq3, seq30..39, seq300..399
    assert page.get_by_text("Saliency of seq3").count() == 1
    ids.fill("seq1")
    ids.press("Enter")
    settle(page)
    page.get_by_text("Predictions (111 of 400)").wait_for()
    assert page.get_by_text("Saliency of").count() == 0  # seq3 is not shown: no other record takes its place
    no_exception(page, "predict, filtered")
    shoot(page, "predict_table")
    variants_panel(page, tmp_path)

    # a page opened by its address still gets the frame (its header and the grouped sidebar)
    page.goto(f"{server}/gradient_flow")
    settle(page)
    assert page.locator("h1").first.inner_text() == "Gradient flow"
    assert [s.strip().splitlines()[-1] for s in page.locator('[data-testid="stSidebarNav"] a').all_inner_texts()] \
        == list(URLS)

    go(page, "Models")
    page.get_by_text("Model card").wait_for()
    page.get_by_role("button", name="Download the model file").wait_for()
    page.get_by_text("browser-run").first.wait_for(state="attached")  # in the registry table (a canvas grid)
    no_exception(page, "models")
    shoot(page, "models")

    # the glossary explains the words of the help texts, and finds one by a word of it
    go(page, "Glossary")
    page.get_by_text("Epoch", exact=True).first.wait_for()
    search = page.locator('input[aria-label="Find a term"]')
    search.fill("overfit")
    search.press("Enter")
    settle(page)
    page.get_by_text("Hidden units", exact=True).wait_for(state="detached")  # the search's rerun has drawn
    page.get_by_text("Overfitting", exact=True).first.wait_for()
    no_exception(page, "glossary")
    shoot(page, "glossary")
    visited_every_page(page)


def variants_panel(page, tmp_path) -> None:
    """Predict's Variants panel: upload a VCF and a genome, score, download the effects."""
    seqs = [line.strip() for line in (ROOT / "data" / "dna_motif.test.fa").read_text().splitlines()
            if line and not line.startswith(">")][:10]
    genome, vcf = tmp_path / "genome.fa", tmp_path / "variants.vcf"
    genome.write_text(">chr1\n" + "".join(seqs) + "\n")
    chrom = "".join(seqs)
    at = [chrom.upper().find("TGACTCA") + 3, 40, 90]
    vcf.write_text("##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n" + "".join(
        f"1\t{p + 1}\tv{i}\t{chrom[p].upper()}\t{'A' if chrom[p].upper() != 'A' else 'C'}\t.\t.\t.\n"
        for i, p in enumerate(sorted(at))))
    page.get_by_text("Variant effects (VCF)").click()
    uploaders = page.locator('[data-testid="stFileUploader"]')
    uploaders.filter(has_text="Variants (VCF").locator('input[type="file"]').set_input_files(str(vcf))
    uploaders.filter(has_text="Reference genome").locator('input[type="file"]').set_input_files(str(genome))
    run = page.get_by_role("button", name="Score variants")
    run.wait_for(timeout=60_000)
    settle(page)
    run.click()
    download = page.get_by_role("button", name="Download variant effects (CSV)")
    download.wait_for(timeout=180_000)
    settle(page)
    no_exception(page, "variants")
    with page.expect_download() as info:
        download.click()
    saved = tmp_path / "effects.csv"
    info.value.save_as(saved)
    rows = list(csv.reader(io.StringIO(saved.read_text())))
    assert rows[0] == ["chrom", "pos", "id", "ref", "alt", "class", "ref_score", "alt_score", "diff", "log_odds_ratio"]
    assert len(rows) == 1 + 3 * 2
    shoot(page, "predict_variants")


def test_labeller_end_to_end(server, page, tmp_path):
    try:
        walk_labeller(server, page, tmp_path)
    except BaseException:
        shoot(page, "labeller_failure")
        print(f"screenshot of the failure: {SHOTS / 'labeller_failure.png'}")
        raise


def walk_labeller(server, page, tmp_path):
    """A labeller (a label per position) through every page: the per-position example in one click, its Data
    report, a run trained to the end, the per-position views, a three-line FASTA labelled on Predict and its
    CSV downloaded, and the model's card."""
    open_example(server, page, "Load the per-position example", "Dataset: Protein transmembrane")

    go(page, "Data")
    page.get_by_text("Not scored").first.wait_for()
    page.get_by_text("Positions per label:").wait_for()
    page.locator('[data-testid="stVegaLiteChart"]').nth(3).wait_for()  # per label, segments, composition, lengths
    no_exception(page, "data, per position")
    shoot(page, "labeller_data")

    go(page, "Train")
    page.get_by_text("a label per position; labels").wait_for()
    advanced = page.get_by_text("Advanced", exact=True)
    if page.locator('input[aria-label="Conv filters"]').count() == 0 or \
            not page.locator('input[aria-label="Conv filters"]').is_visible():
        advanced.click()  # open (it may still be open from the classifier's run)
    for label, value in (("Hidden units", "8"), ("Conv filters", "8"), ("Epochs", "2"), ("Batch size", "64")):
        box = page.locator(f'input[aria-label="{label}"]')
        box.fill(value)
        box.press("Tab")
    assert page.locator('input[aria-label="Conv pool"]').count() == 0  # a labeller does not pool: not on the form
    name = page.locator('input[aria-label="Run and model name"]')
    name.fill("browser-labeller")
    name.press("Tab")
    page.get_by_role("button", name="Start training").click()
    page.get_by_text("saved as model").wait_for(timeout=TRAIN_TIMEOUT_MS)
    settle(page)
    assert charts(page) >= 1, "no training curves"
    page.get_by_text("SOV").first.wait_for()
    no_exception(page, "train a labeller")
    shoot(page, "labeller_train")

    go(page, "Gradient flow")
    page.get_by_text("Per position: gradient reaching each step from each output, ‖∂C(t)/∂h(s)‖").wait_for()
    page.get_by_text("Memory span per position").wait_for()
    page.locator('[data-testid="stVegaLiteChart"]').nth(3).wait_for()  # per layer, G[t, s], profile, memory
    no_exception(page, "gradient flow, labeller")
    shoot(page, "labeller_gradient_flow")

    go(page, "Gates & saliency")
    page.get_by_text("Explain the score of").wait_for()
    page.get_by_text("Accuracy on this record").wait_for()
    page.locator('[data-testid="stVegaLiteChart"]').first.wait_for()
    box = page.locator('input[aria-label="Position t"]')
    box.fill("5")
    box.press("Enter")
    settle(page)
    page.get_by_text("True label at 5").wait_for()
    page.get_by_role("tab", name="Saliency at 5", exact=True).click()
    page.get_by_text("of the attribution lies within").wait_for()
    no_exception(page, "gates, labeller")
    shoot(page, "labeller_gates")

    go(page, "Predict")
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').first.set_input_files(
        str(ROOT / "data" / "protein_tm.test.fa"))
    download_button = page.get_by_role("button", name="Download predictions (CSV)")
    download_button.wait_for(timeout=180_000)
    settle(page)
    no_exception(page, "predict, labeller")
    page.get_by_text("Evaluation on the true labels").wait_for()
    page.get_by_text("Tracks of tm").first.wait_for()
    with page.expect_download() as info:
        download_button.click()
    saved = tmp_path / "positions.csv"
    info.value.save_as(saved)
    rows = list(csv.reader(io.StringIO(saved.read_text())))
    assert rows[0] == ["id", "position", "letter", "prediction", "p_M", "p_O", "true"]
    residues = sum(len(line) for line in (ROOT / "data" / "protein_tm.test.fa").read_text().splitlines()[1::3])
    assert len(rows) == residues + 1 and rows[1][:2] == ["tm00000", "1"] and rows[1][6] in ("M", "O")
    shoot(page, "labeller_predict")

    go(page, "Models")
    page.get_by_text("Model card").wait_for()
    page.get_by_text("label (one label per position)").first.wait_for(state="attached")
    no_exception(page, "models, labeller")
    shoot(page, "labeller_models")

    go(page, "Glossary")
    page.get_by_text("SOV", exact=True).first.wait_for()
    page.get_by_text("Read-out", exact=True).first.wait_for()
    no_exception(page, "glossary, labeller")
    visited_every_page(page)
