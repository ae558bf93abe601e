r"""SSL training of the networks: optimizer, jitted steps, data parallelism, checkpoints.

The training state is a pytree,

    TrainState(step, params, model_state, opt_state, key),

and one step is a pure function ``step(state, x) -> (state, metrics)``: two views
x₁ = t₁(x), x₂ = t₂(x) are drawn with keys derived from ``fold_in(key, step)``,
both views go through the network as **one batch of 2n** (so batch-norm
statistics are shared by the views, as in SimCLR), and the SSL loss of
:mod:`landscape.losses.sample` is taken between the two halves of z.  Because
every random number is a function of (key, step), a run resumed from a
checkpoint continues bit for bit.

Weight decay.  ``make_optimizer(weight_decay=wd)`` adds wd·θ to the gradient of
every weight matrix or kernel (:func:`landscape.nn.models.decay_mask`) *before*
the optimizer (coupled, i.e. the penalty (wd/2)‖θ‖² in the loss).  For the
last layer this is the effective landscape's γ‖W‖² with **γ = wd/2**.
``decoupled=True`` gives AdamW instead (not a penalty, no γ).

Data parallelism.  :func:`data_mesh` builds a 1-D mesh ``("data",)`` over the
local devices, :func:`replicate` places the state on every device and the
training loop constrains each batch to be split along its first axis over
the mesh.  Everything else is left to ``jax.jit``: the batch-norm mean and
variance and the loss are computed over the *global* batch (XLA inserts the
all-reduces), and the gradients are averaged across devices by the same
mechanism.  The code is the same on one CPU, one GPU or many devices; with
JAX's partitionable threefry (the default) even the augmentation noise does
not depend on the number of devices.

Checkpoints (:func:`save_checkpoint`, :func:`load_checkpoint`) are ``.npz``
archives of the flattened leaves plus their key paths, shapes and dtypes; loading
checks the structure against a template state and never unpickles.

Example:
    >>> import jax, jax.numpy as jnp
    >>> from landscape.nn import models, augment
    >>> m = models.MLP(in_dim=2, hidden=(8,), out_dim=2)
    >>> opt = make_optimizer("adam", 1e-2)
    >>> state = init_train_state(m, opt, jax.random.PRNGKey(0))
    >>> step = jax.jit(make_train_step(m, opt, make_ssl_loss("infonce"),
    ...                                augment.make_augment("noise", sigma2=0.1)))
    >>> state, metrics = step(state, jnp.ones((8, 2)))
    >>> int(state.step), metrics["loss"].shape
    (1, ())
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.sharding import Mesh, NamedSharding, PartitionSpec
from jax.typing import ArrayLike

if TYPE_CHECKING:  # shapes for the reader and the docs; jaxtyping is not needed at run time
    from jaxtyping import Array, Float

from landscape.losses import sample as ssl
from landscape.nn.models import Model, Outputs, Params, State, decay_mask

__all__ = [
    "TrainState",
    "SSL_LOSSES",
    "make_ssl_loss",
    "make_optimizer",
    "init_train_state",
    "ssl_objective",
    "make_train_step",
    "make_train_loop",
    "sample_batch",
    "data_mesh",
    "replicate",
    "shard_batch",
    "save_checkpoint",
    "load_checkpoint",
    "fit",
]

LossFn = Callable[[jax.Array, jax.Array], jax.Array]
Augment = Callable[[jax.Array, jax.Array], jax.Array]


class TrainState(NamedTuple):
    """Step counter, trainable parameters, batch-norm state, optimizer state and the run's PRNG key."""

    step: jax.Array
    params: Any
    model_state: Any
    opt_state: Any
    key: jax.Array


# ----------------------------------------------------------------------------- losses
SSL_LOSSES = ("infonce", "beta-infonce", "weighted-infonce", "nt-xent", "spectral", "barlow-twins", "vicreg")


