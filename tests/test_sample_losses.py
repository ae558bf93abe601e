"""Sample-level losses against independent plain-NumPy references: values, gradients, symmetries.

Every reference below is written from the loss's definition with explicit loops
in float64 NumPy; gradients are checked against central finite differences of
that reference.  Nothing here reuses the code under test.
"""

import itertools
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from landscape.losses import sample as S

RNG = np.random.default_rng(7)


def _views(n=4, d=3, seed=0, scale=0.7):
    r = np.random.default_rng(seed)
    z1 = scale * r.normal(size=(n, d))
    z2 = z1 + 0.5 * scale * r.normal(size=(n, d))
    return z1, z2


def _seed(name: str) -> int:
    return sum(ord(ch) for ch in name) % 1000


def _dtype():
    return jnp.result_type(float)


def _lse(v):
    m = max(v)
    return m + math.log(sum(math.exp(x - m) for x in v))


# ---------------------------------------------------------------- NumPy references
def ref_infonce(z1, z2, alpha=1.0, beta=1.0, valid=None):
    n = z1.shape[0]
    idx = [i for i in range(n) if valid is None or valid[i]]
    tot = 0.0
    for i in idx:
        u = {j: 0.5 * float(np.sum((z1[i] - z2[j]) ** 2)) for j in idx}
        den = sum(math.exp(-u[j]) for j in idx if j != i) + alpha * math.exp(-u[i])
        tot += u[i] + beta * math.log(den)
    return tot / len(idx)


def _cos(a, b):
    return float(a @ b) / (np.linalg.norm(a) * np.linalg.norm(b))


def ref_nt_xent(z1, z2, tau):
    v = np.concatenate([z1, z2])
    n = z1.shape[0]
    tot = 0.0
    for a in range(2 * n):
        p = (a + n) % (2 * n)
        logits = [_cos(v[a], v[b]) / tau for b in range(2 * n) if b != a]
        tot += -_cos(v[a], v[p]) / tau + _lse(logits)
    return tot / (2 * n)


def ref_spectral(z1, z2):
    n = z1.shape[0]
    pos = sum(float(z1[i] @ z2[i]) for i in range(n)) / n
    neg = sum(float(z1[i] @ z2[j]) ** 2 for i in range(n) for j in range(n) if i != j) / (n * (n - 1))
    return -2 * pos + neg


def ref_barlow(z1, z2, lam, normalize, eps=1e-5):
    n, d = z1.shape
    if normalize:
        a = (z1 - z1.mean(0)) / np.sqrt(z1.var(0) + eps)
        b = (z2 - z2.mean(0)) / np.sqrt(z2.var(0) + eps)
    else:
        a, b = z1, z2
    tot = 0.0
    for k in range(d):
        for l in range(d):
            ckl = sum(a[i, k] * b[i, l] for i in range(n)) / n
            tot += (1 - ckl) ** 2 if k == l else lam * ckl**2
    return tot


def ref_vicreg(z1, z2, li=25.0, lv=25.0, lc=1.0, gamma=1.0, eps=1e-4):
    n, d = z1.shape
    inv = np.sum((z1 - z2) ** 2) / (n * d)

    def vc(z):
        cov = np.cov(z, rowvar=False, ddof=1).reshape(d, d)
        v = np.mean(np.maximum(0.0, gamma - np.sqrt(np.diag(cov) + eps)))
        c = (np.sum(cov**2) - np.sum(np.diag(cov) ** 2)) / d
        return v, c

    v1, c1 = vc(z1)
    v2, c2 = vc(z2)
    return li * inv + lv * (v1 + v2) / 2 + lc * (c1 + c2)


PRED = np.array([[1.0, 0.3, -0.2], [0.1, 0.8, 0.4], [-0.5, 0.2, 1.1]])


def ref_simsiam(z1, z2, t1=None, t2=None):
    """With targets t (default: the views) entering only as constants of the cosine."""
    t1 = z1 if t1 is None else t1
    t2 = z2 if t2 is None else t2
    p1, p2 = z1 @ PRED.T, z2 @ PRED.T
    n = z1.shape[0]
    d1 = -sum(_cos(p1[i], t2[i]) for i in range(n)) / n
    d2 = -sum(_cos(p2[i], t1[i]) for i in range(n)) / n
    return 0.5 * d1 + 0.5 * d2


