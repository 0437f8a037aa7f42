"""lovasz_core: the Lovász-Softmax loss (Berman, Rannen Triki, Blaschko, CVPR 2018) in PyTorch.

Exact, vectorized and device-agnostic losses, the Jaccard gradient, a step-by-step trace of the
Lovász extension for teaching, IoU metrics and the baselines the app compares with.
"""

from .extension import LovaszTrace, jaccard_loss_of_set, lovasz_extension, lovasz_grad, lovasz_trace
from .losses import (
    LovaszHingeLoss,
    LovaszSigmoidLoss,
    LovaszSoftmaxLoss,
    lovasz_hinge,
    lovasz_sigmoid,
    lovasz_softmax,
)
from .metrics import confusion_matrix, iou_from_confusion, mean_iou, per_class_iou
from .registry import LOSSES, LossSpec, get_loss

__all__ = [
    "LOSSES",
    "LossSpec",
    "LovaszHingeLoss",
    "LovaszSigmoidLoss",
    "LovaszSoftmaxLoss",
    "LovaszTrace",
    "confusion_matrix",
    "get_loss",
    "iou_from_confusion",
    "jaccard_loss_of_set",
    "lovasz_extension",
    "lovasz_grad",
    "lovasz_hinge",
    "lovasz_sigmoid",
    "lovasz_softmax",
    "lovasz_trace",
    "mean_iou",
    "per_class_iou",
]

__version__ = "0.1.0"