def make_ssl_loss(name: str, **params: Any) -> LossFn:
    """``fn(z1, z2)`` for a loss of :mod:`landscape.losses.sample` by name.

    ``infonce`` / ``beta-infonce`` (``beta``) / ``weighted-infonce`` (``alpha``)
    are the Euclidean InfoNCE family (optionally ``symmetric``); ``nt-xent``
    (``temperature``), ``spectral``, ``barlow-twins`` and ``vicreg`` take their
    keyword arguments from the sample module.

    >>> import jax.numpy as jnp
    >>> round(float(make_ssl_loss("beta-infonce", beta=0.5)(jnp.zeros((4, 2)), jnp.zeros((4, 2)))), 6)
    0.693147
    """
    key = str(name).strip().lower().replace("_", "-")
    table = {
        "infonce": (ssl.infonce, ("symmetric",)),
        "beta-infonce": (ssl.beta_infonce, ("beta", "symmetric")),
        "weighted-infonce": (ssl.weighted_infonce, ("alpha", "symmetric")),
        "nt-xent": (ssl.nt_xent, ("temperature",)),
        "spectral": (ssl.spectral_contrastive, ()),
        "barlow-twins": (ssl.barlow_twins, ("lambda_offdiag", "normalize", "eps")),
        "vicreg": (ssl.vicreg, ("inv_weight", "var_weight", "cov_weight", "gamma", "eps")),
    }
    if key not in table:
        raise ValueError(f"loss must be one of {', '.join(SSL_LOSSES)}, got {name!r}")
    fn, allowed = table[key]
    extra = sorted(set(params) - set(allowed))
    if extra:
        raise ValueError(f"loss {key!r} does not take {extra}; allowed: {list(allowed)}")
    if key == "beta-infonce":
        beta = params.pop("beta", 0.5)
        return lambda z1, z2: fn(z1, z2, beta, **params)
    if key == "weighted-infonce":
        if "alpha" not in params:
            raise ValueError("loss 'weighted-infonce' needs alpha")
        alpha = params.pop("alpha")
        return lambda z1, z2: fn(z1, z2, alpha, **params)
    return lambda z1, z2: fn(z1, z2, **params)


# ----------------------------------------------------------------------------- optimizer
def make_optimizer(
    name: str = "adam",
    learning_rate: float = 1e-3,
    *,
    schedule: str = "constant",
    total_steps: int | None = None,
    warmup_steps: int = 0,
    weight_decay: float = 0.0,
    decoupled: bool = False,
    momentum: float = 0.9,
) -> optax.GradientTransformation:
    r"""An optax optimizer with a learning-rate schedule and weight decay on the weights only.

    ``name``: ``"sgd"`` (with ``momentum``, 0 for plain SGD), ``"adam"``.
    ``schedule``: ``"constant"``, ``"cosine"`` (decay to 0 over ``total_steps``)
    or ``"warmup-cosine"`` (linear warm-up over ``warmup_steps``, then cosine).
    ``weight_decay`` ≥ 0 is coupled (penalty (wd/2)‖θ‖², γ = wd/2 for the last
    layer) unless ``decoupled`` (AdamW; ``name`` must be ``"adam"``).
    """
    if not learning_rate > 0:
        raise ValueError(f"learning_rate must be > 0, got {learning_rate}")
    if weight_decay < 0:
        raise ValueError(f"weight_decay must be >= 0, got {weight_decay}")
    if schedule == "constant":
        lr: Any = learning_rate
    elif schedule in ("cosine", "warmup-cosine"):
        if total_steps is None or total_steps < 1:
            raise ValueError(f"total_steps must be a positive integer for schedule {schedule!r}, got {total_steps}")
        if schedule == "cosine":
            lr = optax.cosine_decay_schedule(learning_rate, int(total_steps))
        else:
            if not 0 <= warmup_steps < total_steps:
                raise ValueError(f"warmup_steps must be in [0, total_steps), got {warmup_steps}")
            lr = optax.warmup_cosine_decay_schedule(0.0, learning_rate, int(warmup_steps), int(total_steps))
    else:
        raise ValueError(f"schedule must be 'constant', 'cosine' or 'warmup-cosine', got {schedule!r}")
    if name == "sgd":
        if decoupled:
            raise ValueError("decoupled weight decay needs name='adam' (AdamW)")
        base = optax.sgd(lr, momentum=momentum if momentum else None)
    elif name == "adam":
        if decoupled:
            return optax.adamw(lr, weight_decay=weight_decay, mask=decay_mask)
        base = optax.adam(lr)
    else:
        raise ValueError(f"name must be 'sgd' or 'adam', got {name!r}")
    if weight_decay == 0:
        return base
    return optax.chain(optax.add_decayed_weights(weight_decay, mask=decay_mask), base)


# ----------------------------------------------------------------------------- steps
def init_train_state(model: Model, optimizer: optax.GradientTransformation, key: jax.Array) -> TrainState:
    """Initialise parameters (from one half of ``key``) and keep the other half as the run's key."""
    k_init, k_run = jax.random.split(key)
    params, model_state = model.init(k_init)
    return TrainState(jnp.zeros((), jnp.int32), params, model_state, optimizer.init(params), k_run)


def ssl_objective(
    model: Model,
    loss_fn: LossFn,
    params: Params,
    model_state: State,
    x1: Float[Array, "n ..."],
    x2: Float[Array, "n ..."],
    *,
    train: bool = True,
) -> tuple[jax.Array, tuple[State, Outputs]]:
    """(loss, (new model state, outputs)): both views as one batch, loss between the halves of z."""
    n = x1.shape[0]
    out, new_state = model.apply(params, model_state, jnp.concatenate([x1, x2], axis=0), train=train)
    return loss_fn(out.z[:n], out.z[n:]), (new_state, out)