def ref_byol(z1, z2, t1=None, t2=None):
    t1 = z1 if t1 is None else t1
    t2 = z2 if t2 is None else t2
    p1, p2 = z1 @ PRED.T, z2 @ PRED.T
    n = z1.shape[0]
    return sum((2 - 2 * _cos(p1[i], t2[i])) + (2 - 2 * _cos(p2[i], t1[i])) for i in range(n)) / n


HS = np.array([[0.9, -0.4, 0.2, 0.0], [0.3, 1.2, -0.1, 0.5], [0.0, 0.2, 0.7, -0.6]])  # d=3 → 4
HT = np.array([[0.5, 0.1, -0.7, 0.2], [-0.2, 0.6, 0.3, 0.9], [1.1, 0.0, 0.4, -0.3]])


def ref_cissl(z1, z2, tau):
    v = np.concatenate([z1, z2])
    s, t = v @ HS, np.tanh(v @ HT)
    n2 = v.shape[0]
    n = n2 // 2
    tot = 0.0
    for a in range(n2):
        logits = [_cos(s[a], t[b]) / tau for b in range(n2)]
        z = _lse(logits)
        p = (a + n) % n2
        tot += -0.5 * ((logits[a] - z) + (logits[p] - z))
    return tot / n2


def _softmax(x):
    e = np.exp(x - x.max())
    return e / e.sum()


def ref_dissl(z1, z2, lam, beta, tt, ts):
    def one(za, zb):
        n = za.shape[0]
        t = [_softmax(np.tanh(za[i] @ HT) / tt) for i in range(n)]
        tb = [_softmax(np.tanh(zb[i] @ HT) / tt) for i in range(n)]
        sb = [_softmax((zb[i] @ HS) / ts) for i in range(n)]
        ce = lambda p, q: -float(np.sum(p * np.log(q)))
        marg = np.mean(t, axis=0)
        h = -float(np.sum(marg * np.log(marg)))
        return (
            np.mean([ce(t[i], sb[i]) for i in range(n)]) - lam * h + beta * np.mean([ce(t[i], tb[i]) for i in range(n)])
        )

    return 0.5 * (one(z1, z2) + one(z2, z1))


# -------------------------------------------------------------- cases under test
def _jnp_pred(z):
    return z @ jnp.asarray(PRED.T, z.dtype)


def _hs(z):
    return z @ jnp.asarray(HS, z.dtype)


def _ht(z):
    return jnp.tanh(z @ jnp.asarray(HT, z.dtype))


CASES = {
    # name: (jax loss (z1, z2), numpy reference (z1, z2), symmetric in the views)
    "infonce": (lambda a, b: S.infonce(a, b), lambda a, b: ref_infonce(a, b), False),
    "infonce-sym": (
        lambda a, b: S.infonce(a, b, symmetric=True),
        lambda a, b: 0.5 * (ref_infonce(a, b) + ref_infonce(b, a)),
        True,
    ),
    "weighted": (lambda a, b: S.weighted_infonce(a, b, 0.1), lambda a, b: ref_infonce(a, b, alpha=0.1), False),
    "weighted-0": (lambda a, b: S.weighted_infonce(a, b, 0.0), lambda a, b: ref_infonce(a, b, alpha=0.0), False),
    "beta": (lambda a, b: S.beta_infonce(a, b, 0.5), lambda a, b: ref_infonce(a, b, beta=0.5), False),
    "nt-xent": (lambda a, b: S.nt_xent(a, b, temperature=0.3), lambda a, b: ref_nt_xent(a, b, 0.3), True),
    "spectral": (S.spectral_contrastive, ref_spectral, True),
    "bt-standard": (
        lambda a, b: S.barlow_twins(a, b, lambda_offdiag=0.05),
        lambda a, b: ref_barlow(a, b, 0.05, True),
        True,
    ),
    "bt-raw": (
        lambda a, b: S.barlow_twins(a, b, lambda_offdiag=0.05, normalize="none"),
        lambda a, b: ref_barlow(a, b, 0.05, False),
        True,
    ),
    "vicreg": (S.vicreg, ref_vicreg, True),
    "simsiam-no-sg": (lambda a, b: S.simsiam(a, b, _jnp_pred, stop_gradient=False), ref_simsiam, True),
    "byol-no-sg": (lambda a, b: S.byol(a, b, _jnp_pred, stop_gradient=False), ref_byol, True),
    "cissl": (lambda a, b: S.cissl(a, b, _hs, _ht, temperature=0.5), lambda a, b: ref_cissl(a, b, 0.5), True),
    "dissl": (
        lambda a, b: S.dissl(
            a,
            b,
            _hs,
            _ht,
            lambda_maximality=2.3,
            beta_determinism=0.8,
            teacher_temperature=0.5,
            student_temperature=1.0,
        ),
        lambda a, b: ref_dissl(a, b, 2.3, 0.8, 0.5, 1.0),
        True,
    ),
}


