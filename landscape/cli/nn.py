r"""``landscape nn-train``: train a network with an SSL loss and probe its last layer against the theory.

Registered into ``landscape`` by :func:`register`.  One run: build the model and
the data, train with Gaussian-noise views (optionally resuming from
``--checkpoint``), then report the measured collapse of the last layer (the
spectrum of W Σ_ϕ Wᵀ) next to the linear theory's prediction from the frozen
encoder's features (:mod:`landscape.nn.probe`).  Bad input exits with code 2
and one line on stderr naming the option.

Example::

    landscape nn-train --model mlp --data gaussian --sigma2 1.1 --steps 600 --json
"""

from __future__ import annotations

import argparse

import numpy as np

from landscape.cli._common import (
    HANDLER_FIELDS,
    MAX_STEPS,
    CLIError,
    Parser,
    dump,
    library_errors,
    parse_float,
    parse_int,
    parse_seed,
    require_bytes,
)

__all__ = ["register"]


def _check_checkpoint(path) -> None:
    """Refuse a --checkpoint that is not a file written by :func:`landscape.nn.train.save_checkpoint`:
    training would end by replacing it (or fail on a folder) after all its steps."""
    import os
    import zipfile
    from pathlib import Path

    if path is None:
        return
    p = Path(path)
    if p.exists() and not p.is_file():
        raise CLIError(f"--checkpoint: {path} exists and is not a file")
    if p.is_file():
        try:
            f = np.load(p, allow_pickle=False)  # an .npz archive (or a plain array: not ours)
        except (OSError, ValueError, EOFError, zipfile.BadZipFile):
            f = None
        ours = "__paths__" in getattr(f, "files", ())
        if f is not None and hasattr(f, "close"):
            f.close()
        if not ours:
            raise CLIError(
                f"--checkpoint: {path} is not a landscape checkpoint (.npz with __paths__); refusing to overwrite it"
            )
    folder = p.absolute().parent
    while not folder.exists():  # save_checkpoint creates the missing folders
        folder = folder.parent
    if not os.access(folder, os.W_OK):
        raise CLIError(f"--checkpoint: cannot write under {folder} (permission denied)")


def _options(args) -> dict:
    """The numeric options of ``nn-train``, checked."""
    return dict(
        steps=parse_int(args.steps, "--steps", low=1, high=MAX_STEPS),
        batch=parse_int(args.batch, "--batch", low=2),
        out_dim=parse_int(args.out_dim, "--out-dim", low=1),
        seed=parse_seed(args.seed),
        sigma2=parse_float(args.sigma2, "--sigma2", low=0.0),
        lr=parse_float(args.lr, "--lr", low=0.0, low_inclusive=False),
        wd=parse_float(args.weight_decay, "--weight-decay", low=0.0),
        beta=parse_float(args.beta, "--beta", low=0.0, high=1.0, low_inclusive=False),
    )


def _data(args, seed: int):
    """The training inputs of --data (standardised CIFAR-10 images, digits, or Gaussian vectors)."""
    import jax

    from landscape.nn import data
    from landscape.studies import nonlinear_networks as ex

    if args.data == "gaussian":
        return data.gaussian(jax.random.PRNGKey(seed + 1), 512, ex.FIG4["variances"])
    if args.data == "digits":
        try:
            return data.load_digits()[0]
        except ImportError as e:
            raise CLIError(f"--data digits: {e}") from None
    if args.cifar_root is None:
        raise CLIError("--data cifar10 needs --cifar-root (the CIFAR-10 binary version)")
    try:
        x, _ = data.load_cifar10(args.cifar_root, "train")
    except ValueError as e:
        raise CLIError(f"--cifar-root: {e}") from None
    return data.standardize(x)[0]


def _model(args, x, out_dim: int):
    from landscape.nn import models

    if args.model == "mlp":
        return models.MLP(
            in_dim=int(np.prod(x.shape[1:])), hidden=(32, 32), out_dim=out_dim, activation=args.activation
        )
    if x.ndim != 4:
        raise CLIError(f"--model {args.model} needs image data (digits or cifar10), got --data {args.data}")
    if args.model == "convnet":
        return models.ConvNet(in_channels=x.shape[-1], out_dim=out_dim)
    return models.ResNet18(in_channels=x.shape[-1], out_dim=out_dim)


def _fit(args, model, x, o: dict):
    """Train (resuming from --checkpoint) and return (state, losses); checkpoint errors name the option."""
    import jax

    from landscape.nn import augment, train
    from landscape.studies import nonlinear_networks as ex

    opt = train.make_optimizer("adam", o["lr"], weight_decay=o["wd"])
    loss_fn = ex._theory_loss(args.loss, o["beta"])[0]
    mesh = train.data_mesh() if jax.device_count() > 1 else None
    try:
        return train.fit(
            model,
            opt,
            loss_fn,
            augment.make_augment("noise", sigma2=o["sigma2"]),
            x,
            key=jax.random.PRNGKey(o["seed"]),
            steps=o["steps"],
            batch_size=o["batch"],
            steps_per_call=min(100, o["steps"]),
            checkpoint=args.checkpoint,
            mesh=mesh,
        )
    except ValueError as e:
        if not str(e).startswith("path: "):  # load_checkpoint: a checkpoint of another model or size
            raise
        raise CLIError(f"--checkpoint {args.checkpoint}: {str(e).removeprefix('path: ')}") from None
    except OSError as e:
        raise CLIError(f"--checkpoint: cannot write {args.checkpoint} ({e.strerror or e})") from None


