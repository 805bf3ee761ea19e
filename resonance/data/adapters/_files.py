"""What every adapter needs from the file system, in one place: extension sets, the hidden-file rule,
a walker that never loses a file without saying why, and one CSV reader.

Walking (:func:`walk_files`)
----------------------------
Files are yielded in sorted (code-point) order, depth first, so two scans of one tree agree on every
platform. Hidden entries (``.DS_Store``, AppleDouble ``._x.wav``, ``.git``) and ``__MACOSX`` are skipped
silently: they are not data. Everything else is either yielded or turned into a
:class:`~resonance.data.records.Rejection`:

``bad_file_name``
    A file or folder name that is not valid UTF-8 (it cannot be written to a manifest). The rejection's
    path shows the undecodable bytes as ``\\xNN``.
``dangling_symlink``
    A symbolic link whose target does not exist.
``symlink_loop``
    A symbolic link that resolves to itself (``x -> y -> x``), or a folder link to one of its own parents.
``duplicate_folder``
    A folder link to a folder that was already walked elsewhere in the tree (its files are scanned once).
``not_a_regular_file``
    A FIFO, socket or device: reading it could block for ever.
``unreadable``
    A folder that cannot be listed or a file that cannot be examined (permission denied).

Symbolic links to folders are followed (with the loop protection above), so a speaker folder linked
into a class tree is scanned, not silently skipped.

CSV (:func:`read_csv`)
----------------------
UTF-8 (with or without BOM) first; a file that is not valid UTF-8 is read as Windows-1252 (a superset of
Latin-1's printable range) and, failing that, Latin-1, and the table says so (``encoding`` and ``notes``).
The delimiter (``,`` ``;`` tab ``|``) is found by :class:`csv.Sniffer` and checked against the header.
Column names are compared stripped and case-insensitively; a name given twice is a
:class:`~resonance.errors.ParameterError` naming the column, as is an empty file or a missing column.
"""

from __future__ import annotations

import csv
import errno
import io
import os
import stat
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from resonance.data.records import Modality, Rejection
from resonance.errors import ParameterError

#: Extensions (lower case) taken as audio; the decoder, not the extension, has the last word.
AUDIO_EXTENSIONS: frozenset[str] = frozenset(
    {".wav", ".flac", ".ogg", ".opus", ".mp3", ".m4a", ".aac", ".aif", ".aiff"})
#: Extensions (lower case) taken as images.
IMAGE_EXTENSIONS: frozenset[str] = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".gif"})
#: Extensions (lower case) of MIDI files (rendered to audio by the prepare step).
MIDI_EXTENSIONS: frozenset[str] = frozenset({".mid", ".midi"})
#: Extensions of files that are documentation or metadata, skipped without a rejection.
DOCUMENT_EXTENSIONS: frozenset[str] = frozenset(
    {".txt", ".csv", ".tsv", ".json", ".md", ".rst", ".pdf", ".html", ".sha256", ".md5", ".xlsx", ".xls"})
#: File names (lower case, without extension) that are documentation whatever their extension.
DOCUMENT_STEMS: frozenset[str] = frozenset({"readme", "license", "licence", "copying", "thumbs", "desktop"})

CSV_DELIMITERS = ",;\t|"
_FALLBACK_ENCODINGS = ("cp1252", "latin-1")


# -- names ------------------------------------------------------------------------------------------

def is_hidden(name: str) -> bool:
    """Hidden entries and macOS archive debris are never data."""
    return name.startswith(".") or name == "__MACOSX"


def has_hidden_part(relative: Path) -> bool:
    """Whether any component of a relative path is hidden (see :func:`is_hidden`)."""
    return any(is_hidden(part) for part in relative.parts)