def _fd_grad(f, z1, z2, h=1e-6):
    g1, g2 = np.zeros_like(z1), np.zeros_like(z2)
    for g, which in ((g1, 0), (g2, 1)):
        for idx in itertools.product(*map(range, z1.shape)):
            zp = [z1.copy(), z2.copy()]
            zm = [z1.copy(), z2.copy()]
            zp[which][idx] += h
            zm[which][idx] -= h
            g[idx] = (f(*zp) - f(*zm)) / (2 * h)
    return g1, g2


@pytest.mark.parametrize("name", sorted(CASES))
def test_value_matches_numpy_reference(name, tol, x64):
    fn, ref, _ = CASES[name]
    z1, z2 = _views(seed=_seed(name))
    got = float(jax.jit(fn)(jnp.asarray(z1, _dtype()), jnp.asarray(z2, _dtype())))
    want = ref(z1, z2)
    rel = 1e-10 if x64 else 2e-5
    # the standardised BT divides by batch std: its float32 error is a bit larger
    assert abs(got - want) <= rel * max(1.0, abs(want)) * (50 if (name == "bt-standard" and not x64) else 1)


@pytest.mark.parametrize("name", sorted(CASES))
def test_gradient_matches_finite_differences(name, x64):
    fn, ref, _ = CASES[name]
    z1, z2 = _views(seed=_seed(name) + 1)
    g1, g2 = jax.jit(jax.grad(fn, argnums=(0, 1)))(jnp.asarray(z1, _dtype()), jnp.asarray(z2, _dtype()))
    f1, f2 = _fd_grad(ref, z1, z2)
    scale = max(1.0, np.abs(f1).max(), np.abs(f2).max())
    atol = 2e-6 if x64 else 3e-3
    np.testing.assert_allclose(np.asarray(g1, float), f1, atol=atol * scale)
    np.testing.assert_allclose(np.asarray(g2, float), f2, atol=atol * scale)


@pytest.mark.parametrize("name", sorted(CASES))
def test_view_symmetry(name, tol):
    fn, _, symmetric = CASES[name]
    z1, z2 = (jnp.asarray(z, _dtype()) for z in _views(n=5, seed=3, scale=1.2))
    f = jax.jit(fn)
    a, b = float(f(z1, z2)), float(f(z2, z1))
    if symmetric:
        assert abs(a - b) <= tol["exact"] * max(1.0, abs(a)) * 10
    else:
        assert abs(a - b) > 1e-3  # one-way InfoNCE: anchors are the first view


def test_special_cases_agree(tol):
    z1, z2 = (jnp.asarray(z, _dtype()) for z in _views(seed=4))
    base = float(S.infonce(z1, z2))
    assert abs(float(S.weighted_infonce(z1, z2, 1.0)) - base) <= tol["exact"]
    assert abs(float(S.beta_infonce(z1, z2, 1.0)) - base) <= tol["exact"]
    assert abs(float(S.euclidean_infonce(z1, z2, alpha=1.0, beta=1.0)) - base) <= tol["exact"]


