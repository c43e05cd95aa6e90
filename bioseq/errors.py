"""Error types. Every user-facing error names the file and, where there is one, the record.

A message that names an option refers to it with :func:`ref` (``ref("activation", "relu")``); where the
message is shown decides the words: ``str(error)`` (the command line) says ``--activation relu``,
``error.dashboard()`` says “RNN activation” set to relu (see :func:`bioseq.option_spec.mention`). The same
applies to any text through :func:`render`.
"""

from __future__ import annotations

from .option_spec import ref, render, shown

__all__ = ["BioseqError", "InputError", "ModelFileError", "ToolError", "TrainingError", "ref", "render", "shown"]


class BioseqError(Exception):
    """Base class for errors that the CLI and the dashboard show as one clear line."""

    def __str__(self) -> str:
        return render(super().__str__(), "cli")

    def dashboard(self) -> str:
        """The message in the dashboard's words (option names as form fields)."""
        return render(super().__str__(), "dashboard")


class InputError(BioseqError, ValueError):
    """Bad input data: names the file, the record (1-based number and id) and the problem."""

    def __init__(self, message: str, file: str | None = None, record: str | None = None,
                 position: int | None = None):
        self.file, self.record, self.position = file, record, position
        where = []
        if file:
            where.append(str(file))
        if record:
            where.append(f"record {record}")
        if position is not None:
            where.append(f"position {position}")
        super().__init__(f"{': '.join(where)}: {message}" if where else message)


class ModelFileError(BioseqError, ValueError):
    """A model file that is not a valid bioseq model, or that does not fit the data."""


class ToolError(BioseqError, RuntimeError):
    """An external program (MMseqs2, CD-HIT) is missing, cannot do what was asked, or failed."""


class TrainingError(BioseqError, RuntimeError):
    """Training cannot go on (for example a NaN loss); the message says why and what to try."""


class OutputError(BioseqError, OSError):
    """An output that cannot or must not be written (an input of the command, a folder, a write that failed);
    the message names the output path the user gave, never a temporary file."""
