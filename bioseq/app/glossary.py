"""The glossary of the terms the dashboard shows: the text of the "?" beside a number or heading, and the
Glossary page, which lists every entry (``tests/test_glossary.py`` checks that every technical word of the
dashboard's help texts has one).

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
    "accuracy": "The share of sequences (or, for a labeller, of scored positions) whose predicted class is the "
                "true one. Misleading on unbalanced data: see balanced accuracy and MCC.",
    "F1": "The harmonic mean of precision and recall of the positive class (averaged over the classes when there "
          "are more than two): high only when both are.",
    "Q3": "For a secondary-structure labeller: the share of residues whose state (helix, strand or coil) is "
          "predicted right; Q8 is the same over the eight finer states.",
    "precision": "Of the sequences called positive, the share that truly are.",
    "recall": "Of the truly positive sequences, the share called positive (also called sensitivity).",
    "SOV": "Segment overlap score, for a labeller: how well the predicted stretches of one label (a "
           "transmembrane helix, say) overlap the true ones, as a share from 0 to 1. Unlike per-position accuracy, "
           "it punishes a true segment broken into pieces.",
    "epoch": "One pass of training over every training sequence. After each epoch the model is scored on the "
             "validation data; the best epoch's weights are the ones saved.",
    "batch": "The group of sequences the network sees before each optimiser step (the batch size). Larger batches "
             "train faster per sequence on a GPU, with steadier but fewer steps.",
    "optimiser step": "One update of the weights: the gradient of the loss on one batch, scaled by the learning "
                      "rate (AdamW here).",
    "loss": "The number training makes small: cross-entropy, how surprised the model is by the true labels "
            "(0 = certain and right). Validation loss is the same on sequences it does not train on.",
    "validation": "Sequences held out of training (a share of each class, or your validation files) to measure "
                  "generalisation: how well the model does on sequences it has not seen. Choices (the best epoch, "
                  "early stopping, tuning) use it; the test files are kept for the final word.",
    "overfitting": "When the model learns its training sequences by heart instead of the signal: the training loss "
                   "keeps falling while the validation loss rises. Dropout, weight decay, early stopping and more "
                   "data work against it.",
    "early stopping": "Stop training once the validation loss has not improved for a number of epochs (the "
                      "patience), keeping the best epoch's weights.",
    "learning rate": "The size of each optimiser step. Too high and the loss jumps or turns NaN; too low and "
                     "training crawls.",
    "weight decay": "A steady shrinking of the weights at every step (AdamW's regulariser), against overfitting.",
    "dropout": "While training, a random share of the units is silenced at each step, so the network cannot lean "
               "on any single one: a guard against overfitting. It is off when predicting.",
    "gradient clipping": "If the gradient's length (L2 norm) exceeds the cap, it is scaled down to it: a guard "
                         "against exploding gradients.",
    "vanishing gradients": "Error signals that shrink as they travel back through layers or positions, so early "
                           "layers and distant letters barely learn. Gated cells (LSTM, GRU) and skip connections "
                           "help.",
    "exploding gradients": "Error signals that grow as they travel back, so one step can wreck the weights; the "
                           "loss jumps or turns NaN. Gradient clipping and a lower learning rate help.",
    "class weights": "Each class's errors count in inverse proportion to its size, so a rare class is not ignored "
                     "on unbalanced data.",
    "seed": "The number that fixes every random choice (the split, the starting weights, the batch order): the "
            "same seed, data and options give the same model.",
    "ensemble": "Several models trained alike from different seeds, saved in one file; its prediction is the "
                "average of their probabilities, usually a little better and better calibrated than one model.",
    "hidden units": "The size of the recurrent layer's state h(t), per direction: how many numbers the network "
                    "carries along the sequence as its memory. More units remember more and train slower.",
    "recurrent cell": "The update the network applies at each letter: a plain RNN (one tanh step), an LSTM (gates "
                      "and a cell state that keep information over long stretches) or a GRU (a lighter gated cell).",
    "bidirectional": "A second recurrent layer reads the sequence from its end, so every position sees what comes "
                     "before and after it.",
    "read-out": "How a classifier turns the states along the sequence into one vector for its answer: the last "
                "state, the mean or maximum over positions, or learned attention (a weighted mean). A labeller has "
                "none: it answers at every position.",
    "attention": "A read-out that learns a weight per position and averages the states with those weights.",
    "convolution": "A front end of motif detectors (filters) slid along the sequence, each seeing a few letters at "
                   "a time, before the recurrent layers.",
    "pooling": "Keeping only the largest filter output in each window of a few positions: the sequence the "
               "recurrent layers must remember gets shorter.",
    "skip connections": "Each layer's input is added to its output, a short path for gradients through deep "
                        "stacks.",
    "batch normalisation": "Re-centring and re-scaling the activations between layers over each batch, which keeps "
                           "gradients from vanishing in deep stacks.",
    "labeller": "A model that gives a label to every position (a transmembrane helix, say), instead of one label "
                "per sequence (a classifier).",
    "reverse complement": "The other strand of a DNA sequence, read in its own 5'→3' direction: ACCG becomes CGGT.",
    "homology-aware split": "Sequences are clustered by identity (MMseqs2 or CD-HIT) and whole clusters go to one "
                            "side, so no validation sequence has a near-copy in training to be recognised by.",
    "padding": "Filler added to shorter sequences so a batch has one length; it is masked out of the loss. Grouping "
               "sequences by length reduces it.",
    "mixed precision": "Computing in 16-bit numbers (bfloat16 or float16) where it is safe, faster and lighter on "
                       "a GPU; on a CPU training stays in 32-bit float.",
    "k-mer": "A run of k letters (a 6-mer is six letters); the motif logo adds up the attribution over windows of "
             "this length.",
    "DeepLift": "Attribution that compares the network on the sequence with a reference (no letters) and carries "
                "the difference back layer by layer.",
    "GradientShap": "Attribution that averages gradient × (input − reference) over random points between random "
                    "reference sequences and the input.",
    "SmoothGrad": "Gradient × input averaged over noisy copies of the sequence: less speckled scores.",
    "occlusion": "Blank out a window of letters and measure the drop in the class score; no gradients.",
})

ALIASES = MappingProxyType({  # words the help texts use for an entry
    "batch size": "batch", "batches": "batch", "optimiser steps": "optimiser step", "epochs": "epoch",
    "batch norm": "batch normalisation", "pool": "pooling", "max-pool": "pooling", "motif detectors": "convolution",
    "generalisation": "validation", "patience": "early stopping", "gated cell": "recurrent cell",
    "gradient × input": "saliency", "mutagenesis": "in-silico mutagenesis", "ROC": "AUROC",
    "threshold": "decision threshold", "homology": "homology-aware split", "regulariser": "weight decay",
    "vanishing": "vanishing gradients", "F1 (macro)": "F1", "Q8": "Q3", "exploding": "exploding gradients",
})


def lookup(word: str) -> str | None:
    """The entry a word names (case-insensitive; an entry's name or one of its :data:`ALIASES`), or None."""
    key = word.lower()
    names = {k.lower(): k for k in TERMS} | {a.lower(): t for a, t in ALIASES.items()}
    return names.get(key)


def search(query: str) -> list[str]:
    """The entries whose name or text contains ``query`` (case-insensitive), sorted by name; all for ``""``."""
    q = query.strip().lower()
    return sorted((k for k, text in TERMS.items() if q in k.lower() or q in text.lower()), key=str.lower)


def explain(term: str) -> str:
    """The glossary text of ``term`` (case-insensitive, or an alias); a ``KeyError`` names the known terms."""
    key = lookup(term)
    if key is not None:
        return TERMS[key]
    raise KeyError(f"no glossary entry {term!r}; known: {', '.join(TERMS)}")