def test_mask_equals_truncated_batch(tol, x64):
    z1, z2 = _views(n=7, seed=5)
    mask = np.array([1, 1, 0, 1, 1, 0, 1], bool)
    for kw in ({}, {"alpha": 0.1}, {"beta": 0.5}):
        got = float(S.euclidean_infonce(jnp.asarray(z1, _dtype()), jnp.asarray(z2, _dtype()), mask=mask, **kw))
        want = float(S.euclidean_infonce(jnp.asarray(z1[mask], _dtype()), jnp.asarray(z2[mask], _dtype()), **kw))
        atol = 1e-9 if x64 else 1e-4
        assert abs(got - want) <= atol
        assert abs(got - ref_infonce(z1, z2, valid=mask, **kw)) <= atol


def test_vmap_equals_loop(tol):
    zs1 = np.stack([_views(seed=s)[0] for s in range(3)])
    zs2 = np.stack([_views(seed=s)[1] for s in range(3)])
    for name in ("infonce", "cissl"):
        fn = CASES[name][0]
        batched = jax.vmap(fn)(jnp.asarray(zs1, _dtype()), jnp.asarray(zs2, _dtype()))
        jf = jax.jit(fn)
        looped = [float(jf(jnp.asarray(a, _dtype()), jnp.asarray(b, _dtype()))) for a, b in zip(zs1, zs2)]
        np.testing.assert_allclose(np.asarray(batched, float), looped, rtol=tol["exact"] * 10, atol=tol["exact"])


# ------------------------------------------------------------------ stop-gradient
def test_stop_gradient_on_target_branch_byol(x64):
    z1, z2 = _views(seed=6)
    t1, t2 = _views(seed=7)
    args = [jnp.asarray(z, _dtype()) for z in (z1, z2, t1, t2)]

    def f(a, b, ta, tb, sg):
        return S.byol(a, b, _jnp_pred, target1=ta, target2=tb, stop_gradient=sg)

    g_sg = jax.grad(f, argnums=(2, 3))(*args, True)
    g_no = jax.grad(f, argnums=(2, 3))(*args, False)
    assert all(float(jnp.abs(g).max()) == 0.0 for g in g_sg)  # no gradient into the target
    assert all(float(jnp.abs(g).max()) > 1e-3 for g in g_no)  # and there is one without sg
    # online gradients: the reference with targets held constant
    f1, f2 = _fd_grad(lambda a, b: ref_byol(a, b, t1, t2), z1, z2)
    g1, g2 = jax.grad(f, argnums=(0, 1))(*args, True)
    atol = 2e-6 if x64 else 3e-3
    np.testing.assert_allclose(np.asarray(g1, float), f1, atol=atol * max(1, np.abs(f1).max()))
    np.testing.assert_allclose(np.asarray(g2, float), f2, atol=atol * max(1, np.abs(f2).max()))


@pytest.mark.parametrize("loss, ref", [(S.simsiam, ref_simsiam), (S.byol, ref_byol)])
def test_stop_gradient_gradient_is_predictor_branch_only(loss, ref, x64):
    """With sg, ∂L/∂z equals the finite difference of the reference with the targets frozen."""
    z1, z2 = _views(seed=8)
    g1, g2 = jax.grad(lambda a, b: loss(a, b, _jnp_pred), argnums=(0, 1))(
        jnp.asarray(z1, _dtype()), jnp.asarray(z2, _dtype())
    )
    f1, f2 = _fd_grad(lambda a, b: ref(a, b, z1, z2), z1, z2)  # targets = frozen copies
    full1, _ = _fd_grad(ref, z1, z2)  # targets move with z
    atol = 2e-6 if x64 else 3e-3
    np.testing.assert_allclose(np.asarray(g1, float), f1, atol=atol * max(1, np.abs(f1).max()))
    np.testing.assert_allclose(np.asarray(g2, float), f2, atol=atol * max(1, np.abs(f2).max()))
    assert np.abs(full1 - f1).max() > 1e-2  # the two differ: the test can tell them apart


