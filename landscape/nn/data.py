r"""Data sets that need no download: synthetic data, scikit-learn's digits, CIFAR-10 from disk.

* :func:`gaussian` — zero-mean Gaussian data with given per-direction variances
  (optionally rotated): the data of the linear theory and of WS Fig. 2/4.
* :func:`gaussian_mixture` — K Gaussian classes with chosen class proportions.
* :func:`torus_manifold` — points on a k-dimensional curved torus embedded in
  R^D, with the exact orthonormal tangent basis at every point.
* :func:`synthetic_images` — small colour images of K classes (a smooth
  random pattern per class, shifted, re-lit and noised per image): images for
  the SimCLR augmentations and the ConvNet / ResNet without a download.
* :func:`load_digits` — scikit-learn's bundled 8×8 digits (1,797 images; the data
  ships inside the scikit-learn wheel, nothing is fetched).  Needs the optional
  ``scikit-learn`` dependency (extra ``nn``).
* :func:`read_cifar10_binary` / :func:`load_cifar10` — CIFAR-10 from the
  **binary version** of the data set (``cifar-10-batches-bin``: files
  ``data_batch_1.bin`` … ``data_batch_5.bin`` and ``test_batch.bin``).  Each
  record is 3,073 bytes: one label byte (0–9), then 1,024 red, 1,024 green and
  1,024 blue pixel bytes, each plane row-major 32×32.  The better-known "python
  version" stores the same data with Python's pickle, which this project never
  loads from user-supplied paths (unpickling runs arbitrary code), so it is not
  supported.  :func:`write_cifar10_binary` writes the format (tests use it).

Images are returned NHWC; pixel values are float32 in [0, 1] unless
``as_uint8``.  Everything here is NumPy on the host; models move batches to the
device.

Example:
    >>> import jax
    >>> x, y = gaussian_mixture(jax.random.PRNGKey(0), 1000, [[-2.0], [2.0]], [0.9, 0.1])
    >>> x.shape, round(float((y == 1).mean()), 1)
    ((1000, 1), 0.1)
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:  # shapes for the reader and the docs; jaxtyping is not needed at run time
    from jaxtyping import Float, Int, UInt8

__all__ = [
    "gaussian",
    "gaussian_mixture",
    "ManifoldData",
    "torus_manifold",
    "synthetic_images",
    "load_digits",
    "CIFAR10_RECORD_BYTES",
    "read_cifar10_binary",
    "write_cifar10_binary",
    "load_cifar10",
    "standardize",
    "split",
]

CIFAR10_RECORD_BYTES = 1 + 32 * 32 * 3


# ----------------------------------------------------------------------------- synthetic
def gaussian(
    key: jax.Array,
    n: int,
    variances: Float[npt.ArrayLike, " d"],
    *,
    rotation: Float[npt.ArrayLike, "d d"] | None = None,
    dtype: npt.DTypeLike = np.float32,
) -> np.ndarray:
    r"""n samples of N(0, Q diag(variances) Qᵀ) (Q = ``rotation``, default identity).

    >>> import jax
    >>> x = gaussian(jax.random.PRNGKey(0), 20000, [4.0, 1.0])
    >>> [round(float(v), 1) for v in x.var(axis=0)]
    [4.0, 1.0]
    """
    var = np.asarray(variances, dtype=np.float64)
    if var.ndim != 1 or var.size < 1 or np.any(~np.isfinite(var)) or np.any(var < 0):
        raise ValueError(f"variances must be a non-empty vector of finite values >= 0, got {variances!r}")
    if int(n) < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    z = np.asarray(jax.random.normal(key, (int(n), var.size), jnp.float32), np.float64) * np.sqrt(var)[None, :]
    if rotation is not None:
        q = np.asarray(rotation, np.float64)
        if q.shape != (var.size, var.size):
            raise ValueError(f"rotation must be {var.size}×{var.size}, got {q.shape}")
        z = z @ q.T
    return z.astype(dtype)


def gaussian_mixture(
    key: jax.Array,
    n: int,
    means: Float[npt.ArrayLike, "k d"],
    proportions: Float[npt.ArrayLike, " k"],
    *,
    std: float = 1.0,
    dtype: npt.DTypeLike = np.float32,
) -> tuple[np.ndarray, np.ndarray]:
    r"""n samples of Σ_k π_k N(μ_k, std² I): returns (x (n, D), labels (n,)).

    ``means`` is K×D, ``proportions`` the K class probabilities π (≥ 0, summing
    to 1); labels are drawn i.i.d. from π, so class sizes are multinomial.
    """
    mu = np.asarray(means, np.float64)
    pi = np.asarray(proportions, np.float64)
    if mu.ndim != 2 or mu.shape[0] < 1:
        raise ValueError(f"means must be a K×D matrix, got shape {mu.shape}")
    if pi.shape != (mu.shape[0],) or np.any(pi < 0) or not np.isclose(pi.sum(), 1.0):
        raise ValueError(f"proportions must be {mu.shape[0]} non-negative numbers summing to 1, got {proportions!r}")
    if not np.isfinite(std) or std < 0:
        raise ValueError(f"std must be finite and >= 0, got {std}")
    k_lab, k_x = jax.random.split(key)
    labels = np.asarray(jax.random.choice(k_lab, mu.shape[0], (int(n),), p=jnp.asarray(pi, jnp.float32)))
    noise = np.asarray(jax.random.normal(k_x, (int(n), mu.shape[1]), jnp.float32), np.float64)
    return (mu[labels] + std * noise).astype(dtype), labels.astype(np.int32)


class ManifoldData(NamedTuple):
    """Points on a manifold, their latent coordinates, exact tangent bases and labels."""

    points: np.ndarray  # (n, D)
    latent: np.ndarray  # (n, k) angles in [0, 2π)
    tangents: np.ndarray  # (n, D, k) orthonormal basis of the tangent space at each point
    labels: np.ndarray  # (n,) int: quadrant of the first angle (4 classes)
    frame: np.ndarray  # (D, 4k) the embedding's orthonormal frame Q


def torus_manifold(
    key: jax.Array,
    n: int,
    ambient_dim: int = 64,
    intrinsic_dim: int = 2,
    *,
    curvature: float = 0.5,
    dtype: npt.DTypeLike = np.float32,
) -> ManifoldData:
    r"""A curved k-torus in R^D with known tangent spaces.

    Angles θ ~ U[0, 2π)^k; the embedding is

        x(θ) = Q · [cos θ_j, sin θ_j, c·cos 2θ_j, c·sin 2θ_j]_{j=1..k},

    with Q a random D×4k matrix with orthonormal columns and c = ``curvature``
    (c = 0 gives a flat product of circles).  The tangent space at x(θ) is the
    span of ∂x/∂θ_j, computed by forward-mode autodiff and orthonormalised (QR).
    Labels: the quadrant ⌊2θ_1/π⌋ of the first angle.

    >>> import jax
    >>> d = torus_manifold(jax.random.PRNGKey(0), 5, ambient_dim=10, intrinsic_dim=2)
    >>> d.points.shape, d.tangents.shape
    ((5, 10), (5, 10, 2))
    """
    k = int(intrinsic_dim)
    if k < 1 or int(ambient_dim) < 4 * k:
        raise ValueError(f"ambient_dim must be >= 4·intrinsic_dim = {4 * k}, got {ambient_dim}")
    k_q, k_t = jax.random.split(key)
    q, _ = jnp.linalg.qr(jax.random.normal(k_q, (int(ambient_dim), 4 * k), jnp.float32))
    theta = jax.random.uniform(k_t, (int(n), k), jnp.float32, 0.0, 2.0 * jnp.pi)
    c = jnp.asarray(curvature, jnp.float32)

    def embed(t):
        feats = jnp.stack([jnp.cos(t), jnp.sin(t), c * jnp.cos(2 * t), c * jnp.sin(2 * t)], axis=1).reshape(-1)
        return q @ feats

    pts = jax.vmap(embed)(theta)
    jac = jax.vmap(jax.jacfwd(embed))(theta)  # (n, D, k)
    basis, _ = jnp.linalg.qr(jac)
    labels = jnp.floor(theta[:, 0] / (0.5 * jnp.pi)).astype(jnp.int32) % 4
    return ManifoldData(
        np.asarray(pts, dtype),
        np.asarray(theta, dtype),
        np.asarray(basis, dtype),
        np.asarray(labels, np.int32),
        np.asarray(q, dtype),
    )


def synthetic_images(
    key: jax.Array, n: int, *, size: int = 12, channels: int = 3, n_classes: int = 10, frequencies: int = 3
) -> tuple[np.ndarray, np.ndarray]:
    r"""n colour images (n, size, size, channels) in [0, 1] and their class labels (n,).

    Class k has a smooth template T_k: a sum of ``frequencies`` random planar waves
    per channel (integer wave vectors up to 2, so it tiles the image).  An image of
    class k is sigmoid(2·a·roll(T_k, δ) + b + 0.3·ε): the template cyclically shifted
    by δ (up to size/4 pixels each way), with a random contrast a ∈ [0.5, 1.5], a
    brightness b ~ N(0, 0.25²) and white pixel noise ε.  Shifts, contrast and
    brightness are the nuisances the SimCLR augmentations act on.

    >>> import jax
    >>> x, y = synthetic_images(jax.random.PRNGKey(0), 6, size=8, n_classes=3)
    >>> x.shape, bool((x > 0).all() and (x < 1).all()), sorted(set(y.tolist())) <= [0, 1, 2]
    ((6, 8, 8, 3), True, True)
    """
    if int(n) < 1 or int(size) < 2 or int(channels) < 1 or int(n_classes) < 1 or int(frequencies) < 1:
        raise ValueError(
            f"n, n_classes, channels and frequencies must be >= 1 and size >= 2, got "
            f"{n}, {n_classes}, {channels}, {frequencies}, {size}"
        )
    n, size, c, k, f = int(n), int(size), int(channels), int(n_classes), int(frequencies)
    rng = np.random.default_rng(int(jax.random.randint(key, (), 0, np.iinfo(np.int32).max)))
    grid = 2.0 * np.pi * np.arange(size) / size
    wave = rng.integers(-2, 3, size=(k, c, f, 2))
    phase = rng.uniform(0.0, 2.0 * np.pi, size=(k, c, f))
    arg = wave[..., 0, None, None] * grid[:, None] + wave[..., 1, None, None] * grid[None, :] + phase[..., None, None]
    templates = np.cos(arg).sum(axis=2) / np.sqrt(f)  # (k, c, size, size)
    labels = rng.integers(0, k, size=n)
    shift = rng.integers(-(size // 4), size // 4 + 1, size=(n, 2))
    rows = (np.arange(size)[None, :] - shift[:, :1]) % size
    cols = (np.arange(size)[None, :] - shift[:, 1:]) % size
    chan = np.arange(c)[None, :, None, None]
    img = templates[labels[:, None, None, None], chan, rows[:, None, :, None], cols[:, None, None, :]]  # (n, c, s, s)
    contrast = rng.uniform(0.5, 1.5, size=(n, 1, 1, 1))
    bright = 0.25 * rng.standard_normal((n, 1, 1, 1))
    logits = 2.0 * contrast * img + bright + 0.3 * rng.standard_normal(img.shape)
    out = 1.0 / (1.0 + np.exp(-logits))
    return np.moveaxis(out, 1, -1).astype(np.float32), labels.astype(np.int32)


# ----------------------------------------------------------------------------- digits
def load_digits(*, dtype: npt.DTypeLike = np.float32) -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's 8×8 digits as (images (1797, 8, 8, 1) in [0, 1], labels (1797,)).

    Raises ImportError with an install hint when scikit-learn is missing.
    """
    try:
        from sklearn.datasets import load_digits as _sk_digits
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError("load_digits needs scikit-learn: pip install 'landscape[nn]'") from e
    d = _sk_digits()
    images = (np.asarray(d.images, np.float64) / 16.0).astype(dtype)[..., None]
    return images, np.asarray(d.target, np.int32)


