"""Sequence identity between sets of sequences, measured with MMseqs2, or with CD-HIT where MMseqs2 is missing.

**Identity**, the one definition bioseq uses: the number of identical aligned positions divided by the
length of the *shorter* sequence (:data:`IDENTITY`; MMseqs2's ``--seq-id-mode 1``, CD-HIT's global
identity ``-G 1``). A fragment of a sequence is 100% identical to it; a gap or an ambiguous letter
is never identical. For DNA and RNA both strands count (a reverse complement is the same molecule).

Settings, chosen so that "no validation sequence has a training sequence at X or more" holds:

* **MMseqs2, protein**: when the queries' letters times the targets' letters are at most
  :data:`EXHAUSTIVE_CELLS`, ``ungappedprefilter`` scores *every* pair on its best ungapped diagonal
  (no k-mer seeds, no E-value cut, no minimum score); above that, the k-mer ``prefilter`` at
  sensitivity :func:`sensitivity` (7.5 below 50% identity). The best :data:`MAX_TARGETS` targets of
  each query go to ``align`` (Smith-Waterman, BLOSUM62, gap 11 + 1 per letter, composition
  correction off, no E-value cut, no coverage requirement), and the identity is counted here from
  the aligned strings.
* **MMseqs2, DNA/RNA**: its nucleotide ``search`` (both strands, :data:`NUCLEOTIDE_K`-letter seeds,
  E-value up to :data:`NUCLEOTIDE_EVALUE`) proposes the pairs, and each pair's identity comes from a
  full local alignment here (:func:`nucleotide_identity`, blastn's +2/-3, gap 5 + 2 per letter, the
  better strand): MMseqs2 14's own nucleotide alignments stop early on divergent pairs.
* **CD-HIT**: ``cd-hit`` / ``cd-hit-est`` cluster, ``cd-hit-2d`` / ``cd-hit-est-2d`` find for each
  query one target at X or more (both strands for nucleotides). Its word sizes limit X
  (:data:`CDHIT_WORDS`): protein 0.4 or more, DNA/RNA 0.75 or more. It drops sequences shorter than
  its word size and finds nothing through shared words in very short ones.

Whatever the tool, identical sequences are always found. Mind the noise: unrelated *short* sequences
reach low identities by chance, and an exhaustive search finds those pairs too (docs/homology.md:
shuffled AMP peptides against real ones at 40%).

Inputs are lists of sequence strings; results are indices into them. The tools run in a temporary
folder, removed afterwards, with ``$OMP_NUM_THREADS`` threads (default: every core).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np

from ..errors import ToolError

TOOLS = ("mmseqs", "cd-hit")
TOOL_LABELS = {"mmseqs": "MMseqs2", "cd-hit": "CD-HIT"}
INSTALL = ("install MMseqs2 or CD-HIT: sudo apt-get install mmseqs2 cd-hit (Debian/Ubuntu packages; "
           "bash scripts/test.sh installs both)")
IDENTITY = "identical aligned positions / length of the shorter sequence"
MAX_TARGETS = 300  # MMseqs2: the most targets per query that reach the alignment (its default)
EXHAUSTIVE_CELLS = 5e8  # MMseqs2, protein: score every pair when (query letters x target letters) is at most this
NUCLEOTIDE_K = 7  # MMseqs2, DNA/RNA: seed length (exact k-mers) of the nucleotide search
NUCLEOTIDE_EVALUE = 1  # MMseqs2, DNA/RNA: E-value up to which a pair is a candidate for the identity
_COMPLEMENT = str.maketrans("ACGTN", "TGCAN")
CDHIT_WORDS = {  # (lowest identity, word size), from CD-HIT's user guide
    "protein": ((0.7, 5), (0.6, 4), (0.5, 3), (0.4, 2)),
    "nucleotide": ((0.95, 10), (0.9, 8), (0.88, 7), (0.85, 6), (0.8, 5), (0.75, 4)),
}
_CLSTR_MEMBER = re.compile(r">([qts]\d+)\.\.\. (?:\*|at (?:[+-]/)?([\d.]+)%)")


class Hit(NamedTuple):
    """Query ``query`` has target ``target`` at ``identity`` (0..1); indices into the inputs."""

    query: int
    target: int
    identity: float


def available(tool: str) -> bool:
    return shutil.which("mmseqs" if tool == "mmseqs" else "cd-hit") is not None


def _cdhit_word(identity: float, nucleotide: bool) -> int:
    kind = "nucleotide" if nucleotide else "protein"
    for lowest, word in CDHIT_WORDS[kind]:
        if identity >= lowest:
            return word
    lowest = CDHIT_WORDS[kind][-1][0]
    raise ToolError(f"CD-HIT clusters {'DNA/RNA' if nucleotide else 'protein'} at an identity of {lowest} or "
                    f"more (its word sizes allow no less), not {identity:g}; MMseqs2 has no such limit: "
                    "sudo apt-get install mmseqs2")


def choose_tool(nucleotide: bool, identity: float, tool: str | None = None) -> str:
    """The tool to use: ``tool`` if given (it must be installed), else MMseqs2, else CD-HIT.

    Raises :class:`ToolError` saying how to install one, or why CD-HIT cannot measure ``identity``.
    """
    if not 0 < identity <= 1:
        raise ToolError(f"the identity must be above 0 and at most 1, not {identity:g}")
    if tool is not None and tool not in TOOLS:
        raise ToolError(f"unknown tool {tool!r}; choose one of {', '.join(TOOLS)}")
    for name in (tool,) if tool else TOOLS:
        if available(name):
            if name == "cd-hit":
                _cdhit_word(identity, nucleotide)
            return name
    wanted = TOOL_LABELS[tool] if tool else "MMseqs2 or CD-HIT"
    raise ToolError(f"homology needs {wanted}, which is not installed; {INSTALL}")


def tool_version(tool: str) -> str:
    """The installed version, e.g. ``14-7e284+ds-1+b2`` (MMseqs2) or ``4.8.1`` (CD-HIT); ``""`` if unknown."""
    cmd = ["mmseqs", "version"] if tool == "mmseqs" else ["cd-hit", "-h"]
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return ""
    text = out.stdout + out.stderr
    if tool == "mmseqs":
        return text.strip().splitlines()[0] if text.strip() else ""
    m = re.search(r"CD-HIT version ([\w.]+)", text)
    return m.group(1) if m else ""


def _threads() -> str:
    try:
        return str(max(1, int(os.environ.get("OMP_NUM_THREADS") or 0) or os.cpu_count() or 1))
    except ValueError:
        return str(os.cpu_count() or 1)


def _run(cmd: list[str], cwd: Path) -> None:
    try:
        p = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    except FileNotFoundError:
        raise ToolError(f"{cmd[0]} is not installed; {INSTALL}") from None
    if p.returncode != 0:
        lines = (p.stderr.strip() or p.stdout.strip()).splitlines()
        raise ToolError(f"{' '.join(cmd[:2])} failed (exit status {p.returncode}): "
                        f"{lines[-1] if lines else 'no message'}")


def _letters(seq: str, nucleotide: bool) -> str:
    """The sequence as the tools read it: upper case, U as T, ambiguous letters as N (nucleotides) or X."""
    s = seq.upper()
    if nucleotide:
        return re.sub(r"[^ACGT]", "N", s.replace("U", "T"))
    return re.sub(r"[^ACDEFGHIKLMNPQRSTVWY]", "X", s)


def _write_fasta(path: Path, prefix: str, seqs: Sequence[str], nucleotide: bool) -> None:
    with open(path, "w") as fh:
        fh.writelines(f">{prefix}{i}\n{_letters(s, nucleotide)}\n" for i, s in enumerate(seqs))


def _aligned_identity(qaln: str, taln: str, qlen: int, tlen: int) -> float:
    """Identical aligned positions (a gap or an ``X`` never counts) / the shorter length."""
    same = sum(1 for a, b in zip(qaln.upper(), taln.upper()) if a == b and a not in "-X")
    return same / max(min(qlen, tlen), 1)


def _mmseqs_hits(tmp: Path, queries: Sequence[str], targets: Sequence[str], identity: float,
                 nucleotide: bool) -> list[Hit]:
    _write_fasta(tmp / "q.fa", "q", queries, nucleotide)
    _write_fasta(tmp / "t.fa", "t", targets, nucleotide)
    quiet = ["--threads", _threads(), "-v", "1"]
    for name in ("q", "t"):
        _run(["mmseqs", "createdb", f"{name}.fa", f"{name}db", "--dbtype", "2" if nucleotide else "1", "-v", "1"],
             tmp)
    most = ["--max-seqs", str(MAX_TARGETS)]
    if nucleotide:  # candidates from the nucleotide search, identities from our own alignment
        _run(["mmseqs", "search", "qdb", "tdb", "aln", "tmp", "--search-type", "3", "--strand", "2",
              "-k", str(NUCLEOTIDE_K), "-e", str(NUCLEOTIDE_EVALUE), *most, *quiet], tmp)
        _run(["mmseqs", "convertalis", "qdb", "tdb", "aln", "out.tsv", "--format-output", "query,target",
              "--search-type", "3", *quiet], tmp)
        lines = (tmp / "out.tsv").read_text().splitlines()
        aligner = nucleotide_aligner()
        found = (Hit(q, t, nucleotide_identity(queries[q], targets[t], aligner))
                 for q, t in sorted({tuple(int(x[1:]) for x in line.split("\t")) for line in lines}))
        return [h for h in found if h.identity >= identity]
    plain = ["--comp-bias-corr", "0", *quiet]
    if sum(map(len, queries)) * sum(map(len, targets)) <= EXHAUSTIVE_CELLS:
        # every pair scored on its best ungapped diagonal: no k-mer seed can miss one
        _run(["mmseqs", "ungappedprefilter", "qdb", "tdb", "pref", "--min-ungapped-score", "0", "-e", "inf",
              *most, *plain], tmp)
    else:
        _run(["mmseqs", "prefilter", "qdb", "tdb", "pref", "-s", str(sensitivity(identity)), *most, *plain], tmp)
    _run(["mmseqs", "align", "qdb", "tdb", "pref", "aln", "-e", "inf", "-a", "--alignment-mode", "3",
          "--seq-id-mode", "1", "--min-seq-id", f"{0.8 * identity:.4f}", *plain], tmp)
    _run(["mmseqs", "convertalis", "qdb", "tdb", "aln", "out.tsv", "--format-output",
          "query,target,qlen,tlen,qaln,taln", *quiet], tmp)
    hits = []
    for line in (tmp / "out.tsv").read_text().splitlines():
        q, t, qlen, tlen, qaln, taln = line.split("\t")
        ident = _aligned_identity(qaln, taln, int(qlen), int(tlen))
        if ident >= identity:
            hits.append(Hit(int(q[1:]), int(t[1:]), ident))
    return hits


def nucleotide_aligner():
    """Biopython's local aligner with blastn's scores: +2 / -3, a gap of k letters costs 5 + 2k."""
    from Bio.Align import PairwiseAligner

    return PairwiseAligner(mode="local", match_score=2, mismatch_score=-3, open_gap_score=-7, extend_gap_score=-2)


def nucleotide_identity(a: str, b: str, aligner=None) -> float:
    """Identical positions / the shorter length in the best local alignment of ``a`` with ``b`` or its
    reverse complement (:func:`nucleotide_aligner`); ``N`` is never identical."""
    a, b = _letters(a, True), _letters(b, True).replace("N", "X")  # X: an N never matches an N
    if not a or not b:
        return 0.0
    aligner = aligner or nucleotide_aligner()
    best = 0
    for strand in (b, b[::-1].translate(_COMPLEMENT)):
        if aligner.score(a, strand) > 0:  # a local alignment exists
            best = max(best, aligner.align(a, strand)[0].counts().identities)
    return best / min(len(a), len(b))


def sensitivity(identity: float) -> float:
    """MMseqs2's k-mer prefilter sensitivity ``-s`` for pairs at ``identity``: the highest (7.5) below 50%,
    its search default (5.7) to 80%, 2 above (close pairs share many k-mers)."""
    return 7.5 if identity < 0.5 else 5.7 if identity < 0.8 else 2.0


def _cdhit_command(two_sets: bool, identity: float, nucleotide: bool, *files: str) -> list[str]:
    """``cd-hit`` (one set), ``cd-hit-2d`` (queries against targets), or their ``-est`` forms for nucleotides."""
    word = _cdhit_word(identity, nucleotide)
    program = "cd-hit" + ("-est" if nucleotide else "") + ("-2d" if two_sets else "")
    cmd = [program, *files, "-c", f"{identity:g}", "-n", str(word), "-G", "1", "-l", str(word - 1), "-d", "0",
           "-M", "0", "-T", _threads()]
    return cmd + (["-r", "1"] if nucleotide else [])


def _clusters(path: Path) -> list[list[tuple[str, float]]]:
    """A ``.clstr`` file as clusters of ``(id, identity to the representative)``; the representative first."""
    out: list[list[tuple[str, float]]] = []
    for line in path.read_text().splitlines():
        if line.startswith(">Cluster"):
            out.append([])
            continue
        m = _CLSTR_MEMBER.search(line)
        if m and out:
            if m.group(2) is None:  # the representative
                out[-1].insert(0, (m.group(1), 1.0))
            else:
                out[-1].append((m.group(1), float(m.group(2)) / 100))
    return out


def _cdhit_hits(tmp: Path, queries: Sequence[str], targets: Sequence[str], identity: float,
                nucleotide: bool) -> list[Hit]:
    _write_fasta(tmp / "q.fa", "q", queries, nucleotide)
    _write_fasta(tmp / "t.fa", "t", targets, nucleotide)
    _run(_cdhit_command(True, identity, nucleotide, "-i", "t.fa", "-i2", "q.fa", "-o", "out"), tmp)
    hits = []
    for members in _clusters(tmp / "out.clstr"):
        rep = next((m for m, _ in members if m.startswith("t")), None)
        hits += [Hit(int(m[1:]), int(rep[1:]), ident) for m, ident in members if rep and m.startswith("q")]
    return hits


def search(queries: Sequence[str], targets: Sequence[str], identity: float, nucleotide: bool,
           tool: str | None = None) -> list[Hit]:
    """Pairs (query, target) at ``identity`` or more. MMseqs2 reports every such pair it aligns,
    CD-HIT one target per query. Identical sequences are always found, whatever the tool."""
    tool = choose_tool(nucleotide, identity, tool)
    if not queries or not targets:
        return []
    with tempfile.TemporaryDirectory(prefix="bioseq-homology-") as tmp:
        found = (_mmseqs_hits if tool == "mmseqs" else _cdhit_hits)(Path(tmp), queries, targets, identity,
                                                                    nucleotide)
    index: dict[str, int] = {}
    for j, t in enumerate(targets):
        index.setdefault(_letters(t, nucleotide), j)
    same = [Hit(i, index[k], 1.0) for i, q in enumerate(queries) if (k := _letters(q, nucleotide)) in index]
    return found + same


def best_hits(hits: Sequence[Hit]) -> dict[int, Hit]:
    """The most identical target of each query that has one."""
    best: dict[int, Hit] = {}
    for h in hits:
        if h.query not in best or h.identity > best[h.query].identity:
            best[h.query] = h
    return best


def components(n: int, pairs) -> np.ndarray:
    """Connected components (single linkage) of ``n`` items joined by ``pairs`` of indices: ``(n,)`` labels 0..K-1."""
    parent = list(range(n))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for a, b in pairs:
        ra, rb = root(a), root(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    roots = [root(i) for i in range(n)]
    _, labels = np.unique(roots, return_inverse=True)
    return labels.astype(np.int64)


def cluster(seqs: Sequence[str], identity: float, nucleotide: bool, tool: str | None = None) -> np.ndarray:
    """A cluster label per sequence ``(N,)``, 0..K-1; identical sequences always share one.

    MMseqs2: the connected components of every pair at ``identity`` or more (single linkage), so no
    two clusters hold a pair it finds. CD-HIT: its greedy clusters (each member at ``identity`` or more
    to its representative), which may still hold such pairs across clusters.
    """
    tool = choose_tool(nucleotide, identity, tool)
    if tool == "mmseqs":
        return components(len(seqs), ((h.query, h.target) for h in search(seqs, seqs, identity, nucleotide, tool)))
    with tempfile.TemporaryDirectory(prefix="bioseq-homology-") as tmp:
        _write_fasta(Path(tmp) / "s.fa", "s", seqs, nucleotide)
        _run(_cdhit_command(False, identity, nucleotide, "-i", "s.fa", "-o", "out"), Path(tmp))
        groups = _clusters(Path(tmp) / "out.clstr")
    pairs = [(int(members[0][0][1:]), int(m[1:])) for members in groups for m, _ in members[1:]]
    first: dict[str, int] = {}
    pairs += [(first.setdefault(_letters(s, nucleotide), i), i) for i, s in enumerate(seqs)]
    return components(len(seqs), pairs)
