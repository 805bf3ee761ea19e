"""What every decoder checks first: that a path is a readable, non-empty regular file."""

from __future__ import annotations

from pathlib import Path

from resonance.errors import DecodeError


def check_readable(path: Path) -> int:
    """The size in bytes of ``path``, or a :class:`DecodeError` saying why it cannot be read.

    Reasons: ``file_not_found`` (missing, not a regular file, a symlink loop), ``permission_denied``,
    ``decode_error`` (another OS error on opening) and ``empty_file``.
    """
    try:
        stat = path.stat()
    except FileNotFoundError:
        raise DecodeError("file_not_found", str(path)) from None
    except PermissionError as error:
        raise DecodeError("permission_denied", f"{path}: {error.strerror}") from None
    except OSError as error:  # a symlink loop, a name too long ...
        raise DecodeError("file_not_found", f"{path}: {error.strerror or error}") from None
    if not path.is_file():
        raise DecodeError("file_not_found", f"{path} is not a regular file")
    try:
        with open(path, "rb") as handle:
            handle.read(1)
    except PermissionError as error:
        raise DecodeError("permission_denied", f"{path}: {error.strerror}; make the file readable") from None
    except OSError as error:
        raise DecodeError("decode_error", f"{path}: {error.strerror or error}") from None
    if stat.st_size == 0:
        raise DecodeError("empty_file", f"{path} has 0 bytes")
    return stat.st_size
