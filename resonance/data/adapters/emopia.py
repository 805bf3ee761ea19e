"""EMOPIA 1.0: pop-piano MIDI clips labelled with a Russell valence/arousal quadrant.

Reference
---------
Hsiao-Tzu Hung, Joann Ching, Seungheon Doh, Nabin Kim, Juhan Nam, Yi-Hsuan Yang. *EMOPIA: A
Multi-Modal Pop Piano Dataset For Emotion Recognition and Emotion-based Music Generation.* ISMIR 2021.
Data: Zenodo EMOPIA_1.0; official clip split from GitHub ``seungheondoh/EMOPIA_cls`` (``dataset/split``).
Quadrants after J. A. Russell, *A circumplex model of affect*, J. Pers. Soc. Psychol. 39(6), 1980.

Upstream layout
---------------
::

    <root>/EMOPIA_1.0/label.csv                 ID, 4Q, annotator
    <root>/EMOPIA_1.0/midis/<ID>.mid            ID = Q<n>_<YouTubeID>_<clipIdx>
    <root>/split/{train,val,test}.csv           fname, label   (the official clip split)

``<root>`` may be the ``emopia/`` folder above, or ``EMOPIA_1.0/`` itself (then ``split/`` is looked
for beside it, i.e. in its parent). Without ``split/`` every item has ``official_split=None``.

Labels
------
``4Q`` is the quadrant of Russell's (1980) valence/arousal plane: Q1 high valence / high arousal,
Q2 low / high, Q3 low / low, Q4 high / low. It becomes the shared label through
:func:`~resonance.data.emotion.from_quadrant`. ``original_labels`` keeps ``quadrant`` (``'Q1'``..),
``annotator`` (A-D) and ``official_split`` (the split file naming the clip, or ``None``).

Groups and splits
-----------------
The group is the song, ``emopia:<YouTubeID>`` (387 songs): clips of one performance must not straddle
splits. YouTube IDs contain ``_`` and ``-`` (``Q3_-vAz_HTFEXs_0``), so the ID is parsed as the ``Qn_``
prefix, the trailing ``_<clipIdx>`` and everything in between (:func:`parse_clip_id`).

The official split (train 767 / val 198 / test 86) covers 1,051 of the 1,078 clips and is song-disjoint.
The other 27 clips get a split by this rule, recorded in ``attributes['split_rule']``:

* ``'official'``: the clip is in a split file; that split.
* ``'song_of_official'``: the clip is in no split file but other clips of its song are; it takes their
  split, so songs stay disjoint (if upstream ever put one song in several splits, the split holding
  most of its clips wins, ties in train/val/test order; the item is then flagged
  ``song_in_several_splits``).
* ``'unassigned'``: no clip of the song is in a split file; ``official_split=None`` and the generic
  group-stratified splitter places the whole song.

In the real data 25 of the 27 follow ``song_of_official`` (16 train, 7 val, 2 test) and 2 are
``unassigned``.

Rejections
----------
``file_not_found`` (a label row whose MIDI is absent), ``unlabelled`` (a MIDI no label row names),
``inconsistent_label`` (the file's ``Qn_`` prefix disagrees with ``4Q``), ``malformed_label`` (an
unparseable ID or a ``4Q`` outside 1-4), ``duplicate_label`` (a second row for the same ID).

Audio
-----
``Item.path`` is the MIDI file and ``source_kind='midi'``; the prepare step turns it into 16 kHz mono
audio with :func:`resonance.io.midi.render_cached` (FluidSynth, FluidR3_GM piano, dry, fixed gain; see
:mod:`resonance.io.midi`). Scanning never renders or parses MIDI.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

from resonance.data.adapters._files import MIDI_EXTENSIONS, read_rows
from resonance.data.emotion import from_quadrant
from resonance.data.records import Item, Modality, Rejection, Split
from resonance.errors import ParameterError

CORPUS = "emopia"
DATA_DIR = "EMOPIA_1.0"
LABEL_FILE = "label.csv"
MIDI_DIR = "midis"
SPLIT_DIR = "split"
#: Split file stem -> the manifest's split name.
SPLIT_FILES: dict[str, Split] = {"train": "train", "val": "val", "test": "test"}
_SPLIT_ORDER: tuple[Split, ...] = ("train", "val", "test")
_CLIP_ID = re.compile(r"^Q(?P<quadrant>[1-4])_(?P<youtube_id>.+)_(?P<clip_index>\d+)$")


def parse_clip_id(clip_id: str) -> tuple[int, str, int]:
    """Split an EMOPIA clip ID ``Q<n>_<YouTubeID>_<clipIdx>`` into its parts.

    The YouTube ID may itself contain ``_`` and ``-``; only the ``Qn_`` prefix and the last
    ``_<digits>`` are split off.

    Returns
    -------
    quadrant : int
        1..4, from the file-name prefix.
    youtube_id : str
    clip_index : int

    Raises
    ------
    ValueError
        If ``clip_id`` does not have that shape.

    Examples
    --------
    >>> parse_clip_id("Q3_-vAz_HTFEXs_0")
    (3, '-vAz_HTFEXs', 0)
    """
    match = _CLIP_ID.match(clip_id.strip())
    if match is None:
        raise ValueError(f"{clip_id!r} is not an EMOPIA clip ID of the form Q<1-4>_<YouTubeID>_<index>")
    return int(match["quadrant"]), match["youtube_id"], int(match["clip_index"])


def song_group(youtube_id: str) -> str:
    """The group key of a song: ``'emopia:<YouTubeID>'``."""
    return f"{CORPUS}:{youtube_id}"


def find_emopia_dirs(root: Path) -> tuple[Path, Path | None] | None:
    """``(EMOPIA_1.0 folder, split folder or None)`` for ``root``, or ``None`` if it is not EMOPIA.

    ``root`` may be the folder holding ``EMOPIA_1.0/`` (and ``split/``) or ``EMOPIA_1.0/`` itself.
    """
    root = Path(root)
    for data_dir, split_dir in ((root / DATA_DIR, root / SPLIT_DIR), (root, root.parent / SPLIT_DIR),
                                (root / "emopia" / DATA_DIR, root / "emopia" / SPLIT_DIR)):
        if (data_dir / LABEL_FILE).is_file() and (data_dir / MIDI_DIR).is_dir():
            return data_dir, (split_dir if split_dir.is_dir() else None)
    return None


def read_official_split(split_dir: Path) -> dict[str, list[tuple[Split, str]]]:
    """Clip ID -> every ``(split, label)`` the split files give it (normally exactly one).

    Raises
    ------
    ResonanceError
        If a split file lacks the ``fname`` column.
    """
    entries: dict[str, list[tuple[Split, str]]] = {}
    for stem, split in SPLIT_FILES.items():
        path = split_dir / f"{stem}.csv"
        if not path.is_file():
            continue
        for row in read_rows(path, ("fname",)):
            entries.setdefault(row["fname"].strip(), []).append((split, (row.get("label") or "").strip()))
    return entries


def song_overlap(split_of_clip: dict[str, Split]) -> dict[str, set[Split]]:
    """Songs whose clips fall in more than one split (empty when the split is song-disjoint).

    Parameters
    ----------
    split_of_clip : dict
        Clip ID -> split; IDs that :func:`parse_clip_id` cannot read are ignored.
    """
    splits_of_song: dict[str, set[Split]] = {}
    for clip_id, split in split_of_clip.items():
        try:
            _, youtube_id, _ = parse_clip_id(clip_id)
        except ValueError:
            continue
        splits_of_song.setdefault(youtube_id, set()).add(split)
    return {song: s for song, s in splits_of_song.items() if len(s) > 1}


class EmopiaAdapter:
    """Reader of EMOPIA 1.0 (see the module docstring for layout, labels and the split rule)."""

    name: str = CORPUS
    corpus: str = CORPUS
    modality: Modality = "audio"
    source_kind: str = "midi"

    def detect(self, root: Path) -> bool:
        """True when ``root`` is (or holds) ``EMOPIA_1.0/`` with ``label.csv`` and ``midis/``."""
        return find_emopia_dirs(Path(root)) is not None

    def scan(self, root: Path) -> Iterator[Item | Rejection]:
        """Yield one :class:`Item` per labelled clip whose MIDI is present, a :class:`Rejection` otherwise.

        Raises
        ------
        ParameterError
            If ``root`` is not an EMOPIA folder.
        ResonanceError
            If ``label.csv`` or a split file lacks a required column.
        """
        dirs = find_emopia_dirs(Path(root))
        if dirs is None:
            raise ParameterError(f"{root} holds neither {DATA_DIR}/{LABEL_FILE} with {MIDI_DIR}/ nor is it "
                                 f"{DATA_DIR} itself")
        data_dir, split_dir = dirs
        midi_dir = data_dir / MIDI_DIR
        midis = {p.stem: p for p in sorted(midi_dir.iterdir())
                 if p.suffix.lower() in MIDI_EXTENSIONS and p.is_file()}
        rows = read_rows(data_dir / LABEL_FILE, ("ID", "4Q", "annotator"))
        split_entries = read_official_split(split_dir) if split_dir is not None else {}

        # Official split per clip (a clip named by several split files has none of them), then per song.
        official: dict[str, Split] = {cid: e[0][0] for cid, e in split_entries.items()
                                      if len({s for s, _ in e}) == 1}
        song_splits: dict[str, Counter[Split]] = {}
        for clip_id, split in official.items():
            try:
                song_splits.setdefault(parse_clip_id(clip_id)[1], Counter())[split] += 1
            except ValueError:
                continue

        seen: set[str] = set()
        for row in rows:
            clip_id = (row.get("ID") or "").strip()
            where = str(midi_dir / f"{clip_id}.mid")
            if clip_id in seen:
                yield Rejection(CORPUS, where, "duplicate_label", f"{clip_id} has more than one row in {LABEL_FILE}")
                continue
            seen.add(clip_id)
            yield self._item(clip_id, row, where, midis.get(clip_id), split_entries.get(clip_id, []),
                             official, song_splits)

        for clip_id, path in midis.items():
            if clip_id not in seen:
                yield Rejection(CORPUS, str(path), "unlabelled", f"no row of {LABEL_FILE} names {clip_id}")

    def _item(self, clip_id: str, row: dict[str, str], where: str, path: Path | None,
              entries: list[tuple[Split, str]], official: dict[str, Split],
              song_splits: dict[str, Counter[Split]]) -> Item | Rejection:
        try:
            prefix_quadrant, youtube_id, clip_index = parse_clip_id(clip_id)
        except ValueError as exc:
            return Rejection(CORPUS, where, "malformed_label", str(exc))
        q_text = (row.get("4Q") or "").strip()
        if q_text not in {"1", "2", "3", "4"}:
            return Rejection(CORPUS, where, "malformed_label", f"4Q={q_text!r} is not a quadrant 1-4")
        quadrant = int(q_text)
        if quadrant != prefix_quadrant:
            return Rejection(CORPUS, where, "inconsistent_label",
                             f"file prefix Q{prefix_quadrant} disagrees with 4Q={quadrant} in {LABEL_FILE}")
        if path is None:
            return Rejection(CORPUS, where, "file_not_found", f"{clip_id} is labelled but has no MIDI file")

        flags: list[str] = []
        file_split: Split | None = official.get(clip_id)
        if len({s for s, _ in entries}) > 1:
            flags.append("in_several_split_files")
        if any(lab and lab.upper() != f"Q{quadrant}" for _, lab in entries):
            flags.append("split_label_disagrees")  # label.csv is the primary label; keep it

        counts = song_splits.get(youtube_id, Counter())
        if file_split is not None:
            split, rule = file_split, "official"
        elif counts:
            split = max(_SPLIT_ORDER, key=lambda s: (counts[s], -_SPLIT_ORDER.index(s)))
            rule = "song_of_official"
        else:
            split, rule = None, "unassigned"
        if len(counts) > 1:
            flags.append("song_in_several_splits")

        quadrant_name = f"Q{quadrant}"
        return Item(
            corpus=CORPUS, local_id=clip_id, modality="audio", path=path, group=song_group(youtube_id),
            label=from_quadrant(quadrant_name),
            original_labels={"quadrant": quadrant_name, "annotator": (row.get("annotator") or "").strip() or None,
                             "official_split": file_split},
            official_split=split, source_kind="midi",
            attributes={"youtube_id": youtube_id, "clip_index": clip_index, "split_rule": rule},
            flags=tuple(flags),
        )


__all__ = ["EmopiaAdapter", "find_emopia_dirs", "parse_clip_id", "read_official_split", "song_group",
           "song_overlap"]
