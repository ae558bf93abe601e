"""Models of landscape.nn: shapes, parameter counts, batch norm, last-layer access, validation."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from landscape.nn import models


def _shapes(model, x_shape):
    params, state = jax.eval_shape(model.init, jax.random.PRNGKey(0))
    out, new_state = jax.eval_shape(
        lambda p, s: model.apply(p, s, jnp.zeros(x_shape, jnp.float32), train=True), params, state
    )
    return params, out, new_state


def test_mlp_outputs_and_split():
    m = models.MLP(in_dim=6, hidden=(16, 8), out_dim=2, proj_hidden=(4,), activation="relu")
    params, state = m.init(jax.random.PRNGKey(0))
    out, _ = m.apply(params, state, jnp.ones((5, 6)), train=False)
    assert out.h.shape == (5, 8) and out.phi.shape == (5, 4) and out.z.shape == (5, 2)
    # z is exactly ϕ Wᵀ with the bias-free last layer
    np.testing.assert_allclose(out.z, out.phi @ models.last_layer(params).T, rtol=1e-6)
    assert out.z.dtype == jnp.float32


def test_resnet18_standard_parameter_count():
    # torchvision's resnet18 has 11,689,512 parameters; without its fc (513,000) and with the
    # 3×3 CIFAR stem (1,728 instead of 9,408 weights) the encoder has 11,168,832.
    params, out, _ = _shapes(models.ResNet18(), (2, 32, 32, 3))
    assert models.count_params(params["encoder"]) == 11_168_832
    assert models.count_params(params["projector"]) == 512 * 512 + 2 * 512 + 512 * 128
    assert out.h.shape == (2, 512) and out.z.shape == (2, 128)


def test_convnet_shapes_and_state_structure():
    m = models.ConvNet(in_channels=1, channels=(4, 8), strides=(1, 2), proj_hidden=(8,), out_dim=3)
    params, out, new_state = _shapes(m, (4, 8, 8, 1))
    assert out.h.shape == (4, 8) and out.phi.shape == (4, 8) and out.z.shape == (4, 3)
    _, state = jax.eval_shape(m.init, jax.random.PRNGKey(0))
    assert jax.tree_util.tree_structure(state) == jax.tree_util.tree_structure(new_state)


def test_batch_norm_train_and_eval():
    p, s = models.batch_norm_init(3)
    x = jax.random.normal(jax.random.PRNGKey(0), (64, 2, 2, 3)) * 3.0 + 5.0
    y, s2 = models.batch_norm(p, s, x, train=True, momentum=0.0)
    np.testing.assert_allclose(jnp.mean(y, axis=(0, 1, 2)), 0.0, atol=1e-5)
    np.testing.assert_allclose(jnp.var(y, axis=(0, 1, 2)), 1.0, rtol=1e-3)
    # momentum 0: the running statistics are this batch's; eval mode then reproduces train mode
    y_eval, s3 = models.batch_norm(p, s2, x, train=False)
    np.testing.assert_allclose(y_eval, y, atol=1e-5)
    assert s3 is s2


def test_with_last_layer_and_decay_mask():
    m = models.MLP(in_dim=3, hidden=(4,), out_dim=2)
    params, _ = m.init(jax.random.PRNGKey(1))
    w = jnp.arange(8.0).reshape(2, 4)
    p2 = models.with_last_layer(params, w)
    np.testing.assert_array_equal(models.last_layer(p2), w)
    np.testing.assert_array_equal(models.last_layer(params), models.last_layer(params))  # original untouched
    with pytest.raises(ValueError, match="w must have shape"):
        models.with_last_layer(params, jnp.zeros((4, 2)))
    mask = models.decay_mask(params)
    assert mask["encoder"]["dense0"] == {"w": True, "b": False}
    assert mask["projector"]["last"] == {"w": True}


@pytest.mark.parametrize(
    "kwargs, field",
    [
        (dict(in_dim=0), "in_dim"),
        (dict(in_dim=2, hidden=()), "hidden"),
        (dict(in_dim=2, activation="sin"), "activation"),
    ],
)
def test_mlp_validation(kwargs, field):
    with pytest.raises(ValueError, match=field):
        models.MLP(**kwargs)


def test_input_shape_errors():
    m = models.ConvNet(in_channels=3, channels=(4,), strides=(1,), proj_hidden=(), out_dim=2)
    params, state = m.init(jax.random.PRNGKey(0))
    with pytest.raises(ValueError, match="NHWC"):
        m.apply(params, state, jnp.zeros((2, 8, 8, 1)), train=False)
    with pytest.raises(ValueError, match="blocks"):
        models.ResNet18(blocks=(2, 2, 2))


def test_linear_model_is_its_last_layer():
    """f(x) = W x with W the only parameter, initialised with variance init_scale²/in_dim."""
    m = models.Linear(in_dim=400, out_dim=50, init_scale=0.1)
    params, state = m.init(jax.random.PRNGKey(0))
    w = models.last_layer(params)
    leaves = jax.tree_util.tree_leaves(params)
    assert len(leaves) == 1 and leaves[0] is params["projector"]["last"]["w"] and w.shape == (50, 400)
    # 20,000 N(0, 0.01/400) entries: the sample variance is within 4 standard errors (√(2/20000) relative)
    assert float(jnp.var(w)) == pytest.approx(0.01 / 400, rel=4 * (2 / w.size) ** 0.5)
    x = jax.random.normal(jax.random.PRNGKey(1), (7, 400))
    out, new_state = m.apply(params, state, x, train=True)
    np.testing.assert_allclose(out.z, x @ w.T, rtol=1e-5, atol=1e-6)
    assert new_state == state and out.phi is out.h
    with pytest.raises(ValueError, match="init_scale"):
        models.Linear(in_dim=2, init_scale=0.0)
