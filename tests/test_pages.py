"""Every dashboard page under Streamlit's AppTest: no exception, the key widgets, the main action on tiny data.

Each test has its own ``$BIOSEQ_HOME`` (conftest) and starts with empty Streamlit caches, so the
process-wide training-job registry and cached models never leak between tests.
"""

from __future__ import annotations

import json
import shutil
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import streamlit as st
from conftest import TINY, TINY_ARGS, TINY_TRAIN
from streamlit.testing.v1 import AppTest

from bioseq.cli import main as cli
from bioseq.data.io import Record
from bioseq.data.source import DataSource
from bioseq.model.store import list_models, model_path
from bioseq.training import runs
from bioseq.workspace import runs_dir
from dashboard import loaders, pages

ROOT = Path(__file__).resolve().parent.parent
PAGES = {p.name: p.path for p in pages.PAGES}  # "data": "dashboard/views/data.py", ... (the frame's list)
QUICK = [*TINY_ARGS, "--epochs", "1", "--quiet"]  # one quiet epoch of the tiny model


@pytest.fixture(autouse=True)
def fresh_caches():
    st.cache_data.clear()
    st.cache_resource.clear()
    yield
    st.cache_data.clear()
    st.cache_resource.clear()


def open_page(page: str = "home", source: DataSource | None = None, timeout: float = 180) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=timeout)
    if source is not None:
        at.session_state["data_source"] = source
    at.run()
    if page != "home":
        at.switch_page(PAGES[page]).run()
    return at


def ok(at: AppTest) -> AppTest:
    assert not at.exception, [e.message for e in at.exception]
    return at


def charts(at: AppTest) -> int:
    return len(at.get("vega_lite_chart"))


def texts(elements) -> str:
    return " ".join(str(e.value) for e in elements)


def banner(at: AppTest) -> str:
    """A finished run's banner: green when the diagnosis finds nothing wrong, a warning otherwise (a tiny run
    is often at chance)."""
    return texts(at.success) + " " + texts(at.warning)


def registry():
    return loaders.job_registry()


@pytest.fixture
def tiny_source(dna_fasta) -> DataSource:
    return DataSource("tiny DNA", (str(dna_fasta),))


def errors(at) -> list:
    """The page's error boxes, less the Gradient flow page's diagnosis (an error box for any verdict but healthy)."""
    return [e for e in at.error if e.icon != ":material/stethoscope:"]


@pytest.fixture
def cli_model(dna_fasta) -> str:
    """A model trained by the CLI into the test's workspace, as users will do."""
    assert cli(["train", str(dna_fasta), "--name", "cli-model", *QUICK]) == 0
    return "cli-model"


@pytest.fixture
def protein_model(protein_fasta) -> str:
    assert cli(["train", str(protein_fasta), "--name", "prot-model", *QUICK]) == 0
    return "prot-model"


# ---------- home ----------

def test_home_loads_an_example_in_one_click():
    at = ok(open_page())
    assert {b.key for b in at.button} >= {"home_load_dna_motif", "home_load_protein_kdel"}
    assert "No runs yet" in texts(at.info)
    at.button(key="home_load_dna_motif").click().run()
    ok(at)
    assert at.session_state["data_source"].name == "DNA motif (AP-1 site)"
    assert "Dataset: **DNA motif" in texts(at.success)
    assert [m.label for m in at.metric] == ["Saved models", "Runs", "Training now"]


def test_home_shows_workspace_status(cli_model):
    at = ok(open_page())
    assert [m.value for m in at.metric][:2] == ["1", "1"]
    assert at.dataframe[0].value["name"].tolist() == [cli_model]


def test_example_from_the_command_line(monkeypatch):
    monkeypatch.setattr(sys, "argv", ["app.py", "--example", "protein_kdel"])
    at = ok(open_page("data"))
    assert at.session_state["data_source"].name.startswith("Protein")
    assert texts(at.metric).count("PROTEIN") == 1


# ---------- data ----------

def test_data_page_without_data():
    at = ok(open_page("data"))
    assert "No dataset yet" in texts(at.info)
    assert at.selectbox(key="data_example") and at.file_uploader(key="data_files_header")
    assert at.radio(key="data_label_mode").value == "header"


@pytest.mark.parametrize("key, alphabet", [("dna_motif", "DNA"), ("protein_kdel", "PROTEIN")])
def test_data_page_summarises_an_example(key, alphabet):
    at = open_page("data")
    at.selectbox(key="data_example").set_value(key).run()
    at.button(key="data_use_example").click().run()
    ok(at)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Records"] == "1,600" and metrics["Classes"] == "2" and metrics["Alphabet"] == alphabet
    assert charts(at) == 4 and not at.error


def test_data_page_uploads(dna_fasta):
    at = open_page("data")
    at.file_uploader(key="data_files_header").set_value(("mine.fa", dna_fasta.read_bytes(), "text/plain")).run()
    at.button(key="data_use_files").click().run()
    ok(at)
    assert {m.label: m.value for m in at.metric}["Records"] == "40"
    assert at.session_state["data_source"].train[0].endswith("mine.fa")


def test_data_page_one_file_per_class():
    at = open_page("data")
    at.radio(key="data_label_mode").set_value("files").run()
    at.file_uploader(key="data_files_files").set_value([("bound.fa", b">a\nACGTACGT\n>b\nACGTTCGT\n", "text/plain"),
                                                  ("free.fa", b">c\nGGGGCCCC\n>d\nGGCCGGCC\n", "text/plain")]).run()
    at.button(key="data_use_files").click().run()
    ok(at)
    assert {m.label: m.value for m in at.metric}["Classes"] == "2"


def test_data_page_label_table():
    at = open_page("data")
    at.radio(key="data_label_mode").set_value("table").run()
    at.file_uploader(key="data_files_table").set_value(("s.fa", b">s1\nACGTAC\n>s2\nGGGTTT\n", "text/plain")).run()
    at.file_uploader(key="data_labels").set_value(("l.csv", b"id,label\ns1,x\ns2,y\n", "text/csv")).run()
    at.button(key="data_use_files").click().run()
    ok(at)
    assert {m.label: m.value for m in at.metric}["Records"] == "2"


def test_data_page_bad_file_is_a_message_and_the_page_goes_on(dna_fasta):
    at = open_page("data")
    broken = ("broken.fa", b"\x00\x01binary", "application/octet-stream")
    at.file_uploader(key="data_files_header").set_value(broken).run()
    at.button(key="data_use_files").click().run()
    ok(at)
    assert "broken.fa" in texts(at.error) and "binary" in texts(at.error)
    assert at.session_state["data_source"] is None
    at.file_uploader(key="data_files_header").set_value(("good.fa", dna_fasta.read_bytes(), "text/plain")).run()
    at.button(key="data_use_files").click().run()
    ok(at)
    assert not at.error and {m.label: m.value for m in at.metric}["Records"] == "40"


BAD_UPLOADS = {"empty.fa": (b"", "header"), "notes.txt": (b"these are my notes\n", "header"),
               "odd.fa": (b">a label=x\nACGT!!ACGT\n>b label=y\nACGTACGT\n", "header"),
               "short.fa": (b">a\nACGTACGT\nMMMM\n>b\nACGTACGT\nMMMMOOOO\n", "positions")}


def test_a_failed_upload_keeps_nothing_and_keeps_the_dataset_loaded_before(dna_fasta, bioseq_home):
    """The issue's Broken 5: the empty file, a text file, bad letters and a label string of the wrong length."""
    at = open_page("data")
    at.file_uploader(key="data_files_header").set_value(("good.fa", dna_fasta.read_bytes(), "text/plain")).run()
    at.button(key="data_use_files").click().run()
    good = at.session_state["data_source"]
    before = sorted(p.relative_to(bioseq_home) for p in (bioseq_home / "uploads").rglob("*"))
    for name, (data, mode) in BAD_UPLOADS.items():
        at.radio(key="data_label_mode").set_value(mode).run()
        at.file_uploader(key=f"data_files_{mode}").set_value((name, data, "text/plain")).run()
        at.button(key="data_use_files").click().run()
        ok(at)
        assert name in texts(at.error) and "nothing was kept" in texts(at.caption), name
        assert sorted(p.relative_to(bioseq_home) for p in (bioseq_home / "uploads").rglob("*")) == before, name
        assert at.session_state["data_source"] == good and "Dataset: good.fa" in texts(at.header), name
        assert {m.label: m.value for m in at.metric}["Records"] == "40"
    assert len(at.selectbox(key="data_recent").options) == 1  # Recent uploads: the good one only


def test_an_upload_is_deleted_from_recent_uploads(dna_fasta):
    at = open_page("data")
    at.file_uploader(key="data_files_header").set_value(("mine.fa", dna_fasta.read_bytes(), "text/plain")).run()
    at.button(key="data_use_files").click().run()
    at.run()  # Recent uploads lists it from the next run on
    assert at.button(key="data_recent_delete").disabled
    at.checkbox(key="data_recent_confirm").check().run()
    at.button(key="data_recent_delete").click().run()
    ok(at)
    assert "No uploads yet" in texts(at.info) and at.session_state["data_source"] is None


