"""The Train page's Tune panel under AppTest: start a search, see its trials, charts and chosen options."""

from __future__ import annotations

import json

import pytest
from test_pages import PAGES, charts, fresh_caches, ok, open_page, registry, texts, tiny_source  # noqa: F401

from bioseq.training.tune import StudyFolder


@pytest.mark.slow
def test_tune_panel_runs_a_study_and_shows_it(tiny_source):  # noqa: F811
    at = open_page("train", tiny_source)
    assert at.button(key="tune_start") and at.selectbox(key="tune_budget").value == "3 minutes"
    at.text_input(key="train_name").set_value("panel-study")
    at.number_input(key="train_opt_epochs").set_value(1)  # the form's training options reach every trial
    at.number_input(key="train_opt_patience").set_value(1)
    at.selectbox(key="tune_budget").set_value("1 minute")
    at.button(key="tune_start").click().run()
    ok(at)
    job = registry().tuning("panel-study")
    assert job is not None and job.join(120), "the search did not end"
    trial = json.loads((StudyFolder.named("panel-study").trial_dir(0) / "run.json").read_text())
    assert (trial["train_config"]["epochs"], trial["train_config"]["patience"]) == (1, 1)
    assert at.text_input(key="train_name").value != "panel-study"  # a fresh name for the next run
    at.switch_page(PAGES["train"]).run()
    ok(at)
    assert at.selectbox(key="tune_study").value == "panel-study"
    assert "saved as model **panel-study**" in texts(at.success)
    assert "Chosen options" in texts(at.markdown)
    assert charts(at) >= 2


def test_a_taken_study_name_is_a_message(tiny_source):  # noqa: F811
    at = open_page("train", tiny_source)
    at.text_input(key="train_name").set_value("first")
    at.number_input(key="train_opt_epochs").set_value(1)
    at.button(key="train_start").click().run()
    registry().get("first").join(120)
    at.text_input(key="train_name").set_value("first")  # the search is named by the form's run name
    at.button(key="tune_start").click().run()
    ok(at)
    assert "already exists" in texts(at.error)


def test_the_search_refuses_a_form_value_by_the_options_rule(tiny_source):  # noqa: F811
    at = open_page("train", tiny_source)
    at.number_input(key="train_opt_batch_size").set_value(8)  # valid for training, not a point of the search
    at.button(key="tune_start").click().run()
    ok(at)
    assert "“Batch size” set to 8 is where the search starts" in texts(at.error)
    assert registry().tuning(at.text_input(key="train_name").value) is None