# ----------------------------------------------------------------------------- CIFAR-10
def read_cifar10_binary(path: str | os.PathLike[str]) -> tuple[np.ndarray, np.ndarray]:
    """Read one CIFAR-10 binary batch file: (images uint8 (n, 32, 32, 3), labels int32 (n,)).

    Raises ValueError when the size is not a multiple of 3,073 bytes or a label
    is outside 0–9.
    """
    p = Path(path)
    raw = np.fromfile(p, dtype=np.uint8)
    if raw.size == 0 or raw.size % CIFAR10_RECORD_BYTES:
        raise ValueError(
            f"path: {p} has {raw.size} bytes, not a positive multiple of the CIFAR-10 record "
            f"size {CIFAR10_RECORD_BYTES} (is this the binary version?)"
        )
    rec = raw.reshape(-1, CIFAR10_RECORD_BYTES)
    labels = rec[:, 0].astype(np.int32)
    if labels.max() > 9:
        raise ValueError(f"path: {p} has label {int(labels.max())} outside 0..9 (not a CIFAR-10 binary file?)")
    images = rec[:, 1:].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    return np.ascontiguousarray(images), labels


def write_cifar10_binary(
    path: str | os.PathLike[str], images: UInt8[npt.ArrayLike, "n 32 32 3"], labels: Int[npt.ArrayLike, " n"]
) -> Path:
    """Write (images uint8 (n, 32, 32, 3), labels (n,)) in the CIFAR-10 binary record format."""
    x = np.asarray(images)
    y = np.asarray(labels)
    if x.dtype != np.uint8 or x.ndim != 4 or x.shape[1:] != (32, 32, 3):
        raise ValueError(f"images must be uint8 of shape (n, 32, 32, 3), got {x.dtype} {x.shape}")
    if y.shape != (x.shape[0],) or np.any(y < 0) or np.any(y > 9):
        raise ValueError(f"labels must be {x.shape[0]} integers in 0..9")
    rec = np.concatenate([y.astype(np.uint8)[:, None], x.transpose(0, 3, 1, 2).reshape(x.shape[0], -1)], axis=1)
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    rec.tofile(p)
    return p


