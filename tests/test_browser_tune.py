"""The Tune panel in a real browser: a small study made with the library shows its trials table, its charts
(best value over time, importances) and the chosen options on the Train page, with no request off the machine;
the screenshot is the README's ``tune.png`` (``BIOSEQ_SCREENSHOTS=docs/screenshots``)."""

from __future__ import annotations

import itertools

import pytest
from test_browser import ROOT, charts, go, no_exception, page, server, settle, shoot  # noqa: F401

from bioseq.data.io import read_records
from bioseq.data.source import DataOptions
from bioseq.training.config import TrainConfig

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture
def study(bioseq_home, tmp_path):
    """Four trials of up to three epochs on 400 records of the bundled protein task, in the server's workspace."""
    from bioseq.training.tune import tune

    small = tmp_path / "small.fa"
    records = itertools.islice(read_records(ROOT / "data" / "protein_kdel.train.fa"), 400)  # both classes
    small.write_text("".join(f">{r.description}\n{r.seq}\n" for r in records))
    return tune(DataOptions([str(small)]), "kdel-study", "5m", max_trials=4, seed=0,
                train_cfg=TrainConfig(epochs=3, patience=2, batch_size=32))


def test_tune_panel_shows_a_study(study, server, page):  # noqa: F811
    page.goto(server)
    page.get_by_role("button", name="Load the DNA example").click()
    page.get_by_text("Dataset: DNA motif").wait_for()
    settle(page)
    no_exception(page, "home")
    go(page, "Train")
    page.get_by_text("Search the options").wait_for()
    page.get_by_text("saved as model").first.wait_for()
    page.get_by_text("Chosen options").wait_for()
    for _ in range(60):  # the charts draw after the chosen options, later on a loaded machine
        if charts(page) >= 2:
            break
        page.wait_for_timeout(500)
    assert charts(page) >= 2, "no history or importance chart"
    page.locator('[data-testid="stDataFrame"]').first.wait_for()  # the trials table
    no_exception(page, "tune panel")
    shoot(page, "tune")