def test_an_upload_is_renamed_from_recent_uploads(dna_fasta):
    """Uploads are renamed as models and runs are (the same controls); the loaded dataset takes the new name."""
    at = open_page("data")
    at.file_uploader(key="data_files_header").set_value(("mine.fa", dna_fasta.read_bytes(), "text/plain")).run()
    at.button(key="data_use_files").click().run()
    at.run()
    at.text_input(key="data_recent_new_name").set_value("my-reads")
    at.button(key="data_recent_rename").click().run()
    ok(at)
    assert "Renamed upload mine.fa to my-reads." in texts(at.success)
    assert at.session_state["data_source"].name == "my-reads" and "Dataset: my-reads" in texts(at.header)
    assert "my-reads" in ok(open_page("data")).selectbox(key="data_recent").format_func(0)  # kept in the workspace


def test_the_dataset_survives_a_reload(dna_fasta):
    """The page address carries the dataset: a new session (a browser reload) opened on it finds it again."""
    at = open_page("data")
    at.file_uploader(key="data_files_header").set_value(("mine.fa", dna_fasta.read_bytes(), "text/plain")).run()
    at.button(key="data_use_files").click().run()
    key = at.session_state["data_source"].key
    assert key.startswith("upload:") and at.query_params["data"] in (key, [key])
    again = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)
    again.query_params["data"] = key
    again.run()
    again.switch_page(PAGES["train"]).run()
    ok(again)
    assert again.session_state["data_source"].key == key and "Choose a dataset first" not in texts(again.info)
    assert "mine.fa" in texts(again.markdown)


def test_recent_uploads_are_offered_again(dna_fasta):
    at = open_page("data")
    at.file_uploader(key="data_files_header").set_value(("mine.fa", dna_fasta.read_bytes(), "text/plain")).run()
    at.button(key="data_use_files").click().run()
    fresh = ok(open_page("data"))
    assert fresh.session_state["data_source"] is None
    assert "mine.fa" in fresh.selectbox(key="data_recent").format_func(0)
    fresh.button(key="data_use_recent").click().run()
    ok(fresh)
    assert {m.label: m.value for m in fresh.metric}["Records"] == "40"


def test_the_example_box_shows_the_example_loaded(dna_fasta):
    """The box names the example loaded now, whichever page loaded it, and none for other data."""
    at = ok(open_page("data"))
    assert at.selectbox(key="data_example").value is None and at.button(key="data_use_example").disabled
    home = ok(open_page())
    home.button(key="home_load_protein_tm").click().run()
    home.switch_page(PAGES["data"]).run()
    ok(home)
    assert home.selectbox(key="data_example").value == "protein_tm"
    assert "(loaded)" in home.selectbox(key="data_example").format_func("protein_tm")
    at.get("file_uploader")[0].set_value(("mine.fa", dna_fasta.read_bytes(), "text/plain")).run()
    at.button(key="data_use_files").click().run()
    ok(at)
    assert at.selectbox(key="data_example").value is None and "the dataset is mine.fa" in texts(at.caption)


def test_duplicates_are_a_warning_with_their_count():
    """400 records, 200 of them a second copy of another; 3 copied sequences carry the other label."""
    import random

    rng = random.Random(0)
    seqs = ["".join(rng.choice("ACGT") for _ in range(30)) for _ in range(200)]
    fasta = "".join(f">s{i} label={'ab'[i % 2]}\n{s}\n>t{i} label={'ab'[(i + (i < 3)) % 2]}\n{s}\n"
                    for i, s in enumerate(seqs))
    at = open_page("data")
    at.get("file_uploader")[0].set_value(("dups.fa", fasta.encode(), "text/plain")).run()
    at.button(key="data_use_files").click().run()
    ok(at)
    assert ("200 of 400 records repeat another record's sequence exactly (200 sequences occur more than once, 3 "
            "with different labels)") in texts(at.warning)


def test_the_uploader_clears_when_the_label_mode_changes(dna_fasta):
    at = open_page("data")
    at.get("file_uploader")[0].set_value(("mine.fa", dna_fasta.read_bytes(), "text/plain")).run()
    assert not at.button(key="data_use_files").disabled
    at.radio(key="data_label_mode").set_value("files").run()
    ok(at)
    assert at.button(key="data_use_files").disabled  # the file chosen for header labels is gone


def test_classes_can_be_renamed_merged_and_dropped(write):
    fasta = write("three.fa", "".join(f">s{i} label={lab}\n{'ACGT' * (i % 5 + 2)}\n"
                                      for i, lab in enumerate(["weak", "strong", "none"] * 10)))
    src = DataSource("three", (str(fasta),), key="")
    at = ok(open_page("data", replace(src, class_map="weak=enhancer,strong=enhancer")))
    assert {m.label: m.value for m in at.metric}["Classes"] == "2"
    assert "**enhancer** (20)" in texts(at.caption) and "**none** (10)" in texts(at.caption)
    dropped = ok(open_page("data", replace(src, class_map="none=")))
    assert {m.label: m.value for m in dropped.metric}["Records"] == "20"
    alone = ok(open_page("data", replace(src, class_map="weak=,strong=")))
    assert "only ['none']" in texts(alone.error)  # one class cannot be trained: a message, not a traceback


# ---------- train ----------

def test_train_page_without_data():
    at = ok(open_page("train"))
    assert "Choose a dataset first" in texts(at.info)


def test_train_page_form_and_presets(tiny_source):
    from bioseq.app.presets import PRESETS
    from bioseq.app.train_form import shown

    at = ok(open_page("train", tiny_source))
    keys = {w.key for w in [*at.number_input, *at.checkbox, *at.selectbox, *at.text_input]}
    assert {f"train_opt_{o.name}" for o in shown("dna", "classify", "lstm")} <= keys and "train_name" in keys
    assert at.selectbox(key="train_preset").options == list(PRESETS)
    at.selectbox(key="train_preset").set_value("Vanilla RNN").run()
    ok(at)
    assert at.selectbox(key="train_opt_cell").value == "rnn" and at.checkbox(key="train_opt_conv").value is False


def test_train_form_bounds_and_refusals_come_from_the_options_rule(tiny_source):
    """Each number widget is bounded by its option's range, and what the widget lets through the rule still
    checks (a split identity of 0.05: the widget takes 0 = off, the rule at least 0.1), in the form's words, as
    it refuses ``--split-identity 0.05`` and ``bioseq.train(split_identity=0.05)``."""
    from bioseq.app.train_form import shown

    at = ok(open_page("train", tiny_source))
    for o in shown("dna", "classify", "lstm"):
        if o.kind in ("int", "float"):
            widget = at.number_input(key=f"train_opt_{o.name}")
            assert (widget.min, widget.max) == (o.form_min, o.max), o.name
    assert at.number_input(key="train_opt_lr").max == 1.0 and at.number_input(key="train_opt_dropout").max == 0.9
    at.number_input(key="train_opt_split_identity").set_value(0.05)
    at.text_input(key="train_name").set_value("refused")
    at.button(key="train_start").click().run()
    assert "“Split identity” must be at least 0.1 and at most 1, not 0.05" in texts(at.error)
    assert registry().get("refused") is None


def test_train_page_warns_when_other_runs_share_the_cores(tiny_source, monkeypatch):
    from bioseq.training import crowding, runs

    monkeypatch.setattr(crowding, "cpu_cores", lambda: 1)
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    assert not ok(open_page("train", tiny_source)).warning
    runs.RunFolder.named("cli-run").start("cli-run", "cli")  # training now, started from the command line
    at = ok(open_page("train", tiny_source))
    assert [w.value for w in at.warning if w.icon == ":material/speed:"] == [
        "1 other run is training in this workspace (cli-run); with a new run, 2 runs of 1 thread share 1 CPU core, "
        "so each trains about 2.0× slower. Wait for it to finish, or stop it, to train at full speed."]


def click_start(at: AppTest, name: str, epochs: int = 2):
    """Fill in a tiny run and press Start; returns its job."""
    for key, value in {**TINY, "epochs": epochs, "batch_size": TINY_TRAIN["batch_size"]}.items():
        at.number_input(key=f"train_opt_{key}").set_value(value)
    at.text_input(key="train_name").set_value(name)
    at.button(key="train_start").click().run()
    ok(at)
    job = registry().get(name)
    assert job is not None, texts(at.error)
    return job


def start_tiny_run(at: AppTest, name: str, epochs: int = 2) -> None:
    from bioseq.training.runs import read_run

    assert click_start(at, name, epochs).join(120), "training did not finish"
    info = read_run(name)
    assert info["status"] == "done", info.get("error")


def test_train_page_trains_in_the_background(tiny_source):
    at = open_page("train", tiny_source)
    start_tiny_run(at, "run-a")
    at.run()
    ok(at)
    assert at.selectbox(key="train_run").value == "run-a"
    assert "saved as model **run-a**" in banner(at)
    assert charts(at) >= 1 and model_path("run-a").is_file()
    # the run survives a new session (a browser reload): it is read back from the workspace
    again = ok(open_page("train", tiny_source))
    assert again.selectbox(key="train_run").value == "run-a" and "saved as model" in banner(again)


