"""Shared assertions on `resonance` CLI results (CliRunner), imported by the CLI tests."""

from __future__ import annotations


def one_error_line(result, *, only: bool = False) -> str:
    """The single ``error: ...`` line of a refused command: exit status 2, no traceback, exactly one
    error line (with ``only``, nothing else printed either)."""
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit), repr(result.exception)  # no traceback
    lines = [line for line in result.output.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("error: ")]
    assert len(errors) == 1 and "Traceback" not in result.output, result.output
    assert not only or len(lines) == 1, result.output
    return errors[0]
