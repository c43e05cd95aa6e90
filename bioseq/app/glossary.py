"""A short glossary of the terms the dashboard shows, for the "?" beside each one (and the Home page).

Each entry is one or two plain sentences for a biologist, with the formula where it helps.
"""

from __future__ import annotations

from types import MappingProxyType

TERMS = MappingProxyType({
    "gradient norm": "How strongly the training error pushes on a layer's weights: the length ‖∇‖ of the gradient "
                     "of the loss with respect to them. A layer whose norm is far below the others barely learns "
                     "(vanishing gradients); norms that blow up break training (exploding gradients).",
    "first/last layer ratio": "Mean gradient norm of the first recurrent layer divided by that of the last. Well "
                              "under 0.1 means the layer nearest the input hardly learns.",
    "∂C/∂h(t)": "How much the loss C would change if the network's hidden state h at step t changed: the error "
                "signal that back-propagation through time delivers to that position. If it falls towards zero "
                "with distance from the read-out, the network cannot learn from far-away letters.",
    "effective memory": "How far back (in positions from the read-out) an input letter still moves the output: the "
                        "distance from which on its influence stays under 1% of the strongest position's (the median "
                        "sequence's share: the memory chart's line against its dashed 1% line), counted over the "
                        "sequences that reach that far. Every sentence about memory uses this one number.",
    "forget gate": "In an LSTM, a value between 0 and 1 per unit and position that decides how much of the cell "
                   "state to keep: f(t) near 1 over a stretch means the cell remembers through it.",
    "input gate": "In an LSTM, how much of the new candidate value is written into the cell state at this position.",
    "output gate": "In an LSTM, how much of the cell state is shown as the hidden state h(t) at this position.",
    "cell state": "The LSTM's memory C(t), carried along the sequence with only element-wise changes: "
                  "C(t) = f(t) ⊙ C(t-1) + i(t) ⊙ g(t).",
    "update gate": "In a GRU, how much of the previous hidden state is kept (near 1) instead of replaced.",
    "reset gate": "In a GRU, how much of the previous hidden state is used to make the new candidate.",
    "saliency": "How much each letter pushes the explained class's score up (positive) or down (negative): the "
                "gradient of the score with respect to the one-hot input, times the input (gradient × input).",
    "integrated gradients": "Attribution that sums the gradient along a straight path from an empty sequence to "
                            "the real one; the scores add up to the score difference between the two.",
    "in-silico mutagenesis": "Replace each letter by every other one and measure the change in the class score: "
                             "the most direct, and slowest, attribution.",
    "AUROC": "Area under the ROC curve: the chance that a random sequence of the positive class gets a higher "
             "score than a random negative one (0.5 = chance, 1 = perfect ranking). It ignores the threshold.",
    "MCC": "Matthews correlation coefficient between true and predicted classes: 0 = no better than chance, "
           "1 = perfect, robust to unbalanced classes.",
    "balanced accuracy": "The mean of the per-class recalls: accuracy as if every class had the same size.",
    "decision threshold": "The probability above which a sequence is called the positive class; 0.5 by default. "
                          "Lower it to find more positives (recall) at the cost of more false ones (precision).",
    "unlike the training data": "A sequence whose length lies outside the training lengths, or whose letter "
                                "composition is far from the training data's (1.5 times farther than 99% of "
                                "the training sequences). A network still gives a confident answer; treat it "
                                "with suspicion.",
})


def explain(term: str) -> str:
    """The glossary text of ``term`` (case-insensitive); a ``KeyError`` names the known terms."""
    for key, text in TERMS.items():
        if key.lower() == term.lower():
            return text
    raise KeyError(f"no glossary entry {term!r}; known: {', '.join(TERMS)}")
