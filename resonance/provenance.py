"""What every artefact records about how it was made: package versions (no timestamps, so that the
same inputs give the same bytes)."""

from __future__ import annotations

import platform
from importlib import metadata

_PACKAGES = ("synesthetic-resonance", "numpy", "scipy", "pandas", "pyarrow", "pillow", "soundfile", "librosa",
             "scikit-image", "opencv-python-headless", "torch", "mido")


def package_versions(packages: tuple[str, ...] = _PACKAGES) -> dict[str, str]:
    """Installed versions of the packages that shape resonance's outputs ("absent" if not installed)."""
    versions = {"python": platform.python_version()}
    for name in packages:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "absent"
    return versions