def is_audio(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` has an audio extension (any case)."""
    return Path(path).suffix.lower() in AUDIO_EXTENSIONS


def is_image(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` has an image extension (any case)."""
    return Path(path).suffix.lower() in IMAGE_EXTENSIONS


def is_document(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is documentation or metadata (README, ``.txt``, ``.csv``, checksums ...)."""
    path = Path(path)
    return path.suffix.lower() in DOCUMENT_EXTENSIONS or path.stem.lower() in DOCUMENT_STEMS


def modality_of(path: str | os.PathLike[str]) -> Modality | None:
    """``'image'`` or ``'audio'`` from the file extension (any case); ``None`` when it is neither."""
    if is_image(path):
        return "image"
    if is_audio(path):
        return "audio"
    return None


def printable(path: str | os.PathLike[str]) -> str:
    """``path`` as text that can be written anywhere: undecodable bytes of a file name become ``\\xNN``."""
    return os.fsencode(os.fspath(path)).decode("utf-8", "backslashreplace")


def _valid_name(name: str) -> bool:
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:  # surrogate escapes: the name's bytes were not UTF-8
        return False
    return True


# -- walking ----------------------------------------------------------------------------------------

def check_root(root: str | os.PathLike[str]) -> Path:
    """``root`` as a Path; a :class:`~resonance.errors.ParameterError` when it is not a folder."""
    root = Path(root)
    if not root.is_dir():
        raise ParameterError(f"corpus root {printable(root)!r} is not a folder; pass the folder holding the corpus")
    return root


def file_problem(path: Path, corpus: str) -> Rejection | None:
    """The rejection for a file entry that cannot be used as a file, or None when it is a regular file."""
    shown = printable(path)
    if not _valid_name(path.name):
        return Rejection(corpus, shown, "bad_file_name",
                         f"file name {printable(path.name)!r} is not valid UTF-8; rename the file")
    try:
        info = path.stat()
    except FileNotFoundError:
        target = os.readlink(path) if path.is_symlink() else "?"
        return Rejection(corpus, shown, "dangling_symlink",
                         f"symbolic link to {printable(target)!r}, which does not exist")
    except OSError as error:
        if error.errno == errno.ELOOP:
            return Rejection(corpus, shown, "symlink_loop", "symbolic link that resolves to itself")
        return Rejection(corpus, shown, "unreadable", f"cannot examine the file: {error.strerror}")
    if not stat.S_ISREG(info.st_mode):
        return Rejection(corpus, shown, "not_a_regular_file", "a FIFO, socket or device, not a file")
    return None


def walk_files(root: str | os.PathLike[str], corpus: str) -> Iterator[Path | Rejection]:
    """Every non-hidden regular file under ``root``, sorted, and a rejection for every entry that is
    not usable as one (see the module docstring). Folder links are followed once, loops are cut."""
    root = check_root(root)
    try:
        visited = {os.path.realpath(root)}
    except OSError:  # pragma: no cover - realpath of an existing folder
        visited = set()
    yield from _walk(root, corpus, visited, (os.path.realpath(root),))


def _walk(folder: Path, corpus: str, visited: set[str], ancestors: tuple[str, ...]) -> Iterator[Path | Rejection]:
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError as error:
        yield Rejection(corpus, printable(folder), "unreadable", f"cannot list the folder: {error.strerror}")
        return
    for entry in entries:
        if is_hidden(entry.name):
            continue
        path = Path(entry.path)
        try:
            is_dir = entry.is_dir()  # follows links
        except OSError:
            is_dir = False
        if not is_dir:
            problem = file_problem(path, corpus)
            yield problem if problem is not None else path
            continue
        if not _valid_name(entry.name):
            yield Rejection(corpus, printable(path), "bad_file_name",
                            f"folder name {printable(entry.name)!r} is not valid UTF-8; rename the folder")
            continue
        real = os.path.realpath(path)
        if real in ancestors:
            yield Rejection(corpus, printable(path), "symlink_loop",
                            f"folder link to {printable(real)!r}, one of its own parents")
            continue
        if real in visited:
            yield Rejection(corpus, printable(path), "duplicate_folder",
                            f"folder link to {printable(real)!r}, which is scanned already")
            continue
        visited.add(real)
        yield from _walk(path, corpus, visited, (*ancestors, real))


def iter_corpus_files(root: str | os.PathLike[str]) -> Iterator[Path]:
    """Every usable non-hidden file under ``root`` (sorted); entries :func:`walk_files` rejects are left out."""
    for entry in walk_files(root, ""):
        if isinstance(entry, Path):
            yield entry


def iter_media_files(root: str | os.PathLike[str], corpus: str, accept=is_audio,
                     what: str = "an audio format") -> Iterator[Path | Rejection]:
    """Files under ``root`` that ``accept`` (sorted), an ``unsupported_format`` rejection for every file that
    is neither accepted nor documentation, and every rejection of :func:`walk_files`."""
    for entry in walk_files(root, corpus):
        if isinstance(entry, Rejection) or accept(entry):
            yield entry
        elif not is_document(entry):
            yield Rejection(corpus, printable(entry), "unsupported_format",
                            f"extension {entry.suffix or '(none)'!r} is not {what}")


def safe_is_dir(path: Path) -> bool:
    """``path.is_dir()`` that says False instead of raising (symlink loops, permissions)."""
    try:
        return path.is_dir()
    except OSError:
        return False


def list_folder(folder: Path) -> list[os.DirEntry]:
    """The non-hidden entries of ``folder`` sorted by name; empty when it cannot be listed."""
    try:
        return sorted((e for e in os.scandir(folder) if not is_hidden(e.name)), key=lambda e: e.name)
    except OSError:
        return []


def entry_is_dir(entry: os.DirEntry) -> bool:
    try:
        return entry.is_dir()
    except OSError:
        return False


def sample_files(root: Path, accept=is_audio, *, limit: int = 24, max_dirs: int = 64,
                 max_depth: int = 4) -> list[Path]:
    """Up to ``limit`` accepted files near the top of ``root``, breadth-first: cheap layout sniffing that
    never raises on a broken entry."""
    sample: list[Path] = []
    queue: list[tuple[Path, int]] = [(Path(root), 0)]
    seen: set[str] = set()
    listed = 0
    while queue and len(sample) < limit and listed < max_dirs:
        folder, depth = queue.pop(0)
        real = os.path.realpath(folder)
        if real in seen:
            continue
        seen.add(real)
        listed += 1
        for entry in list_folder(folder):
            if entry_is_dir(entry):
                if depth < max_depth:
                    queue.append((Path(entry.path), depth + 1))
            elif accept(Path(entry.name)) and len(sample) < limit:
                sample.append(Path(entry.path))
    return sample


def subfolder_names(root: Path, *, max_depth: int = 2) -> set[str]:
    """Lower-cased names of folders at depth 1..``max_depth`` below ``root``."""
    names: set[str] = set()
    level = [Path(root)]
    for _ in range(max_depth):
        following = []
        for folder in level:
            for entry in list_folder(folder):
                if entry_is_dir(entry):
                    names.add(entry.name.lower())
                    following.append(Path(entry.path))
        level = following
    return names


# -- CSV --------------------------------------------------------------------------------------------

@dataclass
class CsvTable:
    """A CSV file read by :func:`read_csv`.

    ``columns`` maps the stripped, lower-cased column name to the name as written; each row maps the
    lower-cased name to the stripped cell text ('' when absent) and carries its 1-based file line in
    ``lines``. ``notes`` say what was guessed (an encoding other than UTF-8, a delimiter other than ``,``).
    """

    path: Path
    columns: dict[str, str]
    rows: list[dict[str, str]]
    lines: list[int]
    encoding: str = "utf-8"
    delimiter: str = ","
    notes: list[str] = field(default_factory=list)


def _decode(path: Path) -> tuple[str, str]:
    try:
        data = path.read_bytes()
    except OSError as error:
        raise ParameterError(f"cannot read {printable(path)}: {error.strerror}") from None
    try:
        return data.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        pass
    for encoding in _FALLBACK_ENCODINGS:
        try:
            return data.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    raise AssertionError("latin-1 decodes every byte")  # pragma: no cover


def _delimiter(text: str, sniff: bool) -> str:
    header = next((line for line in text.splitlines() if line.strip()), "")
    if not sniff:
        return ","
    try:
        found = csv.Sniffer().sniff("\n".join(text.splitlines()[:20]), delimiters=CSV_DELIMITERS).delimiter
    except csv.Error:
        found = ""
    if found and found in header:
        return found
    counts = {d: header.count(d) for d in CSV_DELIMITERS}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def read_csv(path: str | os.PathLike[str], required: Sequence[str] = (), *, sniff: bool = True,
             allow_empty: bool = False) -> CsvTable:
    """Read a small CSV file robustly (see the module docstring).

    Parameters
    ----------
    path : path
        The CSV file.
    required : sequence of str
        Column names (lower case) that must be present.
    sniff : bool
        Find the delimiter (``,`` ``;`` tab ``|``); False reads comma-separated upstream files as is.
    allow_empty : bool
        Whether a header without rows is acceptable.

    Raises
    ------
    ParameterError
        If the file cannot be read, is empty, repeats a column name or lacks a required column.
    """
    path = Path(path)
    text, encoding = _decode(path)
    if not text.strip():
        raise ParameterError(f"{printable(path)} is empty: it needs a header row and one row per file")
    delimiter = _delimiter(text, sniff)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header: list[str] = []
    for raw in reader:
        if any(cell.strip() for cell in raw):
            header = raw
            break
    columns: dict[str, str] = {}
    for name in header:
        key = name.strip().lower()
        if not key:
            continue
        if key in columns:
            raise ParameterError(f"{printable(path)} names the column {name.strip()!r} twice; keep one")
        columns[key] = name
    missing = [c for c in required if c not in columns]
    if missing:
        raise ParameterError(f"{printable(path)} lacks the column(s) {missing}; found {header}")
    keys = [name.strip().lower() for name in header]
    rows: list[dict[str, str]] = []
    lines: list[int] = []
    for raw in reader:
        if not any(cell.strip() for cell in raw):
            continue
        row = {key: "" for key in columns}
        for key, cell in zip(keys, raw, strict=False):
            if key:
                row[key] = cell.strip()
        rows.append(row)
        lines.append(reader.line_num)
    if not rows and not allow_empty:
        raise ParameterError(f"{printable(path)} has a header but no rows")
    notes = []
    if encoding != "utf-8":
        notes.append(f"{path.name} is not valid UTF-8; read as {encoding}")
    if delimiter != ",":
        notes.append(f"{path.name} is {'tab' if delimiter == chr(9) else repr(delimiter)}-separated")
    return CsvTable(path, columns, rows, lines, encoding, delimiter, notes)


def read_rows(path: str | os.PathLike[str], required: Sequence[str]) -> list[dict[str, str]]:
    """Rows of an upstream comma-separated label file, keyed by the column names as written (not stripped
    of case), for the corpus adapters that read a fixed upstream format."""
    table = read_csv(path, [c.strip().lower() for c in required], sniff=False, allow_empty=True)
    return [{table.columns[k]: v for k, v in row.items()} for row in table.rows]


__all__ = [
    "AUDIO_EXTENSIONS", "CsvTable", "DOCUMENT_EXTENSIONS", "DOCUMENT_STEMS", "IMAGE_EXTENSIONS", "MIDI_EXTENSIONS",
    "check_root", "entry_is_dir", "file_problem", "has_hidden_part", "is_audio", "is_document", "is_hidden",
    "is_image", "iter_corpus_files", "iter_media_files", "list_folder", "modality_of", "printable", "read_csv",
    "read_rows", "safe_is_dir", "sample_files", "subfolder_names", "walk_files",
]