def test_train_page_form_after_leaving_during_a_run(tiny_source):
    """Left during training, back after it ended: the form is there again, with the values of the last run."""
    at = open_page("train", tiny_source)
    at.selectbox(key="train_preset").set_value("GRU").run()
    job = click_start(at, "away")
    at.switch_page(PAGES["models"]).run()
    ok(at)
    assert job.join(120), "training did not finish"
    at.switch_page(PAGES["train"]).run()
    ok(at)  # no KeyError for a widget that was not drawn while the page was away
    assert at.selectbox(key="train_run").value == "away" and "saved as model **away**" in banner(at)
    assert at.selectbox(key="train_preset").value == "GRU" and at.selectbox(key="train_opt_cell").value == "gru"
    assert at.number_input(key="train_opt_hidden").value == TINY["hidden"] and at.button(key="train_start")
    assert at.text_input(key="train_name").value.startswith("gru-dna-")
    start_tiny_run(at, "again", epochs=1)  # and the form still starts runs


def test_train_page_shows_a_cli_run_from_its_folder(tiny_source, dna_fasta):
    from bioseq.training.runs import RunFolder

    run = RunFolder.named("from-cli")
    run.start("from-cli", "cli", train_config={"epochs": 5}, summary={"records": 40})
    run.update(progress={"epoch": 2, "epochs": 5, "step": 3, "steps_per_epoch": 4, "loss": 0.5, "elapsed": 7.0})
    at = ok(open_page("train", tiny_source))
    assert "started from the command line" in texts(at.caption)
    bar = at.get("progress")[0]
    assert "epoch 2/5 · step 3/4 · loss 0.5000" in bar.proto.text and "train_stop" not in {b.key for b in at.button}


@pytest.mark.slow
def test_train_page_refuses_a_taken_name_and_compares_runs(tiny_source):
    at = open_page("train", tiny_source)
    start_tiny_run(at, "first", epochs=1)
    at.text_input(key="train_name").set_value("first")
    at.button(key="train_start").click().run()
    ok(at)
    assert "already exists" in texts(at.error) and "Replace a model or run" in texts(at.error)
    at.checkbox(key="train_overwrite").check()
    start_tiny_run(at, "first", epochs=1)  # replaced when told to
    assert at.checkbox(key="train_overwrite").value is False  # and told once only
    start_tiny_run(at, "second", epochs=1)
    at.run()
    ok(at)
    assert set(at.multiselect(key="train_compare").value) == {"first", "second"}
    assert charts(at) >= 2


@pytest.mark.slow
def test_compare_runs_overlays_like_with_like(dna_fasta, protein_fasta):
    for fasta, name in ((dna_fasta, "dna-a"), (protein_fasta, "prot-a"), (dna_fasta, "dna-b")):
        assert cli(["train", str(fasta), "--name", name, *QUICK]) == 0
    at = ok(open_page("train"))
    at.selectbox(key="train_run").set_value("dna-b").run()
    ok(at)
    assert set(at.multiselect(key="train_compare").value) == {"dna-a", "dna-b"}  # not the protein run
    table = next(d.value for d in at.dataframe if "val_balanced_accuracy" in d.value.columns)
    assert set(table["run"]) == {"dna-a", "dna-b", "prot-a"} and {"lr", "hidden", "minutes"} <= set(table.columns)


def test_train_page_shows_a_failed_run(tmp_path):
    at = open_page("train", DataSource("gone", (str(tmp_path / "gone.fa"),)))
    ok(at)
    assert "gone.fa" in texts(at.error)  # the data check names the file; no form, no traceback


# ---------- gradient flow ----------

def test_gradient_flow_page(cli_model):
    at = ok(open_page("gradient_flow"))
    assert at.multiselect(key="flow_runs").value == [cli_model] and at.slider(key="flow_n")
    assert {m.label for m in at.metric} == {"First/last layer", "Effective memory"}
    assert charts(at) >= 3
    assert any(word in texts(at.markdown) for word in ("mean gradient norm", "gradient reaches"))
    memory = next(m.value for m in at.metric if m.label == "Effective memory")
    assert memory.endswith("positions") or memory.startswith("≥")  # read off the curve drawn below it
    assert "median over the sequences that reach that far" in texts(at.caption)
    assert "read-out (**max**) looks at every position" in texts(at.caption)  # the default DNA read-out


@pytest.mark.slow
def test_gradient_flow_compares_runs(dna_fasta, cli_model):
    assert cli(["train", str(dna_fasta), "--name", "rnn-model", "--arch", "rnn", "--no-conv", "--layers", "2",
                *QUICK]) == 0
    at = open_page("gradient_flow")
    at.multiselect(key="flow_runs").set_value([cli_model, "rnn-model"]).run()
    ok(at)
    # two one-epoch models are at chance: the diagnosis box says "not learning"; no other error
    assert len(at.metric) == 4 and not errors(at)
    assert charts(at) == 4  # per layer over steps, mean per layer (a run has two layers), per step, memory


def test_gradient_flow_without_runs():
    assert "No finished runs" in texts(ok(open_page("gradient_flow")).info)


# ---------- gates & saliency ----------

@pytest.fixture
def fake_modisco(monkeypatch):
    """TF-MoDISco replaced by one that 'finds' JASPAR's FOS::JUN matrix (the real run: the slow test beside)."""
    from test_named_motifs import _fos_jun

    from bioseq.interpret import named_motifs

    monkeypatch.setattr(named_motifs, "discover", lambda onehots, hyps, max_seqlets: ([_fos_jun()], 0.5))


def test_gates_page(cli_model, fake_modisco):
    at = ok(open_page("gates_saliency"))
    assert at.selectbox(key="gates_model").value == cli_model
    assert at.radio(key="gates_origin").value == "data" and at.selectbox(key="gates_record")
    assert charts(at) >= 4  # gates, gate saliency, saliency and mutagenesis (short sequences)
    assert [t.label for t in at.tabs][:2] == ["Gates", "Gate saliency"]
    assert at.selectbox(key="gates_sal_layer") and at.multiselect(key="gates_sal_directions").value
    assert "Explaining class" in texts(at.caption)
    at.selectbox(key="gates_target").set_value("motif")
    at.radio(key="gates_method").set_value("ig").run()
    ok(at)
    assert at.selectbox(key="gates_motif_jaspar").value == "2026"  # a DNA model: motifs named against JASPAR
    at.button(key="gates_find_motifs").click().run()
    ok(at)
    assert charts(at) >= 6 and at.selectbox(key="gates_logo_motif").value == 0  # the logo and the positions
    table = at.dataframe[-1].value
    assert table["match_name"].tolist() == ["FOS::JUN"] and table["seqlets"].tolist() == [4]
    assert "TF-MoDISco found 1 motif(s)" in texts(at.caption) and "JASPAR2026 CORE vertebrates" in texts(at.caption)
    downloads = {b.proto.label for b in at.get("download_button")}  # the full table and the MEME file (as the CLI)
    assert {"Download table (CSV)", "Download motifs (MEME)"} <= downloads and not at.info


def test_the_motifs_tab_says_which_class_found_no_motif(cli_model, monkeypatch):
    from test_named_motifs import _fos_jun

    from bioseq.interpret import named_motifs
    from bioseq.interpret.modisco import NoMotifs

    calls = []

    def discover(onehots, hyps, max_seqlets):  # the first class explained fails, the second finds FOS::JUN
        calls.append(len(onehots))
        if len(calls) == 1:
            raise NoMotifs("TF-MoDISco failed on 5 records (ValueError: degenerate)")
        return [_fos_jun()], 0.5

    monkeypatch.setattr(named_motifs, "discover", discover)
    monkeypatch.setattr(named_motifs, "resolve_targets", lambda bundle, arrays, target: np.arange(len(arrays)) % 2)
    at = ok(open_page("gates_saliency"))
    at.button(key="gates_find_motifs").click().run()
    ok(at)
    assert len(calls) == 2 and at.dataframe[-1].value["target"].tolist() == ["motif"]
    assert "No motif for class background: TF-MoDISco failed on 5 records (ValueError: degenerate)" in texts(at.info)


@pytest.mark.slow
def test_gates_page_runs_tf_modisco_for_real(cli_model):
    """The real TF-MoDISco on a one-epoch tiny model: a table of named motifs, or one clear message; no exception."""
    at = ok(open_page("gates_saliency"))
    at.selectbox(key="gates_target").set_value("motif").run()
    at.button(key="gates_find_motifs").click().run()
    ok(at)
    assert [t for t in at.dataframe if "match_name" in t.value.columns] or "TF-MoDISco" in texts(at.error)


