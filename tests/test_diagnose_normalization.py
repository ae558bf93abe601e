"""landscape.diagnose with normalization: closed forms, gradient descent, thresholds, the κ → ∞ limit, bad options."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import landscape as ls
from landscape.diagnosis import compare, diagnose_from_moments, init, update
from landscape.diagnosis.normalized import Normalization
from landscape.diagnosis.predict import diagnose

D = 3
ROT = np.linalg.qr(np.random.default_rng(1).normal(size=(D, D)))[0]
A0 = ROT @ np.diag([4.0, 1.0, 0.25]) @ ROT.T
C = np.array([[0.5, 0.1, 0.0], [0.1, 0.3, 0.05], [0.0, 0.05, 0.2]])  # does not commute with A0
C_COMMUTING = ROT @ np.diag([0.2, 0.5, 0.1]) @ ROT.T  # commutes with A0, neither is diagonal
BETA: dict[str, Any] = {"beta": 0.5}


def exact_views(a0: np.ndarray, c: np.ndarray, n: int = 40) -> tuple[np.ndarray, np.ndarray]:
    """Views whose estimates are exactly (a0, c): x̂, ε₁, ε₂ from mutually orthogonal centred columns."""
    z = np.random.default_rng(2).normal(size=(n, 3 * D))
    q = np.linalg.qr(z - z.mean(axis=0))[0] * np.sqrt(n - 1)
    x = q[:, :D] @ np.linalg.cholesky(a0).T
    lc = np.linalg.cholesky(c)
    return x + q[:, D : 2 * D] @ lc.T, x + q[:, 2 * D :] @ lc.T


def theory(a0, c, loss, gamma, norm: Normalization, params) -> tuple[int, np.ndarray]:
    """(rank, kept directions as columns) of the global minimum, by enumerating the stationary points.

    κ = inf is taken as κ = 1e12 (the enumeration solves WS Prop. 3 per mask; t differs from its limit by ~1e-12).
    """
    land = ls.effective_landscape(ls.Problem.from_arrays(a0, c), loss, weight_decay=gamma, **params)
    nl = ls.normalized_landscape(land, 1e12 if norm.hard else norm.kappa, norm.norm_target)
    sol = ls.normalized_global_minimum_exact(nl, D)
    return int(sol.rank), np.asarray(sol.directions)[:, np.asarray(sol.kept)]


def is_kept(direction, columns) -> bool:
    return bool(columns.size) and float(np.max(np.abs(direction @ columns))) > 1 - 1e-6


CASES = [  # each one where normalization changes the rank (checked in the test)
    ("infonce", 0.2, Normalization(1.0, 0.3), {}),  # normalization-induced collapse
    ("infonce", 0.4, Normalization(math.inf, 1.0), {}),  # a direction with b_i < γ survives
    ("beta-infonce", 0.2, Normalization(10.0, 0.3), BETA),
    ("beta-infonce", 0.4, Normalization(1.0, 3.0), BETA),
]


@pytest.mark.parametrize(("loss", "gamma", "norm", "params"), CASES)
def test_kept_and_rank_match_the_enumerated_global_minimum(loss, gamma, norm, params) -> None:
    res = diagnose(*exact_views(A0, C), loss=loss, weight_decay=gamma, normalization=norm, **params)
    np.testing.assert_allclose(np.asarray(res.data_cov), A0, atol=1e-12)
    rank, kept_dirs = theory(A0, C, loss, gamma, norm, params)
    land = ls.effective_landscape(ls.Problem.from_arrays(A0, C), loss, weight_decay=gamma, **params)
    assert res.predicted_rank == rank != int(ls.predicted_rank(land, D))  # normalization changes the rank
    assert [is_kept(v, kept_dirs) for v in np.asarray(res.directions).T] == list(res.kept)
    # kept ⇔ critical value above the current one, as without normalization
    assert list(res.kept) == [bool(g > gamma) for g in np.asarray(res.critical_weight_decay)]
    assert list(res.kept) == [bool(s > 1.0) for s in np.asarray(res.critical_aug_scale)]
    assert res.predicted_rank == min(sum(bool(k) for k in res.kept), D)
    capped = diagnose(*exact_views(A0, C), loss=loss, weight_decay=gamma, normalization=norm, out_dim=1, **params)
    assert capped.predicted_rank == min(rank, 1) and capped.kept == res.kept


def status_at(a0, c, loss, gamma, norm, params, direction) -> bool:
    return is_kept(direction, theory(a0, c, loss, gamma, norm, params)[1])


@pytest.mark.parametrize(("gamma", "norm"), [(0.3, Normalization(1.0, 1.0)), (0.0, Normalization(math.inf, 0.3))])
def test_thresholds_are_where_the_global_minimum_changes(gamma: float, norm: Normalization) -> None:
    """Commuting, non-diagonal A0 and C: kept just below each critical value and not above; the reverse at revivals."""
    rel = 1e-6
    res = diagnose(*exact_views(A0, C_COMMUTING), loss="beta-infonce", weight_decay=gamma, normalization=norm, **BETA)
    checked = 0
    crit = {"wd": np.asarray(res.critical_weight_decay), "aug": np.asarray(res.critical_aug_scale)}
    revive = {"wd": np.asarray(res.revival_weight_decay), "aug": np.asarray(res.revival_aug_scale)}
    for i, v in enumerate(np.asarray(res.directions).T):
        for scan in ("wd", "aug"):
            value, revival = crit[scan][i], revive[scan][i]
            for x, kept_below in ((float(value), True), (float(revival), False)):
                if not 0 < x < np.inf:
                    continue
                at = [x * (1 - rel), x * (1 + rel)]
                args = [
                    (A0, C_COMMUTING, y) if scan == "wd" else (A0, y * C_COMMUTING, gamma) for y in at
                ]  # (a0, c, γ)
                got = [status_at(a, cc, "beta-infonce", g, norm, BETA, v) for a, cc, g in args]
                assert got == [kept_below, not kept_below], (i, scan, x)
                checked += 1
    assert checked >= 4


def test_hard_limit_of_finite_kappa() -> None:
    """κ → ∞: margins converge as 1/κ, and kept set, rank and thresholds agree with κ = inf."""
    views = exact_views(A0, C)
    run = lambda kappa: diagnose(*views, weight_decay=0.4, normalization=Normalization(kappa))  # noqa: E731
    hard, big = run(math.inf), run(1e9)
    assert hard.kept == big.kept and hard.predicted_rank == big.predicted_rank
    for field in ("survival_margin", "critical_weight_decay", "critical_aug_scale", "revival_aug_scale"):
        np.testing.assert_allclose(np.asarray(getattr(big, field)), np.asarray(getattr(hard, field)), rtol=1e-6)
    gaps = [np.abs(np.asarray(run(k).survival_margin) - np.asarray(hard.survival_margin)) for k in (1e2, 1e4)]
    np.testing.assert_allclose(gaps[0] / gaps[1], 100.0, rtol=0.02)


def test_gradient_descent_reaches_the_predicted_support() -> None:
    loss, gamma, norm, params = CASES[0]
    res = diagnose(*exact_views(A0, C), loss=loss, weight_decay=gamma, normalization=norm)
    land = ls.effective_landscape(ls.Problem.from_arrays(A0, C), loss, weight_decay=gamma)
    nl = ls.normalized_landscape(land, norm.kappa, norm.norm_target)
    w0 = ls.random_init(jax.random.PRNGKey(0), D, D, 1e-2)
    run = ls.normalized_gradient_descent(nl, w0, optimizer=optax.sgd(0.05, momentum=0.9), steps=1000)
    assert int(run.rank) == res.predicted_rank == 2
    gram = np.asarray(run.gram) @ (A0 + C)  # WᵀWΣ v_i = μ_i v_i along the predicted directions
    for v, kept, margin in zip(np.asarray(res.directions).T, res.kept, np.asarray(res.survival_margin)):
        mu = float(v @ gram @ v) / float(v @ v)
        np.testing.assert_allclose(np.linalg.norm(gram @ v - mu * v), 0.0, atol=1e-6)
        # μ_i = (ℓ_i + t)/(2k) = g-like: positive iff kept; 0 for the collapsed one
        assert (mu > 1e-6) == kept and (margin > 0) == kept
    # compare: the trained layer against the normalized minimum's spectrum (finite κ, non-commuting A0 and C)
    cmp = compare(res, np.asarray(run.weights), loss=loss, weight_decay=gamma)
    assert cmp.measured_rank == 2 and cmp.agreement == (True,) * D
    np.testing.assert_allclose(cmp.measured_spectrum, cmp.predicted_spectrum, atol=1e-6)


def test_undecided_near_a_normalized_threshold() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2000, D)) @ np.linalg.cholesky(A0).T
    lc = np.linalg.cholesky(C)
    v1, v2 = x + rng.normal(size=x.shape) @ lc.T, x + rng.normal(size=x.shape) @ lc.T
    norm = Normalization(1.0, 0.3, exact_thresholds=True)  # A0 and C do not commute: the exact scan
    first = diagnose(v1, v2, weight_decay=0.2, normalization=norm)
    i = int(np.argmin(np.where(np.asarray(first.critical_weight_decay) > 0.2, first.critical_weight_decay, np.inf)))
    at = float(first.critical_weight_decay[i])
    norm = Normalization(1.0, 0.3)  # kept and margins do not depend on how the thresholds are found
    near = diagnose(v1, v2, weight_decay=at, normalization=norm, bootstrap=200)
    assert near.kept[i] is None and sum(k is None for k in near.kept) == 1
    lo, hi = np.asarray(near.margin_interval)[i]
    assert lo < 0 < hi and abs(float(np.asarray(near.survival_margin)[i])) < 1e-6
    assert sum(k is None for k in diagnose(v1, v2, weight_decay=0.2, normalization=norm, bootstrap=200).kept) == 0


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"kappa": 0.0}, "normalization.kappa"),
        ({"kappa": -1.0}, "normalization.kappa"),
        ({"kappa": float("nan")}, "normalization.kappa"),
        ({"kappa": "big"}, "normalization.kappa"),
        ({"kappa": True}, "normalization.kappa"),
        ({"norm_target": 0.0}, "normalization.norm_target"),
        ({"norm_target": float("nan")}, "normalization.norm_target"),
        ({"norm_target": math.inf}, "normalization.norm_target"),
    ],
)
def test_bad_normalization_values(kwargs: dict, field: str) -> None:
    with pytest.raises(ValueError, match=field):
        Normalization(**kwargs)


def test_bad_normalization_option() -> None:
    v1, v2 = exact_views(A0, C)
    with pytest.raises(ValueError, match="normalization must be"):
        diagnose(v1, v2, normalization=10.0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="normalization.exact_thresholds"):
        Normalization(exact_thresholds="yes")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="no variance in any direction"):
        diagnose(np.ones((40, D)), np.ones((40, D)))  # the shape of exact_views: no new compilation


@pytest.mark.parametrize("norm", [None, Normalization(1.0, 0.3)])
def test_directions_without_variance_are_collapsed_and_the_rest_diagnosed(norm: Normalization | None) -> None:
    """A constant feature and a constant combination of features, rotated: the prediction of the other three
    directions is the one of the views without them, the two null directions are collapsed with b = 0."""
    v1, v2 = exact_views(A0, C)
    rot = np.linalg.qr(np.random.default_rng(5).normal(size=(D + 2, D + 2)))[0]
    lift = lambda v: np.column_stack([v, np.ones(len(v)), np.full(len(v), -2.0)]) @ rot.T  # noqa: E731
    kw: dict[str, Any] = dict(loss="beta-infonce", weight_decay=0.2, normalization=norm, **BETA)
    with pytest.warns(UserWarning, match="2 of 5 feature directions have no variance"):
        res = diagnose(lift(v1), lift(v2), **kw)
    ref = diagnose(v1, v2, **kw)
    assert res.kept == (*ref.kept, False, False) and res.predicted_rank == ref.predicted_rank
    dirs = np.asarray(res.directions)
    np.testing.assert_allclose(np.abs(np.sum(dirs[:, :D] * (rot[:, :D] @ np.asarray(ref.directions)), 0)), 1.0)
    np.testing.assert_allclose(np.linalg.svd(rot[:, D:].T @ dirs[:, D:])[1], 1.0)  # spans the null space
    np.testing.assert_allclose(np.asarray(res.data_variance), [*np.asarray(ref.data_variance), 0.0, 0.0], atol=1e-12)
    for field in ("b_eigenvalues", "critical_weight_decay", "critical_aug_scale", "survival_margin"):
        got, want = getattr(res, field), getattr(ref, field)
        if want is not None:
            np.testing.assert_allclose(np.asarray(got)[:D], np.asarray(want), rtol=1e-7, atol=1e-12, err_msg=field)
    for field in ("b_eigenvalues", "critical_weight_decay", "critical_aug_scale"):
        assert np.all(np.asarray(getattr(res, field))[D:] == 0.0), field
    # the one prediction path: the same from streamed moments (no bootstrap, so nothing undecided)
    with pytest.warns(UserWarning, match="no variance"):
        streamed = diagnose_from_moments(update(init(D + 2), lift(v1), lift(v2)), **kw)
    assert streamed.kept == res.kept and streamed.normalization == norm
    np.testing.assert_allclose(np.asarray(streamed.critical_weight_decay), res.critical_weight_decay, atol=1e-9)
    if norm is not None:
        assert np.all(np.isnan(np.asarray(res.survival_margin)[D:])) and np.all(
            np.isinf(np.asarray(res.revival_aug_scale)[D:])
        )
    else:  # compare splits the null space off too: a layer at the minimum, lifted, agrees everywhere
        land = ls.effective_landscape(ls.Problem(ref.data_cov, ref.aug_cov), "beta-infonce", weight_decay=0.2, **BETA)
        w = np.asarray(ls.global_minimum(land, D).weights)
        ckw: dict[str, Any] = dict(loss="beta-infonce", weight_decay=0.2, **BETA)
        got, want = compare(res, np.column_stack([w, np.zeros((D, 2))]) @ rot.T, **ckw), compare(ref, w, **ckw)
        assert got.measured_rank == want.measured_rank == ref.predicted_rank
        assert got.agreement == (*want.agreement, True, True) and all(want.agreement)
        np.testing.assert_allclose(
            np.asarray(got.predicted_spectrum), [*np.asarray(want.predicted_spectrum), 0, 0], atol=1e-10
        )
        np.testing.assert_allclose(np.asarray(got.measured_spectrum)[:D], want.measured_spectrum, rtol=1e-8, atol=1e-12)


# ---------------------------------------------------------------- a bias f = Wx + b (WS Theorem 2)
@jax.jit
def _descend_biased(nl, w, b):
    """Heavy-ball descent of L(W, b) = E(W) + κ(ρ + ‖b‖² − c)² over both (an independent route to the minimum)."""

    def body(carry, _):
        (w, b), (vw, vb) = carry
        gw, gb = jax.grad(ls.biased_loss, (1, 2))(nl, w, b)
        vw, vb = 0.9 * vw - 0.02 * gw, 0.9 * vb - 0.02 * gb
        return ((w + vw, b + vb), (vw, vb)), None

    zeros = (jnp.zeros_like(w), jnp.zeros_like(b))
    return jax.lax.scan(body, ((w, b), zeros), None, length=1000)[0][0]


def test_bias_lowers_the_rank_and_matches_descent_over_w_and_b() -> None:
    """Weak augmentation, c large: the unnormalized minimum has ρ₀ ≤ c, so the bias takes the rest of the
    norm and the direction with ℓ < 0 that normalization keeps alive collapses (non-commuting A0, C)."""
    c_weak, gamma, norm = 0.1 * C, 0.4, Normalization(1.0, 3.0, bias=True)
    views = exact_views(A0, c_weak)
    sig = A0 + c_weak
    vals, vecs = np.linalg.eigh(sig)
    root = (vecs / np.sqrt(vals)) @ vecs.T
    ell = np.linalg.eigvalsh(root @ (A0 - gamma * np.eye(D)) @ root)[::-1]  # InfoNCE: B = A0, k = 1
    rho0 = float(np.sum(np.maximum(ell, 0.0))) / 2.0
    assert rho0 <= norm.norm_target and ell[-1] < 0 < ell[-2]
    res = diagnose(*views, weight_decay=gamma, normalization=norm)
    plain = diagnose(*views, weight_decay=gamma, normalization=Normalization(1.0, 3.0))
    assert res.predicted_rank == int(np.sum(ell > 0)) == 2 < plain.predicted_rank == 3
    assert res.kept == tuple(bool(x > 0) for x in np.asarray(res.whitened_eigenvalues))
    np.testing.assert_allclose(np.sort(np.asarray(res.survival_margin)), np.sort(ell), rtol=1e-10)
    assert res.bias_norm_sq == pytest.approx(norm.norm_target - rho0, rel=1e-10) and plain.bias_norm_sq is None
    assert list(res.kept) == [bool(g > gamma) for g in np.asarray(res.critical_weight_decay)]
    # descent over (W, b) from a small random start reaches the predicted rank, ‖b‖² and spectrum
    land = ls.effective_landscape(ls.Problem.from_arrays(A0, c_weak), "infonce", weight_decay=gamma)
    nl = ls.normalized_landscape(land, norm.kappa, norm.norm_target)
    w, b = _descend_biased(nl, ls.random_init(jax.random.PRNGKey(0), D, D, 1e-2), jnp.full(D, 0.1))
    assert float(jnp.sum(b * b)) == pytest.approx(res.bias_norm_sq, rel=1e-9)
    cmp = compare(res, np.asarray(w), weight_decay=gamma)
    assert cmp.measured_rank == res.predicted_rank and cmp.agreement == (True,) * D
    np.testing.assert_allclose(cmp.measured_spectrum, cmp.predicted_spectrum, atol=1e-10)


def _bias_status(norm: Normalization, gamma: float, scan: str, xs: np.ndarray, directions: np.ndarray) -> np.ndarray:
    """Kept status (points × directions) from bias_global_minimum (κ = inf: bias_hard_normalization_limit)
    at weight decay x (scan "wd") or C scaled by x ("aug"): commuting A0, C, so the directions stay put."""
    from landscape.core.effective_landscape import EffectiveLandscape
    from landscape.losses.effective import quadratic_form
    from landscape.theory.bias import bias_hard_normalization_limit

    qf = quadratic_form("beta-infonce", **BETA)
    k = float(ls.effective_landscape(ls.Problem.from_arrays(A0, C_COMMUTING), "beta-infonce", **BETA).quartic)

    def one(x):
        s, g = (1.0, x) if scan == "wd" else (x, gamma)
        land = EffectiveLandscape(
            b=qf.data_coef * A0 + s * qf.aug_coef * C_COMMUTING, sigma=A0 + s * C_COMMUTING, quartic=k, weight_decay=g
        )
        if norm.hard:
            sol = bias_hard_normalization_limit(land, D, norm.norm_target)
        else:
            sol = ls.bias_global_minimum(ls.normalized_landscape(land, norm.kappa, norm.norm_target), D)
        return sol.directions, sol.kept

    dirs, kept = (np.asarray(a) for a in jax.vmap(one)(jnp.asarray(xs)))
    overlap = np.abs(np.einsum("ji,pjk->pik", directions, dirs)) * kept[:, None, :]
    return np.max(overlap, axis=2) > 1 - 1e-6


@pytest.mark.parametrize(
    ("gamma", "norm"),
    [(0.2, Normalization(math.inf, 2.0, bias=True)), (0.0, Normalization(1.0, 0.5, exact_thresholds=True, bias=True))],
)
def test_bias_thresholds_match_the_status_on_a_fine_grid(gamma: float, norm: Normalization) -> None:
    """κ = inf on the bias branch (fixed directions) and finite κ on the b = 0 branch that moves onto the bias
    branch as γ grows (exact scan): kept ⇔ below the critical value or above the revival, on a grid of 128
    points with pairs x(1 ± 10⁻⁶) around every threshold."""
    views = exact_views(A0, C_COMMUTING)
    kw: dict[str, Any] = dict(loss="beta-infonce", weight_decay=gamma, **BETA)
    res = diagnose(*views, normalization=norm, **kw)
    plain = diagnose(*views, normalization=dataclasses.replace(norm, bias=False, exact_thresholds=False), **kw)
    dirs = np.asarray(res.directions)
    if norm.hard:  # on the bias branch; everything collapses by γ = max b_i, without a bias the top one never does
        assert res.bias_norm_sq is not None and res.bias_norm_sq > 0 and res.kept != plain.kept
        b_max = float(np.max(np.linalg.eigvalsh(0.5 * A0 - 0.5 * C_COMMUTING)))
        assert float(np.max(res.critical_weight_decay)) == pytest.approx(b_max, rel=1e-9)
        assert np.isinf(np.asarray(plain.critical_weight_decay)).any()
    else:  # b = 0 branch at γ: as without a bias
        assert res.bias_norm_sq == 0.0 and res.kept == plain.kept
        np.testing.assert_allclose(np.asarray(res.survival_margin), np.asarray(plain.survival_margin), rtol=1e-12)
    checked = 0
    for scan, x0, crit, rev in (
        ("wd", gamma, res.critical_weight_decay, res.revival_weight_decay),
        ("aug", 1.0, res.critical_aug_scale, res.revival_aug_scale),
    ):
        crit, rev = np.asarray(crit), np.asarray(rev)
        finite = np.concatenate([crit[np.isfinite(crit)], rev[np.isfinite(rev)]])
        edges = np.concatenate([finite * (1 - 1e-6), finite * (1 + 1e-6)])
        xs = np.linspace(0.0, 1.5 * max(float(np.max(finite, initial=0.0)), 2.0 * x0, 1.0), 128 - edges.size)
        xs = np.concatenate([xs, edges])
        got = _bias_status(norm, gamma, scan, xs, dirs)
        for i, kept in enumerate(res.kept):
            lo = x0 if kept else crit[i] * (1 - 1e-6)
            hi = rev[i] * (1 + 1e-6) if np.isfinite(rev[i]) else np.inf
            near = np.min(np.abs(xs[:, None] - finite[None, :]), axis=1, initial=np.inf) < 1e-7 * np.maximum(xs, 1)
            sel = (xs >= lo) & (xs <= hi) & ~near
            want = (xs < crit[i]) | (xs > rev[i])
            assert np.array_equal(got[sel, i], want[sel]), (scan, i, xs[sel][got[sel, i] != want[sel]])
            checked += int(np.sum(sel & ~want)) > 0
    assert checked >= 3  # directions that collapse within the scanned range
