"""Messages name options once and are worded where they are shown: flags on the command line, form fields in the
dashboard."""

from bioseq.errors import InputError, TrainingError, ref, render


def test_an_option_reference_in_each_surface():
    text = f"try {ref('activation', 'relu')} or {ref('lr')}"
    assert render(text) == "try --activation relu or --lr"
    assert render(text, "dashboard") == "try “RNN activation” set to relu or “Learning rate”"


def test_booleans_and_options_the_form_does_not_show():
    assert render(ref("skip", True)) == "--skip" and render(ref("skip", False)) == "--no-skip"
    assert render(ref("skip", True), "dashboard") == "“Skip connections” on"
    assert render(ref("labels")) == "--labels FILE"
    assert "Data page" in render(ref("labels"), "dashboard")


def test_errors_word_themselves():
    e = InputError(f"no label=VALUE token; give {ref('labels')}", "a.fa", "1 (x)")
    assert str(e) == "a.fa: record 1 (x): no label=VALUE token; give --labels FILE"
    assert e.dashboard().startswith("a.fa: record 1 (x): no label=VALUE token; give a labels file")
    assert "“Normalisation” set to batch" in TrainingError(f"use {ref('norm', 'batch')}").dashboard()
    assert render("no references here") == "no references here"