# ------------------------------------------------------------------ properties
def test_nt_xent_and_standardised_bt_are_scale_invariant(tol):
    z1, z2 = (jnp.asarray(z, _dtype()) for z in _views(seed=9))
    for fn in (lambda a, b: S.nt_xent(a, b, temperature=0.2), lambda a, b: S.barlow_twins(a, b, eps=0.0)):
        base = float(fn(z1, z2))
        assert abs(float(fn(3.7 * z1, 3.7 * z2)) - base) <= tol["exact"] * 100 * max(1, abs(base))


def test_cissl_lower_bound_log2():
    z = jnp.asarray(np.eye(4), _dtype())
    ident = lambda x: x
    val = float(S.cissl(z, z, ident, ident, temperature=0.01))
    assert math.log(2) <= val < math.log(2) + 1e-3
    z1, z2 = (jnp.asarray(v, _dtype()) for v in _views(seed=10))
    assert float(S.cissl(z1, z2, _hs, _ht)) >= math.log(2) - 1e-6


def test_dissl_invariant_teacher_identity(tol):
    """Student = teacher and identical views: (1 + β)·mean H(t_i) − λ·H(mean t) (spec D9)."""
    z = np.random.default_rng(11).normal(size=(6, 4))
    ident = lambda x: x
    lam, beta = 2.3, 0.8
    got = float(
        S.dissl(
            jnp.asarray(z, _dtype()),
            jnp.asarray(z, _dtype()),
            ident,
            ident,
            lambda_maximality=lam,
            beta_determinism=beta,
            teacher_temperature=1.0,
            student_temperature=1.0,
        )
    )
    t = np.array([_softmax(r) for r in z])
    h = -np.sum(t * np.log(t), axis=1)
    m = t.mean(0)
    want = (1 + beta) * h.mean() - lam * (-np.sum(m * np.log(m)))
    assert abs(got - want) <= tol["exact"] * 10


def test_dissl_batch_values_spec_d5(tol):
    """Deterministic distinct classes: −λ log B; uniform over C classes: (1 + β − λ) log C."""
    b, c = 8, 16
    det = np.full((b, c), -1e4)
    det[np.arange(b), np.arange(b)] = 0.0
    ident = lambda x: x
    z = jnp.asarray(det, _dtype())
    got = float(S.dissl(z, z, ident, ident, teacher_temperature=1.0, student_temperature=1.0))
    assert abs(got - (-2.3 * math.log(b))) <= tol["loose"]
    u = jnp.zeros((b, c), _dtype())
    got = float(S.dissl(u, u, ident, ident, teacher_temperature=1.0, student_temperature=1.0))
    assert abs(got - (1 + 0.8 - 2.3) * math.log(c)) <= tol["loose"]


# ------------------------------------------------------------------ validation
@pytest.mark.parametrize(
    "bad, msg",
    [
        ((np.ones(3), np.ones(3)), "z1 must be a 2-D"),
        ((np.ones((3, 2)), np.ones((4, 2))), "same shape"),
        ((np.ones((3, 2), np.int32), np.ones((3, 2), np.int32)), "floating dtype"),
        ((np.ones((1, 2)), np.ones((1, 2))), "at least 2 rows"),
    ],
)
def test_validation_errors_name_the_argument(bad, msg):
    with pytest.raises(ValueError, match=msg):
        S.infonce(jnp.asarray(bad[0]), jnp.asarray(bad[1]))
    if msg != "at least 2 rows":
        with pytest.raises(ValueError, match=msg):
            jax.jit(S.spectral_contrastive)(jnp.asarray(bad[0]), jnp.asarray(bad[1]))


def test_validation_other_arguments():
    z = jnp.ones((4, 3), _dtype())
    with pytest.raises(ValueError, match="mask must have shape"):
        S.infonce(z, z, mask=np.ones(3, bool))
    with pytest.raises(ValueError, match="normalize"):
        S.barlow_twins(z, z, normalize="batch")
    with pytest.raises(ValueError, match="predictor"):
        S.simsiam(z, z, lambda x: x[:, :2])
    with pytest.raises(ValueError, match="same output width"):
        S.cissl(z, z, lambda x: x, lambda x: x[:, :2])
