"""The emotional-speech corpora in one import: RAVDESS, TESS, CREMA-D, SAVEE, EMO-DB and the Kaggle mix.

Each corpus has its own module (:mod:`~resonance.data.adapters.ravdess`, ``tess``, ``cremad``, ``savee``,
``emodb``, ``kaggle``) holding its naming scheme, its code tables and its adapter; what they share (the
walk, layout sniffing, item building) is in :mod:`~resonance.data.adapters._speech_common` and
:mod:`~resonance.data.adapters._files`. Every adapter reads a corpus in its *upstream* layout,
recovers labels and speaker facts from the native file names, and yields
:class:`~resonance.data.records.Item` or :class:`~resonance.data.records.Rejection` without decoding
audio (the prepare step decodes, hashes and rejects corrupt files).

Rejection reasons
-----------------
``unsupported_format`` (a file that is neither audio nor obviously documentation),
``malformed_name`` (the name does not parse in the corpus's naming), ``inconsistent_name`` (name and
folder disagree), ``not_audio_only`` (RAVDESS modality 01/02), ``unlabelled`` (Kaggle file outside
any class folder), ``conflicting_labels`` (Kaggle: the name's emotion contradicts the class folder, or
one recording lies under two classes), ``unknown_label`` (EMO-DB boredom without a lexicon or label
map), and the walker's ``bad_file_name``, ``dangling_symlink``, ``symlink_loop``, ``duplicate_folder``,
``not_a_regular_file``, ``unreadable`` (see :mod:`resonance.data.adapters._files`). Hidden files and
folders (``.DS_Store``, AppleDouble ``._x.wav``, ``.git``), ``__MACOSX`` and documentation files (README,
LICENSE, ``.txt``, ``.csv``, ``.json``, ``.md``, checksums ...) are skipped silently: they are not data.
"""

from __future__ import annotations

from resonance.data.adapters._files import AUDIO_EXTENSIONS, is_audio, iter_corpus_files
from resonance.data.adapters._groups import recognise_native_name
from resonance.data.adapters._speech_common import iter_audio_files
from resonance.data.adapters.cremad import (
    CremadAdapter,
    find_cremad_demographics,
    parse_cremad_name,
    read_cremad_demographics,
)
from resonance.data.adapters.emodb import EmodbAdapter, parse_emodb_name
from resonance.data.adapters.kaggle import KaggleAudioEmotionsAdapter
from resonance.data.adapters.ravdess import RavdessAdapter, parse_ravdess_name
from resonance.data.adapters.savee import SaveeAdapter, parse_savee_name
from resonance.data.adapters.tess import TessAdapter, parse_tess_name

#: All speech adapters, Kaggle first: the native detectors decline a Kaggle class-folder tree.
SPEECH_ADAPTERS: tuple[type, ...] = (KaggleAudioEmotionsAdapter, RavdessAdapter, TessAdapter,
                                     CremadAdapter, SaveeAdapter, EmodbAdapter)

__all__ = [
    "AUDIO_EXTENSIONS", "CremadAdapter", "EmodbAdapter", "KaggleAudioEmotionsAdapter", "RavdessAdapter",
    "SPEECH_ADAPTERS", "SaveeAdapter", "TessAdapter", "find_cremad_demographics", "is_audio", "iter_audio_files",
    "iter_corpus_files", "parse_cremad_name", "parse_emodb_name", "parse_ravdess_name", "parse_savee_name",
    "parse_tess_name", "read_cremad_demographics", "recognise_native_name",
]
