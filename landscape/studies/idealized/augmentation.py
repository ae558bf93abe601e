r"""The single-scalar SimCLR augmentation strength of the authors' code (check D8)."""

from __future__ import annotations

import math

__all__ = ["augmentation_knob"]

_KNOB = {
    # dataset: (jitter per unit strength, hue per unit, crop minimum at s = 1, grayscale per unit)
    "tinyimagenet": (0.4, 0.1, 0.2, 0.1),
    "stl10": (0.4, 0.1, 0.2, 0.1),
    "cifar": (0.2, 0.05, 0.2, 0.1),
    "imagenet": (0.8, 0.2, 0.08, 0.2),
}


def augmentation_knob(strength: float, dataset: str = "tinyimagenet") -> dict:
    r"""SimCLR augmentation parameters as a function of one strength s (the authors' code mapping).

    Colour jitter (brightness, contrast, saturation) = j·s and hue = h·s;
    random-resized-crop minimum scale = c/s (capped at 1); grayscale probability
    = g·s (capped at 1); horizontal flip 0.5.  (j, h, c, g) = (0.4, 0.1, 0.2, 0.1)
    for TinyImageNet/STL10, (0.2, 0.05, 0.2, 0.1) for CIFAR, (0.8, 0.2, 0.08, 0.2)
    for ImageNet (which also uses blur).

    >>> k = augmentation_knob(2.0)
    >>> k["jitter"], k["crop_min_scale"], k["grayscale_p"]
    ((0.8, 0.8, 0.8, 0.2), 0.1, 0.2)
    """
    if dataset not in _KNOB:
        raise ValueError(f"dataset must be one of {sorted(_KNOB)}, got {dataset!r}")
    s = float(strength)
    if not (math.isfinite(s) and s > 0):
        raise ValueError(f"strength must be a finite number > 0, got {strength!r}")
    j, h, c, g = _KNOB[dataset]
    r = lambda v: round(v, 12)  # noqa: E731 - keep decimal outputs clean
    return {
        "strength": s,
        "jitter": (r(j * s), r(j * s), r(j * s), r(h * s)),
        "crop_min_scale": r(min(1.0, c / s)),
        "grayscale_p": r(min(1.0, g * s)),
        "flip_p": 0.5,
        "blur": dataset == "imagenet",
    }
