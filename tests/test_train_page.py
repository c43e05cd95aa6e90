"""The Train page (dashboard/views/train.py) under AppTest: the form shows what applies, Start brings the live
progress into view, "Train again with these options" fills the form without starting, and a finished run's
banner takes the diagnosis' verdict and colour."""

from __future__ import annotations

from conftest import TINY
from test_pages import (  # noqa: F401 - fixtures (cli_model, fresh_caches, tiny_source, tm_fasta) by name
    cli_model,
    click_start,
    fresh_caches,
    ok,
    open_page,
    registry,
    texts,
    tiny_source,
    tm_fasta,
)

from bioseq.data.source import DataSource
from bioseq.training import runs


def widget_keys(at) -> set[str]:
    return {w.key for w in [*at.number_input, *at.checkbox, *at.selectbox, *at.text_input]}


def advanced(at) -> set[str]:
    box = next(e for e in at.expander if e.label == "Advanced")
    return {w.key for w in [*box.number_input, *box.checkbox, *box.selectbox]}


def test_the_form_shows_only_what_applies_common_first(tiny_source):  # noqa: F811
    at = ok(open_page("train", tiny_source))
    keys = widget_keys(at)
    assert {"train_opt_strand", "train_opt_pooling", "train_opt_forget_bias", "train_opt_epochs"} <= keys
    assert "train_opt_activation" not in keys  # an LSTM has no RNN activation
    assert {"train_opt_forget_bias", "train_opt_weight_decay", "train_opt_amp"} <= advanced(at)
    assert not {"train_opt_epochs", "train_opt_hidden", "train_opt_lr"} & advanced(at)  # the common ones first
    cell = at.selectbox(key="train_opt_cell")
    assert cell.proto.form_id == "" and at.number_input(key="train_opt_epochs").proto.form_id == "train_form"
    cell.set_value("rnn").run()  # outside the form: the form follows the cell at once
    ok(at)
    keys = widget_keys(at)
    assert "train_opt_activation" in keys and "train_opt_forget_bias" not in keys


def test_protein_and_labeller_forms_leave_out_dna_and_read_out_options(protein_fasta, tm_fasta):  # noqa: F811
    protein = ok(open_page("train", DataSource("p", (str(protein_fasta),))))
    assert "train_opt_strand" not in widget_keys(protein) and "train_opt_pooling" in widget_keys(protein)
    labeller = ok(open_page("train", DataSource("tm", (str(tm_fasta),))))
    assert not widget_keys(labeller) & {"train_opt_strand", "train_opt_pooling", "train_opt_conv_pool"}


def scrolls(at) -> list[str]:
    return [e.proto.srcdoc for e in at.get("iframe") if "scrollIntoView" in e.proto.srcdoc]


def test_start_brings_the_live_progress_into_view(tiny_source):  # noqa: F811
    at = ok(open_page("train", tiny_source))
    assert not scrolls(at)
    job = click_start(at, "scrolled", epochs=1)
    assert len(scrolls(at)) == 1 and '"runs"' in scrolls(at)[0]
    assert at.get("iframe") and at.header[0].proto.anchor == "runs"  # the Runs header, above the form
    assert job.join(120)
    at.run()
    assert not scrolls(at)  # once, not on every redraw


def fake_run(name: str, val: dict, **info) -> None:
    run = runs.RunFolder.named(name)
    run.start(name, "cli", summary={"records": 40, "alphabet": "dna", "per_class": {"motif": 20, "background": 20}},
              **info)
    run.update(status="done", best_epoch=1, val_metrics=val)


def test_a_run_at_chance_gets_a_warning_not_a_green_tick(tiny_source):  # noqa: F811
    fake_run("good", {"accuracy": 0.95, "balanced_accuracy": 0.95, "auroc": 0.99})
    fake_run("chance", {"accuracy": 0.49, "balanced_accuracy": 0.49, "auroc": 0.54})
    at = ok(open_page("train", tiny_source))
    at.selectbox(key="train_run").set_value("chance").run()
    assert not at.success
    said = texts(at.warning)
    assert "saved as model **chance**" in said and "balanced accuracy 0.49 is at chance (0.50 for 2 classes)" in said
    assert "always predicting the most frequent class 'motif' (0.50)" in said and "AUROC 0.54" in said
    at.selectbox(key="train_run").set_value("good").run()
    assert "saved as model **good**" in texts(at.success) and "saved as model" not in texts(at.warning)


def test_train_again_from_a_run_fills_the_form_and_its_data_without_starting(dna_fasta, protein_fasta):
    from bioseq.app.uploads import upload_source

    kept = upload_source([("mine.fa", dna_fasta.read_bytes())])  # the run's data, still in the workspace
    fake_run("before", {"accuracy": 0.9, "balanced_accuracy": 0.9}, data={"train": list(kept.train),
                                                                          "max_length": 30, "val_fraction": 0.25},
             model_config={"cell": "gru", "hidden": 12, "task": "classify", "n_classes": 2, "old_knob": 3},
             train_config={"epochs": 7, "lr": 0.01, "patience": -2})
    at = ok(open_page("train", DataSource("p", (str(protein_fasta),))))
    at.button(key="train_again_run").click().run()
    ok(at)
    assert at.session_state["data_source"].key == kept.key  # its data loaded again
    assert at.selectbox(key="train_opt_cell").value == "gru" and at.number_input(key="train_opt_hidden").value == 12
    assert at.number_input(key="train_opt_epochs").value == 7
    assert at.number_input(key="train_opt_max_length").value == 30
    note = texts(at.info)
    assert "Filled in with the options of run before" in note and "old_knob" in note and "Patience" in note
    assert registry().get(at.text_input(key="train_name").value) is None and len(runs.list_runs()) == 1


def test_train_again_from_a_model_card(cli_model, tiny_source):  # noqa: F811
    at = ok(open_page("models", tiny_source))
    at.button(key="models_train_again").click().run()
    ok(at)
    assert "Filled in with the options of model cli-model" in texts(at.info)
    assert at.number_input(key="train_opt_hidden").value == TINY["hidden"]
    assert at.number_input(key="train_opt_conv_width").value == TINY["conv_width"]
    assert registry().get(at.text_input(key="train_name").value) is None

