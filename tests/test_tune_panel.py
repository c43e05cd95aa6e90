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
    assert "saved as model **panel-study**" in texts(at.success) + texts(at.warning)  # warning: at chance
    assert "Chosen options" in texts(at.markdown)
    assert charts(at) >= 2


def test_the_panel_scores_trials_by_cross_validation(tiny_source):  # noqa: F811
    at = open_page("train", tiny_source)
    assert at.selectbox(key="tune_cv").value == "one validation split"  # the default: as before
    at.text_input(key="train_name").set_value("cv-study")
    at.number_input(key="train_opt_epochs").set_value(1)
    at.selectbox(key="tune_cv").set_value("3-fold cross-validation")
    at.button(key="tune_start").click().run()
    ok(at)
    job = registry().tuning("cv-study")
    assert job is not None
    job.stop()  # the choice reaching the study is what is checked here, not a whole search
    assert job.join(120), "the search did not end"
    assert StudyFolder.named("cv-study").info()["cv"] == 3  # bioseq tune --cv 3
    at.switch_page(PAGES["train"]).run()
    ok(at)
    assert "Each trial is scored by 3-fold cross-validation" in texts(at.caption)


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


def fake_study(name: str, trials: int) -> None:
    """A finished study of ``trials`` complete trials, written straight into Optuna's storage (no training)."""
    import optuna
    from optuna.distributions import FloatDistribution, IntDistribution

    from bioseq.training.tune import StudyFolder

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    folder = StudyFolder.named(name)
    folder.path.mkdir(parents=True)
    study = optuna.create_study(storage=folder.storage, study_name=name)
    space = {"forget_bias": FloatDistribution(0.0, 2.0), "conv_pool": IntDistribution(1, 4),
             "lr": FloatDistribution(3e-4, 1e-2, log=True)}
    for i in range(trials):
        study.add_trial(optuna.trial.create_trial(
            params={"forget_bias": 0.1234567891234 * (i + 1), "conv_pool": 1 + i % 4, "lr": 0.00123456789 * (i + 1)},
            distributions=space, value=0.6931471805599 + 0.01 * ((i * 7) % 5),
            user_attrs={"val_accuracy": 0.5123456789 + 0.01 * i}))
    folder.update(name=name, status="done")


def chart_text(at) -> str:
    """Every chart's spec and data (the data travel as Arrow tables beside the spec)."""
    import pyarrow as pa

    out = []
    for c in at.get("vega_lite_chart"):
        out.append(c.proto.spec)
        for d in [*c.proto.datasets, *([c.proto.data] if c.proto.HasField("data") else [])]:
            raw = d.data.data if hasattr(d, "data") and hasattr(d.data, "data") else d.data
            if raw:
                out.append(pa.ipc.open_stream(raw).read_all().to_pandas().to_string())
    return " ".join(out)


def trials_frame(at):
    return next(d.value for d in at.dataframe if "validation loss" in d.value.columns)


def test_tune_panel_in_the_forms_words_with_rounded_values(tiny_source):  # noqa: F811
    fake_study("words-study", 6)
    at = ok(open_page("train", tiny_source))
    assert at.selectbox(key="tune_study").value == "words-study"
    assert "Searched: Recurrent cell, Layers, Hidden units" in texts(at.caption)  # not cell, layers, hidden
    table = trials_frame(at)
    assert {"Forget-gate bias", "Conv pool", "Learning rate", "validation accuracy"} <= set(table.columns)
    assert not {"forget_bias", "conv_pool", "val_loss"} & set(table.columns)
    assert table["Learning rate"].tolist()[0] == 0.00123 and table["Forget-gate bias"].tolist()[0] == 0.123
    chosen = texts(at.markdown)
    assert "Forget-gate bias `" in chosen and "forget_bias" not in chosen and "0.1234567891234" not in chosen
    spec = chart_text(at)
    assert "Forget-gate bias" in spec and "forget_bias" not in spec  # the importances by label


def test_tune_panel_importances_wait_for_five_trials(tiny_source):  # noqa: F811
    fake_study("young-study", 3)
    at = ok(open_page("train", tiny_source))
    spec = chart_text(at)
    assert "at least 5 finished trials (3 so far)" in spec


@pytest.mark.slow
def test_a_new_study_is_shown_with_its_stop_button_without_a_reload(tiny_source):  # noqa: F811
    """Start the search, and on the same run of the page (no reload, no page switch) the new study is the one
    listed and selected, searching, with its Stop button, even before its folder is written; it stops."""
    fake_study("older-study", 2)  # a study already there must not take the panel
    at = open_page("train", tiny_source)
    at.text_input(key="train_name").set_value("fresh-study")
    at.number_input(key="train_opt_epochs").set_value(1)
    at.selectbox(key="tune_budget").set_value("1 minute")
    at.button(key="tune_start").click().run()
    ok(at)
    job = registry().tuning("fresh-study")
    try:
        assert job is not None and job.alive, texts(at.error)
        study = at.selectbox(key="tune_study")
        assert study.value == "fresh-study" and "fresh-study" in study.options
        assert at.button(key="tune_stop"), "no Stop button for the study just started"
        at.button(key="tune_stop").click().run()
        ok(at)
    finally:
        job.stop()
        assert job.join(120), "the search did not stop"