def make_train_step(
    model: Model, optimizer: optax.GradientTransformation, loss_fn: LossFn, augment: Augment
) -> Callable[[TrainState, jax.Array], tuple[TrainState, dict[str, jax.Array]]]:
    """``step(state, x) -> (state, {"loss"})``: one SSL update on the clean batch ``x`` (not jitted)."""

    def step(state: TrainState, x: jax.Array):
        k1, k2 = jax.random.split(jax.random.fold_in(jax.random.fold_in(state.key, 1), state.step))
        x1, x2 = augment(k1, x), augment(k2, x)

        def objective(params):
            loss, (new_state, _) = ssl_objective(model, loss_fn, params, state.model_state, x1, x2)
            return loss, new_state

        (loss, new_state), grads = jax.value_and_grad(objective, has_aux=True)(state.params)
        updates, opt_state = optimizer.update(grads, state.opt_state, state.params)
        params = optax.apply_updates(state.params, updates)
        return TrainState(state.step + 1, params, new_state, opt_state, state.key), {"loss": loss}

    return step


def sample_batch(data: jax.Array, key: jax.Array, batch_size: int) -> jax.Array:
    """``batch_size`` distinct rows of ``data`` (all of them, in order, when it equals len(data))."""
    n = data.shape[0]
    if not 1 <= batch_size <= n:
        raise ValueError(f"batch_size must be in [1, {n}], got {batch_size}")
    if batch_size == n:
        return data
    idx = jax.random.choice(key, n, (batch_size,), replace=False)
    return jnp.take(data, idx, axis=0)


def data_mesh(devices: Sequence[jax.Device] | None = None) -> Mesh:
    """A 1-D device mesh with axis ``"data"`` over ``devices`` (default: all local devices)."""
    devs = np.asarray(jax.local_devices() if devices is None else list(devices))
    if devs.size < 1:
        raise ValueError("devices must hold at least one device")
    return Mesh(devs.reshape(-1), ("data",))


def replicate(tree: Any, mesh: Mesh) -> Any:
    """Place every leaf of ``tree`` on all devices of ``mesh`` (fully replicated)."""
    return jax.device_put(tree, NamedSharding(mesh, PartitionSpec()))


def shard_batch(x: jax.Array, mesh: Mesh) -> jax.Array:
    """Split the first axis of ``x`` over the mesh's ``"data"`` axis."""
    return jax.device_put(x, NamedSharding(mesh, PartitionSpec("data")))


def make_train_loop(
    model: Model,
    optimizer: optax.GradientTransformation,
    loss_fn: LossFn,
    augment: Augment,
    *,
    batch_size: int,
    steps_per_call: int,
    mesh: Mesh | None = None,
) -> Callable[[TrainState, jax.Array], tuple[TrainState, jax.Array]]:
    """A jitted ``loop(state, data) -> (state, losses)`` running ``steps_per_call`` steps in one ``lax.scan``.

    Each step draws ``batch_size`` rows of ``data`` with a key derived from
    (state.key, step), so results do not depend on how the steps are grouped
    into calls.  With a ``mesh`` the batch is split over its ``"data"`` axis
    and the state is kept replicated; place ``data`` and the state with
    :func:`replicate` first.
    """
    if steps_per_call < 1:
        raise ValueError(f"steps_per_call must be >= 1, got {steps_per_call}")
    step = make_train_step(model, optimizer, loss_fn, augment)

    def constrain(x, spec):
        return x if mesh is None else jax.lax.with_sharding_constraint(x, NamedSharding(mesh, spec))

    def loop(state, data):
        def body(state, _):
            k = jax.random.fold_in(jax.random.fold_in(state.key, 0), state.step)
            x = constrain(sample_batch(data, k, batch_size), PartitionSpec("data"))
            state, metrics = step(state, x)
            state = jax.tree_util.tree_map(lambda v: constrain(v, PartitionSpec()), state)
            return state, metrics["loss"]

        return jax.lax.scan(body, state, None, length=int(steps_per_call))

    return jax.jit(loop)


# ----------------------------------------------------------------------------- checkpoints
def _flatten(tree):
    flat, treedef = jax.tree_util.tree_flatten_with_path(tree)
    return [jax.tree_util.keystr(p) for p, _ in flat], [v for _, v in flat], treedef


