"""Alphabets for DNA, RNA and protein, with IUPAC ambiguity codes as fractional one-hot rows.

An :class:`Alphabet` maps every accepted byte to a row of a lookup table of shape
``(256, size)``: a standard letter is a one-hot row, an ambiguity code spreads its mass evenly over
the letters it stands for (DNA ``N`` -> 1/4 each, ``R`` -> 1/2 A + 1/2 G). Letters are
case-insensitive. Bytes that are not part of the alphabet are marked invalid.

Documented rules for the protein odd letters:

* ``X`` (any amino acid) is uniform over the 20 standard residues;
* ``B`` = D or N, ``Z`` = E or Q, ``J`` = I or L (half each);
* ``U`` (selenocysteine) is read as ``C``; ``O`` (pyrrolysine) is read as ``K``;
* a single terminal ``*`` (stop codon) is dropped before encoding; any other ``*`` is an error.

DNA accepts ``ACGT``; RNA accepts ``ACGU``. Both accept the IUPAC codes
``R Y S W K M B D H V N``. A gap (``-`` or ``.``) is not a letter and is an error.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np

from ..errors import shown

_NUC_AMBIGUITY = {
    "R": "AG", "Y": "CT", "S": "CG", "W": "AT", "K": "GT", "M": "AC",
    "B": "CGT", "D": "AGT", "H": "ACT", "V": "ACG", "N": "ACGT",
}


@dataclass(frozen=True)
class Alphabet:
    """A sequence alphabet: ``letters`` are the one-hot columns, ``ambiguity`` maps codes to letters."""

    name: str
    letters: str
    ambiguity: Mapping[str, str] = field(default_factory=dict)
    rule: str = ""

    @property
    def size(self) -> int:
        return len(self.letters)

    @property
    def accepted(self) -> str:
        """Every upper-case character the alphabet accepts, standard letters first."""
        return self.letters + "".join(self.ambiguity)

    def table(self) -> np.ndarray:
        """Lookup table ``(256, size)`` float32 over bytes; rows of rejected bytes are NaN."""
        return _table(self)

    def to_dict(self) -> dict:
        return {"name": self.name, "letters": self.letters,
                "ambiguity": dict(self.ambiguity), "rule": self.rule}

    @classmethod
    def from_dict(cls, d: Mapping) -> Alphabet:
        """An alphabet as :meth:`to_dict` wrote it, checked (a file may say anything): ``name`` one of
        :data:`ALPHABETS`, ``letters`` distinct capitals A-Z, ``ambiguity`` codes (capitals that are not
        letters) for non-empty strings of letters, ``rule`` text. ``ValueError`` naming the field otherwise."""
        if not isinstance(d, Mapping):
            raise ValueError(f"alphabet must be a mapping with name, letters and ambiguity, not {type(d).__name__}")
        missing = [k for k in ("name", "letters", "ambiguity") if k not in d]
        if missing:
            raise ValueError(f"alphabet has no {', '.join(missing)}")
        name, letters, ambiguity, rule = d["name"], d["letters"], d["ambiguity"], d.get("rule", "")
        if not isinstance(name, str) or name not in ALPHABETS:
            raise ValueError(f"alphabet.name must be one of {', '.join(ALPHABETS)}, not {shown(name)}")
        if not _capitals(letters) or len(set(letters)) != len(letters):
            raise ValueError(f"alphabet.letters must be distinct capital letters A-Z, not {shown(letters)}")
        if not isinstance(ambiguity, Mapping):
            raise ValueError(f"alphabet.ambiguity must be a mapping of codes to letters, not {shown(ambiguity)}")
        for code, stands_for in ambiguity.items():
            if not (_capitals(code) and len(code) == 1 and code not in letters):
                raise ValueError(f"alphabet.ambiguity: a code must be one capital letter that is not one of the "
                                 f"letters, not {shown(code)}")
            if not (_capitals(stands_for) and set(stands_for) <= set(letters)):
                raise ValueError(f"alphabet.ambiguity.{code} must be letters of {letters}, not {shown(stands_for)}")
        if not isinstance(rule, str):
            raise ValueError(f"alphabet.rule must be text, not {shown(rule)}")
        return cls(name, letters, MappingProxyType(dict(ambiguity)), rule)


def _capitals(text) -> bool:
    """Whether ``text`` is a non-empty string of capitals A-Z."""
    return isinstance(text, str) and text.isascii() and text.isalpha() and text.isupper()


def _table(alpha: Alphabet) -> np.ndarray:
    return _build_table(alpha.letters, tuple(sorted(alpha.ambiguity.items())))


@functools.lru_cache(maxsize=16)
def _build_table(letters: str, ambiguity: tuple[tuple[str, str], ...]) -> np.ndarray:
    """The read-only lookup table of an alphabet (built once per alphabet)."""
    table = np.full((256, len(letters)), np.nan, dtype=np.float32)
    index = {c: i for i, c in enumerate(letters)}
    for code, stands_for in list(ambiguity) + [(c, c) for c in letters]:
        row = np.zeros(len(letters), dtype=np.float32)
        for c in stands_for:
            row[index[c]] += 1.0 / len(stands_for)
        table[ord(code.upper())] = row
        table[ord(code.lower())] = row
    table.setflags(write=False)
    return table


DNA = Alphabet("dna", "ACGT", MappingProxyType(dict(_NUC_AMBIGUITY)),
               "IUPAC codes R Y S W K M B D H V N are fractional one-hot vectors")
RNA = Alphabet("rna", "ACGU",
               MappingProxyType({k: v.replace("T", "U") for k, v in _NUC_AMBIGUITY.items()}),
               "IUPAC codes R Y S W K M B D H V N are fractional one-hot vectors")
_AMINO = "ACDEFGHIKLMNPQRSTVWY"
PROTEIN = Alphabet(
    "protein", _AMINO,
    MappingProxyType({"X": _AMINO, "B": "DN", "Z": "EQ", "J": "IL", "U": "C", "O": "K"}),
    "X uniform; B=D/N, Z=E/Q, J=I/L half each; U read as C, O read as K; one terminal * dropped",
)

ALPHABETS: Mapping[str, Alphabet] = MappingProxyType({"dna": DNA, "rna": RNA, "protein": PROTEIN})


def get_alphabet(name: str) -> Alphabet:
    try:
        return ALPHABETS[name.lower()]
    except KeyError:
        raise ValueError(f"unknown alphabet {name!r}; choose one of {', '.join(ALPHABETS)}") from None


class AlphabetSurvey:
    """:func:`detect_alphabet` one sequence at a time, in bounded memory: :meth:`add` each sequence, then
    :meth:`result`. It keeps totals and the first record (1-based) of each kind the rules name."""

    def __init__(self, name: str = "data"):
        self.name, self.records, self.total, self.nuc = name, 0, 0, 0
        self.has_t = self.has_u = self.not_nucleotide = self.long_nucleotide = 0

    def add(self, seq: str) -> None:
        self.records += 1
        s = seq.upper().rstrip("*")
        if not s:
            return
        i, nuc = self.records, sum(s.count(c) for c in "ACGTUN")
        self.total += len(s)
        self.nuc += nuc
        self.has_t = self.has_t or (i if "T" in s else 0)
        self.has_u = self.has_u or (i if "U" in s else 0)
        nucleotide = nuc >= 0.95 * len(s) and set(s) <= _NUC_LETTERS
        self.not_nucleotide = self.not_nucleotide or (0 if nucleotide else i)
        self.long_nucleotide = self.long_nucleotide or (i if nucleotide and len(s) >= 20 else 0)

    def result(self) -> Alphabet:
        """The alphabet of everything added (see :func:`detect_alphabet`); ``ValueError`` for mixed input."""
        name = self.name
        if not self.total:
            raise ValueError(f"{name}: no sequences to detect an alphabet from")
        if self.nuc >= 0.95 * self.total:
            if self.has_t and self.has_u:
                raise ValueError(f"{name}: mixes DNA (T in record {self.has_t}) and RNA (U in record {self.has_u})")
            if self.not_nucleotide:
                raise ValueError(f"{name}: record {self.not_nucleotide} looks like protein in a nucleotide file")
            return RNA if self.has_u else DNA
        if self.long_nucleotide:
            raise ValueError(f"{name}: record {self.long_nucleotide} looks like a nucleotide sequence in a protein "
                             "file")
        return PROTEIN


_NUC_LETTERS = frozenset(DNA.accepted + "U")


def detect_alphabet(seqs, name: str = "data") -> Alphabet:
    """Guess the alphabet of an iterable of sequences (strings).

    The collection is nucleotide when at least 95% of all its letters are ``ACGTUN``; it is RNA when it
    has ``U`` and no ``T``, else DNA. Otherwise it is protein. Mixed input is an error naming a record:
    a protein record in a nucleotide file, a record with both ``T`` and ``U``, or a nucleotide-looking
    record of 20 or more letters in a protein file.
    """
    survey = AlphabetSurvey(name)
    for s in seqs:
        survey.add(s)
    return survey.result()
