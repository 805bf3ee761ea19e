"""resonance: emotional resonance between abstract art and sound.

Sub-packages (import downwards only):

- :mod:`resonance.io` -- robust decoding of audio and images, atomic writes (no torch).
- :mod:`resonance.data` -- corpus adapters, the shared emotion space, manifests, splits, probe stimuli.
- :mod:`resonance.cli` -- the Typer application; nothing imports it.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
