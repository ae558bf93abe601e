r"""The SSL problem: data covariance A0 and augmentation covariance C.

The linear model f(x) = W x sees augmented inputs x = x̂ + ε.  Everything the
landscape theory needs is two symmetric matrices:

* ``data_cov``  A0 = E[x̂ x̂ᵀ]   (second moment of the clean data),
* ``aug_cov``   C  = E[ε εᵀ]    (covariance of the augmentation noise),

and their sum Σ = A0 + C, the second moment of the augmented inputs.

:class:`Problem` is a pytree (both matrices are leaves), so it passes through
``jax.jit`` and ``jax.vmap`` unchanged.  Its constructors validate concrete input;
the bare dataclass constructor does not, so it can be built from traced values.

Example:
    >>> import landscape as ls
    >>> p = ls.Problem.from_diagonal([3.0, 2.0, 1.0], [0.5, 1.0, 2.0])
    >>> p.dim
    3
    >>> [float(v) for v in p.sigma.diagonal()]
    [3.5, 3.0, 3.0]
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import numpy.typing as npt
from jax.typing import DTypeLike

from landscape.core.linalg import is_traced
from landscape.core.validation import as_square_matrix, as_variances, check_in_dtype, check_psd

__all__ = ["Problem"]

_SIGMA = "sigma = data_cov + aug_cov"


@dataclasses.dataclass(frozen=True)
class Problem:
    """Data covariance ``data_cov`` (A0) and augmentation covariance ``aug_cov`` (C)."""

    data_cov: jax.Array
    aug_cov: jax.Array

    @property
    def sigma(self) -> jax.Array:
        """Σ = A0 + C, the second moment of the augmented inputs."""
        return self.data_cov + self.aug_cov

    @property
    def dim(self) -> int:
        """Input dimension d0."""
        return self.data_cov.shape[-1]

    # ---------------------------------------------------------------- constructors
    @classmethod
    def from_arrays(
        cls, data_cov: npt.ArrayLike, aug_cov: npt.ArrayLike, *, allow_indefinite_aug: bool = False
    ) -> Problem:
        """Build from full matrices after validating them.

        Both matrices must be square, symmetric, finite and of the same shape; A0
        must be positive semi-definite and Σ = A0 + C positive definite.  C must be
        PSD unless ``allow_indefinite_aug`` (for a nonlinear feature map the
        augmentation can shrink feature variance, so C may have negative
        eigenvalues; only Σ must stay positive definite).

        The checks hold in the dtype the computation will run in (JAX's default
        float: float32 unless x64 is enabled): entries that overflow it, or a Σ
        that is positive definite in float64 but not after rounding to float32,
        are refused.
        """
        a0 = as_square_matrix(data_cov, "data_cov")
        c = as_square_matrix(aug_cov, "aug_cov")
        if a0.shape != c.shape:
            raise ValueError(f"data_cov and aug_cov must have the same shape, got {a0.shape} and {c.shape}")
        dtype = jnp.result_type(float)
        check_in_dtype(a0, "data_cov", dtype)
        check_in_dtype(c, "aug_cov", dtype)
        with np.errstate(over="ignore"):
            sigma = a0 + c
        check_in_dtype(sigma, _SIGMA, dtype)
        check_psd(a0, "data_cov")
        if not allow_indefinite_aug:
            check_psd(c, "aug_cov")
        check_psd(sigma, _SIGMA, strict=True)
        check_in_dtype(sigma, _SIGMA, dtype, definite=True)
        return cls(jnp.asarray(a0, dtype), jnp.asarray(c, dtype))

    @classmethod
    def from_diagonal(cls, data_var: npt.ArrayLike, aug_var: npt.ArrayLike) -> Problem:
        """Commuting problem with A0 = diag(data_var) and C = diag(aug_var).

        ``aug_var`` may be a scalar, meaning isotropic augmentation C = σ² I.
        """
        a = as_variances(data_var, "data_var")
        c = as_variances(aug_var, "aug_var")
        if c.size == 1 and a.size > 1:
            c = np.full_like(a, c[0])
        if c.shape != a.shape:
            raise ValueError(f"data_var and aug_var must have the same length, got {a.size} and {c.size}")
        return cls.from_arrays(np.diag(a), np.diag(c))

    @classmethod
    def isotropic(cls, data_cov: npt.ArrayLike, sigma2: float) -> Problem:
        """Isotropic augmentation C = σ² I on a data covariance (matrix, or 1-D variances)."""
        s2 = as_variances(sigma2, "sigma2")
        if s2.size != 1:
            raise ValueError(f"sigma2 must be a single number, got {s2.size} values")
        a = np.asarray(data_cov, dtype=float)
        if a.ndim == 1:
            a = np.diag(as_variances(a, "data_var"))
        d = a.shape[0] if a.ndim == 2 else 0
        return cls.from_arrays(a, float(s2[0]) * np.eye(d))

    # ---------------------------------------------------------------- properties
    def is_commuting(self, atol: float | None = None) -> bool:
        """Whether A0 C = C A0 (Assumption 1), checked on concrete values.

        ``atol`` is relative to ‖A0‖·‖C‖; by default 1e-10 in float64 and a few
        hundred machine epsilons in lower precision.
        """
        a0 = np.asarray(self.data_cov)
        c = np.asarray(self.aug_cov)
        if atol is None:
            atol = max(1e-10, 500 * float(np.finfo(a0.dtype).eps))
        comm = a0 @ c - c @ a0
        scale = max(1.0, float(np.abs(a0).max()) * float(np.abs(c).max()))
        return bool(np.abs(comm).max() <= atol * scale)

    def is_diagonal(self) -> bool:
        """Whether both covariances are diagonal (checked on concrete values)."""
        a0 = np.asarray(self.data_cov)
        c = np.asarray(self.aug_cov)
        off = ~np.eye(a0.shape[0], dtype=bool)
        return bool(np.all(a0[off] == 0) and np.all(c[off] == 0))

    def astype(self, dtype: DTypeLike) -> Problem:
        """The same problem with both matrices cast to ``dtype``.

        Concrete matrices are checked in the new dtype (finite entries, Σ positive
        definite after rounding), like :meth:`from_arrays`.
        """
        out = Problem(self.data_cov.astype(dtype), self.aug_cov.astype(dtype))
        if not is_traced(self.data_cov) and not is_traced(self.aug_cov):
            a0 = np.asarray(self.data_cov, float)
            c = np.asarray(self.aug_cov, float)
            check_in_dtype(a0, "data_cov", dtype)
            check_in_dtype(c, "aug_cov", dtype)
            with np.errstate(over="ignore"):
                sigma = a0 + c
            check_in_dtype(sigma, _SIGMA, dtype, definite=True)
        return out


jax.tree_util.register_dataclass(Problem, data_fields=["data_cov", "aug_cov"], meta_fields=[])
