"""Attribution methods from Captum: DeepLift, GradientShap, SmoothGrad and occlusion.

Each follows the attribution signature of :mod:`bioseq.interpret.attribution`: encoded records
``(L, K)`` and one target class per record in, one score per position ``(L,)`` out. Batches are
``x (B, T, K)`` with ``lengths (B,)`` passed to the model as an additional forward argument (Captum
repeats it whenever it enlarges the batch); Captum's ``(B, T, K)`` attribution is cut back to each
record's length and reduced over the alphabet.

References ("baselines"), all one-hot shaped ``(T, K)``:

* ``zero`` — no letter at all (every row 0): the model's input for "nothing here";
* ``uniform`` — every letter at 1/K: the average letter, a flat background;
* ``random`` — random sequences, letters drawn uniformly (GradientShap's distribution of
  references; their mean is the uniform background). Drawn from ``seed``, per batch.

cuDNN is off around every backward pass (its RNN backward refuses eval mode) and Captum takes
gradients with respect to the input only, so the model's parameters never get a ``.grad``.
DeepLift's rescale rule applies to ``nn.Module`` nonlinearities (the convolutional front end's
ReLU); inside the fused recurrent kernels it has no rules and passes plain gradients back, so on a
recurrent model its scores are not exactly complete. Random methods seed their own draws and leave
the global random state as it was.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Callable, Sequence

import numpy as np
import torch

from ..model.store import ModelBundle
from .inputs import batches, corrected_forward, no_cudnn

BASELINES = ("zero", "uniform", "random")
# attribute(model, x (B, T, K), target (B,), lengths (B,)) -> attribution (B, T, K)
Attribute = Callable[[torch.nn.Module, torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]


def reference(kind: str, x: torch.Tensor, count: int = 16, seed: int = 0) -> torch.Tensor:
    """A baseline for ``x (B, T, K)``: ``(B, T, K)`` for zero and uniform, ``(count, T, K)`` for random."""
    if kind == "zero":
        return torch.zeros_like(x)
    if kind == "uniform":
        return torch.full_like(x, 1.0 / x.shape[2])
    if kind == "random":
        letters = np.random.default_rng(seed).integers(0, x.shape[2], (count, x.shape[1]))
        return torch.eye(x.shape[2], dtype=x.dtype, device=x.device)[torch.from_numpy(letters).to(x.device)]
    raise ValueError(f"unknown baseline {kind!r}; choose one of {', '.join(BASELINES)}")


@contextlib.contextmanager
def seeded(seed: int):
    """Seed torch's and numpy's global generators (Captum draws from both), then restore them."""
    state = np.random.get_state()
    devices = [torch.cuda.current_device()] if torch.cuda.is_available() else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        np.random.seed(seed)
        try:
            yield
        finally:
            np.random.set_state(state)


def captum_attributions(bundle: ModelBundle, arrays: Sequence[np.ndarray], targets: np.ndarray, attribute: Attribute,
                        batch_size: int = 32, same_length: bool = False) -> list[np.ndarray]:
    """Run ``attribute`` over length-grouped batches in eval mode; ``(L, K)`` per record, in input order."""
    model = bundle.model.eval()
    out: list[np.ndarray] = [None] * len(arrays)  # type: ignore[list-item]
    for idx, x, lengths in batches(bundle, arrays, batch_size, same_length):
        t = torch.as_tensor(np.asarray(targets)[idx], device=x.device)
        with no_cudnn(), warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Setting forward, backward hooks")  # DeepLift's notice
            attr = attribute(model, x, t, lengths).detach().cpu().numpy()
        for j, i in enumerate(idx):
            out[i] = attr[j, : len(arrays[i])]
    return out


def deeplift(bundle: ModelBundle, arrays: Sequence[np.ndarray], targets: np.ndarray,
             baseline: str = "zero") -> list[np.ndarray]:
    """DeepLift (rescale rule) against a zero or uniform reference, summed over the alphabet."""
    from captum.attr import DeepLift

    def attribute(model, x, t, lengths):
        return DeepLift(model).attribute(x.requires_grad_(True), baselines=reference(baseline, x), target=t,
                                         additional_forward_args=(lengths,))

    return [a.sum(1) for a in captum_attributions(bundle, arrays, targets, attribute)]


def gradient_shap(bundle: ModelBundle, arrays: Sequence[np.ndarray], targets: np.ndarray, baseline: str = "random",
                  samples: int = 32, noise: float = 0.0, seed: int = 0, simplex: str = "on") -> list[np.ndarray]:
    """GradientShap (expected gradients): gradient × (input - reference) at random points between a
    reference and the input, averaged over ``samples`` draws; summed over the alphabet. ``simplex="on"``
    centres each gradient over the alphabet first (it changes the score only where the reference's letters
    do not sum to 1 at a position, i.e. the zero reference)."""
    from captum.attr import GradientShap

    def attribute(model, x, t, lengths):
        with seeded(seed):
            shap = GradientShap(corrected_forward(model, simplex))
            return shap.attribute(x, baselines=reference(baseline, x, seed=seed), target=t,
                                  additional_forward_args=(lengths,), n_samples=samples, stdevs=noise)

    return [a.sum(1) for a in captum_attributions(bundle, arrays, targets, attribute, batch_size=8)]


def smoothgrad(bundle: ModelBundle, arrays: Sequence[np.ndarray], targets: np.ndarray, samples: int = 32,
               noise: float = 0.25, seed: int = 0, simplex: str = "on") -> list[np.ndarray]:
    """SmoothGrad × input: the gradient averaged over ``samples`` copies of the input with Gaussian noise
    (standard deviation ``noise``; a one-hot row spans 0 to 1), centred over the alphabet when ``simplex="on"``,
    times the input, summed over the alphabet."""
    from captum.attr import NoiseTunnel, Saliency

    def attribute(model, x, t, lengths):
        with seeded(seed):
            tunnel = NoiseTunnel(Saliency(corrected_forward(model, simplex)))
            grad = tunnel.attribute(x, nt_type="smoothgrad", nt_samples=samples, stdevs=noise, target=t,
                                    additional_forward_args=(lengths,), abs=False)
        return grad * x

    return [a.sum(1) for a in captum_attributions(bundle, arrays, targets, attribute, batch_size=8)]


def occlusion(bundle: ModelBundle, arrays: Sequence[np.ndarray], targets: np.ndarray, window: int = 1,
              baseline: str = "zero") -> list[np.ndarray]:
    """Occlusion: the drop of the target logit when a window of ``window`` letters is replaced by the
    reference, averaged over the windows that cover a position (all K letters of a position share it)."""
    from captum.attr import Occlusion

    def attribute(model, x, t, lengths):
        w = min(window, x.shape[1])  # a batch holds one length (same_length below)
        return Occlusion(model).attribute(x, sliding_window_shapes=(w, x.shape[2]), strides=(1, x.shape[2]),
                                          baselines=reference(baseline, x), target=t,
                                          additional_forward_args=(lengths,), perturbations_per_eval=16)

    return [a.mean(1) for a in captum_attributions(bundle, arrays, targets, attribute, batch_size=8,
                                                   same_length=True)]
