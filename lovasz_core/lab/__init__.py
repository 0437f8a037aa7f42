"""The teaching lab: everything the app computes, with no Streamlit in it.

- scenes and images: ``shapes`` (seeded generated scenes), ``images`` (scikit-image's bundled
  images with masks), ``datasets`` (a generated data set of small scenes, train/validation split,
  optional void band), ``void`` (void bands and boxes, the trace without void pixels),
  ``uploads`` (the user's images, masks and logits, parsed and checked in memory);
- predictions and models: ``predictions`` (logits of a degraded ground truth), ``models``;
- losses: ``baselines`` and ``registry`` (the losses the app compares), ``lanes`` (the lanes of
  minibatch training: per batch, per image, binary);
- training: ``training`` (one image, full batch, losses side by side), ``dataset_training``
  (minibatches of the data set), ``split_scores`` (data-set mIoU and mean per-image IoU);
- ``gradients`` (per-pixel gradients of every loss), ``teaching`` (few-pixel geometry);
- ``views``: for each page of the app, one pure function returning a frozen dataclass of every
  number the page draws.

Built on :mod:`lovasz_core`; adds scikit-image (``pip install "lovasz-lab[app]"``).
"""

from .registry import LOSSES, LossSpec, get_loss

__all__ = ["LOSSES", "LossSpec", "get_loss"]
