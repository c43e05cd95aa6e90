"""bioseq's own gradient methods: gradient × input (saliency) and integrated gradients.

Both follow the attribution signature of :mod:`bioseq.interpret.attribution`: encoded records
``(L, K)`` and one target class per record in, one score per position ``(L,)`` out (the ``(L, K)``
attribution summed over the alphabet). A one-hot row has a single 1, so gradient × input at a
position is the gradient of the letter that is there. With ``simplex="on"`` (the default) the gradient is
first centred over the alphabet at each position (:func:`~bioseq.interpret.inputs.simplex_centred`), so a
position scores its letter's gradient minus the mean gradient of all letters there; ``"off"`` gives the raw
gradient (then integrated gradients sum to ``f(x) - f(0)``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..model.store import ModelBundle
from .inputs import input_gradients


def gradient_x_input(bundle: ModelBundle, arrays: Sequence[np.ndarray], targets: np.ndarray,
                     batch_size: int = 64, simplex: str = "on") -> list[np.ndarray]:
    """Gradient × input of the target logit, summed over the alphabet: ``(L,)`` per record."""
    grads, _ = input_gradients(bundle, arrays, targets, batch_size=batch_size, simplex=simplex)
    return [(g * a).sum(1) for g, a in zip(grads, arrays)]


def integrated_gradients(bundle: ModelBundle, arrays: Sequence[np.ndarray], targets: np.ndarray,
                         steps: int = 32, batch_size: int = 64, simplex: str = "on") -> list[np.ndarray]:
    """Integrated gradients from the all-zero input (no letter), midpoint rule with ``steps`` steps.

    The gradient is taken at ``alpha x`` for ``alpha = (i + 1/2) / steps`` and averaged; the scores
    of a record sum to about ``f(x) - f(0)`` for the target logit (completeness) when ``simplex="off"``.
    """
    total = [np.zeros_like(a) for a in arrays]
    for alpha in (np.arange(steps) + 0.5) / steps:
        grads, _ = input_gradients(bundle, arrays, targets, scale=float(alpha), batch_size=batch_size,
                                   simplex=simplex)
        for tot, g in zip(total, grads):
            tot += g
    return [(tot / steps * a).sum(1) for tot, a in zip(total, arrays)]