def load_cifar10(
    root: str | os.PathLike[str], split: str = "train", *, as_uint8: bool = False, dtype: npt.DTypeLike = np.float32
) -> tuple[np.ndarray, np.ndarray]:
    """CIFAR-10 from ``root`` (the folder holding the .bin files, or its parent).

    ``split="train"`` concatenates data_batch_1..5.bin (those present; at least
    one), ``split="test"`` reads test_batch.bin.  Returns (images, labels) with
    images NHWC, uint8 if ``as_uint8`` else ``dtype`` in [0, 1].
    """
    base = Path(root)
    if (base / "cifar-10-batches-bin").is_dir():
        base = base / "cifar-10-batches-bin"
    if split == "train":
        files = [base / f"data_batch_{i}.bin" for i in range(1, 6)]
        files = [f for f in files if f.is_file()]
    elif split == "test":
        files = [base / "test_batch.bin"] if (base / "test_batch.bin").is_file() else []
    else:
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    if not files:
        raise ValueError(
            f"root: no CIFAR-10 binary {split} files under {os.fspath(root)} "
            "(expected data_batch_*.bin / test_batch.bin of the binary version)"
        )
    parts = [read_cifar10_binary(f) for f in files]
    x = np.concatenate([p[0] for p in parts])
    y = np.concatenate([p[1] for p in parts])
    return (x if as_uint8 else (x.astype(np.float64) / 255.0).astype(dtype)), y


