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
