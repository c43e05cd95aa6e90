"""The recurrent cells: one :class:`CellSpec` per cell type, the only place that knows a cell by name.

A spec holds the cell's name, label and help text, its gates in order (which are signed, i.e. not
in 0..1), the config fields it reads, one time step of its maths and a builder with its
initialisation. The model builder, :class:`~bioseq.model.config.ModelConfig`, the gate
recomputation, the unrolled layer behind gradients across time, the descriptions and the charts
all read from here; an unknown name raises a :class:`ValueError` listing the known ones.

Shapes, for one direction of one layer (H = hidden size, F = input features, G = ``blocks``):

* parameters with ``nn.RNN``'s names, suffix ``_l0`` (``_l0_reverse`` for the reverse direction):
  ``weight_ih (G*H, F)``, ``weight_hh (G*H, H)``, ``bias_ih (G*H,)``, ``bias_hh (G*H,)``, plus the
  cell's ``extra`` parameters (shapes given in units of H);
* a step gets ``xp = x(t) @ weight_ih.T + bias_ih`` ``(B, G*H)`` (computed for all steps at once by
  :func:`bioseq.model.recurrence.unroll`) and the carried state, one ``(B, H)`` tensor per name in
  ``state`` (zeros at the first step), and returns every gate ``(B, H)`` by name, ``hidden`` = h(t)
  among them. The next state is read from those gates.

``lstm``, ``gru`` and the tanh/relu ``rnn`` build PyTorch's fused layers (the fast path of
:func:`~bioseq.model.recurrence.run_layer`); their steps reproduce those layers to float rounding.
The sigmoid ``rnn`` and ``dtrnn`` build :class:`~bioseq.model.recurrence.UnrolledRNN`, which runs the
step itself. This module imports no torch (steps use tensor methods only; builders import it when
called), so validation, the CLI parser and the options table stay light.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from torch import Tensor, nn

    from .config import ModelConfig

Params = Mapping[str, "Tensor"]
Step = Callable[["ModelConfig", Params, "Tensor", Mapping[str, "Tensor"]], dict[str, "Tensor"]]
Builder = Callable[["CellSpec", "ModelConfig", int], "nn.Module"]
BASE_PARAMS = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")  # nn.RNN's names, first in every cell


@dataclass(frozen=True)
class CellSpec:
    """One recurrent cell type; see the module docstring for the step's contract and shapes."""

    name: str
    label: str  # for descriptions; ``{field}`` is filled from the config, e.g. ``RNN-{activation}``
    help: str  # one short phrase for the CLI and the form
    gates: tuple[str, ...]  # in order, ``hidden`` last
    signed: frozenset[str]  # gates not in 0..1
    reads: tuple[str, ...]  # config fields this cell reads beyond the shared ones
    step: Step
    builder: Builder
    blocks: int = 1  # weight_ih has blocks * H rows
    extra: tuple[tuple[str, tuple[int, ...]], ...] = ()  # extra parameters: name, shape in units of H
    state: tuple[str, ...] = ("hidden",)  # gates carried to the next step

    @property
    def param_names(self) -> tuple[str, ...]:
        return BASE_PARAMS + tuple(name for name, _ in self.extra)

    def param_shapes(self, input_size: int, hidden: int) -> dict[str, tuple[int, ...]]:
        """Shapes of one direction's parameters, in registration order (``nn.RNN``'s for the first four)."""
        g = self.blocks * hidden
        shapes = {"weight_ih": (g, input_size), "weight_hh": (g, hidden), "bias_ih": (g,), "bias_hh": (g,)}
        shapes.update({name: tuple(hidden * d for d in dims) for name, dims in self.extra})
        return shapes

    def describe(self, cfg: Mapping) -> str:
        """The label with the config fields it names filled in, e.g. ``RNN-relu``."""
        return self.label.format_map({k: cfg.get(k) for k in self.reads})

    def build(self, cfg: ModelConfig, input_size: int) -> nn.Module:
        """One recurrent layer (both directions when ``cfg.bidirectional``), initialised."""
        return self.builder(self, cfg, input_size)