# ----------------------------------------------------------------------------- helpers
def standardize(
    x: npt.ArrayLike, mean: npt.ArrayLike | None = None, std: npt.ArrayLike | None = None, *, eps: float = 1e-8
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(x − mean)/std per feature (last axis); mean and std default to the data's own.

    Returns (standardized x, mean, std), so a test split can reuse the training
    statistics.
    """
    x = np.asarray(x)
    axes = tuple(range(x.ndim - 1))
    mean = x.mean(axis=axes) if mean is None else np.asarray(mean)
    std = x.std(axis=axes) if std is None else np.asarray(std)
    shape = (1,) * (x.ndim - 1) + (x.shape[-1],)
    out = (x - mean.reshape(shape)) / np.maximum(std.reshape(shape), eps)
    return out.astype(x.dtype), mean, std


def split(key: jax.Array, n: int, fractions: Sequence[float] = (0.8, 0.2)) -> list[np.ndarray]:
    """Random disjoint index sets of sizes ⌊f·n⌋ (the last one takes the rest)."""
    f = np.asarray(fractions, np.float64)
    if np.any(f < 0) or not np.isclose(f.sum(), 1.0):
        raise ValueError(f"fractions must be >= 0 and sum to 1, got {fractions!r}")
    perm = np.asarray(jax.random.permutation(key, int(n)))
    cuts = np.floor(np.cumsum(f)[:-1] * n).astype(int)
    return np.split(perm, cuts)
