r"""The per-batch DISSL landscape (spec T4): the loss, its closed-form optimum, and descent on free logits.

With samples spread uniformly over g of C pseudo-classes in a batch of B,
L(g) = (1 + β) log g − λ log min(B·g, C), optimal at g* = C/B when λ > 1 + β.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import jax
import jax.numpy as jnp
import numpy.typing as npt
from jax.typing import ArrayLike

from landscape.studies.plain_descent import sgd_descent

if TYPE_CHECKING:  # shapes for the reader; jaxtyping is not needed at run time
    from jax.typing import DTypeLike
    from jaxtyping import Float

__all__ = ["dissl_spread_loss", "spread_distribution", "dissl_batch_loss", "dissl_optimal_spread", "dissl_descend"]


def dissl_spread_loss(
    g: npt.ArrayLike,
    lam: ArrayLike,
    beta: ArrayLike,
    batch: ArrayLike,
    n_classes: ArrayLike,
    *,
    marginal: npt.ArrayLike | None = None,
) -> jax.Array:
    r"""Per-batch DISSL loss of an invariant teacher copied by its student, spread over g classes.

    Every sample's teacher is uniform over g of the C pseudo-classes and the
    batch marginal is uniform over K classes, so mean H(t_i) = log g and
    H(mean t) = log K:

        L = (1 + β) log g − λ log K,    K = min(B·g, C) by default (disjoint groups).

    ``marginal`` overrides K (g ≤ K ≤ min(B·g, C)); K = g is the collapsed
    batch where all samples share the same g classes.  Deterministic distinct
    classes (g = 1) give −λ log B; uniform (g = C) gives (1 + β − λ) log C;
    complete collapse (g = K = 1) gives 0.  Broadcasts; ``jit``/``vmap``-able.

    >>> round(float(dissl_spread_loss(64, 2.3, 0.8, 256, 16384)), 3)
    -14.833
    """
    g = jnp.asarray(g, jnp.result_type(float))
    k = jnp.minimum(batch * g, n_classes) if marginal is None else jnp.asarray(marginal, g.dtype)
    return jnp.asarray((1.0 + beta) * jnp.log(g) - lam * jnp.log(k))


def spread_distribution(batch: int, n_classes: int, g: int, dtype: DTypeLike | None = None) -> Float[jax.Array, "b c"]:
    r"""B×C teacher probabilities: sample i uniform over classes {(i·g + j) mod C : j < g}.

    The batch marginal is uniform over min(B·g, C) classes when B·g ≤ C or when
    C divides B·g (as for powers of two).

    >>> spread_distribution(2, 4, 2).tolist()
    [[0.5, 0.5, 0.0, 0.0], [0.0, 0.0, 0.5, 0.5]]
    """
    b, c, g = int(batch), int(n_classes), int(g)
    if not (b >= 1 and 1 <= g <= c):
        raise ValueError(f"need batch >= 1 and 1 <= g <= n_classes, got batch={b}, g={g}, n_classes={c}")
    dtype = dtype or jnp.result_type(float)
    cols = (jnp.arange(b)[:, None] * g + jnp.arange(g)[None, :]) % c
    out = jnp.zeros((b, c), dtype)
    return out.at[jnp.arange(b)[:, None], cols].set(1.0 / g)


def _entropy(p: jax.Array, axis: int = -1) -> jax.Array:
    safe = jnp.where(p > 0, p, 1.0)
    return -jnp.sum(jnp.where(p > 0, p * jnp.log(safe), 0.0), axis=axis)


def _cross_entropy(p: jax.Array, log_q: jax.Array) -> jax.Array:
    return -jnp.sum(jnp.where(p > 0, p * log_q, 0.0), axis=-1)


def dissl_batch_loss(
    teacher1: Float[npt.ArrayLike, "b c"],
    teacher2: Float[npt.ArrayLike, "b c"],
    student1: Float[npt.ArrayLike, "b c"] | None = None,
    student2: Float[npt.ArrayLike, "b c"] | None = None,
    *,
    lam: Any = 2.3,
    beta: Any = 0.8,
) -> jax.Array:
    r"""The DISSL batch loss from probability tables (B×C), symmetrised over the two views.

    For the ordered pair (view a, view b):

        L_ab = mean_i CE(t_a,i, s_b,i) − λ H(mean_i t_a,i) + β mean_i CE(t_a,i, t_b,i),

    CE(p, q) = −Σ_m p_m log q_m, and the loss is ½(L_12 + L_21).  Students
    default to the teachers (a student that copies its teacher).  With an
    invariant teacher (t1 = t2) equal to the student this is
    (1 + β) mean_i H(t_i) − λ H(mean_i t_i) (check D9).  Probabilities may
    contain exact zeros (0 log 0 = 0).

    >>> import jax.numpy as jnp
    >>> t = spread_distribution(4, 8, 2)
    >>> round(float(dissl_batch_loss(t, t)), 6) == round(float(dissl_spread_loss(2, 2.3, 0.8, 4, 8)), 6)
    True
    """
    t1 = jnp.asarray(teacher1)
    t2 = jnp.asarray(teacher2)
    s1 = t1 if student1 is None else jnp.asarray(student1)
    s2 = t2 if student2 is None else jnp.asarray(student2)
    if not (t1.shape == t2.shape == s1.shape == s2.shape) or t1.ndim != 2:
        raise ValueError(
            f"teacher1, teacher2, student1, student2 must be B×C tables of one shape, got "
            f"{t1.shape}, {t2.shape}, {s1.shape}, {s2.shape}"
        )

    def log(p):
        return jnp.log(jnp.where(p > 0, p, 1.0)) + jnp.where(p > 0, 0.0, -jnp.inf)

    def one(ta, sb, tb):
        distil = jnp.mean(_cross_entropy(ta, log(sb)))
        maximal = _entropy(jnp.mean(ta, axis=0))
        determ = jnp.mean(_cross_entropy(ta, log(tb)))
        return distil - lam * maximal + beta * determ

    return 0.5 * (one(t1, s2, t2) + one(t2, s1, t1))


def dissl_optimal_spread(
    lam: npt.ArrayLike, beta: npt.ArrayLike, batch: npt.ArrayLike, n_classes: npt.ArrayLike
) -> tuple[jax.Array, jax.Array, jax.Array]:
    r"""(g*, K*, L*): the per-batch optimum of the DISSL loss over all invariant, student-copied teachers.

    Since H(mean t) ≤ min(mean H(t_i) + log B, log C), with h̄ = mean H(t_i):

    * λ < 0: collapse, every sample on the same class — g* = K* = 1, L* = 0;
    * 0 ≤ λ ≤ 1 + β (or C ≤ B): deterministic and distinct — g* = 1,
      K* = min(B, C), L* = −λ log K*;
    * λ > 1 + β and C > B: soft — g* = C/B, K* = C,
      L* = (1 + β) log(C/B) − λ log C.

    The bound is attained by :func:`spread_distribution`, so these are global
    minima of the batch loss (not only of the g-family).  Broadcasts.

    >>> [float(v) for v in dissl_optimal_spread(2.3, 0.8, 256, 16384)[:2]]
    [64.0, 16384.0]
    """
    lam = jnp.asarray(lam, jnp.result_type(float))
    beta = jnp.asarray(beta, lam.dtype)
    lam, beta = jnp.broadcast_arrays(lam, beta)
    b = jnp.asarray(batch, lam.dtype)
    c = jnp.asarray(n_classes, lam.dtype)
    soft = (lam > 1.0 + beta) & (c > b)
    collapse = lam < 0
    g = jnp.where(soft, c / b, 1.0)
    k = jnp.where(collapse, 1.0, jnp.where(soft, c, jnp.minimum(b, c)))
    loss = (1.0 + beta) * jnp.log(g) - lam * jnp.log(k)
    return g, k, loss


def dissl_descend(
    key: jax.Array,
    batch: int,
    n_classes: int,
    lam: Any,
    beta: Any,
    *,
    steps: int = 3000,
    lr: float = 0.5,
    init_scale: float = 1.0,
) -> tuple[jax.Array, jax.Array, jax.Array]:
    r"""Minimise the per-batch DISSL loss over free teacher logits (invariant teacher, student = teacher).

    An independent route to :func:`dissl_optimal_spread`: gradient descent on
    the B×C logits of (1 + β) mean_i H(t_i) − λ H(mean_i t_i), the loss with
    t1 = t2 = s1 = s2 (:func:`dissl_batch_loss`).  Returns (final loss,
    exp(mean per-sample entropy) ≈ g*, exp(marginal entropy) ≈ K*).

    In the deterministic phase (λ < 1 + β) descent reaches the optimum g* = 1,
    K* = B.  In the soft phase it reaches soft assignments (g > 1) but can stall
    with some pseudo-classes unused (their logits sink and their gradients
    vanish), at a loss above L*: the free-logit landscape has such spurious
    minima, the per-batch optimum of :func:`dissl_optimal_spread` is their
    lower bound.

    >>> import jax
    >>> loss, g, k = dissl_descend(jax.random.PRNGKey(0), 4, 16, 1.0, 0.8)
    >>> round(float(g), 2), round(float(k), 2)        # deterministic: g* = 1, K* = B = 4
    (1.0, 4.0)
    """
    b, c = int(batch), int(n_classes)
    dtype = jnp.result_type(float)
    logits = jax.random.normal(key, (b, c), dtype) * jnp.asarray(init_scale, dtype)
    lam = jnp.asarray(lam, dtype)
    beta = jnp.asarray(beta, dtype)

    def objective(z):
        logp = jax.nn.log_softmax(z, axis=1)
        p = jnp.exp(logp)
        per_sample = -jnp.sum(p * logp, axis=1)
        return (1.0 + beta) * jnp.mean(per_sample) - lam * _entropy(jnp.mean(p, axis=0))

    grad = jax.grad(objective)
    eta = jnp.asarray(lr, dtype)
    logits, _, _, _ = sgd_descent(grad, logits, eta * b, steps=int(steps))
    logp = jax.nn.log_softmax(logits, axis=1)
    p = jnp.exp(logp)
    h_bar = jnp.mean(-jnp.sum(p * logp, axis=1))
    return objective(logits), jnp.exp(h_bar), jnp.exp(_entropy(jnp.mean(p, axis=0)))
