"""The model options (:class:`ModelConfig`): everything needed to rebuild a model.

``task`` decides the head: ``classify`` reads the positions out once (``pooling``) to logits ``(B, C)``;
``label`` gives logits ``(B, T, C)`` at every position (``pooling`` is unused, ``conv_pool`` must be 1).
"""

from __future__ import annotations

from dataclasses import MISSING, asdict, dataclass, fields

from ..errors import InputError, ref, shown
from ..option_spec import check_fields, declare, opt
from ..task import NAMES, task_of
from . import cells

CELLS = cells.names()
ACTIVATIONS = ("tanh", "relu", "sigmoid")
NORMS = ("none", "batch", "layer")
POOLINGS = ("last", "mean", "max", "attention")
TASKS = NAMES  # the task names, from the Task module
STRANDS = ("forward", "augment", "both")  # see bioseq.model.strands
ENCODINGS = ("onehot", "blosum62", "physchem", "embedding", "kmer")  # see bioseq.model.encodings
PROTEIN_ONLY = ("blosum62", "physchem")  # fixed maps over the 20 amino acids
MAX_KMERS = 4096  # the most k-mers a kmer encoding embeds (alphabet size ** kmer)


@declare("model")
@dataclass
class ModelConfig:
    """Everything needed to rebuild a classifier. Choices and ranges are checked by :meth:`validate`."""

    alphabet_size: int = opt(help="letters in the alphabet, from the data", min=1, internal=True, cli=False)
    n_classes: int = opt(help="classes, from the data", min=2, internal=True, cli=False)
    task: str = opt("classify", choices=TASKS, internal=True, detected=True, unset="detected",
                    where="detected from the data on the Data page",
                    help="classify: one label per sequence; label: one label per position (sequence labelling). "
                    "Detected from the inputs when not given: a three-line FASTA or --labels-fasta means label")
    cell: str = opt("lstm", label="Recurrent cell", choices=lambda: CELLS, aliases=("--arch",),
                    help=cells.help_text())
    activation: str = opt("tanh", label="RNN activation", choices=ACTIVATIONS,
                          help="plain RNN only: relu and tanh keep gradients alive better than sigmoid")
    layers: int = opt(1, label="Layers", min=1, max=8, help="stacked recurrent layers; deeper stacks need "
                      "skip connections or batch norm to train")
    hidden: int = opt(64, label="Hidden units", min=1, max=1024, help="units per direction: the size of the memory")
    bidirectional: bool = opt(True, label="Bidirectional", help="a second RNN reads the sequence from the end, so "
                              "every position sees both sides")
    dropout: float = opt(0.1, label="Dropout", min=0.0, max=0.9, step=0.05,
                         help="randomly silence units between layers and before the head while training, against "
                         "overfitting")
    skip: bool = opt(False, label="Skip connections", help="add each layer's input to its output, a short path for "
                     "gradients through deep stacks")
    norm: str = opt("none", label="Normalisation", choices=NORMS, help="normalisation between recurrent layers: "
                    "batch norm re-centres activations, which keeps gradients from vanishing in deep stacks")
    conv: bool = opt(True, label="Convolution front end", help="a convolution finds short motifs before the RNN "
                     "and pooling shortens the sequence it must remember")
    conv_filters: int = opt(64, label="Conv filters", min=1, max=1024, help="motif detectors in the front end")
    conv_width: int = opt(9, label="Conv width", min=1, max=51, by_alphabet={"protein": 5},
                          help="letters each motif detector sees")
    conv_pool: int = opt(2, label="Conv pool", min=1, max=16, by_alphabet={"protein": 1}, by_task={"label": 1},
                         help="max-pool width after the convolution (1 = none; a labeller keeps one output per "
                         "position, so 1)")
    pooling: str = opt("max", label="Read-out", choices=POOLINGS, by_alphabet={"protein": "last"},
                       help="how positions become one vector: last state, mean, max or learned attention")
    strand: str = opt("forward", label="DNA strands", choices=STRANDS, alphabets=("dna",),
                      help="DNA only: forward reads the sequences as given; augment trains on random reverse "
                      "complements too (a labeller's labels reversed with them); both also predicts the average "
                      "over a sequence and its reverse complement (a labeller's position by position; for "
                      "signals that can sit on either strand)")
    forget_bias: float = opt(1.0, label="Forget-gate bias", step=0.5,
                             help="LSTM only: start with the forget gate open (bias 1, as in Keras), so the cell "
                             "remembers by default")
    encoding: str = opt("onehot", label="Input encoding", choices=ENCODINGS,
                        help="the model's first layer, over the one-hot letters: onehot (none); blosum62 or physchem "
                        "(protein: BLOSUM62 rows, or one-hot plus hydropathy, charge, volume and polarity); "
                        "embedding (learned); kmer (a learned embedding of the k-mer around each position)")
    embed_size: int = opt(16, label="Embedding size", min=1, max=256,
                          help="embedding and kmer encodings: the size of each position's learned vector")
    kmer: int = opt(3, label="k-mer length", min=1, max=12, help="kmer encoding: letters per k-mer (the alphabet "
                    f"size to this power is at most {MAX_KMERS:,})")

    def validate(self) -> ModelConfig:
        """``self`` if every field is valid: each option's type, choices and range (one rule,
        :meth:`~bioseq.option_spec.Option.problem`, raised as :class:`InputError`), then how they combine
        (:class:`ValueError`)."""
        if type(self.n_classes) is int and self.n_classes < 2 and self.task in TASKS:  # in the task's words
            raise ValueError(f"a {task_of(self).noun} needs at least two {task_of(self).words}")
        check_fields(self, InputError)
        task = task_of(self)
        if task.per_position and self.conv and self.conv_pool > 1:
            raise ValueError(f"a labeller gives one output per position, so the conv front end cannot pool: "
                             f"conv_pool is {self.conv_pool}; use {ref('conv_pool', 1)}")
        if self.encoding in PROTEIN_ONLY and self.alphabet_size != 20:
            raise ValueError(f"the {self.encoding} encoding is for protein (20 letters), not {self.alphabet_size} "
                             f"letters; use {ref('encoding', 'embedding')} or {ref('encoding', 'onehot')}")
        if self.encoding == "kmer" and self.alphabet_size ** self.kmer > MAX_KMERS:
            raise ValueError(f"a {self.kmer}-mer encoding of {self.alphabet_size} letters has "
                             f"{self.alphabet_size ** self.kmer:,} k-mers, more than {MAX_KMERS:,}; use a smaller "
                             f"{ref('kmer')} or {ref('encoding', 'embedding')}")
        return self

    @property
    def labelling(self) -> bool:
        """Whether the model gives a label per position (its task's ``per_position``); kept for the callers in
        ``interpret/`` until they ask the Task."""
        return task_of(self).per_position

    @property
    def directions(self) -> int:
        return 2 if self.bidirectional else 1

    @property
    def out_dim(self) -> int:
        return self.hidden * self.directions

    def to_dict(self) -> dict:
        return asdict(self)

    def weight_sizes(self) -> tuple[str, ...]:
        """The whole-number options that are a dimension of some weight of the model built from this config
        (so no larger than the largest dimension of those weights); ``layers`` counts layers, ``conv_pool``
        and an unused front end's sizes size nothing."""
        return ("alphabet_size", "n_classes", "hidden", *(("conv_filters", "conv_width") if self.conv else ()),
                *(("embed_size",) if self.encoding in ("embedding", "kmer") else ()))

    @classmethod
    def from_dict(cls, d: dict, where: str = "") -> ModelConfig:
        """A config from a model file's JSON: every key known, every value of its option's type (a whole
        number is an ``int``, not ``"1"``, ``1.0`` or ``true``), within its range, among its choices;
        ``ValueError`` naming the key (as ``where.key`` when ``where`` is given) otherwise."""
        if not isinstance(d, dict):
            raise ValueError(f"must be a mapping of model options, not {type(d).__name__}")
        known = {f.name for f in fields(cls)}
        unknown = set(d) - known
        if unknown:
            named = [k if k.isidentifier() else shown(k) for k in sorted(unknown)[:3]]
            more = f" and {len(unknown) - 3:,} more" if len(unknown) > 3 else ""
            raise ValueError(f"unknown model config keys: {', '.join(named)}{more}")
        missing = [f.name for f in fields(cls) if f.name not in d and f.default is MISSING]
        if missing:
            raise ValueError(f"model config keys missing: {', '.join(missing)}")
        for o in cls.OPTIONS:  # the options' one rule, naming the key
            problem = o.problem(d[o.name], f"{where}.{o.name}" if where else o.name) if o.name in d else None
            if problem:
                raise ValueError(problem)
        return cls(**d).validate()
