"""Data sets of landscape.nn: synthetic data, the manifold's tangents, digits, the CIFAR-10 binary format."""

import jax
import numpy as np
import pytest

from landscape.nn import data


def test_gaussian_and_mixture_statistics():
    x = data.gaussian(jax.random.PRNGKey(0), 20000, [4.0, 1.0, 0.25])
    np.testing.assert_allclose(x.var(axis=0), [4.0, 1.0, 0.25], rtol=0.05)
    assert x.dtype == np.float32
    xm, y = data.gaussian_mixture(
        jax.random.PRNGKey(1), 20000, [[-3.0, 0.0], [3.0, 0.0], [0.0, 3.0]], [0.6, 0.3, 0.1], std=0.5
    )
    np.testing.assert_allclose(np.bincount(y, minlength=3) / 20000, [0.6, 0.3, 0.1], atol=0.015)
    np.testing.assert_allclose(xm[y == 1].mean(axis=0), [3.0, 0.0], atol=0.05)
    with pytest.raises(ValueError, match="proportions"):
        data.gaussian_mixture(jax.random.PRNGKey(1), 10, [[0.0], [1.0]], [0.5, 0.6])
    with pytest.raises(ValueError, match="variances"):
        data.gaussian(jax.random.PRNGKey(0), 10, [1.0, -1.0])


def test_torus_tangents_match_finite_differences():
    d = data.torus_manifold(jax.random.PRNGKey(2), 50, ambient_dim=12, intrinsic_dim=2, curvature=0.7)
    t = d.tangents.astype(np.float64)
    np.testing.assert_allclose(np.einsum("ndk,ndl->nkl", t, t), np.broadcast_to(np.eye(2), (50, 2, 2)), atol=1e-5)
    # independent route: a small step in θ_j moves the point within the tangent space (to first order)
    pts = d.points.astype(np.float64)
    d2 = data.torus_manifold(jax.random.PRNGKey(2), 50, ambient_dim=12, intrinsic_dim=2, curvature=0.7)
    np.testing.assert_array_equal(d2.points, d.points)  # deterministic for a key
    q = d.frame.astype(np.float64)
    eps = 1e-3
    for j in range(2):
        th = d.latent.astype(np.float64).copy()
        th[:, j] += eps
        c = 0.7
        feats = np.stack([np.cos(th), np.sin(th), c * np.cos(2 * th), c * np.sin(2 * th)], axis=2).reshape(50, -1)
        step = feats @ q.T - pts
        resid = step - np.einsum("ndk,nk->nd", t, np.einsum("ndk,nd->nk", t, step))
        assert np.max(np.linalg.norm(resid, axis=1) / np.linalg.norm(step, axis=1)) < 5e-3
    assert set(np.unique(d.labels)) <= {0, 1, 2, 3}


def test_digits():
    pytest.importorskip("sklearn")
    x, y = data.load_digits()
    assert x.shape == (1797, 8, 8, 1) and y.shape == (1797,)
    assert x.min() == 0.0 and x.max() == 1.0 and set(np.unique(y)) == set(range(10))


def _raw_record(label: int, r: int, g: int, b: int) -> bytes:
    """One record written by hand: label byte, then constant R, G and B planes."""
    return bytes([label]) + bytes([r]) * 1024 + bytes([g]) * 1024 + bytes([b]) * 1024


def test_cifar10_binary_reader_on_hand_written_file(tmp_path):
    root = tmp_path / "cifar-10-batches-bin"
    root.mkdir()
    (root / "data_batch_1.bin").write_bytes(_raw_record(3, 10, 20, 30) + _raw_record(9, 255, 0, 7))
    (root / "data_batch_2.bin").write_bytes(_raw_record(0, 1, 2, 3))
    (root / "test_batch.bin").write_bytes(_raw_record(5, 0, 128, 255))
    x, y = data.load_cifar10(tmp_path, "train", as_uint8=True)
    assert x.shape == (3, 32, 32, 3) and x.dtype == np.uint8
    assert y.tolist() == [3, 9, 0]
    assert x[0, 5, 7].tolist() == [10, 20, 30] and x[1, 31, 0].tolist() == [255, 0, 7]
    xt, yt = data.load_cifar10(root, "test")
    assert yt.tolist() == [5] and xt.dtype == np.float32
    np.testing.assert_allclose(xt[0, 0, 0], [0.0, 128 / 255, 1.0], rtol=1e-6)


def test_cifar10_writer_round_trip_and_errors(tmp_path):
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (4, 32, 32, 3), dtype=np.uint8)
    lab = np.array([1, 2, 3, 4])
    p = data.write_cifar10_binary(tmp_path / "b.bin", img, lab)
    x, y = data.read_cifar10_binary(p)
    np.testing.assert_array_equal(x, img)
    np.testing.assert_array_equal(y, lab)
    (tmp_path / "bad.bin").write_bytes(b"\x00" * 100)
    with pytest.raises(ValueError, match="record size"):
        data.read_cifar10_binary(tmp_path / "bad.bin")
    (tmp_path / "badlabel.bin").write_bytes(_raw_record(12, 0, 0, 0))
    with pytest.raises(ValueError, match="label"):
        data.read_cifar10_binary(tmp_path / "badlabel.bin")
    with pytest.raises(ValueError, match="root"):
        data.load_cifar10(tmp_path / "nothing")


def test_standardize_and_split():
    x = np.arange(12.0).reshape(4, 3)
    z, mean, std = data.standardize(x)
    np.testing.assert_allclose(z.mean(axis=0), 0.0, atol=1e-12)
    parts = data.split(jax.random.PRNGKey(0), 10, (0.7, 0.3))
    assert [len(p) for p in parts] == [7, 3] and sorted(np.concatenate(parts).tolist()) == list(range(10))
