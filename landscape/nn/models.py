r"""Networks as plain pytrees: an MLP, a small ConvNet and ResNet-18 (CIFAR variant).

Every model is a frozen dataclass holding only its *static* configuration, with

    model.init(key)                          -> (params, state)
    model.apply(params, state, x, train=...) -> (Outputs(h, phi, z), new_state)

``params`` and ``state`` are nested dicts of arrays: ``params`` is what the
optimizer trains, ``state`` holds the batch-norm running statistics (an empty
dict for models without batch norm).  Both are pytrees, so they pass through
``jit``, ``vmap``, sharding and the checkpoint code unchanged.

Encoder / projector split.  ``params = {"encoder": ..., "projector": ...}`` and
the three outputs are

* ``h``   — the encoder output (the *representation* one transfers);
* ``phi`` — the input of the last linear layer, ϕ(x) of WS §1.3 (equal to ``h``
  when the projector is a single linear layer);
* ``z``   — the projector output f(x) = W ϕ(x) (the *embedding* the SSL loss sees).

The last layer W is ``params["projector"]["last"]["w"]``, stored as a
(d_ϕ, d_out) matrix so that z = ϕ · w; it has **no bias**, so L(a·W) is exactly
the loss along the ray through the trained last layer (WS Fig. 1a, 4).
:func:`last_layer` returns it in the paper's orientation W ∈ R^{d1×d0} and
:func:`with_last_layer` puts one back.

Batch norm.  In training mode the statistics are the mean and the biased
variance over every axis but the channel axis of the *whole* batch the function
sees.  Under ``jit`` with the batch sharded over a device mesh this is the global
batch (XLA inserts the cross-device reductions), so data-parallel training needs
no ``axis_name`` plumbing.  Running statistics are updated with ``momentum``.

Initialisation: weights N(0, g/fan_in) with g = 2 after ReLU layers and g = 1
otherwise; biases 0; batch-norm scale 1 and shift 0.  All parameters are float32
unless ``dtype`` says otherwise, independently of ``jax_enable_x64``.

Example:
    >>> import jax, jax.numpy as jnp
    >>> from landscape.nn.models import MLP, last_layer
    >>> m = MLP(in_dim=3, hidden=(8,), out_dim=2)
    >>> params, state = m.init(jax.random.PRNGKey(0))
    >>> out, _ = m.apply(params, state, jnp.ones((5, 3)), train=False)
    >>> out.h.shape, out.z.shape, last_layer(params).shape
    ((5, 8), (5, 2), (2, 8))
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike, DTypeLike

if TYPE_CHECKING:  # shapes for the reader and the docs; jaxtyping is not needed at run time
    from jaxtyping import Float

__all__ = [
    "Outputs",
    "Linear",
    "MLP",
    "ConvNet",
    "ResNet18",
    "last_layer",
    "with_last_layer",
    "count_params",
    "decay_mask",
    "dense_init",
    "dense",
    "conv_init",
    "conv",
    "batch_norm_init",
    "batch_norm",
]

Params = dict
State = dict


class Outputs(NamedTuple):
    """Encoder output ``h``, last-layer input ``phi`` and projector output ``z``."""

    h: jax.Array
    phi: jax.Array
    z: jax.Array


class Model(Protocol):
    """What training and probing need of a network; :class:`Linear`, :class:`MLP`, :class:`ConvNet` and :class:`ResNet18` are models."""

    def init(self, key: jax.Array) -> tuple[Params, State]: ...

    def apply(self, params: Params, state: State, x: ArrayLike, *, train: bool) -> tuple[Outputs, State]: ...


_ACTIVATIONS = {"tanh": jnp.tanh, "relu": jax.nn.relu, "gelu": jax.nn.gelu, "linear": lambda x: x}


def _activation(name: str):
    if name not in _ACTIVATIONS:
        raise ValueError(f"activation must be one of {sorted(_ACTIVATIONS)}, got {name!r}")
    return _ACTIVATIONS[name]


def _gain(activation: str) -> float:
    return 2.0 if activation in ("relu", "gelu") else 1.0


# ----------------------------------------------------------------------------- layers
def dense_init(
    key: jax.Array, fan_in: int, fan_out: int, *, bias: bool = True, gain: float = 1.0, dtype: DTypeLike = jnp.float32
) -> Params:
    """{"w": (fan_in, fan_out) ~ N(0, gain/fan_in)} plus a zero bias "b" if ``bias``."""
    w = jax.random.normal(key, (fan_in, fan_out), dtype) * jnp.sqrt(jnp.asarray(gain / fan_in, dtype))
    return {"w": w, "b": jnp.zeros((fan_out,), dtype)} if bias else {"w": w}


def dense(p: Params, x: jax.Array) -> jax.Array:
    """x · w (+ b) for x of shape (n, fan_in)."""
    y = x @ p["w"]
    if "b" in p:
        y = y + p["b"][None, :]
    return y


def conv_init(
    key: jax.Array, kernel: int, c_in: int, c_out: int, *, gain: float = 2.0, dtype: DTypeLike = jnp.float32
) -> Params:
    """{"w": (k, k, c_in, c_out) ~ N(0, gain/(k²·c_in))}: a bias-free convolution (batch norm follows)."""
    fan_in = kernel * kernel * c_in
    w = jax.random.normal(key, (kernel, kernel, c_in, c_out), dtype) * jnp.sqrt(jnp.asarray(gain / fan_in, dtype))
    return {"w": w}


def conv(p: Params, x: jax.Array, stride: int = 1) -> jax.Array:
    """2-D convolution of NHWC images with 'SAME' padding."""
    return jax.lax.conv_general_dilated(x, p["w"], (stride, stride), "SAME", dimension_numbers=("NHWC", "HWIO", "NHWC"))


def batch_norm_init(channels: int, dtype: DTypeLike = jnp.float32) -> tuple[Params, State]:
    """(params {"scale", "shift"}, state {"mean", "var"}) of a batch norm over ``channels``."""
    return (
        {"scale": jnp.ones((channels,), dtype), "shift": jnp.zeros((channels,), dtype)},
        {"mean": jnp.zeros((channels,), dtype), "var": jnp.ones((channels,), dtype)},
    )


def batch_norm(
    p: Params, s: State, x: jax.Array, *, train: bool, momentum: float = 0.9, eps: float = 1e-5
) -> tuple[jax.Array, State]:
    r"""y = (x − μ)/√(v + ε)·scale + shift over the last (channel) axis.

    ``train=True``: μ, v are the mean and biased variance of this batch over all
    other axes, and the running statistics move by (1 − momentum) towards them.
    ``train=False``: μ, v are the running statistics and the state is unchanged.
    """
    axes = tuple(range(x.ndim - 1))
    shape = (1,) * (x.ndim - 1) + (x.shape[-1],)
    if train:
        mean = jnp.mean(x, axis=axes)
        var = jnp.mean(jnp.square(x - mean.reshape(shape)), axis=axes)
        m = jnp.asarray(momentum, x.dtype)
        new = {
            "mean": m * s["mean"] + (1 - m) * jax.lax.stop_gradient(mean),
            "var": m * s["var"] + (1 - m) * jax.lax.stop_gradient(var),
        }
    else:
        mean, var, new = s["mean"], s["var"], s
    y = (x - mean.reshape(shape)) * jax.lax.rsqrt(var.reshape(shape) + eps)
    return y * p["scale"].reshape(shape) + p["shift"].reshape(shape), new


# ----------------------------------------------------------------------------- projector
def _projector_init(
    key, d_in: int, hidden: tuple[int, ...], out_dim: int, batch_norm_: bool, activation: str, dtype
) -> tuple[Params, State]:
    params: Params = {}
    state: State = {}
    keys = jax.random.split(key, len(hidden) + 1)
    d = d_in
    for i, width in enumerate(hidden):
        params[f"dense{i}"] = dense_init(keys[i], d, width, bias=not batch_norm_, gain=1.0, dtype=dtype)
        if batch_norm_:
            params[f"bn{i}"], state[f"bn{i}"] = batch_norm_init(width, dtype)
        d = width
    params["last"] = dense_init(
        keys[-1], d, out_dim, bias=False, gain=_gain(activation) if hidden else 1.0, dtype=dtype
    )
    return params, state


def _projector_apply(
    params: Params,
    state: State,
    h: jax.Array,
    hidden: tuple[int, ...],
    batch_norm_: bool,
    activation: str,
    train: bool,
    momentum: float,
) -> tuple[jax.Array, jax.Array, State]:
    act = _activation(activation)
    new_state: State = {}
    x = h
    for i in range(len(hidden)):
        x = dense(params[f"dense{i}"], x)
        if batch_norm_:
            x, new_state[f"bn{i}"] = batch_norm(params[f"bn{i}"], state[f"bn{i}"], x, train=train, momentum=momentum)
        x = act(x)
    return x, dense(params["last"], x), new_state


def _flat_inputs(x: ArrayLike, in_dim: int, dtype: Any) -> jax.Array:
    """Inputs (n, …) flattened to (n, in_dim) in ``dtype``; ValueError for another feature count."""
    x = jnp.asarray(x, dtype)
    x = x.reshape(x.shape[0], -1)
    if x.shape[1] != in_dim:
        raise ValueError(f"x must have {in_dim} features per sample, got {x.shape[1]}")
    return x


def _check_dims(**dims) -> None:
    for name, v in dims.items():
        if isinstance(v, tuple):
            if any((not isinstance(w, int)) or w < 1 for w in v):
                raise ValueError(f"{name} must be a tuple of positive integers, got {v!r}")
        elif not isinstance(v, int) or v < 1:
            raise ValueError(f"{name} must be a positive integer, got {v!r}")


# ----------------------------------------------------------------------------- Linear
@dataclasses.dataclass(frozen=True)
class Linear:
    """f(x) = W x: the linear theory's own model, the bias-free last layer alone on fixed inputs.

    There is no encoder (``params["encoder"]`` is empty), so h = ϕ = x and the
    only trainable matrix is the last layer, initialised W_ij ~ N(0, init_scale²/in_dim).
    Trained by :mod:`landscape.nn.train` like any model, it is the network on
    which the effective landscape of the last layer is the whole story.

    >>> import jax, jax.numpy as jnp
    >>> m = Linear(in_dim=3, out_dim=2)
    >>> params, state = m.init(jax.random.PRNGKey(0))
    >>> out, _ = m.apply(params, state, jnp.eye(3), train=True)
    >>> bool(jnp.allclose(out.z, last_layer(params).T)), out.phi.shape
    (True, (3, 3))
    """

    in_dim: int
    out_dim: int = 2
    init_scale: float = 1.0
    dtype: Any = jnp.float32

    def __post_init__(self) -> None:
        _check_dims(in_dim=self.in_dim, out_dim=self.out_dim)
        if not self.init_scale > 0:
            raise ValueError(f"init_scale must be > 0, got {self.init_scale!r}")

    def init(self, key: jax.Array) -> tuple[Params, State]:
        last = dense_init(key, self.in_dim, self.out_dim, bias=False, gain=self.init_scale**2, dtype=self.dtype)
        return {"encoder": {}, "projector": {"last": last}}, {"encoder": {}, "projector": {}}

    def apply(
        self, params: Params, state: State, x: Float[ArrayLike, "n ..."], *, train: bool
    ) -> tuple[Outputs, State]:
        x = _flat_inputs(x, self.in_dim, self.dtype)
        return Outputs(x, x, dense(params["projector"]["last"], x)), state


# ----------------------------------------------------------------------------- MLP
@dataclasses.dataclass(frozen=True)
class MLP:
    """Fully connected encoder ``in_dim → hidden…`` and projector ``proj_hidden… → out_dim``.

    The encoder output h is the activation of the last hidden layer.  With
    ``proj_hidden = ()`` (default) the projector is the last linear layer alone,
    so ϕ = h and f(x) = W h(x): the setting of WS Fig. 4.  Inputs of any shape
    (n, …) are flattened to (n, in_dim).
    """

    in_dim: int
    hidden: tuple[int, ...] = (32, 32)
    out_dim: int = 2
    proj_hidden: tuple[int, ...] = ()
    activation: str = "tanh"
    batch_norm: bool = False
    momentum: float = 0.9
    dtype: Any = jnp.float32

    def __post_init__(self) -> None:
        _check_dims(in_dim=self.in_dim, hidden=self.hidden, out_dim=self.out_dim, proj_hidden=self.proj_hidden)
        if not self.hidden:
            raise ValueError("hidden must have at least one layer (the encoder)")
        _activation(self.activation)

    def init(self, key: jax.Array) -> tuple[Params, State]:
        k_enc, k_proj = jax.random.split(key)
        keys = jax.random.split(k_enc, len(self.hidden))
        enc: Params = {}
        enc_state: State = {}
        d = self.in_dim
        for i, width in enumerate(self.hidden):
            enc[f"dense{i}"] = dense_init(
                keys[i], d, width, bias=not self.batch_norm, gain=_gain(self.activation) if i else 1.0, dtype=self.dtype
            )
            if self.batch_norm:
                enc[f"bn{i}"], enc_state[f"bn{i}"] = batch_norm_init(width, self.dtype)
            d = width
        proj, proj_state = _projector_init(
            k_proj, d, self.proj_hidden, self.out_dim, self.batch_norm, self.activation, self.dtype
        )
        return {"encoder": enc, "projector": proj}, {"encoder": enc_state, "projector": proj_state}

    def apply(
        self, params: Params, state: State, x: Float[ArrayLike, "n ..."], *, train: bool
    ) -> tuple[Outputs, State]:
        x = _flat_inputs(x, self.in_dim, self.dtype)
        act = _activation(self.activation)
        enc_state: State = {}
        for i in range(len(self.hidden)):
            x = dense(params["encoder"][f"dense{i}"], x)
            if self.batch_norm:
                x, enc_state[f"bn{i}"] = batch_norm(
                    params["encoder"][f"bn{i}"], state["encoder"][f"bn{i}"], x, train=train, momentum=self.momentum
                )
            x = act(x)
        phi, z, proj_state = _projector_apply(
            params["projector"],
            state["projector"],
            x,
            self.proj_hidden,
            self.batch_norm,
            self.activation,
            train,
            self.momentum,
        )
        return Outputs(x, phi, z), {"encoder": enc_state, "projector": proj_state}


# ----------------------------------------------------------------------------- ConvNet
@dataclasses.dataclass(frozen=True)
class ConvNet:
    """Small ConvNet: 3×3 conv → BN → ReLU blocks, global average pooling, MLP projector.

    ``channels[i]`` and ``strides[i]`` give each block; h is the pooled output of
    the last block (dimension ``channels[-1]``).  The projector is
    ``proj_hidden`` dense → BN → ReLU layers and the bias-free last layer.
    Inputs are NHWC images with ``in_channels`` channels.
    """

    in_channels: int = 1
    channels: tuple[int, ...] = (16, 32, 64)
    strides: tuple[int, ...] = (1, 2, 2)
    proj_hidden: tuple[int, ...] = (64,)
    out_dim: int = 16
    momentum: float = 0.9
    dtype: Any = jnp.float32

    def __post_init__(self) -> None:
        _check_dims(
            in_channels=self.in_channels,
            channels=self.channels,
            strides=self.strides,
            proj_hidden=self.proj_hidden,
            out_dim=self.out_dim,
        )
        if len(self.channels) != len(self.strides) or not self.channels:
            raise ValueError(
                f"channels and strides must be non-empty and of equal length, got "
                f"{self.channels!r} and {self.strides!r}"
            )

    def init(self, key: jax.Array) -> tuple[Params, State]:
        keys = jax.random.split(key, len(self.channels) + 1)
        enc: Params = {}
        enc_state: State = {}
        c = self.in_channels
        for i, width in enumerate(self.channels):
            enc[f"conv{i}"] = conv_init(keys[i], 3, c, width, dtype=self.dtype)
            enc[f"bn{i}"], enc_state[f"bn{i}"] = batch_norm_init(width, self.dtype)
            c = width
        proj, proj_state = _projector_init(keys[-1], c, self.proj_hidden, self.out_dim, True, "relu", self.dtype)
        return {"encoder": enc, "projector": proj}, {"encoder": enc_state, "projector": proj_state}

    def apply(
        self, params: Params, state: State, x: Float[ArrayLike, "n h w c"], *, train: bool
    ) -> tuple[Outputs, State]:
        x = jnp.asarray(x, self.dtype)
        if x.ndim != 4 or x.shape[-1] != self.in_channels:
            raise ValueError(f"x must be NHWC images with {self.in_channels} channels, got shape {x.shape}")
        enc_state: State = {}
        for i, stride in enumerate(self.strides):
            x = conv(params["encoder"][f"conv{i}"], x, stride)
            x, enc_state[f"bn{i}"] = batch_norm(
                params["encoder"][f"bn{i}"], state["encoder"][f"bn{i}"], x, train=train, momentum=self.momentum
            )
            x = jax.nn.relu(x)
        h = jnp.mean(x, axis=(1, 2))
        phi, z, proj_state = _projector_apply(
            params["projector"], state["projector"], h, self.proj_hidden, True, "relu", train, self.momentum
        )
        return Outputs(h, phi, z), {"encoder": enc_state, "projector": proj_state}


# ----------------------------------------------------------------------------- ResNet-18
@dataclasses.dataclass(frozen=True)
class ResNet18:
    """ResNet-18, CIFAR variant (He et al. 2016; SimCLR's CIFAR stem).

    Stem: 3×3 conv (stride 1, no max-pool) → BN → ReLU.  Four stages of
    ``blocks`` basic blocks with widths (1, 2, 4, 8)·``width`` and strides
    (1, 2, 2, 2); a block is conv3×3 → BN → ReLU → conv3×3 → BN, plus the
    identity or a 1×1 conv → BN shortcut, then ReLU.  Global average pooling
    gives h (dimension 8·``width``, 512 for the standard width 64).  Projector:
    ``proj_hidden`` dense → BN → ReLU layers, then the bias-free last layer to
    ``out_dim`` (SimCLR's CIFAR head is 512 → 512 → 128).  ``blocks=(2, 2, 2, 2)``
    is ResNet-18; smaller widths give a cheap CPU version of the same graph.
    """

    in_channels: int = 3
    width: int = 64
    blocks: tuple[int, ...] = (2, 2, 2, 2)
    proj_hidden: tuple[int, ...] = (512,)
    out_dim: int = 128
    momentum: float = 0.9
    dtype: Any = jnp.float32

    def __post_init__(self) -> None:
        _check_dims(
            in_channels=self.in_channels,
            width=self.width,
            blocks=self.blocks,
            proj_hidden=self.proj_hidden,
            out_dim=self.out_dim,
        )
        if len(self.blocks) != 4:
            raise ValueError(f"blocks must give the 4 stages, got {self.blocks!r}")

    def _plan(self):
        """(stage, block, c_in, c_out, stride) for every basic block."""
        plan = []
        c = self.width
        for s, n in enumerate(self.blocks):
            out = self.width * 2**s
            for b in range(n):
                stride = 2 if (s > 0 and b == 0) else 1
                plan.append((s, b, c, out, stride))
                c = out
        return plan

    def init(self, key: jax.Array) -> tuple[Params, State]:
        plan = self._plan()
        keys = jax.random.split(key, 3 * len(plan) + 2)
        enc: Params = {"stem": conv_init(keys[0], 3, self.in_channels, self.width, dtype=self.dtype)}
        enc_state: State = {}
        enc["stem_bn"], enc_state["stem_bn"] = batch_norm_init(self.width, self.dtype)
        for j, (s, b, c_in, c_out, stride) in enumerate(plan):
            name = f"s{s}b{b}"
            p: Params = {
                "conv1": conv_init(keys[3 * j + 1], 3, c_in, c_out, dtype=self.dtype),
                "conv2": conv_init(keys[3 * j + 2], 3, c_out, c_out, dtype=self.dtype),
            }
            st: State = {}
            p["bn1"], st["bn1"] = batch_norm_init(c_out, self.dtype)
            p["bn2"], st["bn2"] = batch_norm_init(c_out, self.dtype)
            if stride != 1 or c_in != c_out:
                p["short"] = conv_init(keys[3 * j + 3], 1, c_in, c_out, dtype=self.dtype)
                p["short_bn"], st["short_bn"] = batch_norm_init(c_out, self.dtype)
            enc[name], enc_state[name] = p, st
        proj, proj_state = _projector_init(
            keys[-1], 8 * self.width, self.proj_hidden, self.out_dim, True, "relu", self.dtype
        )
        return {"encoder": enc, "projector": proj}, {"encoder": enc_state, "projector": proj_state}

    def apply(
        self, params: Params, state: State, x: Float[ArrayLike, "n h w c"], *, train: bool
    ) -> tuple[Outputs, State]:
        x = jnp.asarray(x, self.dtype)
        if x.ndim != 4 or x.shape[-1] != self.in_channels:
            raise ValueError(f"x must be NHWC images with {self.in_channels} channels, got shape {x.shape}")
        enc, est = params["encoder"], state["encoder"]
        new: State = {}
        mom = self.momentum
        x = conv(enc["stem"], x)
        x, new["stem_bn"] = batch_norm(enc["stem_bn"], est["stem_bn"], x, train=train, momentum=mom)
        x = jax.nn.relu(x)
        for s, b, _c_in, _c_out, stride in self._plan():
            name = f"s{s}b{b}"
            p, st = enc[name], est[name]
            ns: State = {}
            y = conv(p["conv1"], x, stride)
            y, ns["bn1"] = batch_norm(p["bn1"], st["bn1"], y, train=train, momentum=mom)
            y = jax.nn.relu(y)
            y = conv(p["conv2"], y)
            y, ns["bn2"] = batch_norm(p["bn2"], st["bn2"], y, train=train, momentum=mom)
            if "short" in p:
                sc = conv(p["short"], x, stride)
                sc, ns["short_bn"] = batch_norm(p["short_bn"], st["short_bn"], sc, train=train, momentum=mom)
            else:
                sc = x
            x = jax.nn.relu(y + sc)
            new[name] = ns
        h = jnp.mean(x, axis=(1, 2))
        phi, z, proj_state = _projector_apply(
            params["projector"], state["projector"], h, self.proj_hidden, True, "relu", train, mom
        )
        return Outputs(h, phi, z), {"encoder": new, "projector": proj_state}


# ----------------------------------------------------------------------------- helpers
def last_layer(params: Params) -> jax.Array:
    """The last linear layer as W ∈ R^{d1×d0} (paper orientation: f = W ϕ)."""
    return params["projector"]["last"]["w"].T


def with_last_layer(params: Params, w: jax.Array) -> Params:
    """A copy of ``params`` whose last layer is W (d1×d0); the other leaves are shared."""
    old = params["projector"]["last"]["w"]
    w = jnp.asarray(w, old.dtype)
    if w.T.shape != old.shape:
        raise ValueError(f"w must have shape {old.T.shape} (d1×d0), got {w.shape}")
    proj = dict(params["projector"])
    proj["last"] = {"w": w.T}
    out = dict(params)
    out["projector"] = proj
    return out


def count_params(params: Params) -> int:
    """Total number of scalar parameters."""
    return int(sum(x.size for x in jax.tree_util.tree_leaves(params)))


def decay_mask(params: Params) -> Params:
    """True for the leaves weight decay applies to: every weight matrix or kernel ("w"), not biases or BN."""

    def is_weight(path, _):
        last = path[-1]
        return getattr(last, "key", None) == "w"

    return jax.tree_util.tree_map_with_path(is_weight, params)
