"""lovasz_core: the Lovász-Softmax loss (Berman, Rannen Triki, Blaschko, CVPR 2018) in PyTorch.

Exact, vectorized and device-agnostic losses, the Jaccard gradient, a step-by-step trace of the
Lovász extension, and IoU metrics. Needs torch and numpy only. The teaching lab that the app
is built on (images, predictions, models, training, baselines) is :mod:`lovasz_core.lab`.
"""

from .extension import LovaszTrace, jaccard_loss_of_set, lovasz_extension, lovasz_grad, lovasz_trace
from .losses import (
    LovaszHingeLoss,
    LovaszSigmoidLoss,
    LovaszSoftmaxLoss,
    lovasz_hinge,
    lovasz_hinge_flat,
    lovasz_sigmoid,
    lovasz_softmax,
    lovasz_softmax_flat,
)
from .metrics import confusion_matrix, iou_from_confusion, mean_iou, per_class_iou

__all__ = [
    "LovaszHingeLoss",
    "LovaszSigmoidLoss",
    "LovaszSoftmaxLoss",
    "LovaszTrace",
    "confusion_matrix",
    "iou_from_confusion",
    "jaccard_loss_of_set",
    "lovasz_extension",
    "lovasz_grad",
    "lovasz_hinge",
    "lovasz_hinge_flat",
    "lovasz_sigmoid",
    "lovasz_softmax",
    "lovasz_softmax_flat",
    "lovasz_trace",
    "mean_iou",
    "per_class_iou",
]

__version__ = "0.1.0"