def test_a_protein_model_keeps_the_kmer_motifs(protein_model):
    at = ok(open_page("gates_saliency"))
    assert at.selectbox(key="gates_model").value == "prot-model"
    assert at.slider(key="gates_motif_k").value == 4 and not [s for s in at.selectbox if s.key == "gates_motif_jaspar"]
    at.button(key="gates_find_motifs").click().run()
    ok(at)
    assert not at.error and "enrichment" in at.dataframe[-1].value.columns


@pytest.mark.slow
def test_an_ensemble_is_looked_inside_one_member_at_a_time(dna_fasta):
    assert cli(["train", str(dna_fasta), "--name", "pair", "--seeds", "2", *QUICK]) == 0
    at = ok(open_page("gates_saliency"))
    assert at.selectbox(key="gates_model").value == "pair"
    member = at.selectbox(key="gates_member")
    assert member.value == 1 and list(member.options) == ["member 1 of 2", "member 2 of 2"]
    member.set_value(2).run()
    ok(at)
    assert charts(at) >= 4
    at = ok(open_page("gradient_flow"))
    assert at.selectbox(key="flow_member_pair").value == 1
    at.selectbox(key="flow_member_pair").set_value(2).run()
    ok(at)
    assert charts(at) >= 2


def test_a_single_model_has_no_member_choice(cli_model):
    at = ok(open_page("gates_saliency"))
    assert not [s for s in at.selectbox if s.key == "gates_member"]


@pytest.mark.slow
def test_gates_page_finds_any_record_and_shows_its_label(write, cli_model):
    """The whole dataset is searchable (not the first 500), with each record's true label and probabilities."""
    from bioseq.data.synthetic import motif_dna, write_fasta

    big = write_fasta(write("x", "").parent / "big.fa", motif_dna(700, length=24, seed=9))
    at = ok(open_page("gates_saliency", DataSource("big", (str(big),))))
    at.radio(key="gates_origin").set_value("dataset").run()
    ok(at)
    picker = at.selectbox(key="gates_record")
    assert len(picker.options) == 700 and any("seq700 ·" in o for o in picker.options)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["True label"] in ("motif", "background") and {"p(background)", "p(motif)"} <= set(metrics)
    at.selectbox(key="gates_order").set_value("misclassified first").run()
    ok(at)
    marks = ["✗" in o for o in at.selectbox(key="gates_record").options]
    assert marks == sorted(marks, reverse=True) and any(marks)  # every mistake before every right call
    at.selectbox(key="gates_order").set_value("most confident per class").run()
    predicted = [o.split("predicted ")[1].split(" ")[0] for o in at.selectbox(key="gates_record").options]
    assert set(predicted[:2]) == set(predicted)  # each predicted class near the top


@pytest.mark.slow
def test_gates_page_offers_every_attribution_method(cli_model, fake_modisco):
    from bioseq.interpret.attribution import METHODS

    at = ok(open_page("gates_saliency"))
    radio = at.radio(key="gates_method")
    assert radio.options == [m.label for m in METHODS.values()]  # labels from the registry
    assert all(m.help in radio.help for m in METHODS.values())
    for name, m in METHODS.items():
        at.radio(key="gates_method").set_value(name).run()
        ok(at)
        assert not at.error and f"{m.heading}: {m.help}" in texts(at.caption)
        assert not {"Deeplift", "Gradientshap"} & set(texts(at.caption).split())
        assert charts(at) >= 3
    at.selectbox(key="gates_motif_method").set_value("ism")
    at.button(key="gates_find_motifs").click().run()
    ok(at)
    assert not at.error and at.selectbox(key="gates_logo_motif")


def test_gates_page_pasted_protein(protein_model):
    at = open_page("gates_saliency")
    at.radio(key="gates_origin").set_value("paste").run()
    assert "paste a sequence" in texts(at.info)
    at.text_area(key="gates_paste").set_value("MKTAYIAKQRQISFVKSHFSRQKDEL").run()
    ok(at)
    assert not at.error and charts(at) >= 3


def test_gates_page_on_the_data_page_dataset(cli_model, tiny_source):
    at = open_page("gates_saliency", tiny_source)
    at.radio(key="gates_origin").set_value("dataset").run()
    ok(at)
    assert not at.error and at.selectbox(key="gates_record").options[0].startswith("seq1")
    assert charts(at) >= 3


def test_gates_page_refuses_the_wrong_alphabet(protein_model):
    at = open_page("gates_saliency")
    at.radio(key="gates_origin").set_value("paste").run()
    at.text_area(key="gates_paste").set_value(">x\n" + "ACGT" * 10).run()
    ok(at)
    assert "looks like DNA" in texts(at.error)


BUNDLED = ["amp — bundled: AMP, DECOY", "splice — bundled: EI, IE, N", "ss3 — bundled: C, E, H"]


def test_gates_page_without_models_offers_the_bundled_ones():
    at = ok(open_page("gates_saliency"))
    assert at.selectbox(key="gates_model").options == BUNDLED


# ---------- predict ----------

def test_predict_page_offers_the_bundled_models_on_first_launch():
    """An empty workspace: secondary structure and antimicrobial peptides are predicted with no training."""
    fixtures = ROOT / "tests" / "fixtures" / "bundled"
    at = ok(open_page("predict"))
    assert at.selectbox(key="predict_model").options == BUNDLED
    at.file_uploader(key="predict_files").set_value(("pep.fa", (fixtures / "amp.fa").read_bytes(), "text/plain"))
    at.run()
    ok(at)
    table = at.dataframe[0].value
    assert list(table["id"]) == ["AP01235", "AP02387", "UniRef50_Q9BRA0", "UniRef50_Q54JQ2"]
    assert list(table.columns)[:4] == ["id", "prediction", "p_AMP", "p_DECOY"]
    at.selectbox(key="predict_model").set_value("ss3").run()
    at.file_uploader(key="predict_files").set_value(("chains.fa", (fixtures / "ss3.fa").read_bytes(), "text/plain"))
    at.run()
    ok(at)
    assert set(at.dataframe[0].value["id"]) == {"cb513_015", "cb513_040"}


def test_predict_page_with_a_cli_model(cli_model, dna_fasta):
    at = ok(open_page("predict"))
    assert at.selectbox(key="predict_model").value == cli_model
    at.file_uploader(key="predict_files").set_value(("new.fa", dna_fasta.read_bytes(), "text/plain"))
    at.run()
    ok(at)
    table = at.dataframe[0].value
    assert len(table) == 40 and list(table.columns)[:4] == ["id", "prediction", "p_background", "p_motif"]
    assert at.download_button(key="predict_download").label == "Download predictions (CSV)"
    assert charts(at) == 5  # the summary; the evaluation: confusion, ROC, threshold, precision-recall
    at.multiselect(key="predict_filter_class").set_value(["motif"]).run()
    assert set(at.dataframe[0].value["prediction"]) <= {"motif"}


def test_predict_page_evaluates_labelled_files_with_a_threshold(cli_model, dna_fasta):
    at = open_page("predict")
    at.file_uploader(key="predict_files").set_value(("new.fa", dna_fasta.read_bytes(), "text/plain")).run()
    ok(at)
    metrics = {m.label: m.value for m in at.metric}
    assert {"accuracy", "balanced accuracy", "AUROC", "MCC", "F1"} <= set(metrics)
    assert "40 labelled sequences" in texts(at.caption)
    auroc = metrics["AUROC"]
    at.slider(key="predict_threshold").set_value(0.0).run()
    ok(at)
    after = {m.label: m.value for m in at.metric}
    assert after["AUROC"] == auroc and after["balanced accuracy"] == "0.500"  # every sequence called motif
    assert set(at.dataframe[0].value["prediction"]) == {"motif"}
    assert "recall 1.000" in texts(at.caption)


def test_predict_page_labelled_files_get_a_true_column_and_an_only_wrong_filter(cli_model, dna_fasta):
    """The true label beside each prediction; at threshold 0 every record is called motif, so the wrong ones are
    exactly the 20 background records. The table records the threshold; each download says what it holds."""
    at = open_page("predict")
    at.file_uploader(key="predict_files").set_value(("new.fa", dna_fasta.read_bytes(), "text/plain")).run()
    ok(at)
    table = at.dataframe[0].value
    assert list(table.columns) == ["id", "prediction", "p_background", "p_motif", "length", "unlike_training",
                                   "file", "true", "threshold"]
    assert table["true"].value_counts().to_dict() == {"background": 20, "motif": 20}
    assert set(table["threshold"]) == {0.5}
    at.slider(key="predict_threshold").set_value(0.0).run()
    at.checkbox(key="predict_filter_wrong").check().run()
    ok(at)
    shown = at.dataframe[0].value
    assert len(shown) == 20 and set(shown["true"]) == {"background"} and set(shown["threshold"]) == {0.0}
    assert "the decision threshold used" in at.download_button(key="predict_download").help
    assert "after the filters" in at.download_button(key="predict_results_csv").help
    assert "**Download table**, under the table on the Predictions tab: only the rows its filters show" in \
        texts(at.caption)


