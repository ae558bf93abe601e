r"""Escape from a small initialization, collapse, and the order of learning, in closed form.

On an aligned problem (:mod:`landscape.theory.exact_flow`) each direction follows
dλ/dt = rλ − cλ² with r = 4m (m = b − γ) and c = 8ks².  The time to go from λ₀
to a level ℓ is the integral ∫ dλ/(rλ − cλ²):

    t(ℓ) = [ln(ℓ/λ₀) − ln((r − cℓ)/(r − cλ₀))] / r,     t(ℓ) = (1/ℓ − 1/λ₀)/c at r = 0,

finite when ℓ lies between λ₀ and the limit λ∞ (λ* = r/c = m/(2ks²) for m > 0
and λ₀ > 0, else 0), infinite otherwise.

* **Escape time** (:func:`escape_times`): the time to reach a fraction f of λ*
  (default ½).  At f = ½ it is ln(λ*/λ₀ − 1)/(4m); as λ₀ → 0 it approaches
  the small-initialization law (:func:`escape_time_asymptotic`)

      τ ≈ ln(λ*/λ₀) / (4m),

  so with W₀ = ε·W̃ (λ₀ = ε²λ̃₀), τ ≈ ln(1/ε)/(2m) + O(1): directions are
  learned one after another in decreasing order of m = b − γ (stepwise
  learning), whatever their s, and the gaps between steps grow like ln(1/ε).
* **Collapse time** (:func:`collapse_times`): for a dying direction (m ≤ 0), the
  time to fall to a fraction f of λ₀: ln(1/f)/(4|m|) + O(λ₀) for m < 0
  (exponential decay), (1/f − 1)/(8ks²λ₀) at m = 0 (algebraic decay).
* :func:`learning_order`: the directions sorted by escape time (never-escaping last).

All functions broadcast; the last axis runs over directions where it matters.

Example (m = 2, s = 1, k = 1, λ₀ = 1e-4: λ* = 1, exact ln(9999)/8 against ln(10⁴)/8):
    >>> import jax.numpy as jnp
    >>> round(float(escape_times(1e-4, 2.0, 1.0, 1.0)), 6), round(float(escape_time_asymptotic(1e-4, 2.0, 1.0, 1.0)), 6)
    (1.15128, 1.151293)
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from landscape.core.effective_landscape import EffectiveLandscape
from landscape.theory.exact_flow import aligned_directions

__all__ = [
    "level_time",
    "escape_times",
    "escape_time_asymptotic",
    "collapse_times",
    "learning_order",
    "DirectionEvents",
    "direction_events",
    "check_fraction",
]


def _limit(gram0: jax.Array, rate: jax.Array, sigma: jax.Array, quartic: jax.Array) -> jax.Array:
    """λ∞ = m/(2ks²) for m > 0 and λ₀ > 0, else 0."""
    return jnp.where((rate > 0) & (gram0 > 0), rate / (2.0 * quartic * sigma * sigma), 0.0)


def level_time(gram0: Any, rate: Any, sigma: Any, quartic: Any, level: Any) -> jax.Array:
    """First time λ(t) equals ``level``: 0 at λ₀ = level, inf when the level is never reached."""
    gram0, rate, sigma, quartic, level = jnp.broadcast_arrays(
        *(jnp.asarray(v, jnp.result_type(float, v)) for v in (gram0, rate, sigma, quartic, level))
    )
    r = 4.0 * rate
    c = 8.0 * quartic * sigma * sigma
    lim = _limit(gram0, rate, sigma, quartic)
    lo, hi = jnp.minimum(gram0, lim), jnp.maximum(gram0, lim)
    reached = (level > lo) & (level < hi) & (gram0 > 0)
    g0 = jnp.where(reached, gram0, 1.0)
    lv = jnp.where(reached, level, 1.0)
    # t = ln(1 + x)/r with x = r·y, y = (ℓ − λ₀)/(λ₀(r − cℓ)); written as y·ln(1 + x)/x, which
    # stays exact as r → 0 (where it becomes the algebraic (1/ℓ − 1/λ₀)/c) and for |r| of rounding size.
    den = jnp.where(reached, g0 * (r - c * lv), 1.0)
    y = (lv - g0) / den
    x = r * y
    small = jnp.abs(x) < 1e-6
    ratio = jnp.where(small, 1.0 - x / 2.0 + x * x / 3.0, jnp.log1p(x) / jnp.where(small, 1.0, x))
    t = y * ratio
    return jnp.where(level == gram0, 0.0, jnp.where(reached, t, jnp.inf))


def escape_times(gram0: Any, rate: Any, sigma: Any, quartic: Any, fraction: float = 0.5) -> jax.Array:
    """Time for λ to reach ``fraction``·λ* (λ* = m/(2ks²)); 0 if it starts above, inf if m ≤ 0 or λ₀ = 0."""
    gram0 = jnp.asarray(gram0, jnp.result_type(float, gram0))
    lim = _limit(gram0, jnp.asarray(rate), jnp.asarray(sigma), jnp.asarray(quartic))
    target = fraction * lim
    t = level_time(gram0, rate, sigma, quartic, target)
    return jnp.where(lim > 0, jnp.where(gram0 >= target, 0.0, t), jnp.inf)


def escape_time_asymptotic(gram0: Any, rate: Any, sigma: Any, quartic: Any) -> jax.Array:
    """τ ≈ ln(λ*/λ₀)/(4m), the small-initialization escape time (inf where m ≤ 0 or λ₀ = 0)."""
    gram0 = jnp.asarray(gram0, jnp.result_type(float, gram0))
    rate = jnp.asarray(rate, gram0.dtype)
    lim = _limit(gram0, rate, jnp.asarray(sigma), jnp.asarray(quartic))
    ok = lim > 0
    return jnp.where(ok, jnp.log(jnp.where(ok, lim / gram0, 1.0)) / (4.0 * jnp.where(ok, rate, 1.0)), jnp.inf)


def collapse_times(gram0: Any, rate: Any, sigma: Any, quartic: Any, fraction: float = 0.5) -> jax.Array:
    """Time for a dying direction (m ≤ 0, λ₀ > 0) to fall to ``fraction``·λ₀; inf for the others."""
    gram0 = jnp.asarray(gram0, jnp.result_type(float, gram0))
    dying = (jnp.asarray(rate) <= 0) & (gram0 > 0)
    t = level_time(gram0, rate, sigma, quartic, fraction * gram0)
    return jnp.where(dying, t, jnp.inf)


def learning_order(times: Any) -> jax.Array:
    """Indices of the directions sorted by escape time (stable; never-escaping ones last)."""
    return jnp.argsort(jnp.asarray(times), axis=-1, stable=True)


class DirectionEvents(NamedTuple):
    """Per-direction events of an aligned flow (in the order of ``aligned_directions``).

    Attributes:
        rate, sigma, gram0: m_i = b_i − γ, s_i and λ_i(0).
        limit: λ_i(∞).
        escape_times: time to reach ``fraction``·λ*_i (inf if never).
        escape_asymptotic: ln(λ*_i/λ_i(0))/(4m_i).
        collapse_times: time for a dying direction to fall to ``fraction``·λ_i(0).
        order: directions by escape time.
    """

    rate: jax.Array
    sigma: jax.Array
    gram0: jax.Array
    limit: jax.Array
    escape_times: jax.Array
    escape_asymptotic: jax.Array
    collapse_times: jax.Array
    order: jax.Array


def check_fraction(fraction: Any) -> float:
    """The event level ``fraction`` as a float in (0, 1), or ValueError naming it."""
    if not 0.0 < float(fraction) < 1.0:
        raise ValueError(f"fraction must be in (0, 1), got {fraction}")
    return float(fraction)


def direction_events(landscape: EffectiveLandscape, w0: Any, fraction: float = 0.5) -> DirectionEvents:
    """Escape and collapse times of every direction of an aligned (landscape, W₀); ValueError if not aligned."""
    fraction = check_fraction(fraction)
    d = aligned_directions(landscape, w0)
    esc = escape_times(d.gram0, d.rate, d.sigma, d.quartic, fraction)
    return DirectionEvents(
        rate=d.rate,
        sigma=d.sigma,
        gram0=d.gram0,
        limit=_limit(d.gram0, d.rate, d.sigma, d.quartic),
        escape_times=esc,
        escape_asymptotic=escape_time_asymptotic(d.gram0, d.rate, d.sigma, d.quartic),
        collapse_times=collapse_times(d.gram0, d.rate, d.sigma, d.quartic, fraction),
        order=learning_order(esc),
    )
