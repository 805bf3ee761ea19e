"""Library exceptions. Every error a user can cause is one of these, raised before any work."""


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