def _recurrent(p: Params, state: Mapping[str, Tensor]) -> Tensor:
    return state["hidden"] @ p["weight_hh"].T + p["bias_hh"]  # (B, G*H)


def _rnn_step(cfg: ModelConfig, p: Params, xp: Tensor, state: Mapping[str, Tensor]) -> dict[str, Tensor]:
    """Elman: h(t) = σ(xp + b_hh + W_hh h(t-1)); ``tanh``, ``relu`` and ``sigmoid`` are tensor methods.

    The additions run in the order of the sigmoid RNN before the registry, so that its model files
    still predict the same bytes (float addition is not associative).
    """
    return {"hidden": getattr(xp + p["bias_hh"] + state["hidden"] @ p["weight_hh"].T, cfg.activation)()}


def _lstm_step(cfg: ModelConfig, p: Params, xp: Tensor, state: Mapping[str, Tensor]) -> dict[str, Tensor]:
    """PyTorch's gate order i, f, g, o; C(t) = f ⊙ C(t-1) + i ⊙ g, h(t) = o ⊙ tanh(C(t))."""
    i, f, g, o = (xp + _recurrent(p, state)).chunk(4, dim=-1)
    i, f, g, o = i.sigmoid(), f.sigmoid(), g.tanh(), o.sigmoid()
    c = f * state["cell"] + i * g
    return {"input": i, "forget": f, "candidate": g, "output": o, "cell": c, "hidden": o * c.tanh()}


def _gru_step(cfg: ModelConfig, p: Params, xp: Tensor, state: Mapping[str, Tensor]) -> dict[str, Tensor]:
    """PyTorch's order r, z, n; the reset gate scales the whole recurrent term of n, bias included."""
    xr, xz, xn = xp.chunk(3, dim=-1)
    hr, hz, hn = _recurrent(p, state).chunk(3, dim=-1)
    r, z = (xr + hr).sigmoid(), (xz + hz).sigmoid()
    n = (xn + r * hn).tanh()
    return {"reset": r, "update": z, "candidate": n, "hidden": (1 - z) * n + z * state["hidden"]}


def _dtrnn_step(cfg: ModelConfig, p: Params, xp: Tensor, state: Mapping[str, Tensor]) -> dict[str, Tensor]:
    """Deep transition (Pascanu et al. 2014, DT-RNN): an MLP between h(t-1) and h(t).

    z(t) = tanh(W_ih x(t) + b_ih + W_hh h(t-1) + b_hh), h(t) = tanh(W_zh z(t) + b_zh).
    """
    z = (xp + _recurrent(p, state)).tanh()
    return {"transition": z, "hidden": (z @ p["weight_zh"].T + p["bias_zh"]).tanh()}


def _fused_kwargs(cfg: ModelConfig, input_size: int) -> dict:
    return dict(input_size=input_size, hidden_size=cfg.hidden, batch_first=True, bidirectional=cfg.bidirectional)


def _unrolled_layer(spec: CellSpec, cfg: ModelConfig, input_size: int) -> nn.Module:
    """The generic unrolled layer; ``nn.RNN``'s initialisation, U(-1/√H, 1/√H), in registration order."""
    from .recurrence import UnrolledRNN

    return UnrolledRNN(spec, cfg, input_size)


def _rnn_layer(spec: CellSpec, cfg: ModelConfig, input_size: int) -> nn.Module:
    from torch import nn

    if cfg.activation in ("tanh", "relu"):
        return nn.RNN(nonlinearity=cfg.activation, **_fused_kwargs(cfg, input_size))
    return _unrolled_layer(spec, cfg, input_size)  # sigmoid: nn.RNN has no such kernel


