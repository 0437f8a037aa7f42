"""The teaching lab: everything the app computes, with no Streamlit in it.

Generated scenes and bundled images (``shapes``, ``images``), predictions made from a ground truth
(``predictions``), tiny models and the side-by-side training engine (``models``, ``training``),
the baseline losses and the registry the app compares (``baselines``, ``registry``), per-pixel
gradients (``gradients``) and the few-pixel geometry of the extension (``teaching``). Built on
:mod:`lovasz_core`; adds scikit-image (``pip install "lovasz-lab[app]"``).
"""

from .registry import LOSSES, LossSpec, get_loss

__all__ = ["LOSSES", "LossSpec", "get_loss"]
