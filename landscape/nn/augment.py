r"""Augmentations as pure, jittable JAX functions of (key, batch).

Two families:

* :func:`gaussian_noise` — the paper's augmentation: x ↦ x + ε, ε ~ N(0, σ² I),
  drawn independently for every view (WS §1.1).  Works on any array shape.
* The SimCLR family on NHWC images with values in [0, 1]:
  :func:`random_resized_crop`, :func:`horizontal_flip`, :func:`color_jitter`,
  :func:`grayscale`, combined by :func:`simclr_augment` under **one strength
  knob s ≥ 0** (Dubois et al. code mapping, spec check D8):

  ============  ==============================  ==================  ===========
  preset        jitter (b, c, s, h)             crop min. scale     grayscale p
  ============  ==============================  ==================  ===========
  tinyimagenet  (0.4s, 0.4s, 0.4s, 0.1s)        min(1, 0.2/s)       min(1, 0.1s)
  cifar         (0.2s, 0.2s, 0.2s, 0.05s)       min(1, 0.2/s)       min(1, 0.1s)
  imagenet      (0.8s, 0.8s, 0.8s, 0.2s)        min(1, 0.08/s)      min(1, 0.2s)
  ============  ==============================  ==================  ===========

  plus a horizontal flip with probability 0.5.  Choices of ours, so that
  **s = 0 is exactly the identity**: the flip probability is 0.5 for s > 0 and
  0 at s = 0, and the crop's aspect-ratio range [3/4, 4/3] shrinks to {1} at
  s = 0.  The colour operations are applied in a fixed order (brightness,
  contrast, saturation, hue) rather than torchvision's random order, jitter is
  always applied (no ``RandomApply(p=0.8)``), the hue shift is a rotation of
  the chroma plane in YIQ space (a close, smooth stand-in for HSV hue), and no
  blur is applied.

Every function draws per-image randomness from its key, keeps the input's
shape (the crop resamples to the input size unless ``out_size`` is given) and
dtype, and keeps images in [0, 1] (the noise does not: it is additive).

Example:
    >>> import jax, jax.numpy as jnp
    >>> x = jnp.full((2, 4, 4, 3), 0.5)
    >>> bool(jnp.all(simclr_augment(jax.random.PRNGKey(0), x, 0.0) == x))
    True
    >>> simclr_augment(jax.random.PRNGKey(0), x, 1.0).shape
    (2, 4, 4, 3)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from landscape.core.linalg import is_traced

if TYPE_CHECKING:  # shapes for the reader and the docs; jaxtyping is not needed at run time
    from jaxtyping import Float

__all__ = [
    "gaussian_noise",
    "random_resized_crop",
    "horizontal_flip",
    "color_jitter",
    "grayscale",
    "simclr_params",
    "simclr_augment",
    "make_augment",
    "PRESETS",
]

Augment = Callable[[jax.Array, jax.Array], jax.Array]

# (jitter b/c/s per unit s, hue per unit s, crop minimum scale numerator, grayscale p per unit s)
PRESETS = {
    "tinyimagenet": (0.4, 0.1, 0.2, 0.1),
    "cifar": (0.2, 0.05, 0.2, 0.1),
    "imagenet": (0.8, 0.2, 0.08, 0.2),
}
_LUMA = (0.299, 0.587, 0.114)


def _check_images(x: ArrayLike, field: str = "images") -> jax.Array:
    x = jnp.asarray(x)
    if x.ndim != 4:
        raise ValueError(f"{field} must be an NHWC batch of images (4-D), got shape {x.shape}")
    if not jnp.issubdtype(x.dtype, jnp.floating):
        raise ValueError(f"{field} must be floating (values in [0, 1]), got {x.dtype}")
    return x


def _per_image(v: jax.Array, ndim: int) -> jax.Array:
    """Reshape an (n,) vector to broadcast against an n-batch of rank ``ndim``."""
    return v.reshape((v.shape[0],) + (1,) * (ndim - 1))


# ----------------------------------------------------------------------------- noise
def gaussian_noise(key: jax.Array, x: ArrayLike, sigma2: float | jax.Array) -> jax.Array:
    r"""x + ε with ε ~ N(0, σ² I) elementwise; σ² ≥ 0 may be traced.

    >>> import jax, jax.numpy as jnp
    >>> x = jnp.zeros((4000, 2))
    >>> round(float(jnp.var(gaussian_noise(jax.random.PRNGKey(1), x, 4.0))), 1)
    4.0
    """
    x = jnp.asarray(x)
    if not jnp.issubdtype(x.dtype, jnp.floating):
        raise ValueError(f"x must be floating, got {x.dtype}")
    if not is_traced(sigma2) and float(sigma2) < 0:
        raise ValueError(f"sigma2 must be >= 0, got {sigma2}")
    s = jnp.sqrt(jnp.asarray(sigma2, x.dtype))
    return x + s * jax.random.normal(key, x.shape, x.dtype)


# ----------------------------------------------------------------------------- geometry
def _bilinear_crop(img: jax.Array, top, left, height, width, out_h: int, out_w: int) -> jax.Array:
    """Resample the box (top, left, height, width) — fractions of the image — to out_h × out_w."""
    h, w = img.shape[0], img.shape[1]
    dt = img.dtype
    ys = (top + (jnp.arange(out_h, dtype=dt) + 0.5) * (height / out_h)) * h - 0.5
    xs = (left + (jnp.arange(out_w, dtype=dt) + 0.5) * (width / out_w)) * w - 0.5
    ys = jnp.clip(ys, 0.0, h - 1.0)
    xs = jnp.clip(xs, 0.0, w - 1.0)
    y0 = jnp.floor(ys).astype(jnp.int32)
    x0 = jnp.floor(xs).astype(jnp.int32)
    y1 = jnp.minimum(y0 + 1, h - 1)
    x1 = jnp.minimum(x0 + 1, w - 1)
    wy = (ys - y0.astype(dt))[:, None, None]
    wx = (xs - x0.astype(dt))[None, :, None]
    a = img[y0[:, None], x0[None, :]]
    b = img[y0[:, None], x1[None, :]]
    c = img[y1[:, None], x0[None, :]]
    d = img[y1[:, None], x1[None, :]]
    return (a * (1 - wx) + b * wx) * (1 - wy) + (c * (1 - wx) + d * wx) * wy


def random_resized_crop(
    key: jax.Array,
    images: Float[ArrayLike, "n h w c"],
    min_scale: float | jax.Array,
    *,
    log_ratio: float | jax.Array = math.log(4.0 / 3.0),
    out_size: Sequence[int] | None = None,
) -> jax.Array:
    r"""Crop a random box of area fraction u ~ U[min_scale, 1] and aspect r, resized back.

    log r ~ U[−log_ratio, log_ratio]; the box has width √(u r) and height √(u/r)
    (fractions of the image, clipped at 1) at a uniform random position, and is
    resampled bilinearly (pixel centres) to ``out_size`` (default: the input
    size).  ``min_scale = 1`` with ``log_ratio = 0`` is the identity.

    >>> import jax, jax.numpy as jnp
    >>> x = jax.random.uniform(jax.random.PRNGKey(0), (2, 8, 8, 1))
    >>> y = random_resized_crop(jax.random.PRNGKey(1), x, 1.0, log_ratio=0.0)
    >>> bool(jnp.allclose(x, y, atol=1e-6))
    True
    """
    x = _check_images(images)
    return _crop_jit(key, x, min_scale, log_ratio, None if out_size is None else tuple(int(v) for v in out_size))


def _crop_impl(key, x, min_scale, log_ratio, out_size):
    n, h, w, _ = x.shape
    out_h, out_w = (h, w) if out_size is None else out_size
    dt = x.dtype
    k_area, k_ratio, k_y, k_x = jax.random.split(key, 4)
    lo = jnp.clip(jnp.asarray(min_scale, dt), 0.0, 1.0)
    area = lo + (1.0 - lo) * jax.random.uniform(k_area, (n,), dt)
    lr = jnp.asarray(log_ratio, dt)
    ratio = jnp.exp(lr * (2.0 * jax.random.uniform(k_ratio, (n,), dt) - 1.0))
    bw = jnp.minimum(jnp.sqrt(area * ratio), 1.0)
    bh = jnp.minimum(jnp.sqrt(area / ratio), 1.0)
    top = (1.0 - bh) * jax.random.uniform(k_y, (n,), dt)
    left = (1.0 - bw) * jax.random.uniform(k_x, (n,), dt)
    crop = jax.vmap(lambda im, t, l, hh, ww: _bilinear_crop(im, t, l, hh, ww, out_h, out_w))
    return crop(x, top, left, bh, bw)


_crop_jit = jax.jit(_crop_impl, static_argnames=("out_size",))


def horizontal_flip(key: jax.Array, images: Float[ArrayLike, "n h w c"], p: float | jax.Array = 0.5) -> jax.Array:
    """Mirror each image left–right with probability ``p``.

    >>> import jax, jax.numpy as jnp
    >>> x = jnp.arange(4.0).reshape(1, 1, 4, 1)
    >>> horizontal_flip(jax.random.PRNGKey(0), x, 1.0)[0, 0, :, 0].tolist()
    [3.0, 2.0, 1.0, 0.0]
    """
    x = _check_images(images)
    flip = jax.random.uniform(key, (x.shape[0],), x.dtype) < jnp.asarray(p, x.dtype)
    return jnp.where(_per_image(flip, 4), x[:, :, ::-1, :], x)


# ----------------------------------------------------------------------------- colour
def _gray(x: jax.Array) -> jax.Array:
    """Luma (n, h, w, 1) of RGB images; a 1-channel image is its own luma."""
    if x.shape[-1] == 1:
        return x
    if x.shape[-1] != 3:
        raise ValueError(f"images must have 1 or 3 channels, got {x.shape[-1]}")
    wts = jnp.asarray(_LUMA, x.dtype).reshape(1, 1, 1, 3)
    return jnp.sum(x * wts, axis=-1, keepdims=True)


def _factor(key, n: int, amount, dtype) -> jax.Array:
    """Per-image factors U[max(0, 1 − amount), 1 + amount]."""
    a = jnp.asarray(amount, dtype)
    lo = jnp.maximum(0.0, 1.0 - a)
    return lo + (1.0 + a - lo) * jax.random.uniform(key, (n,), dtype)


def _hue_rotate(x: jax.Array, angle: jax.Array) -> jax.Array:
    """Rotate the chroma (I, Q) plane of YIQ by ``angle`` radians per image."""
    to_yiq = jnp.asarray([[0.299, 0.587, 0.114], [0.596, -0.274, -0.322], [0.211, -0.523, 0.312]], x.dtype)
    from_yiq = jnp.linalg.inv(to_yiq)
    c, s = jnp.cos(angle), jnp.sin(angle)
    one, zero = jnp.ones_like(c), jnp.zeros_like(c)
    rot = jnp.stack(
        [jnp.stack([one, zero, zero], -1), jnp.stack([zero, c, -s], -1), jnp.stack([zero, s, c], -1)], -2
    )  # (n, 3, 3)
    m = jnp.einsum("ij,njk,kl->nil", from_yiq, rot, to_yiq)
    return jnp.einsum("nhwc,ndc->nhwd", x, m)


def color_jitter(
    key: jax.Array,
    images: Float[ArrayLike, "n h w c"],
    brightness: float | jax.Array = 0.0,
    contrast: float | jax.Array = 0.0,
    saturation: float | jax.Array = 0.0,
    hue: float | jax.Array = 0.0,
) -> jax.Array:
    r"""Brightness, contrast, saturation and hue jitter, in that order, then clipped to [0, 1].

    Per image: brightness x ↦ f_b·x; contrast x ↦ f_c·(x − m) + m with m the
    image's mean luma; saturation x ↦ f_s·(x − g) + g with g the pixel's luma;
    hue: a rotation of the YIQ chroma plane by 2π·δ, δ ~ U[−hue, hue].  Factors
    f ~ U[max(0, 1 − amount), 1 + amount].  Saturation and hue act on RGB only
    (they are no-ops for 1-channel images).  All amounts 0 is the identity.

    >>> import jax, jax.numpy as jnp
    >>> x = jax.random.uniform(jax.random.PRNGKey(0), (2, 4, 4, 3))
    >>> bool(jnp.allclose(color_jitter(jax.random.PRNGKey(1), x), x, atol=1e-6))
    True
    """
    x = _check_images(images)
    n = x.shape[0]
    dt = x.dtype
    kb, kc, ks, kh = jax.random.split(key, 4)
    x = x * _per_image(_factor(kb, n, brightness, dt), 4)
    m = jnp.mean(_gray(x), axis=(1, 2, 3), keepdims=True)
    x = (x - m) * _per_image(_factor(kc, n, contrast, dt), 4) + m
    if x.shape[-1] == 3:
        g = _gray(x)
        x = (x - g) * _per_image(_factor(ks, n, saturation, dt), 4) + g
        delta = jnp.asarray(hue, dt) * (2.0 * jax.random.uniform(kh, (n,), dt) - 1.0)
        x = _hue_rotate(x, 2.0 * jnp.pi * delta)
    return jnp.clip(x, 0.0, 1.0)


def grayscale(key: jax.Array, images: Float[ArrayLike, "n h w c"], p: float | jax.Array) -> jax.Array:
    """Replace each image by its luma (copied to every channel) with probability ``p``.

    >>> import jax, jax.numpy as jnp
    >>> x = jnp.ones((1, 2, 2, 3)) * jnp.array([1.0, 0.0, 0.0]).reshape(1, 1, 1, 3)
    >>> round(float(grayscale(jax.random.PRNGKey(0), x, 1.0)[0, 0, 0, 1]), 3)
    0.299
    """
    x = _check_images(images)
    pick = jax.random.uniform(key, (x.shape[0],), x.dtype) < jnp.asarray(p, x.dtype)
    g = jnp.broadcast_to(_gray(x), x.shape)
    return jnp.where(_per_image(pick, 4), g, x)


# ----------------------------------------------------------------------------- the knob
def simclr_params(strength: float | jax.Array, preset: str = "cifar") -> dict:
    r"""The augmentation parameters at strength s for a preset (spec D8 mapping; see module docstring).

    Returns a dict with ``brightness``, ``contrast``, ``saturation``, ``hue``,
    ``min_scale``, ``log_ratio``, ``flip_p`` and ``gray_p``; s may be traced.

    >>> p = simclr_params(2.0, "tinyimagenet")
    >>> [round(float(p[k]), 3) for k in ("brightness", "hue", "min_scale", "gray_p")]
    [0.8, 0.2, 0.1, 0.2]
    """
    if preset not in PRESETS:
        raise ValueError(f"preset must be one of {sorted(PRESETS)}, got {preset!r}")
    if not is_traced(strength) and float(strength) < 0:
        raise ValueError(f"strength must be >= 0, got {strength}")
    jit_amt, hue_amt, crop_num, gray_amt = PRESETS[preset]
    s = jnp.asarray(strength, jnp.result_type(float))
    on = (s > 0).astype(s.dtype)
    return {
        "brightness": jit_amt * s,
        "contrast": jit_amt * s,
        "saturation": jit_amt * s,
        "hue": hue_amt * s,
        "min_scale": jnp.minimum(1.0, crop_num / jnp.where(s > 0, s, 1.0)) * on + (1.0 - on),
        "log_ratio": math.log(4.0 / 3.0) * on,
        "flip_p": 0.5 * on,
        "gray_p": jnp.minimum(1.0, gray_amt * s),
    }


def simclr_augment(
    key: jax.Array, images: Float[ArrayLike, "n h w c"], strength: float | jax.Array, preset: str = "cifar"
) -> jax.Array:
    """Crop → flip → colour jitter → grayscale, all set by the one strength knob ``strength``.

    s = 0 returns the images unchanged (bit for bit).  Compiled once per
    preset and image shape; ``strength`` may be traced.
    """
    x = _check_images(images)
    simclr_params(strength, preset)  # validates strength (when concrete) and preset
    return _simclr_jit(key, x, strength, preset)


def _simclr_impl(key, x, strength, preset):
    p = {k: jnp.asarray(v, x.dtype) for k, v in simclr_params(strength, preset).items()}
    kc, kf, kj, kg = jax.random.split(key, 4)
    y = _crop_impl(kc, x, p["min_scale"], p["log_ratio"], None)
    y = horizontal_flip(kf, y, p["flip_p"])
    y = color_jitter(kj, y, p["brightness"], p["contrast"], p["saturation"], p["hue"])
    y = grayscale(kg, y, p["gray_p"])
    return jnp.where(jnp.asarray(strength) > 0, y, x)


_simclr_jit = jax.jit(_simclr_impl, static_argnames=("preset",))


def make_augment(kind: str = "noise", **params: Any) -> Augment:
    """An augmentation ``fn(key, x)`` by name.

    ``"noise"`` (``sigma2``), ``"simclr"`` (``strength``, ``preset``), ``"noise+simclr"`` (all
    three; SimCLR first, then noise) or ``"none"``.
    """
    if kind == "noise":
        sigma2 = _take(params, "sigma2", kind)
        _no_extra(kind, params)
        return lambda key, x: gaussian_noise(key, x, sigma2)
    if kind == "simclr":
        strength = _take(params, "strength", kind)
        preset = params.pop("preset", "cifar")
        _no_extra(kind, params)
        return lambda key, x: simclr_augment(key, x, strength, preset)
    if kind == "noise+simclr":
        sigma2 = _take(params, "sigma2", kind)
        strength = _take(params, "strength", kind)
        preset = params.pop("preset", "cifar")
        _no_extra(kind, params)

        def both(key, x):
            k1, k2 = jax.random.split(key)
            return gaussian_noise(k2, simclr_augment(k1, x, strength, preset), sigma2)

        return both
    if kind == "none":
        _no_extra(kind, params)
        return lambda key, x: x
    raise ValueError(f"kind must be 'noise', 'simclr', 'noise+simclr' or 'none', got {kind!r}")


def _take(params: dict, name: str, kind: str):
    if name not in params:
        raise ValueError(f"augmentation {kind!r} needs the parameter {name}")
    return params.pop(name)


def _no_extra(kind: str, params: dict) -> None:
    if params:
        raise ValueError(f"unexpected parameters for augmentation {kind!r}: {sorted(params)}")