def test_predict_page_unlabelled_files_are_predicted_not_evaluated(cli_model):
    at = open_page("predict")
    at.file_uploader(key="predict_files").set_value(("plain.fa", b">a\nACGTACGTAC\n>b\nTTGACTCAGG\n", "text/plain"))
    at.run()
    ok(at)
    assert len(at.dataframe[0].value) == 2 and "No evaluation" in texts(at.info)
    assert "true" not in at.dataframe[0].value and not [c for c in at.checkbox if c.key == "predict_filter_wrong"]


def test_predict_page_flags_records_unlike_the_training_data(cli_model):
    long = b">long\n" + b"ACGT" * 100 + b"\n>typical\n" + b"ACGTTGCA" * 3 + b"\n"
    at = open_page("predict")
    at.file_uploader(key="predict_files").set_value(("odd.fa", long, "text/plain")).run()
    ok(at)
    assert "1 of 2 sequences are unlike the training data" in texts(at.warning)
    table = at.dataframe[0].value
    assert table.set_index("id").loc["long", "unlike_training"].startswith("longer than any training sequence")
    at.checkbox(key="predict_filter_unusual").check().run()
    assert list(at.dataframe[0].value["id"]) == ["long"]


def test_predict_page_selection_follows_the_record_not_the_row(cli_model, dna_fasta):
    at = open_page("predict")
    at.file_uploader(key="predict_files").set_value(("new.fa", dna_fasta.read_bytes(), "text/plain")).run()
    at.session_state["predict_results_table"] = {"selection": {"rows": [2], "columns": [], "cells": []}}
    at.run()
    assert any("Saliency of seq3" in h.value for h in at.subheader)
    at.text_input(key="predict_filter_id").set_value("seq3").run()  # seq3 is now row 0: still seq3
    ok(at)
    assert any("Saliency of seq3" in h.value for h in at.subheader)
    assert any("Predictions (11 of 40)" in h.value for h in at.subheader)  # seq3 and seq30..seq39
    at.text_input(key="predict_filter_id").set_value("seq1").run()  # seq3 is filtered out: no saliency at all
    ok(at)
    assert not any("Saliency of" in h.value for h in at.subheader)
    assert any("Predictions (11 of 40)" in h.value for h in at.subheader)


def test_predict_page_row_click_shows_saliency(cli_model, dna_fasta):
    at = open_page("predict")
    at.file_uploader(key="predict_files").set_value(("new.fa", dna_fasta.read_bytes(), "text/plain"))
    at.run()
    at.session_state["predict_results_table"] = {"selection": {"rows": [2], "columns": [], "cells": []}}
    at.run()
    ok(at)
    assert any("Saliency of seq3" in h.value for h in at.subheader) and charts(at) == 6


def test_predict_page_errors_are_messages(cli_model, protein_fasta):
    at = open_page("predict")
    at.file_uploader(key="predict_files").set_value(("prot.fa", protein_fasta.read_bytes(), "text/plain"))
    at.run()
    ok(at)
    assert "prot.fa" in texts(at.error) and "looks like PROTEIN" in texts(at.error)
    at.file_uploader(key="predict_files").set_value(("bad.fa", b"no header here\n", "text/plain"))
    at.run()
    ok(at)
    assert "bad.fa" in texts(at.error) and "before the first '>' header" in texts(at.error)


def test_predict_page_with_an_uploaded_model(cli_model, dna_fasta):
    data = model_path(cli_model).read_bytes()
    at = open_page("predict")
    at.radio(key="predict_model_from").set_value("upload").run()
    junk = ("junk.safetensors", b"\x80\x04junk", "application/octet-stream")
    at.file_uploader(key="predict_model_file").set_value(junk)
    at.run()
    ok(at)
    assert "junk.safetensors: not a bioseq model file" in texts(at.error)
    at.file_uploader(key="predict_model_file").set_value(("m.safetensors", data, "application/octet-stream")).run()
    ok(at)
    at.file_uploader(key="predict_files").set_value(("new.fa", dna_fasta.read_bytes(), "text/plain"))
    at.run()
    ok(at)
    assert len(at.dataframe[0].value) == 40


# ---------- models ----------

def test_models_page(cli_model):
    at = ok(open_page("models"))
    assert at.dataframe[0].value["name"].tolist() == [cli_model, "amp", "splice", "ss3"]  # then the bundled ones
    card = dict(zip(at.dataframe[1].value["field"], at.dataframe[1].value["value"]))
    assert card["name"] == cli_model and card["alphabet"].startswith("dna")
    assert charts(at) == 3  # loss and accuracy curves, confusion matrix
    loss, accuracy = (json.loads(c.proto.spec) for c in at.get("vega_lite_chart")[:2])
    for curve in (loss, accuracy):  # single views the page stretches to its column (no hconcat cut at its edge)
        assert not {"hconcat", "vconcat", "facet"} & set(curve) and curve["encoding"]["color"]["legend"]
    assert at.download_button(key="models_download").label == "Download the model file"
    assert at.button(key="models_delete").disabled
    at.checkbox(key="models_confirm").check().run()
    at.button(key="models_delete").click().run()
    ok(at)
    assert list_models() == [] and "No models yet" in texts(at.info)


def test_models_page_shows_the_bundled_cards_read_only():
    at = ok(open_page("models"))
    assert "No models yet" in texts(at.info) and "The bundled models below are ready to use." in texts(at.info)
    assert at.dataframe[0].value["name"].tolist() == ["amp", "splice", "ss3"]
    at.selectbox(key="models_pick").set_value("splice").run()
    ok(at)
    card = dict(zip(at.dataframe[1].value["field"], at.dataframe[1].value["value"]))
    assert card["data licence"].startswith("CC BY 4.0") and "Wilson 95% CI" in card["test"]
    assert card["split"].startswith("de-duplicated by sequence") and card["bundled"].startswith("yes")
    assert "read-only" in texts(at.caption)
    assert not [b for b in at.button if b.key in ("models_delete", "models_rename")]


def test_models_page_upload(cli_model, tmp_path):
    data = model_path(cli_model).read_bytes()
    model_path(cli_model).unlink()
    at = open_page("models")
    at.file_uploader(key="models_upload").set_value(("x.safetensors", data, "application/octet-stream")).run()
    at.button(key="models_add").click().run()
    ok(at)
    assert f"Added **{cli_model}**" in texts(at.success) and model_path(cli_model).is_file()
    at.file_uploader(key="models_upload").set_value(("junk.safetensors", b"junk", "application/octet-stream")).run()
    at.button(key="models_add").click().run()
    ok(at)
    assert "junk.safetensors" in texts(at.error)


def test_models_page_imports_a_taken_name_under_another_and_renames(cli_model):
    """The issue's Broken 4: a renamed copy of a registry model is imported under another name, then renamed."""
    data = model_path(cli_model).read_bytes()
    at = open_page("models")
    at.file_uploader(key="models_upload").set_value(("copy.safetensors", data, "application/octet-stream")).run()
    at.button(key="models_add").click().run()
    ok(at)
    assert "already in the registry; import it under another name" in texts(at.error)
    at.text_input(key="models_import_as").input("copy").run()
    at.button(key="models_add").click().run()
    ok(at)
    assert "Added **copy**" in texts(at.success)
    assert sorted(m["name"] for m in list_models()) == ["cli-model", "copy"]
    assert at.selectbox(key="models_pick").value == "copy"
    at.text_input(key="models_new_name").input(cli_model).run()
    at.button(key="models_rename").click().run()
    ok(at)
    assert "a model called 'cli-model' is already in the registry" in texts(at.error)
    at.text_input(key="models_new_name").input("copy2").run()
    at.button(key="models_rename").click().run()
    ok(at)
    assert "Renamed model copy to copy2." in texts(at.success) and at.selectbox(key="models_pick").value == "copy2"
    assert sorted(m["name"] for m in list_models()) == ["cli-model", "copy2"]
    card = dict(zip(at.dataframe[1].value["field"], at.dataframe[1].value["value"]))
    assert card["name"] == "copy2"


def links(at) -> dict[str, str]:
    """The page links of a page: label -> target page and address."""
    return {e.proto.label: f"{e.proto.page}?{e.proto.query_string}" for e in at.get("page_link")}


def test_a_model_card_links_to_predict_and_gates_with_the_model(cli_model, protein_model):
    at = ok(open_page("models"))
    at.selectbox(key="models_pick").set_value(cli_model).run()
    found = links(at)
    assert found[f"Predict with {cli_model}"].endswith(f"predict?model={cli_model}")
    assert found[f"Gates & saliency of {cli_model}"].endswith(f"gates_saliency?model={cli_model}")
    for page, key in (("predict", "predict_model"), ("gates_saliency", "gates_model")):
        for name in (cli_model, protein_model):
            fresh = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)
            fresh.query_params["model"] = name  # the address the link opens
            fresh.run()
            fresh.switch_page(PAGES[page]).run()
            ok(fresh)
            assert fresh.selectbox(key=key).value == name, (page, name)