def _run(args) -> int:
    import jax

    from landscape.studies import nonlinear_networks as ex

    o = _options(args)
    x = _data(args, o["seed"])
    batch, out_dim, sigma2, beta = o["batch"], o["out_dim"], o["sigma2"], o["beta"]
    if batch > len(x):
        raise CLIError(f"--batch must be <= the data-set size {len(x)}, got {batch}")
    # Two views of a batch of outputs, the last layer from up to 512 features with its Adam state,
    # and the d1×d1 output covariances of the analysis.
    require_bytes(8.0 * (4 * batch * out_dim + 2048 * out_dim + 3 * out_dim**2), f"--out-dim {out_dim}")
    _check_checkpoint(args.checkpoint)
    model = _model(args, x, out_dim)
    with library_errors(HANDLER_FIELDS):
        state, losses = _fit(args, model, x, o)
        state = jax.device_get(state)
        xe = x[: min(len(x), 1024)]
        r = ex.analyse(
            model,
            state.params,
            state.model_state,
            xe,
            sigma2,
            key=jax.random.PRNGKey(o["seed"] + 2),
            loss=args.loss,
            beta=beta,
            weight_decay=o["wd"] / 2.0,
            slices=False,
            refit=False,
        )
    report = {
        "model": args.model,
        "data": args.data,
        "loss": args.loss,
        "beta": beta if args.loss == "beta-infonce" else 1.0,
        "sigma2": sigma2,
        "steps": int(state.step),
        "final_loss": float(losses[-1]) if len(losses) else None,
        "measured_rank": int(r["measured_rank"]),
        "measured_class": r["measured_class"],
        "predicted_rank": int(r["predicted_rank"]),
        "predicted_class": r["predicted_class"],
        "measured_output_variances": [float(v) for v in r["measured_output_variances"]],
        "predicted_output_variances": [float(v) for v in r["predicted_output_variances"]],
        "signal_fractions": [float(v) for v in r["signal_fractions"][:10]],
        "checkpoint": args.checkpoint,
    }
    if args.json:
        print(dump(report))
    else:
        print(
            f"{args.model} on {args.data}, {args.loss}, σ² = {sigma2:g}: {int(state.step)} steps, "
            f"final loss {report['final_loss']:.4f}"
        )
        print(
            f"last layer: measured {report['measured_class']} collapse (rank {report['measured_rank']}), "
            f"predicted from frozen features {report['predicted_class']} (rank {report['predicted_rank']})"
        )
    return 0


def register(subparsers: argparse._SubParsersAction[Parser]) -> None:
    """Add ``nn-train`` to ``landscape``'s subparsers; it sets ``handler``."""
    p = subparsers.add_parser(
        "nn-train",
        help="train a network with an SSL loss, probe its last layer",
        description="Train an MLP / ConvNet / ResNet-18 with Gaussian-noise views and compare "
        "the last layer's collapse with the linear theory on its frozen features.",
    )
    p.add_argument("--model", choices=("mlp", "convnet", "resnet18"), default="mlp")
    p.add_argument("--data", choices=("gaussian", "digits", "cifar10"), default="gaussian")
    p.add_argument("--cifar-root", help="folder of the CIFAR-10 binary version (data_batch_*.bin)")
    p.add_argument("--loss", choices=("beta-infonce", "infonce"), default="beta-infonce")
    p.add_argument("--beta", default="0.5", help="β of beta-infonce, in (0, 1] (default 0.5)")
    p.add_argument("--activation", choices=("tanh", "relu"), default="tanh", help="MLP nonlinearity")
    p.add_argument("--sigma2", default="1.1", help="Gaussian-noise augmentation variance σ² >= 0 (default 1.1)")
    p.add_argument("--steps", default="600", help="training steps (default 600)")
    p.add_argument("--batch", default="512", help="batch size (default 512)")
    p.add_argument("--lr", default="3e-3", help="Adam learning rate (default 3e-3)")
    p.add_argument("--weight-decay", default="0", help="coupled weight decay wd >= 0 (γ = wd/2; default 0)")
    p.add_argument("--out-dim", default="2", help="output dimension d1 (default 2)")
    p.add_argument("--seed", default="0", help="PRNG seed (default 0)")
    p.add_argument("--checkpoint", help="checkpoint .npz: resumed from if it exists, written at the end")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(handler=_run)
