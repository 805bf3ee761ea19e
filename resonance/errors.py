"""Library exceptions. Every error a user can cause is one of these, raised before any work.

The command line turns every :class:`ResonanceError` into one line ``error: ...`` on stderr and exit
status 2 (see :mod:`resonance.cli.main`), so a message must say what is wrong *and* what to do.
Several classes also derive from the built-in exception they replace (``ValueError``,
``KeyError``, ``FileNotFoundError``, ``RuntimeError``), so code that caught the built-in still works.
"""


class ResonanceError(Exception):
    """Base class of every error raised by resonance on purpose."""


class DecodeError(ResonanceError):
    """A file could not be decoded; ``reason`` is a short machine-readable code for ``rejected.csv``."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


class ParameterError(ResonanceError, ValueError):
    """A parameter has an invalid value or type."""


class UnknownNameError(ParameterError, KeyError):
    """A name (corpus, descriptor, group, category ...) that is not one of the known ones."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class DatasetError(ParameterError):
    """A dataset, manifest or features table is missing, malformed or incomplete (an invalid input,
    so also a :class:`ParameterError`)."""


class InputNotFoundError(DatasetError, FileNotFoundError):
    """A folder or file the user named does not exist."""

    def __init__(self, message: str) -> None:
        super().__init__(message)

    def __str__(self) -> str:  # OSError would format (errno, strerror)
        return str(self.args[0]) if self.args else ""


class LockedError(ResonanceError):
    """Another run holds the lock of an output folder or file."""


class ExtractionError(ResonanceError, RuntimeError):
    """No item could be computed: a broken extractor or environment, not bad media."""