def test_a_run_links_to_its_model_and_is_renamed_and_deleted(cli_model):
    at = ok(open_page("train"))
    assert links(at)[f"Its model: {cli_model}"].endswith(f"models?model={cli_model}")
    at.text_input(key="train_runs_new_name").input("renamed-run").run()
    at.button(key="train_runs_rename").click().run()
    ok(at)
    assert "Renamed run cli-model to renamed-run." in texts(at.success)
    assert at.selectbox(key="train_run").value == "renamed-run" and (runs_dir() / "renamed-run").is_dir()
    assert links(at)[f"Its model: {cli_model}"]  # the model keeps its name and path
    at.checkbox(key="train_runs_confirm").check().run()
    at.button(key="train_runs_delete").click().run()
    ok(at)
    assert not (runs_dir() / "renamed-run").exists() and model_path(cli_model).is_file()


@pytest.mark.slow
def test_an_ensemble_is_said_with_each_members_curves(dna_fasta):
    assert cli(["train", str(dna_fasta), "--seeds", "2", "--name", "pair", *QUICK]) == 0
    at = ok(open_page("models"))
    assert "ensemble of 2 networks" in texts(at.info)
    card = dict(zip(at.dataframe[1].value["field"], at.dataframe[1].value["value"]))
    assert card["ensemble"] == "2 networks, their probabilities averaged (seeds 0, 1)"
    assert "One colour per member." in texts(at.caption)
    train = ok(open_page("train"))
    assert "An ensemble of 2 networks (seeds 0, 1)" in texts(train.info)
    assert sorted(set(runs.RunFolder.named("pair").member_metrics()["run"])) == ["member 1", "member 2"]


def test_damaged_model_file_is_a_warning(cli_model):
    (model_path(cli_model).parent / "broken.safetensors").write_bytes(b"not a model at all")
    at = ok(open_page("models"))
    assert "broken" in texts(at.warning)
    assert at.dataframe[0].value["name"].tolist() == [cli_model, "amp", "splice", "ss3"]  # then the bundled ones
    predict = ok(open_page("predict"))
    arch = f"conv{TINY['conv_filters']}/{TINY['conv_width']} pool2 -> 1x BiLSTM {TINY['hidden']} -> max"
    assert predict.selectbox(key="predict_model").options == [f"{cli_model} — {arch}", *BUNDLED]


def test_protein_through_every_page(protein_fasta):
    """Train on protein in the Train page, then Gradient flow, Gates & saliency, Predict and Models."""
    source = DataSource("tiny protein", (str(protein_fasta),))
    data = ok(open_page("data", source))
    assert {m.label: m.value for m in data.metric}["Alphabet"] == "PROTEIN"
    at = open_page("train", source)
    assert at.selectbox(key="train_opt_pooling").value == "last"  # the protein defaults
    start_tiny_run(at, "prot-run")
    for page in ("gradient_flow", "gates_saliency", "models"):
        view = ok(open_page(page, source))
        assert not errors(view) and charts(view) >= 2, page  # a tiny run is diagnosed "not learning", no error
    predict = open_page("predict", source)
    predict.file_uploader(key="predict_files").set_value(("p.fa", protein_fasta.read_bytes(), "text/plain"))
    predict.run()
    ok(predict)
    assert list(predict.dataframe[0].value.columns)[:4] == ["id", "prediction", "p_retained", "p_secreted"]


@pytest.mark.skipif(not (shutil.which("mmseqs") or shutil.which("cd-hit")), reason="needs MMseqs2 or CD-HIT")
def test_data_page_checks_overlap_with_the_test_file(write):
    seqs = ["ACGTTGCAAGGCTTACGATCGGATCCATGCA", "TTGACCGTAGGCATCGATCGGCTAGCTAAGT"]
    train = write("train.fa", "".join(f">t{i} label={'ab'[i]}\n{s}\n" for i, s in enumerate(seqs)))
    test = write("test.fa", f">copy label=a\n{seqs[0]}\n>other label=b\nGGGGCCCCAAAATTTTGGGGCCCCAAAATTTTG\n")
    at = open_page("data", DataSource("split", (str(train),), test=(str(test),)))
    at.button(key="data_overlap").click().run()
    ok(at)
    assert "copy" in texts(at.warning) or "1 " in texts(at.warning), texts(at.warning)


def column_charts(at: AppTest) -> list:
    """Every chart drawn inside a column of ``at``'s page, once each."""
    found = {}
    for col in at.columns:
        for c in col.get("vega_lite_chart"):
            found[id(c.proto)] = c
    return list(found.values())


def test_charts_side_by_side_fit_their_column(cli_model, dna_fasta, tm_fasta):
    """A chart in a column is one view (or layers of one) drawn at the column's width: a concatenated or faceted
    chart keeps its fixed width and is cut at the column's right edge (as the Models page's accuracy chart was)."""
    drawn = []
    for source in (DataSource("d", (str(dna_fasta),)), DataSource("tm", (str(tm_fasta),))):
        drawn += column_charts(ok(open_page("data", source)))
    drawn += column_charts(ok(open_page("models")))
    predict = open_page("predict")
    predict.file_uploader(key="predict_files").set_value(("new.fa", dna_fasta.read_bytes(), "text/plain")).run()
    drawn += column_charts(ok(predict))
    assert len(drawn) >= 10
    for chart in drawn:
        spec = json.loads(chart.proto.spec)
        assert not {"hconcat", "vconcat", "concat", "facet", "repeat"} & set(spec), spec.get("title")
    # and every chart is placed by widgets.chart, which draws it at the container's width ("stretch")
    calls = {p.name for p in (ROOT / "dashboard").rglob("*.py") if "altair_chart(" in p.read_text()
             or "vega_lite_chart(" in p.read_text()}
    assert calls == {"widgets.py"} and 'altair_chart(c, width="stretch"' in (ROOT / "dashboard/widgets.py").read_text()


# ---------- labellers (a label per position) ----------

@pytest.fixture
def tm_fasta(tmp_path) -> Path:
    """40 tiny proteins as three-line FASTA (header, sequence, M/O label string)."""
    from bioseq.data.synthetic import transmembrane_protein, write_three_line

    return write_three_line(tmp_path / "tm.fa", transmembrane_protein(40, min_len=30, max_len=60, seed=1))


@pytest.fixture
def label_model(tm_fasta) -> str:
    assert cli(["train", str(tm_fasta), "--name", "tm-model", *QUICK]) == 0
    return "tm-model"


def spec_text(at: AppTest) -> str:
    return " ".join(c.proto.spec for c in at.get("vega_lite_chart"))


def test_home_loads_the_per_position_example_in_one_click():
    at = ok(open_page())
    at.button(key="home_load_protein_tm").click().run()
    ok(at)
    assert at.session_state["data_source"].key == "example:protein_tm"
    assert "per-position" in at.button(key="home_load_protein_tm").label
    data = ok(at.switch_page(PAGES["data"]).run())
    assert {m.label: m.value for m in data.metric}["Labels"] == "2"


def test_data_page_summarises_per_position_data():
    at = open_page("data")
    at.selectbox(key="data_example").set_value("protein_tm").run()
    at.button(key="data_use_example").click().run()
    ok(at)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Records"] == "600" and metrics["Labels"] == "2" and metrics["Not scored"] == "0.0%"
    assert charts(at) == 4 and not at.error
    text = spec_text(at)
    assert "Positions per label" in text and "Segment length per label" in text and "position label" in text
    assert "Trained as" not in texts(at.caption)  # no class editor for labels
    assert "Positions per label: **M** (19,240), **O** (40,187)" in texts(at.caption)


def test_data_page_uploads_a_three_line_fasta(tm_fasta):
    at = open_page("data")
    at.file_uploader(key="data_files_header").set_value(("tm.fa", tm_fasta.read_bytes(), "text/plain")).run()
    at.button(key="data_use_files").click().run()
    ok(at)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Records"] == "40" and metrics["Labels"] == "2" and metrics["Alphabet"] == "PROTEIN"


def test_data_page_uploads_paired_labels_and_mask():
    """Sequences, a label FASTA and a mask FASTA matched by id (given in another order): 2 of 12 positions
    masked; M and O counted on scored positions only."""
    at = open_page("data")
    at.radio(key="data_label_mode").set_value("positions").run()
    at.file_uploader(key="data_files_positions").set_value(("s.fa", b">s1\nACDEFG\n>s2\nKLMNPQ\n", "text/plain")).run()
    at.file_uploader(key="data_labels_fasta").set_value(("l.fa", b">s2\nOOOMMM\n>s1\nMMMOOO\n", "text/plain"))
    at.file_uploader(key="data_mask").set_value(("m.fa", b">s1\n111100\n>s2\n111111\n", "text/plain")).run()
    at.button(key="data_use_files").click().run()
    ok(at)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Records"] == "2" and metrics["Positions"] == "12" and metrics["Not scored"] == "16.7%"
    assert "**M** (6), **O** (4)" in texts(at.caption)
    source = at.session_state["data_source"]
    assert source.label_mode == "positions" and source.labels_fasta[0].endswith("l.fa") and source.mask
    assert "2 of 12 positions (16.7%) are not scored (the mask)" in texts(at.warning)


