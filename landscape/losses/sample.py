r"""Sample-level SSL losses in pure JAX: the functions one actually trains.

Every loss takes the two views' representations ``z1`` and ``z2``, arrays of
shape (n, d) whose row i holds f(x_i) and f(x_i′) for two independent
augmentations x_i, x_i′ of data point i.  Every loss is a pure function, so it
can be jitted, vmapped and differentiated; the shape and dtype checks run at
trace time and raise ``ValueError`` naming the bad argument.

Contrastive, Euclidean (WS Eq. 1, 3 and the β form of spec §2.2 L4).  With
u_ij = ½‖z1_i − z2_j‖², the loss of anchor i is

    ℓ_i = u_ii + β · log( Σ_{j≠i} exp(−u_ij) + α · exp(−u_ii) ),

and the loss is the **mean** over anchors (WS Eq. 1 sums; it is n times this).
The anchor is the first view z1_i, its positive is z2_i, and its negatives are
the *second views of the other samples*, χ_j = z2_j for j ≠ i: every negative
is an independently augmented copy of another data point, as WS Eq. 1
requires.  α = 1, β = 1 is InfoNCE; α weights the positive in the
denominator (weighted InfoNCE, α = 0 drops it); β weights the log-denominator.

Other losses (cosine similarity ⟨a, b⟩/(‖a‖‖b‖) is written cos):

* :func:`nt_xent` — SimCLR's NT-Xent over the 2n views with temperature τ;
* :func:`spectral_contrastive` — −2 mean_i z1_i·z2_i + mean_{i≠j} (z1_i·z2_j)²;
* :func:`barlow_twins` — Σ_k (1 − 𝒞_kk)² + λ Σ_{k≠l} 𝒞_kl² with a standardised
  or an unnormalised cross-correlation 𝒞;
* :func:`vicreg` — invariance, variance hinge and covariance terms;
* :func:`simsiam`, :func:`byol` — predictor head and stop-gradient on the target;
* :func:`cissl`, :func:`dissl` — Dubois et al. (2022), asymmetric heads.

Example:
    >>> import jax.numpy as jnp
    >>> from landscape.losses import sample
    >>> z1 = jnp.array([[0.0, 0.0], [1.0, 0.0]])
    >>> z2 = jnp.array([[0.0, 0.0], [1.0, 0.0]])
    >>> # anchor 0: u_00 = 0, u_01 = ½; loss = log(e^{-1/2} + 1), same for anchor 1
    >>> round(float(sample.infonce(z1, z2)), 6)
    0.474077
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

if TYPE_CHECKING:  # shapes for the reader and the docs; jaxtyping is not needed at run time
    from jaxtyping import Float

__all__ = [
    "check_views",
    "euclidean_infonce",
    "infonce",
    "weighted_infonce",
    "beta_infonce",
    "nt_xent",
    "spectral_contrastive",
    "barlow_twins",
    "vicreg",
    "simsiam",
    "byol",
    "cissl",
    "dissl",
]

Head = Callable[[jax.Array], jax.Array]


# ------------------------------------------------------------------ validation
def _check_one(z, name: str) -> jax.Array:
    z = jnp.asarray(z) if not isinstance(z, jax.Array) else z
    if z.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array (n, d), got shape {tuple(z.shape)}")
    if not jnp.issubdtype(z.dtype, jnp.floating):
        raise ValueError(f"{name} must have a floating dtype, got {z.dtype}")
    return z


def check_views(
    z1: Float[ArrayLike, "n d"],
    z2: Float[ArrayLike, "n d"],
    *,
    min_batch: int = 1,
    names: tuple[str, str] = ("z1", "z2"),
) -> tuple[Float[jax.Array, "n d"], Float[jax.Array, "n d"]]:
    """Validate two views: 2-D (n, d), equal shapes and dtypes, floating, n ≥ ``min_batch``.

    Works on traced arrays (only static shapes and dtypes are inspected).
    Returns the two arrays.

    >>> check_views(jnp.ones((3, 2)), jnp.ones((3, 1)))
    Traceback (most recent call last):
    ...
    ValueError: z1 and z2 must have the same shape, got (3, 2) and (3, 1)
    """
    a = _check_one(z1, names[0])
    b = _check_one(z2, names[1])
    if a.shape != b.shape:
        raise ValueError(
            f"{names[0]} and {names[1]} must have the same shape, got {tuple(a.shape)} and {tuple(b.shape)}"
        )
    if a.dtype != b.dtype:
        raise ValueError(f"{names[0]} and {names[1]} must have the same dtype, got {a.dtype} and {b.dtype}")
    if a.shape[0] < min_batch:
        raise ValueError(f"{names[0]} must have at least {min_batch} rows (samples), got {a.shape[0]}")
    if a.shape[1] < 1:
        raise ValueError(f"{names[0]} must have at least one feature column, got shape {tuple(a.shape)}")
    return a, b


def _check_mask(mask, n: int) -> jax.Array | None:
    if mask is None:
        return None
    m = jnp.asarray(mask)
    if m.shape != (n,):
        raise ValueError(f"mask must have shape ({n},), got {tuple(m.shape)}")
    return m.astype(bool)


def _sq_dists(a: jax.Array, b: jax.Array) -> jax.Array:
    """‖a_i − b_j‖² for all pairs, as ‖a_i‖² + ‖b_j‖² − 2 a_i·b_j (one matrix product).

    Deliberately not clamped at 0: a clamp max(d, 0) has a tie exactly at W = 0,
    where JAX splits the derivative in half and every Taylor coefficient of the
    loss about the origin would come out wrong.  Rounding can leave an entry
    slightly negative; e^{−u} is unaffected in any practical way.
    """
    return jnp.sum(a * a, axis=1)[:, None] + jnp.sum(b * b, axis=1)[None, :] - 2.0 * (a @ b.T)


def _normalize(z: jax.Array, eps: float = 1e-12) -> jax.Array:
    return z / jnp.sqrt(jnp.maximum(jnp.sum(z * z, axis=-1, keepdims=True), eps))


# ------------------------------------------------------------ Euclidean InfoNCE
def _euclidean_infonce_one_way(z1, z2, alpha, beta, mask):
    n = z1.shape[0]
    u = 0.5 * _sq_dists(z1, z2)  # u[i, j] = ½‖z1_i − z2_j‖²
    eye = jnp.eye(n, dtype=bool)
    pos = jnp.diagonal(u)
    alpha = jnp.asarray(alpha, u.dtype)
    # log-weights: 0 for negatives, log α for the positive (−inf when α = 0)
    log_w = jnp.where(eye, jnp.where(alpha > 0, jnp.log(jnp.where(alpha > 0, alpha, 1.0)), -jnp.inf), 0.0)
    logits = log_w - u
    if mask is not None:
        logits = jnp.where(mask[None, :] | eye, logits, -jnp.inf)
    log_den = jax.nn.logsumexp(logits, axis=1)
    per_anchor = pos + jnp.asarray(beta, u.dtype) * log_den
    if mask is None:
        return jnp.mean(per_anchor)
    w = mask.astype(u.dtype)
    return jnp.sum(jnp.where(mask, per_anchor, 0.0)) / jnp.maximum(jnp.sum(w), 1.0)


def euclidean_infonce(
    z1: Float[ArrayLike, "n d"],
    z2: Float[ArrayLike, "n d"],
    *,
    alpha: float = 1.0,
    beta: float = 1.0,
    mask: ArrayLike | None = None,
    symmetric: bool = False,
) -> Float[jax.Array, ""]:
    r"""Euclidean InfoNCE in its general (α, β) form, mean over anchors.

        ℓ_i = u_ii + β · log( Σ_{j≠i} e^{−u_ij} + α e^{−u_ii} ),   u_ij = ½‖z1_i − z2_j‖²

    Anchor z1_i, positive z2_i, negatives z2_j (j ≠ i, the other samples' second
    views).  ``mask`` (bool, shape (n,)) marks valid samples: masked samples are
    neither anchors nor negatives, so a padded batch behaves like the smaller one.
    ``symmetric=True`` averages this with the loss whose anchors are the second
    views (swap z1 and z2); the one-way loss is not symmetric in the views.
    α ≥ 0 and β may be traced.

    >>> z = jnp.zeros((4, 3))
    >>> round(float(euclidean_infonce(z, z, alpha=0.5)), 6)   # log(3 + 0.5)
    1.252763
    """
    z1, z2 = check_views(z1, z2, min_batch=2)
    mask = _check_mask(mask, z1.shape[0])
    out = _euclidean_infonce_one_way(z1, z2, alpha, beta, mask)
    if symmetric:
        out = 0.5 * (out + _euclidean_infonce_one_way(z2, z1, alpha, beta, mask))
    return out


def infonce(
    z1: Float[ArrayLike, "n d"], z2: Float[ArrayLike, "n d"], *, mask: ArrayLike | None = None, symmetric: bool = False
) -> Float[jax.Array, ""]:
    """InfoNCE with Euclidean similarity (WS Eq. 1, divided by n): α = 1, β = 1.

    >>> z1 = jnp.array([[1.0], [0.0]]); z2 = jnp.array([[1.0], [0.0]])
    >>> round(float(infonce(z1, z2)), 6)   # log(1 + e^{-1/2})
    0.474077
    """
    return euclidean_infonce(z1, z2, alpha=1.0, beta=1.0, mask=mask, symmetric=symmetric)


def weighted_infonce(
    z1: Float[ArrayLike, "n d"],
    z2: Float[ArrayLike, "n d"],
    alpha: float,
    *,
    mask: ArrayLike | None = None,
    symmetric: bool = False,
) -> Float[jax.Array, ""]:
    """Weighted InfoNCE (WS Eq. 3): the positive's denominator term times α ≥ 0.

    >>> z = jnp.zeros((5, 2))
    >>> round(float(weighted_infonce(z, z, 0.1)), 6)   # log(4.1)
    1.410987
    """
    return euclidean_infonce(z1, z2, alpha=alpha, beta=1.0, mask=mask, symmetric=symmetric)


def beta_infonce(
    z1: Float[ArrayLike, "n d"],
    z2: Float[ArrayLike, "n d"],
    beta: float,
    *,
    mask: ArrayLike | None = None,
    symmetric: bool = False,
) -> Float[jax.Array, ""]:
    """β-InfoNCE read as in spec §2.2 L4: β weights the log-denominator, α = 1.

        ℓ_i = u_ii + β · log Σ_j e^{−u_ij}

    >>> z1 = jnp.array([[1.0], [0.0]]); z2 = jnp.array([[1.0], [0.0]])
    >>> round(float(beta_infonce(z1, z2, 0.5)), 6)   # ½ log(1 + e^{-1/2})
    0.237038
    """
    return euclidean_infonce(z1, z2, alpha=1.0, beta=beta, mask=mask, symmetric=symmetric)


# ------------------------------------------------------------------- NT-Xent
def nt_xent(
    z1: Float[ArrayLike, "n d"], z2: Float[ArrayLike, "n d"], *, temperature: float = 0.5
) -> Float[jax.Array, ""]:
    r"""NT-Xent of SimCLR on 2n views with cosine similarity and temperature τ.

    Stack the views, v = [z1; z2] (2n rows), s_ab = cos(v_a, v_b)/τ.  For every
    anchor a its positive is the other view of the same sample, and the
    denominator runs over all 2n − 1 views other than a itself:

        ℓ_a = −s_{a,p(a)} + log Σ_{b≠a} e^{s_ab},   loss = mean over the 2n anchors.

    It is symmetric in the views and invariant to rescaling each row.

    >>> z1 = jnp.array([[1.0, 0.0], [0.0, 1.0]]); z2 = z1
    >>> # anchor: s_pos = 2, others: two at cos 0 → log(e² + 2) − 2
    >>> round(float(nt_xent(z1, z2, temperature=0.5)), 6)
    0.239545
    """
    z1, z2 = check_views(z1, z2, min_batch=1)
    n = z1.shape[0]
    v = _normalize(jnp.concatenate([z1, z2], axis=0))
    s = (v @ v.T) / jnp.asarray(temperature, v.dtype)
    eye = jnp.eye(2 * n, dtype=bool)
    partner = jnp.concatenate([jnp.arange(n, 2 * n), jnp.arange(0, n)])
    s_pos = s[jnp.arange(2 * n), partner]
    log_den = jax.nn.logsumexp(jnp.where(eye, -jnp.inf, s), axis=1)
    return jnp.mean(log_den - s_pos)


# -------------------------------------------------------- spectral contrastive
def spectral_contrastive(z1: Float[ArrayLike, "n d"], z2: Float[ArrayLike, "n d"]) -> Float[jax.Array, ""]:
    r"""Spectral contrastive loss (HaoChen et al. 2021; WS Eq. 10 without the constraint).

        L = −2 mean_i z1_i·z2_i + mean_{i≠j} (z1_i·z2_j)²

    Negative pairs are (z1_i, z2_j) for j ≠ i, i.e. independent samples.  The
    loss is symmetric in the views.

    >>> z1 = jnp.array([[1.0, 0.0], [0.0, 1.0]])
    >>> round(float(spectral_contrastive(z1, z1)), 6)   # −2 + 0
    -2.0
    """
    z1, z2 = check_views(z1, z2, min_batch=2)
    n = z1.shape[0]
    g = z1 @ z2.T
    pos = jnp.mean(jnp.diagonal(g))
    off = ~jnp.eye(n, dtype=bool)
    neg = jnp.sum(jnp.where(off, g * g, 0.0)) / (n * (n - 1))
    return -2.0 * pos + neg


# ---------------------------------------------------------------- Barlow Twins
def barlow_twins(
    z1: Float[ArrayLike, "n d"],
    z2: Float[ArrayLike, "n d"],
    *,
    lambda_offdiag: float = 5e-3,
    normalize: str = "standardize",
    eps: float = 1e-5,
) -> Float[jax.Array, ""]:
    r"""Barlow Twins: Σ_k (1 − 𝒞_kk)² + λ_offdiag Σ_{k≠l} 𝒞_kl².

    ``normalize="standardize"`` (standard BT, Zbontar et al. 2021): every feature
    is centred and divided by its batch standard deviation (biased variance plus
    ``eps``, i.e. a batch norm without affine parameters), and
    𝒞 = z̃1ᵀ z̃2 / n is the cross-correlation matrix.  This loss is invariant to
    rescaling W (for variances ≫ eps), so it has no expansion about W = 0.

    ``normalize="none"``: 𝒞 = z1ᵀ z2 / n, the raw (uncentred) cross moment.  With
    a linear model this is the variant that has the expansion
    −2 Tr[W E(x x′ᵀ) Wᵀ] + O(W⁴) analysed in the expansion table.

    The loss is symmetric in the views (𝒞 → 𝒞ᵀ).

    >>> z = jnp.array([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0], [0.0, -1.0]])
    >>> round(float(barlow_twins(z, z, normalize="none")), 6)   # 𝒞 = ½ I
    0.5
    """
    z1, z2 = check_views(z1, z2, min_batch=2)
    n = z1.shape[0]
    if normalize == "standardize":

        def std(z):
            zc = z - jnp.mean(z, axis=0, keepdims=True)
            return zc / jnp.sqrt(jnp.mean(zc * zc, axis=0, keepdims=True) + eps)

        a, b = std(z1), std(z2)
    elif normalize == "none":
        a, b = z1, z2
    else:
        raise ValueError(f"normalize must be 'standardize' or 'none', got {normalize!r}")
    cc = (a.T @ b) / n
    diag = jnp.diagonal(cc)
    off = ~jnp.eye(cc.shape[0], dtype=bool)
    return jnp.sum((1.0 - diag) ** 2) + jnp.asarray(lambda_offdiag, cc.dtype) * jnp.sum(jnp.where(off, cc * cc, 0.0))


# --------------------------------------------------------------------- VICReg
def vicreg(
    z1: Float[ArrayLike, "n d"],
    z2: Float[ArrayLike, "n d"],
    *,
    inv_weight: float = 25.0,
    var_weight: float = 25.0,
    cov_weight: float = 1.0,
    gamma: float = 1.0,
    eps: float = 1e-4,
) -> Float[jax.Array, ""]:
    r"""VICReg (Bardes et al. 2021) with the reference implementation's normalisations.

        L = λ_inv · (1/(n d)) Σ_i ‖z1_i − z2_i‖²
          + λ_var · ½ Σ_{v=1,2} (1/d) Σ_k max(0, γ − √(Var_k(z_v) + ε))
          + λ_cov · Σ_{v=1,2} (1/d) Σ_{k≠l} Cov_kl(z_v)²

    Var and Cov use the unbiased (n − 1) batch estimates.  Note the invariance
    term is a mean over features too, so λ_inv here is d times the λ_inv of
    ``λ_inv·E‖f(x) − f(x′)‖²`` in the effective table (equal when d = 1).
    Symmetric in the views.

    >>> z = jnp.array([[1.0], [-1.0]])   # unbiased variance 2, √(2 + ε) > 1: no hinge
    >>> round(float(vicreg(z, z)), 6)
    0.0
    """
    z1, z2 = check_views(z1, z2, min_batch=2)
    n, d = z1.shape
    inv = jnp.mean(jnp.sum((z1 - z2) ** 2, axis=1)) / d

    def var_cov(z):
        zc = z - jnp.mean(z, axis=0, keepdims=True)
        cov = (zc.T @ zc) / (n - 1)
        std = jnp.sqrt(jnp.diagonal(cov) + eps)
        v = jnp.mean(jax.nn.relu(gamma - std))
        off = ~jnp.eye(d, dtype=bool)
        c = jnp.sum(jnp.where(off, cov * cov, 0.0)) / d
        return v, c

    v1, c1 = var_cov(z1)
    v2, c2 = var_cov(z2)
    return inv_weight * inv + var_weight * 0.5 * (v1 + v2) + cov_weight * (c1 + c2)


# --------------------------------------------------------------- SimSiam, BYOL
def _neg_cosine(p: jax.Array, z: jax.Array) -> jax.Array:
    return -jnp.mean(jnp.sum(_normalize(p) * _normalize(z), axis=1))


def simsiam(
    z1: Float[ArrayLike, "n d"], z2: Float[ArrayLike, "n d"], predictor: Head, *, stop_gradient: bool = True
) -> Float[jax.Array, ""]:
    r"""SimSiam (Chen & He 2021): symmetric negative cosine with a predictor h.

        L = ½ D(h(z1), sg(z2)) + ½ D(h(z2), sg(z1)),   D(p, z) = −mean_i cos(p_i, z_i)

    sg = ``jax.lax.stop_gradient``: no gradient flows through the target branch.
    ``stop_gradient=False`` removes it (for comparison; that variant collapses).

    >>> z = jnp.array([[1.0, 0.0], [0.0, 2.0]])
    >>> round(float(simsiam(z, z, lambda p: p)), 6)
    -1.0
    """
    z1, z2 = check_views(z1, z2)
    sg = jax.lax.stop_gradient if stop_gradient else (lambda x: x)
    p1, p2 = predictor(z1), predictor(z2)
    _check_one(p1, "predictor(z1)")
    if p1.shape != z1.shape:
        raise ValueError(f"predictor must map (n, d) to (n, d); got {tuple(p1.shape)} from {tuple(z1.shape)}")
    return 0.5 * _neg_cosine(p1, sg(z2)) + 0.5 * _neg_cosine(p2, sg(z1))


def byol(
    z1: Float[ArrayLike, "n d"],
    z2: Float[ArrayLike, "n d"],
    predictor: Head,
    *,
    target1: Float[ArrayLike, "n d"] | None = None,
    target2: Float[ArrayLike, "n d"] | None = None,
    stop_gradient: bool = True,
) -> Float[jax.Array, ""]:
    r"""BYOL (Grill et al. 2020): normalised squared error to a stop-gradient target.

        L = mean_i ‖p̄1_i − t̄2_i‖² + mean_i ‖p̄2_i − t̄1_i‖²,   p_v = h(z_v), t_v = sg(target_v)

    (x̄ = x/‖x‖, so each term is 2 − 2 cos).  ``target1``/``target2`` are the
    target network's outputs for the two views; by default the online outputs
    z1, z2 themselves (a target network with EMA decay 0).

    >>> z = jnp.array([[1.0, 0.0], [0.0, 2.0]])
    >>> round(float(byol(z, z, lambda p: p)), 6)
    0.0
    """
    z1, z2 = check_views(z1, z2)
    t1 = z1 if target1 is None else target1
    t2 = z2 if target2 is None else target2
    t1, t2 = check_views(t1, t2, names=("target1", "target2"))
    sg = jax.lax.stop_gradient if stop_gradient else (lambda x: x)
    p1, p2 = predictor(z1), predictor(z2)
    if p1.shape != t2.shape:
        raise ValueError(f"predictor outputs {tuple(p1.shape)} but targets are {tuple(t2.shape)}")

    def nmse(p, t):
        return jnp.mean(jnp.sum((_normalize(p) - _normalize(sg(t))) ** 2, axis=1))

    return nmse(p1, t2) + nmse(p2, t1)


# ----------------------------------------------------------------- CISSL, DISSL
def cissl(
    z1: Float[ArrayLike, "n d"],
    z2: Float[ArrayLike, "n d"],
    student_head: Head,
    teacher_head: Head,
    *,
    temperature: float = 0.07,
) -> Float[jax.Array, ""]:
    r"""CISSL (Dubois et al. 2022): contrastive loss with asymmetric heads, self-contrastive target.

    Stack the views v = [z1; z2] (2n rows); students s_a = h_s(v_a), teachers
    t_b = h_t(v_b) and logits ℓ_ab = cos(s_a, t_b)/τ over *all* 2n columns (the
    anchor's own teacher column included).  With q_a = softmax_b(ℓ_ab):

        L = mean_a −½ (log q_{a,a} + log q_{a,p(a)}),

    p(a) the other view of the same sample.  No stop-gradient; symmetric in the
    views.  Lower bound log 2, reached when both targets share all the mass.

    >>> z = jnp.eye(2)
    >>> float(cissl(z, z, lambda x: x, lambda x: x, temperature=1e-3)) > 0.6931
    True
    """
    z1, z2 = check_views(z1, z2)
    n = z1.shape[0]
    v = jnp.concatenate([z1, z2], axis=0)
    s = _normalize(student_head(v))
    t = _normalize(teacher_head(v))
    if s.shape[1] != t.shape[1]:
        raise ValueError(
            f"student_head and teacher_head must have the same output width, got {s.shape[1]} and {t.shape[1]}"
        )
    logits = (s @ t.T) / jnp.asarray(temperature, s.dtype)
    logq = jax.nn.log_softmax(logits, axis=1)
    idx = jnp.arange(2 * n)
    partner = jnp.concatenate([jnp.arange(n, 2 * n), jnp.arange(0, n)])
    return jnp.mean(-0.5 * (logq[idx, idx] + logq[idx, partner]))


def _entropy(p: jax.Array, axis=-1) -> jax.Array:
    return -jnp.sum(jnp.where(p > 0, p * jnp.log(jnp.where(p > 0, p, 1.0)), 0.0), axis=axis)


def dissl(
    z1: Float[ArrayLike, "n d"],
    z2: Float[ArrayLike, "n d"],
    student_head: Head,
    teacher_head: Head,
    *,
    lambda_maximality: float = 2.3,
    beta_determinism: float = 0.8,
    teacher_temperature: float = 0.5,
    student_temperature: float = 1.0,
) -> Float[jax.Array, ""]:
    r"""DISSL (Dubois et al. 2022): distil a maximal, deterministic, invariant teacher.

    Teacher t(·|z) = softmax(h_t(z)/τ_t), student s(·|z) = softmax(h_s(z)/τ_s)
    over C pseudo-classes.  For the ordered pair of views (z, z̃):

        L(z, z̃) = mean_i CE(t_i, s̃_i) − λ · H(mean_i t_i) + β · mean_i CE(t_i, t̃_i),

    CE(p, q) = −Σ_m p_m log q_m, H the entropy.  The loss is the average of
    L(z1, z2) and L(z2, z1).  The teacher is not detached.  With an invariant
    teacher equal to the student it equals (1 + β)·mean_i H(t_i) − λ H(mean_i t_i).

    >>> z = jnp.eye(4) * 50.0   # 4 samples, deterministic and distinct pseudo-classes
    >>> round(float(dissl(z, z, lambda x: x, lambda x: x)), 4)   # −λ log 4
    -3.1885
    """
    z1, z2 = check_views(z1, z2)
    lt1 = jax.nn.log_softmax(teacher_head(z1) / teacher_temperature, axis=1)
    lt2 = jax.nn.log_softmax(teacher_head(z2) / teacher_temperature, axis=1)
    ls1 = jax.nn.log_softmax(student_head(z1) / student_temperature, axis=1)
    ls2 = jax.nn.log_softmax(student_head(z2) / student_temperature, axis=1)
    if lt1.shape != ls1.shape:
        raise ValueError(
            f"student_head and teacher_head must have the same output shape, "
            f"got {tuple(ls1.shape)} and {tuple(lt1.shape)}"
        )

    def one(lt, ls_other, lt_other):
        t = jnp.exp(lt)
        distil = jnp.mean(-jnp.sum(t * ls_other, axis=1))
        maximal = _entropy(jnp.mean(t, axis=0))
        determ = jnp.mean(-jnp.sum(t * lt_other, axis=1))
        return distil - lambda_maximality * maximal + beta_determinism * determ

    return 0.5 * (one(lt1, ls2, lt2) + one(lt2, ls1, lt1))