def _lstm_layer(spec: CellSpec, cfg: ModelConfig, input_size: int) -> nn.Module:
    """``nn.LSTM`` whose forget gates start at ``forget_bias`` (in ``bias_ih``; ``bias_hh``'s part is zero)."""
    import torch
    from torch import nn

    rnn = nn.LSTM(**_fused_kwargs(cfg, input_size))
    h = cfg.hidden
    with torch.no_grad():  # gate order i, f, g, o
        for name, p in rnn.named_parameters():
            if name.startswith("bias_ih"):
                p[h:2 * h].fill_(cfg.forget_bias)
            elif name.startswith("bias_hh"):
                p[h:2 * h].zero_()
    return rnn


def _gru_layer(spec: CellSpec, cfg: ModelConfig, input_size: int) -> nn.Module:
    from torch import nn

    return nn.GRU(**_fused_kwargs(cfg, input_size))


def _dtrnn_layer(spec: CellSpec, cfg: ModelConfig, input_size: int) -> nn.Module:
    """Orthogonal ``weight_hh`` and ``weight_zh``, the rest as ``nn.RNN``.

    A step back through time multiplies the gradient by W_hhᵀ diag(1 - z²) W_zhᵀ diag(1 - h²): with
    ``nn.RNN``'s uniform weights each matrix shrinks it about twofold, so two per step would make the
    deep transition forget twice as fast as a plain RNN. Orthogonal matrices keep its norm but for
    the tanh slopes (Saxe et al. 2014).
    """
    import torch
    from torch import nn

    layer = _unrolled_layer(spec, cfg, input_size)
    with torch.no_grad():
        for name, p in layer.named_parameters():
            if name.startswith(("weight_hh", "weight_zh")):
                nn.init.orthogonal_(p)
    return layer


_SPECS = (
    CellSpec("rnn", "RNN-{activation}", "one tanh/relu update per letter, forgets quickly",
             ("hidden",), frozenset({"hidden"}), ("activation",), _rnn_step, _rnn_layer),
    CellSpec("lstm", "LSTM", "gated cell state that keeps information over long stretches",
             ("input", "forget", "candidate", "output", "cell", "hidden"), frozenset({"candidate", "cell", "hidden"}),
             ("forget_bias",), _lstm_step, _lstm_layer, blocks=4, state=("hidden", "cell")),
    CellSpec("gru", "GRU", "a lighter gated cell",
             ("reset", "update", "candidate", "hidden"), frozenset({"candidate", "hidden"}), (), _gru_step,
             _gru_layer, blocks=3),
    CellSpec("dtrnn", "DT-RNN", "deep transition: a small tanh network between one state and the next",
             ("transition", "hidden"), frozenset({"transition", "hidden"}), (), _dtrnn_step, _dtrnn_layer,
             extra=(("weight_zh", (1, 1)), ("bias_zh", (1,)))),
)

CELLS: Mapping[str, CellSpec] = MappingProxyType({s.name: s for s in _SPECS})


def names() -> tuple[str, ...]:
    """The registered cell names, in registration order."""
    return tuple(CELLS)


def get(name: str) -> CellSpec:
    """The spec of ``name``; an unknown name raises a :class:`ValueError` listing the known ones."""
    try:
        return CELLS[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown cell {name!r}; choose one of {', '.join(names())}") from None


def help_text() -> str:
    """``name: help`` for every cell, for the ``cell`` option."""
    return "; ".join(f"{s.name}: {s.help}" for s in CELLS.values())


def reads(field: str, cell: str) -> bool:
    """Whether a model with ``cell`` reads the config ``field``: a field that only some cells read (the plain
    RNN's ``activation``, the LSTM's ``forget_bias``) is read by those cells alone; every other field by all."""
    own = {f for spec in CELLS.values() for f in spec.reads}
    return field not in own or field in get(cell).reads


def signed_gates() -> frozenset[str]:
    """Gate names that take values outside 0..1 in any cell (the charts centre them on zero)."""
    return frozenset().union(*(s.signed for s in CELLS.values()))