def test_train_page_trains_a_labeller_with_live_curves(tm_fasta):
    at = ok(open_page("train", DataSource("tm", (str(tm_fasta),))))
    assert "a label per position" in texts(at.markdown) and "labeller" in texts(at.caption)
    shown = {w.key for w in [*at.number_input, *at.selectbox]}
    assert not shown & {"train_opt_conv_pool", "train_opt_pooling", "train_opt_strand"}  # not for a labeller
    start_tiny_run(at, "tm-run")
    at.run()
    ok(at)
    assert "saved as model **tm-run**" in banner(at) and "SOV" in banner(at)
    assert charts(at) >= 1 and list_models()[0]["task"] == "label"


def test_gradient_flow_page_for_a_labeller(label_model):
    at = ok(open_page("gradient_flow"))
    assert not errors(at) and {m.label for m in at.metric} == {"First/last layer", "Effective memory"}
    assert any("Per position: gradient reaching each step from each output, ‖∂C(t)/∂h(s)‖" in h.value
               for h in at.subheader)  # the heading in words, the formula after
    assert at.selectbox(key="flow_heat_record") and charts(at) >= 4  # layers, G[t, s], profile, memory
    text = spec_text(at)
    assert "loss position t" in text and "hidden state position s" in text  # the heatmap
    assert "states before t" in text and "states after t" in text  # the profile, one panel per direction
    assert "inputs before the labelled position" in text  # memory per position
    assert "from the position labelled" in texts(at.markdown)  # the diagnosis in a labeller's words
    at.selectbox(key="flow_heat_record").set_value(3).run()
    ok(at)


@pytest.mark.slow
def test_gates_page_for_a_labeller(label_model):
    from bioseq.interpret.attribution import METHODS

    at = ok(open_page("gates_saliency"))
    assert not at.error and at.number_input(key="gates_position")
    assert [t.label for t in at.tabs][:2] == ["Gates", "Gate saliency at 22"]
    metrics = {m.label: m.value for m in at.metric}
    assert {"Accuracy on this record", "True label at 22", "Predicted at 22", "p(M) at 22"} <= set(metrics)
    assert charts(at) >= 5  # gates with label tracks, gate saliency, saliency, used window, mutagenesis
    text = spec_text(at)
    assert "probability of each label" in text and "receptive field" in text
    at.number_input(key="gates_position").set_value(3).run()
    ok(at)
    assert "Explaining label" in texts(at.caption) and "position **3**" in texts(at.caption)
    for name in METHODS:
        at.radio(key="gates_method").set_value(name).run()
        ok(at)
        assert not at.error, name
    assert "of the attribution lies within" in texts(at.caption)
    window = next(d.value for d in at.dataframe if "attribution share" in d.value.columns)
    assert {"letters before t", "model sees before t", "share before t"} <= set(window.columns)
    assert not {"mass", "rf_back", "past_share"} & set(window.columns)


@pytest.mark.slow
def test_gates_page_labeller_searches_and_uploads(label_model, tm_fasta):
    at = open_page("gates_saliency")
    at.selectbox(key="gates_order").set_value("misclassified first").run()
    ok(at)
    acc = [float(o.split("accuracy ")[1].split(" ")[0]) for o in at.selectbox(key="gates_record").options]
    assert acc == sorted(acc) and len(acc) == 40
    at.radio(key="gates_origin").set_value("upload").run()
    at.file_uploader(key="gates_upload").set_value(("u.fa", tm_fasta.read_bytes(), "text/plain")).run()
    ok(at)
    assert not at.error and {m.label: m.value for m in at.metric}["True label at 22"] in ("M", "O")


def found_per_label(at) -> list[dict]:
    return next(d.value for d in at.dataframe if "sov" in d.value.columns).to_dict("records")


def test_predict_page_for_a_labeller(label_model, tm_fasta):
    at = ok(open_page("predict"))
    at.file_uploader(key="predict_files").set_value(("tm.fa", tm_fasta.read_bytes(), "text/plain")).run()
    ok(at)
    metrics = {m.label: m.value for m in at.metric}
    assert {"accuracy", "balanced accuracy", "MCC", "F1 (macro)", "SOV"} <= set(metrics)
    worst = [k for k in metrics if k.endswith("(worst label)")]  # beside the means, the label they can hide
    per_label_f1 = {r["label"]: r["f1"] for r in found_per_label(at)}
    assert len(worst) == 1 and metrics[worst[0]] == f"{min(per_label_f1.values()):.3f}"
    assert worst[0] == f"F1 of {min(per_label_f1, key=per_label_f1.get)} (worst label)"
    assert at.download_button(key="predict_download").label == "Download predictions (CSV)"
    assert at.download_button(key="predict_download_fasta").label.endswith("(three-line FASTA)")
    per_label = next(d.value for d in at.dataframe if "sov" in d.value.columns)
    assert list(per_label["label"]) == ["M", "O"] and {"precision", "recall", "f1", "segment_f1"} <= set(per_label)
    records = next(d.value for d in at.dataframe if "accuracy" in d.value.columns and "id" in d.value.columns)
    assert len(records) == 40 and records["accuracy"].between(0, 1).all()
    assert any("Tracks of tm00000" == h.value for h in at.subheader)
    assert "Per-label scores" in spec_text(at) and "probability of each label" in spec_text(at)
    at.session_state["predict_results_table"] = {"selection": {"rows": [2], "columns": [], "cells": []}}
    at.run()
    ok(at)
    assert any("Tracks of tm00002" == h.value for h in at.subheader)
    assert "every position of every record" in texts(at.caption) and at.download_button(key="predict_results_csv").help
    at.checkbox(key="predict_filter_wrong").check().run()  # only the records with a position labelled wrong
    ok(at)
    shown = next(d.value for d in at.dataframe if "accuracy" in d.value.columns and "id" in d.value.columns)
    assert len(shown) == (records["accuracy"] < 1).sum() and (shown["accuracy"] < 1).all()
    assert any(h.value == f"Records ({len(shown)} of 40)" for h in at.subheader)


def test_predict_page_labeller_on_unlabelled_files(label_model):
    at = open_page("predict")
    at.file_uploader(key="predict_files").set_value(("p.fa", b">a\nMKLLVVAAGG\n>b\nKKDDEERR\n", "text/plain")).run()
    ok(at)
    assert "No evaluation" in texts(at.info) and any("Tracks of a" == h.value for h in at.subheader)


def test_predict_labeller_fasta_download(label_model, tm_fasta):
    from bioseq.app.predictions import predict_uploads
    from bioseq.model.store import load_model

    found = predict_uploads(load_model(model_path(label_model)), [("tm.fa", tm_fasta.read_bytes())])
    lines = found.fasta(["M", "O"]).splitlines()
    assert len(lines) == 120 and lines[0] == ">tm00000"
    assert len(lines[2]) == len(lines[1]) and set(lines[2]) <= {"M", "O"}
    assert list(found.table.columns) == ["id", "position", "letter", "prediction", "p_M", "p_O", "true"]


def test_models_page_shows_a_labeller(label_model, cli_model):
    at = ok(open_page("models"))
    registry = at.dataframe[0].value.set_index("name")
    assert registry.loc[label_model, "task"] == "label" and registry.loc[cli_model, "task"] == "classify"
    at.selectbox(key="models_pick").set_value(label_model).run()
    ok(at)
    card = dict(zip(at.dataframe[1].value["field"], at.dataframe[1].value["value"]))
    assert card["task"] == "label (one label per position)" and card["labels"] == "M, O"
    assert card["unscored positions"] == "every position scored" and "validation sov" in card
    assert card["validation worst label"].startswith(("worst label M: F1 ", "worst label O: F1 "))


# ---------- choices that belong to a model ----------

@pytest.mark.slow
def test_gates_page_choices_follow_the_model(cli_model, label_model):
    """Pick a record (and a class, a window) of the DNA classifier, switch to the protein labeller: the record box
    shows one of the labeller's records, the very record drawn, and the browser is told (set_value)."""
    at = open_page("gates_saliency")
    at.selectbox(key="gates_model").set_value(cli_model).run()
    at.selectbox(key="gates_record").set_value(16).run()
    at.selectbox(key="gates_target").set_value("motif")
    at.slider(key="gates_window").set_value((3, 9)).run()
    ok(at)
    assert at.selectbox(key="gates_record").value == 16 and "seq17 ·" in at.selectbox(key="gates_record").options[16]
    at.selectbox(key="gates_model").set_value(label_model).run()
    ok(at)
    record = at.selectbox(key="gates_record")
    shown = record.options[record.options.index(record.format_func(record.value))]
    assert record.index == 0 and shown.startswith("tm") and record.proto.set_value
    assert at.selectbox(key="gates_target").value == "predicted label"
    length = int(shown.split(" letters")[0].split("· ")[-1])
    assert at.slider(key="gates_window").value == (1, min(length, 100))  # a fresh window on the new record
    assert at.number_input(key="gates_position").value == length // 2
    assert shown.split(" ·")[0] in spec_text(at)  # the charts draw the record the box shows
    at.selectbox(key="gates_model").set_value(cli_model).run()
    ok(at)
    assert at.selectbox(key="gates_record").index == 0 and at.selectbox(key="gates_target").value == "predicted class"


