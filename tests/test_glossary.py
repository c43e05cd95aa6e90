"""The glossary answers the terms the issue lists, and refuses unknown ones by name."""

import pytest

from bioseq.app.glossary import TERMS, explain


@pytest.mark.parametrize("term", ["gradient norm", "∂C/∂h(t)", "forget gate", "saliency", "effective memory"])
def test_required_terms(term):
    assert len(explain(term)) > 40 and explain(term.upper()) == explain(term)


def test_unknown_term_lists_the_known_ones():
    with pytest.raises(KeyError, match="known: gradient norm"):
        explain("nope")
    assert all(text.endswith(".") for text in TERMS.values())


# ---- every technical word of the dashboard's help texts has an entry ----

import ast  # noqa: E402
import re  # noqa: E402
from pathlib import Path  # noqa: E402

from bioseq.app import glossary  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
# The list: terms a biologist met on the pages with nothing to explain them.
NAMED = ["epoch", "loss", "validation", "overfitting", "batch", "hidden units", "read-out", "SOV"]
# The technical words the help texts (the "?" tooltips) use. A help text with a new one adds it here, and the
# test asks for its entry.
JARGON = [*NAMED, "accuracy", "balanced accuracy", "AUROC", "MCC", "F1", "precision", "recall", "threshold",
          "optimiser step", "learning rate", "weight decay", "regulariser", "early stopping", "patience", "dropout",
          "gradient clipping", "exploding gradients", "vanishing", "class weights", "seed", "ensemble",
          "bidirectional", "attention", "convolution", "max-pool", "pooling", "skip connections", "batch norm",
          "forget gate", "cell state", "gated cell", "reverse complement", "homology", "generalisation", "padding",
          "mixed precision", "labeller", "k-mer", "saliency", "gradient × input", "integrated gradients",
          "mutagenesis", "DeepLift", "GradientShap", "SmoothGrad", "occlusion", "∂C/∂h(t)", "effective memory",
          "gradient norm", "motif detectors"]


def _strings(node) -> list[str]:
    """The text a help argument shows, as far as the source says it: string constants, the fixed parts of
    f-strings, and the entries that ``glossary.explain("term")`` looks up."""
    out = []
    for n in ast.walk(node):
        if isinstance(n, ast.Constant) and isinstance(n.value, str):
            out.append(n.value)
        elif isinstance(n, ast.Call) and getattr(n.func, "attr", "") == "explain" and n.args \
                and isinstance(n.args[0], ast.Constant):
            out.append(glossary.explain(n.args[0].value))
    return out


def help_texts() -> list[str]:
    """Every help text of the dashboard with the name it explains: the ``help=`` arguments of its pages and parts,
    the Train page's options (label and description) and the attribution methods' (the method picker's help)."""
    from bioseq.app import train_form
    from bioseq.interpret.attribution import METHODS

    texts = []
    for path in [ROOT / "app.py", *sorted((ROOT / "dashboard").rglob("*.py"))]:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call):
                texts += [t for kw in node.keywords if kw.arg in ("help", "order_help") for t in _strings(kw.value)]
    texts += [f"{o.form_label}: {o.describe()}" for o in train_form.fields()]
    texts += [f"{m.label}: {m.help}" for m in METHODS.values()]
    return texts


def test_the_named_terms_have_entries():
    assert [t for t in NAMED if glossary.lookup(t) is None] == []


def test_every_technical_word_of_the_help_texts_has_an_entry():
    text = "\n".join(help_texts())
    used = [w for w in JARGON if re.search(rf"(?<!\w){re.escape(w)}", text, re.IGNORECASE)]
    assert len(used) > 40, used  # the help texts are read (the option descriptions name most of them)
    assert [w for w in used if glossary.lookup(w) is None] == []


def test_every_metric_the_predict_page_shows_has_an_entry():
    tree = ast.parse((ROOT / "dashboard" / "views" / "predict.py").read_text())
    pairs = [n for n in ast.walk(tree) if isinstance(n, ast.Tuple) and len(n.elts) == 2
             and all(isinstance(e, ast.Constant) and isinstance(e.value, str) for e in n.elts)]
    labels = [p.elts[1].value for p in pairs if p.elts[0].value in ("accuracy", "balanced_accuracy", "auroc", "mcc",
                                                                    "f1", "sov")]
    assert {"accuracy", "balanced accuracy", "AUROC", "MCC", "F1", "F1 (macro)", "SOV"} <= set(labels)
    names = ["Q3", "Q8"]  # a labeller's accuracy, by its labels (bioseq.metrics.positions.accuracy_name)
    assert [x for x in labels + names if glossary.lookup(x) is None] == []


def test_lookup_and_search():
    assert glossary.lookup("Epochs") == "epoch" and glossary.lookup("batch size") == "batch"
    assert glossary.lookup("nonsense") is None
    assert "overfitting" in glossary.search("OVERFIT") and "epoch" not in glossary.search("overfit")
    assert glossary.search("") == sorted(glossary.TERMS, key=str.lower)
    assert all(t in glossary.TERMS for t in glossary.ALIASES.values())


# ---- the Glossary page ----


def test_the_glossary_page_lists_every_entry_and_finds_one():
    from streamlit.testing.v1 import AppTest

    from dashboard import pages

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.run()
    at.switch_page(pages.page("glossary").path).run()
    assert not at.exception
    shown = " ".join(m.value for m in at.markdown)
    assert all(f"**{t[:1].upper() + t[1:]}**" in shown for t in glossary.TERMS)
    at.text_input(key="glossary_query").set_value("overfit").run()
    shown = [m.value.split("**")[1] for m in at.markdown if m.value.startswith("**")]
    assert shown == ["Dropout", "Overfitting", "Weight decay"]
    at.text_input(key="glossary_query").set_value("zebra").run()
    assert not at.exception and "No entry mentions" in at.info[0].value