def save_checkpoint(path: str | os.PathLike[str], tree: Any, *, metadata: dict | None = None) -> Path:
    """Write the leaves of ``tree`` to ``path`` (.npz) atomically, with key paths and JSON ``metadata``."""
    names, leaves, treedef = _flatten(tree)
    arrays = {f"leaf_{i:05d}": np.asarray(jax.device_get(v)) for i, v in enumerate(leaves)}
    arrays["__paths__"] = np.asarray(names, dtype=np.str_)
    arrays["__treedef__"] = np.asarray(str(treedef), dtype=np.str_)
    arrays["__metadata__"] = np.asarray(json.dumps(metadata or {}), dtype=np.str_)
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_name(p.name + ".tmp.npz")
    np.savez(tmp, **arrays)
    os.replace(tmp, p)
    return p


def load_checkpoint(path: str | os.PathLike[str], like: Any) -> tuple[Any, dict]:
    """(tree, metadata) read from ``path`` into the structure of the template ``like``.

    Raises ValueError naming the first leaf whose key path, shape or dtype
    differs from the template.  Leaves are placed like the template's (same
    sharding) when those are JAX arrays.
    """
    names, leaves, treedef = _flatten(like)
    with np.load(Path(path), allow_pickle=False) as f:
        saved_names = [str(s) for s in f["__paths__"]]
        if saved_names != names:
            missing = sorted(set(names) - set(saved_names))
            extra = sorted(set(saved_names) - set(names))
            raise ValueError(
                f"path: checkpoint structure differs from the template (missing {missing[:3]}, "
                f"unexpected {extra[:3]}, {len(saved_names)} vs {len(names)} leaves)"
            )
        out = []
        for i, (name, ref) in enumerate(zip(names, leaves)):
            arr = f[f"leaf_{i:05d}"]
            ref_shape, ref_dtype = np.shape(ref), np.dtype(getattr(ref, "dtype", np.asarray(ref).dtype))
            if arr.shape != tuple(ref_shape) or arr.dtype != ref_dtype:
                raise ValueError(
                    f"path: leaf {name} has shape {arr.shape} and dtype {arr.dtype} in the checkpoint, "
                    f"but {tuple(ref_shape)} and {ref_dtype} in the template"
                )
            if isinstance(ref, jax.Array):
                out.append(jax.device_put(arr, ref.sharding))
            else:
                out.append(arr)
        metadata = json.loads(str(f["__metadata__"]))
    return jax.tree_util.tree_unflatten(treedef, out), metadata


# ----------------------------------------------------------------------------- fit
_LOOPS: dict = {}  # compiled loops of fit(), reused by later calls with the same pieces


def fit(
    model: Model,
    optimizer: optax.GradientTransformation,
    loss_fn: LossFn,
    augment: Augment,
    data: ArrayLike,
    *,
    key: jax.Array | None = None,
    state: TrainState | None = None,
    steps: int,
    batch_size: int,
    steps_per_call: int = 100,
    mesh: Mesh | None = None,
    checkpoint: str | os.PathLike[str] | None = None,
    checkpoint_every: int | None = None,
    log: Callable[[int, float], None] | None = None,
) -> tuple[TrainState, np.ndarray]:
    """Train until ``state.step == steps``; returns (state, the losses of the steps run in this call).

    Starts from ``state``, or a fresh one from ``key``.  If ``checkpoint`` names
    an existing file, the run resumes from it (structure-checked), and it is
    rewritten every ``checkpoint_every`` steps and at the end.  ``steps_per_call``
    steps run per jitted call (the last call may be shorter).
    """
    if state is None:
        if key is None:
            raise ValueError("fit needs key or state")
        state = init_train_state(model, optimizer, key)
    if checkpoint is not None and Path(checkpoint).is_file():
        state, _ = load_checkpoint(checkpoint, state)
    data = jnp.asarray(data)
    if mesh is not None:
        state, data = replicate(state, mesh), replicate(data, mesh)
    losses = []
    last_saved = int(state.step)
    while int(state.step) < steps:
        n = min(int(steps_per_call), steps - int(state.step))
        cache_key = (model, optimizer, loss_fn, augment, int(batch_size), n, mesh)
        if cache_key not in _LOOPS:
            _LOOPS[cache_key] = make_train_loop(
                model, optimizer, loss_fn, augment, batch_size=batch_size, steps_per_call=n, mesh=mesh
            )
        state, chunk = _LOOPS[cache_key](state, data)
        chunk = np.asarray(chunk)
        losses.append(chunk)
        if log is not None:
            log(int(state.step), float(chunk[-1]))
        if checkpoint is not None and checkpoint_every and int(state.step) - last_saved >= checkpoint_every:
            save_checkpoint(checkpoint, state, metadata={"step": int(state.step)})
            last_saved = int(state.step)
    if checkpoint is not None:
        save_checkpoint(checkpoint, state, metadata={"step": int(state.step)})
    return state, (np.concatenate(losses) if losses else np.zeros((0,), np.float32))
