"""Augmentations of landscape.nn: identity at strength 0, shapes, ranges, the D8 strength mapping."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from landscape.nn import augment

KEY = jax.random.PRNGKey(0)


@pytest.fixture(scope="module")
def images():
    return jax.random.uniform(jax.random.PRNGKey(3), (6, 12, 10, 3), jnp.float32)


def test_strength_zero_is_identity(images):
    np.testing.assert_array_equal(augment.simclr_augment(KEY, images, 0.0), images)
    np.testing.assert_array_equal(augment.gaussian_noise(KEY, images, 0.0), images)


@pytest.mark.parametrize("strength", [0.25, 1.0, 2.0])
def test_shapes_and_range(images, strength):
    y = augment.simclr_augment(jax.random.PRNGKey(1), images, strength)
    assert y.shape == images.shape and y.dtype == images.dtype
    assert float(y.min()) >= 0.0 and float(y.max()) <= 1.0
    assert float(jnp.max(jnp.abs(y - images))) > 0.01  # something happened


def test_jittable_with_traced_strength(images):
    f = jax.jit(lambda k, x, s: augment.simclr_augment(k, x, s))
    np.testing.assert_array_equal(f(KEY, images, 0.0), images)
    assert f(KEY, images, 1.5).shape == images.shape


def test_d8_mapping():
    # the authors' code mapping (spec D8, [code]; TinyImageNet/STL10): jitter 0.4·s, hue 0.1·s, crop 0.2/s, gray 0.1·s
    for s in (1.0, 2.0, 0.25):
        jitter, crop, gray = (0.4 * s,) * 3 + (0.1 * s,), min(1.0, 0.2 / s), min(1.0, 0.1 * s)
        p = augment.simclr_params(s, "tinyimagenet")
        got = tuple(float(p[k]) for k in ("brightness", "contrast", "saturation", "hue"))
        np.testing.assert_allclose(got, jitter, rtol=1e-6)
        np.testing.assert_allclose(float(p["min_scale"]), crop, rtol=1e-6)
        np.testing.assert_allclose(float(p["gray_p"]), gray, rtol=1e-6)
        assert float(p["flip_p"]) == 0.5
    p = augment.simclr_params(1.0, "cifar")
    np.testing.assert_allclose([float(p["brightness"]), float(p["hue"])], [0.2, 0.05], rtol=1e-6)
    with pytest.raises(ValueError, match="strength"):
        augment.simclr_params(-1.0)


def test_gaussian_noise_variance():
    x = jnp.zeros((20000, 3), jnp.float32)
    y = augment.gaussian_noise(KEY, x, 2.5)
    np.testing.assert_allclose(np.var(np.asarray(y), axis=0), 2.5, rtol=0.05)
    with pytest.raises(ValueError, match="sigma2"):
        augment.gaussian_noise(KEY, x, -1.0)


def test_flip_crop_gray_jitter_pieces(images):
    flipped = augment.horizontal_flip(KEY, images, 1.0)
    np.testing.assert_array_equal(flipped, images[:, :, ::-1, :])
    same = augment.random_resized_crop(KEY, images, 1.0, log_ratio=0.0)
    np.testing.assert_allclose(same, images, atol=1e-6)
    # a crop of area fraction 1/4 (2× zoom) of a horizontal ramp has a smaller range of values
    ramp = jnp.broadcast_to(jnp.linspace(0.0, 1.0, 16)[None, None, :, None], (4, 16, 16, 1))
    zoom = augment.random_resized_crop(KEY, ramp, 0.25, log_ratio=0.0, out_size=(16, 16))
    assert float(jnp.max(jnp.ptp(zoom, axis=2))) < 1.0
    gray = augment.grayscale(KEY, images, 1.0)
    np.testing.assert_allclose(gray[..., 0], gray[..., 2])
    np.testing.assert_allclose(augment.color_jitter(KEY, images), images, atol=1e-5)
    jittered = augment.color_jitter(KEY, images, 0.5, 0.5, 0.5, 0.2)
    assert float(jittered.min()) >= 0.0 and float(jittered.max()) <= 1.0


def test_one_channel_images_and_errors():
    x = jax.random.uniform(KEY, (3, 8, 8, 1))
    assert augment.simclr_augment(KEY, x, 1.0).shape == x.shape
    with pytest.raises(ValueError, match="NHWC"):
        augment.simclr_augment(KEY, jnp.zeros((8, 8, 1)), 1.0)
    with pytest.raises(ValueError, match="sigma2"):
        augment.make_augment("noise")
    with pytest.raises(ValueError, match="kind"):
        augment.make_augment("blur")
