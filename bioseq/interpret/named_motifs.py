"""Motifs with names: TF-MoDISco on the attribution maps of the class explained, each motif matched against JASPAR.

:func:`named_motifs` explains a DNA/RNA classifier. The class explained is ``target`` for every record, or each
record's predicted class (then TF-MoDISco runs once per predicted class, on that class's records, at most
:data:`~bioseq.interpret.modisco.MAX_SEQUENCES` of each). Each pattern (:mod:`bioseq.interpret.modisco`) is
matched with TomTom against the reference motifs (:func:`bioseq.interpret.jaspar.reference`: JASPAR 2026 CORE
vertebrates by default, or a MEME file). One row per motif, the largest first within each class and sign::

    target, motif, sign, consensus, seqlets, sequences, match_id, match_name, match_family, q_value, p_value, matches,
    position_median, position_q1, position_q3, width, ppm, positions

``sign`` + raises the class score, - lowers it; ``consensus`` the most likely letter per column (lower case
where it has under half the probability); ``match_*`` the best reference motif (``match_family``: its JASPAR TF
family), ``matches`` the best :data:`TOP_MATCHES` in words (``MA0099.4 FOS::JUN (q 3e-06); ...``);
``position_*`` the median and quartiles of the seqlets' centres (1-based letters); ``ppm`` the trimmed position
probability matrix (JSON, rows = columns of the motif, in the model's letter order) and ``positions`` every
seqlet's centre (JSON) for the logo and the position histogram. ``top`` keeps at most that many motifs per class
explained (in the table's order). The table's ``attrs`` hold ``seconds`` (TF-MoDISco's time), ``reference``,
``json_columns`` (the columns holding JSON) and ``notes``: one line per class explained where TF-MoDISco found
nothing while another class gave motifs (``class a: TF-MoDISco failed ...``). :func:`meme_bytes` gives the motifs
as a MEME file, the bytes ``--meme-out`` writes and the dashboard's download gives.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..data.io import Record
from ..errors import InputError
from ..model.store import ModelBundle
from . import jaspar
from .inputs import prepared, prepared_lengths, resolve_targets, target_index
from .modisco import MAX_SEQLETS, MAX_SEQUENCES, SETTINGS, NoMotifs, Pattern, check_lengths, contributions, discover

COLUMNS = ["target", "motif", "sign", "consensus", "seqlets", "sequences", "match_id", "match_name",
           "match_family", "q_value", "p_value", "matches", "position_median", "position_q1", "position_q3", "width",
           "ppm", "positions"]
TOP_MATCHES = 3
_NOTHING = "TF-MoDISco found no motif in its records"


def nucleic(bundle: ModelBundle) -> bool:
    """Whether the model reads DNA or RNA (four letters A, C, G, T/U: what JASPAR's matrices are over)."""
    return bundle.alphabet.letters in ("ACGT", "ACGU")


def consensus(ppm: np.ndarray, letters: str) -> str:
    return "".join(letters[j] if row[j] >= 0.5 else letters[j].lower() for row, j in zip(ppm, ppm.argmax(1)))


def _by_class(bundle: ModelBundle, records: Sequence[Record], target: str | None) -> dict[str, list[Record]]:
    """The records of each class explained (the chosen one, or each record's predicted class)."""
    if target is not None:
        return {target: list(records)[:MAX_SEQUENCES]}
    classes = resolve_targets(bundle, prepared(bundle, records)[1], None)
    return {c: [r for r, t in zip(records, classes) if t == i][:MAX_SEQUENCES]
            for i, c in enumerate(bundle.classes) if (classes == i).any()}


def _row(target: str, p: Pattern, matches: list[jaspar.Match], letters: str) -> dict:
    best = matches[0] if matches else None
    q1, med, q3 = np.percentile(p.positions, [25, 50, 75]) if p.positions else (np.nan,) * 3
    return {"target": target, "motif": p.name, "sign": p.sign, "consensus": consensus(p.ppm, letters),
            "seqlets": p.seqlets, "sequences": p.sequences, "match_id": best.id if best else "",
            "match_name": best.name if best else "",
            "match_family": best.family if best else "", "q_value": best.q_value if best else np.nan,
            "p_value": best.p_value if best else np.nan, "matches": "; ".join(m.words() for m in matches),
            "position_median": float(med), "position_q1": float(q1), "position_q3": float(q3),
            "width": len(p.ppm), "ppm": json.dumps(np.round(p.ppm, 4).tolist()), "positions": json.dumps(p.positions)}


def named_motifs(bundle: ModelBundle, records: Sequence[Record], target: str | None = None,
                 method: str = "saliency", jaspar_release: str = jaspar.RELEASE,
                 jaspar_collection: str = jaspar.COLLECTION, jaspar_taxa: str = "vertebrates",
                 motifs_file: str | None = None, max_seqlets: int = MAX_SEQLETS, top: int | None = None,
                 **options) -> pd.DataFrame:
    """The motifs TF-MoDISco finds in the attribution maps of ``method``, with their best reference matches
    (see the module docstring); :class:`~bioseq.interpret.modisco.NoMotifs` when it finds none."""
    if not nucleic(bundle):
        raise InputError(f"named motifs need a DNA or RNA model (JASPAR is DNA); this one reads {bundle.alphabet.name}")
    if int(max_seqlets) < SETTINGS["min_metacluster_size"]:
        raise InputError(f"max seqlets must be at least {SETTINGS['min_metacluster_size']}, not {max_seqlets}")
    if top is not None and int(top) < 1:
        raise InputError(f"top must be at least 1 motif per class, not {top}")
    target_index(bundle, target)  # an unknown class first, before any work
    ref = jaspar.reference(jaspar_release, jaspar_collection, jaspar_taxa, motifs_file)
    check_lengths(prepared_lengths(bundle, records))
    found: list[tuple[str, Pattern]] = []
    seconds, seen, failed = 0.0, [], {}
    groups = _by_class(bundle, records, target)
    for cls, recs in groups.items():
        onehots, hyps = contributions(bundle, recs, cls, method, **options)
        try:
            patterns, took = discover(onehots, hyps, max_seqlets)
        except NoMotifs as e:  # one class's failure leaves the others' motifs
            if len(groups) == 1:
                raise
            failed.setdefault(str(e), []).append(cls)
            continue
        seconds += took
        seen.append(f"{len(recs)} of class {cls}")
        if not patterns:
            failed.setdefault(_NOTHING, []).append(cls)
        found += [(cls, p) for p in patterns[:top]]
    notes = [f"class {', '.join(classes)}: {e}" for e, classes in failed.items() if e != _NOTHING]
    why = "; ".join(notes)
    if not found and not seen:
        raise NoMotifs(why)
    if not found:
        raise NoMotifs(f"TF-MoDISco found no motif in {', '.join(seen) or 'no records'} (a motif needs more than "
                       f"{SETTINGS['min_metacluster_size']} seqlets of one sign, {SETTINGS['final_min_cluster_size']} "
                       "alike): give it more records, or a model that scores better"
                       + (f"; {why}" if why else ""))
    matches = jaspar.match([p.ppm for _, p in found], ref, TOP_MATCHES)
    letters = bundle.alphabet.letters
    table = pd.DataFrame([_row(c, p, m, letters) for (c, p), m in zip(found, matches)], columns=COLUMNS)
    notes += [f"class {', '.join(classes)}: {_NOTHING}" for e, classes in failed.items() if e == _NOTHING]
    table.attrs.update(seconds=seconds, reference=ref.source, json_columns=("ppm", "positions"), notes=notes)
    return table


def meme_motifs(table: pd.DataFrame) -> list[tuple[str, np.ndarray, int]]:
    """The table's motifs for :func:`bioseq.interpret.jaspar.write_meme`: ``(name, ppm (W, 4), seqlets)``, named
    ``class_motif`` with the best match appended (``motif_pos_1_MA0099.4_FOS::JUN``)."""
    out = []
    for r in table.itertuples():
        name = f"{r.target}_{r.motif}" + (f"_{r.match_id}_{r.match_name}" if r.match_id else "")
        out.append((name.replace(" ", "_"), np.asarray(json.loads(r.ppm)), int(r.seqlets)))
    return out



def meme_bytes(table: pd.DataFrame) -> bytes:
    """The table's motifs as a MEME file (:func:`meme_motifs`, :func:`bioseq.interpret.jaspar.meme_text`): what
    ``bioseq inspect motifs --meme-out`` writes and the dashboard's Motifs tab downloads, byte for byte."""
    return jaspar.meme_text(meme_motifs(table)).encode("utf-8")