def test_predict_page_keeps_the_model_in_the_address(cli_model, protein_model):
    """The model picked is in the page address (?model=NAME): a new session (a browser reload) opens on it."""
    at = open_page("predict")
    at.selectbox(key="predict_model").set_value(cli_model).run()
    ok(at)
    assert at.query_params["model"] in (cli_model, [cli_model])
    at.selectbox(key="predict_model").set_value(protein_model).run()
    assert at.query_params["model"] in (protein_model, [protein_model])
    for name in (cli_model, protein_model):
        again = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)
        again.query_params["model"] = name
        again.run()
        again.switch_page(PAGES["predict"]).run()
        ok(again)
        assert again.selectbox(key="predict_model").value == name


def test_predict_page_scan_panel_comes_below_the_main_results(cli_model, dna_fasta):
    at = ok(open_page("predict"))
    panels = ["scan_file", "variants_vcf", "variants_genome"]  # the scan panel, then the Variants panel
    assert [u.key for u in at.get("file_uploader")] == ["predict_files", "predict_labels", *panels]  # own first
    at.file_uploader(key="predict_files").set_value(("new.fa", dna_fasta.read_bytes(), "text/plain")).run()
    ok(at)
    keys = [u.key for u in at.get("file_uploader")]
    assert keys[0] == "predict_files" and keys[-3:] == panels  # after the evaluation's labels file too
    assert [e.label for e in at.get("expander")[-2:]] == ["Scan a long sequence (genome scale)",
                                                          "Variant effects (VCF)"]
    assert at.dataframe and at.selectbox(key="scan_class")


def test_gates_page_opens_a_long_record_on_its_strongest_region():
    """A site at 184-188 of 200 letters is off a 1-100 view: the page opens on the strongest 100 letters (those of
    bioseq.interpret.regions) and offers to jump back there."""
    from _linear import MOTIF, motif_bundle

    from bioseq.interpret.attribution import explain
    from bioseq.interpret.regions import strongest_region
    from bioseq.model.store import save_model

    bundle = motif_bundle(bias=-3.5)
    save_model(model_path("motif"), bundle)
    seq = "C" * 183 + MOTIF + "C" * 12
    at = open_page("gates_saliency")
    at.radio(key="gates_origin").set_value("paste").run()
    at.text_area(key="gates_paste").set_value(f">site\n{seq}\n").run()
    ok(at)
    first, last = at.slider(key="gates_window").value
    assert last - first == 99 and first <= 184 and 188 <= last
    assert (first, last) == strongest_region(explain(bundle, [Record("site", "site", seq, "x", 1)]), 100)
    jump = at.button(key="gates_jump")
    assert jump.label == f"Jump to the strongest region ({first}–{last})" and jump.disabled
    at.slider(key="gates_window").set_value((1, 100)).run()
    assert not at.button(key="gates_jump").disabled
    at.button(key="gates_jump").click().run()
    ok(at)
    assert at.slider(key="gates_window").value == (first, last)


# ---------- every form ----------

def forms(at: AppTest) -> list:
    """Every ``st.form`` block drawn on the page (AppTest cannot press Enter; the form's proto says what Enter does)."""
    found, todo = [], [at._tree]
    while todo:
        node = todo.pop()
        proto = getattr(node, "proto", None)
        if getattr(proto, "DESCRIPTOR", None) is not None and proto.DESCRIPTOR.name == "Block" \
                and proto.HasField("form"):
            found.append(proto.form)
        todo.extend(getattr(node, "children", {}).values())
    return found


@pytest.mark.parametrize("page", list(PAGES))
def test_enter_in_a_form_field_never_submits_it(page, tiny_source, cli_model):
    """Enter in any field of any form (Epochs, the run name, ...) must not start a run, a search or anything:
    every form on every page has ``enter_to_submit`` off (only its buttons submit it)."""
    at = ok(open_page(page, tiny_source))
    drawn = forms(at)
    if page == "train":
        assert [f.form_id for f in drawn] == ["train_form"]
    assert all(f.enter_to_submit is False for f in drawn), [f.form_id for f in drawn if f.enter_to_submit]


def test_every_form_is_made_by_the_one_helper():
    """A form drawn only on some path is still safe: every page makes its forms with ``widgets.form``."""
    raw = [str(p.relative_to(ROOT)) for p in (ROOT / "dashboard").rglob("*.py")
           if p.name != "widgets.py" and "st.form(" in p.read_text()]
    assert raw == []


def test_data_page_genome_regions(tmp_path):
    genome = tmp_path / "g.fa"
    genome.write_bytes(b">chr1\n" + b"ACGTTGCA" * 10 + b"\n>2\n" + b"GGGCCCAT" * 10 + b"\n")
    at = open_page("data")
    at.file_uploader(key="data_region_beds").set_value(
        ("peaks.bed", b"chr1\t0\t16\nchr1\t20\t36\nchr2\t8\t24\n", "text/plain")).run()
    at.text_input(key="data_region_genome_path").set_value(str(genome)).run()
    at.number_input(key="data_region_width").set_value(10).run()
    at.text_input(key="data_region_val_chroms").set_value("chr2").run()
    at.button(key="data_use_regions").click().run()
    ok(at)
    assert not at.error
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Records"] == "6" and metrics["Classes"] == "2" and metrics["Length"] == "10"
    src = at.session_state["data_source"]
    assert src.label_mode == "regions" and dict(src.region_options) == {"width": 10, "background": "shuffled",
                                                                         "val_chroms": "chr2"}
    at.file_uploader(key="data_region_beds").set_value(("far.bed", b"chr1\t70\t90\n", "text/plain")).run()
    at.button(key="data_use_regions").click().run()
    ok(at)
    assert "far.bed: line 1 (chr1:70-90): the region ends past the end of chr1" in texts(at.error)
    assert at.session_state["data_source"] == src  # the dataset loaded before stays


def test_data_page_genome_regions_with_per_position_labels_from_bed(tmp_path):
    """The Genome regions tab offers --regions-labels: feature BED files label each letter of the windows (a
    labeller's data: Positions shown, no negatives drawn); the Train page then trains a labeller on it."""
    genome = tmp_path / "g.fa"
    genome.write_bytes(b">chr1\n" + b"ACGTTGCA" * 10 + b"\n>2\n" + b"GGGCCCAT" * 10 + b"\n")
    at = open_page("data")
    at.file_uploader(key="data_region_beds").set_value(
        ("windows.bed", b"chr1\t0\t16\nchr1\t20\t36\nchr2\t8\t24\n", "text/plain")).run()
    at.file_uploader(key="data_region_labels").set_value(
        ("sites.bed", b"chr1\t4\t8\nchr1\t30\t34\nchr2\t10\t12\n", "text/plain")).run()
    at.text_input(key="data_region_genome_path").set_value(str(genome)).run()
    assert "data_region_background" not in [b.key for b in at.selectbox]  # no negatives are drawn for a labeller
    at.text_input(key="data_region_val_chroms").set_value("chr2").run()
    at.button(key="data_use_regions").click().run()
    ok(at)
    assert not at.error
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Records"] == "3" and metrics["Labels"] == "2" and metrics["Positions"] == "48"
    src = at.session_state["data_source"]
    options = dict(src.region_options)
    assert src.label_mode == "regions" and set(options) == {"val_chroms", "regions_labels"}
    assert [Path(p).name for p in options["regions_labels"]] == ["sites.bed"]
    from bioseq.data.region_data import load_region_split

    train, val, _ = load_region_split(src.data_options().validate(), per_position=True)
    assert train.labels == ["0000111100000000", "0000000000111100"] and val.labels == ["0011000000000000"]
    start_tiny_run(ok(open_page("train", src)), "bed-labeller", epochs=1)
    from bioseq.model.store import load_model

    meta = load_model(model_path("bed-labeller")).meta
    assert meta["labelling"]["labels"] == ["0", "1"] and meta["training"]["split"]["method"] == "chromosomes"


def test_train_page_trains_on_genome_regions(tmp_path):
    from bioseq.app import uploads

    genome = tmp_path / "g.fa"
    genome.write_bytes(b">chr1\n" + b"ACGTTGCA" * 20 + b"\n>chr2\n" + b"GGGCCCAT" * 10 + b"\n")
    bed = b"".join(b"chr1\t%d\t%d\n" % (a, a + 12) for a in range(0, 150, 15)) + b"chr2\t0\t12\nchr2\t20\t32\n"
    src = uploads.region_source([("peaks.bed", bed)], str(genome), {"val_chroms": "chr2"})
    at = open_page("train", src)
    start_tiny_run(at, "regions-run", epochs=1)
    from bioseq.model.store import load_model

    assert load_model(model_path("regions-run")).meta["training"]["split"]["method"] == "chromosomes"
