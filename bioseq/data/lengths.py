"""Length policies: which part of a long sequence a model keeps (``--max-length`` and ``--length-policy``).

Loads no PyTorch: the data options (:mod:`bioseq.data.source`) declare their choices from here, and
:mod:`bioseq.data.encoding` cuts sequences with :func:`fit_span`.
"""

from __future__ import annotations

LENGTH_POLICIES = ("start", "end", "centre")  # which part of a long sequence to keep


def fit_span(length: int, max_length: int | None, policy: str = "start") -> tuple[int, int]:
    """``(start, stop)`` of the part of a sequence of ``length`` that the length policy keeps."""
    if policy not in LENGTH_POLICIES:
        raise ValueError(f"unknown length policy {policy!r}; choose one of {', '.join(LENGTH_POLICIES)}")
    if max_length is not None and max_length < 1:  # seq[-0:] would keep everything
        raise ValueError(f"max_length must be at least 1, not {max_length}")
    if max_length is None or length <= max_length:
        return 0, length
    off = {"start": 0, "end": length - max_length, "centre": (length - max_length) // 2}[policy]
    return off, off + max_length


def fit_length(seq: str, max_length: int | None, policy: str = "start") -> str:
    """Cut ``seq`` to ``max_length``, keeping its start, end or centre. ``None`` keeps all."""
    start, stop = fit_span(len(seq), max_length, policy)
    return seq if stop - start == len(seq) else seq[start:stop]
