r"""ResNet-18 SimCLR training step: JAX (landscape.nn) vs a plain PyTorch/torchvision step, same device.

The step measured in both frameworks is identical in content:

* ResNet-18, CIFAR variant (3×3 stem, stride 1, no max-pool), projector
  512 → 512 (BN, ReLU) → 128, both bias-free where followed by BN;
* both views of a batch of B images in one forward pass of 2B images (batch
  norm over the 2B views), NT-Xent loss with τ = 0.5;
* backward pass and an SGD update (momentum 0.9, lr 0.1, coupled weight decay
  1e-4 on conv/linear weights only — the same mask in both);
* float32 parameters; on GPUs both frameworks may use TF32 for matmuls and
  convolutions (JAX's default precision; ``torch.backends.*.allow_tf32 = True``).

Augmentation and data loading are excluded (the two views are fixed device
arrays), so the numbers compare the training step itself.  Throughput is
**images per second = B / (seconds per step)**, each image processed as two
views; compile time (JAX) and warm-up steps (both) are excluded and reported
apart.  Peak device memory: JAX ``memory_stats()["peak_bytes_in_use"]``, torch
``torch.cuda.max_memory_allocated()`` (GPU only).

PyTorch is optional and is **not** a dependency of the package: without torch
and torchvision the PyTorch column is skipped with a message.

Usage::

    python benchmarks/bench_nn_gpu.py                      # GPU: B = 512, 32×32, 30 timed steps
    python benchmarks/bench_nn_gpu.py --batch 256 --steps 50
    python benchmarks/bench_nn_gpu.py --smoke              # tiny sizes (the default on CPU)
    python benchmarks/bench_nn_gpu.py --smoke --width 2 --blocks 1,1,1,1 --no-xla-optimisation
                                                           # the test suite's check that it runs

``--width``/``--blocks`` shrink the JAX model only; the PyTorch column needs torchvision's
ResNet-18 and is skipped for any other shape.

Results are printed and written to ``out/bench_nn_gpu.json``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

ROOT = Path(__file__).resolve().parents[1]  # the repository: default output folder

STANDARD = dict(width=64, blocks=(2, 2, 2, 2))  # ResNet-18 as torchvision builds it


def jax_bench(
    batch: int,
    size: int,
    steps: int,
    warmup: int,
    width: int = 64,
    blocks: tuple[int, ...] = (2, 2, 2, 2),
    optimise: bool = True,
) -> dict:
    """Time the JAX step.  ``optimise=False`` compiles it without XLA optimisation: a quicker check
    that the step runs, whose timings do not represent the library."""
    from landscape.nn import models, train

    model = models.ResNet18(width=width, blocks=blocks, proj_hidden=(512,), out_dim=128)
    opt = train.make_optimizer("sgd", 0.1, momentum=0.9, weight_decay=1e-4)
    loss_fn = train.make_ssl_loss("nt-xent", temperature=0.5)
    # The initialisation as one program compiled without optimisation (it runs once and is not
    # timed): op by op, or optimised, its hundreds of small random draws took several times longer.
    key = jax.random.PRNGKey(0)
    init = (
        jax.jit(lambda k: train.init_train_state(model, opt, k))
        .lower(key)
        .compile(compiler_options={"xla_backend_optimization_level": 0})
    )
    state = init(key)
    rng = np.random.default_rng(1)
    x1, x2 = (jnp.asarray(rng.standard_normal((batch, size, size, 3)), jnp.float32) for _ in range(2))

    def step(state, x1, x2):
        def objective(params):
            loss, (new_state, _) = train.ssl_objective(model, loss_fn, params, state.model_state, x1, x2)
            return loss, new_state

        (loss, new_state), grads = jax.value_and_grad(objective, has_aux=True)(state.params)
        updates, opt_state = opt.update(grads, state.opt_state, state.params)
        params = jax.tree_util.tree_map(lambda p, u: p + u, state.params, updates)
        return state._replace(step=state.step + 1, params=params, model_state=new_state, opt_state=opt_state), loss

    t0 = time.perf_counter()
    options = None if optimise else {"xla_backend_optimization_level": 0}
    compiled = jax.jit(step, donate_argnums=0).lower(state, x1, x2).compile(compiler_options=options)
    compile_s = time.perf_counter() - t0
    for _ in range(warmup):
        state, loss = compiled(state, x1, x2)
    jax.block_until_ready(loss)
    t0 = time.perf_counter()
    for _ in range(steps):
        state, loss = compiled(state, x1, x2)
    jax.block_until_ready(loss)
    per_step = (time.perf_counter() - t0) / steps
    stats = jax.devices()[0].memory_stats() or {}
    return {
        "framework": f"jax {jax.__version__}",
        "device": jax.devices()[0].device_kind,
        "width": width,
        "blocks": list(blocks),
        "compile_s": round(compile_s, 2),
        "step_ms": round(1e3 * per_step, 3),
        "images_per_s": round(batch / per_step, 1),
        "final_loss": float(loss),
        "peak_device_memory_MiB": round(stats["peak_bytes_in_use"] / 2**20, 1)
        if "peak_bytes_in_use" in stats
        else None,
    }


def torch_bench(batch: int, size: int, steps: int, warmup: int) -> dict:
    try:
        import torch
        import torch.nn as nn
        import torch.nn.functional as F
        import torchvision
    except ImportError as e:
        return {"framework": "pytorch", "skipped": f"torch/torchvision not installed ({e.name})"}
    dev = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    torch.backends.cuda.matmul.allow_tf32 = True
    torch.backends.cudnn.allow_tf32 = True
    torch.backends.cudnn.benchmark = True
    net = torchvision.models.resnet18()
    net.conv1 = nn.Conv2d(3, 64, 3, 1, 1, bias=False)
    net.maxpool = nn.Identity()
    net.fc = nn.Identity()
    proj = nn.Sequential(
        nn.Linear(512, 512, bias=False), nn.BatchNorm1d(512), nn.ReLU(), nn.Linear(512, 128, bias=False)
    )
    model = nn.Sequential(net, proj).to(dev)
    decay = [p for n, p in model.named_parameters() if p.ndim > 1]
    no_decay = [p for n, p in model.named_parameters() if p.ndim <= 1]
    opt = torch.optim.SGD(
        [{"params": decay, "weight_decay": 1e-4}, {"params": no_decay, "weight_decay": 0.0}], lr=0.1, momentum=0.9
    )
    x1 = torch.randn(batch, 3, size, size, device=dev)
    x2 = torch.randn(batch, 3, size, size, device=dev)

    def nt_xent(z1, z2, tau=0.5):
        v = F.normalize(torch.cat([z1, z2]), dim=1)
        s = v @ v.t() / tau
        n = z1.shape[0]
        s.fill_diagonal_(float("-inf"))
        target = torch.cat([torch.arange(n, 2 * n), torch.arange(0, n)]).to(v.device)
        return F.cross_entropy(s, target)

    def step():
        opt.zero_grad(set_to_none=True)
        z = model(torch.cat([x1, x2]))
        loss = nt_xent(z[:batch], z[batch:])
        loss.backward()
        opt.step()
        return loss

    sync = torch.cuda.synchronize if dev.type == "cuda" else (lambda: None)
    if dev.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
    for _ in range(warmup):
        loss = step()
    sync()
    t0 = time.perf_counter()
    for _ in range(steps):
        loss = step()
    sync()
    per_step = (time.perf_counter() - t0) / steps
    return {
        "framework": f"pytorch {torch.__version__} / torchvision {torchvision.__version__}",
        "device": torch.cuda.get_device_name() if dev.type == "cuda" else "cpu",
        "step_ms": round(1e3 * per_step, 3),
        "images_per_s": round(batch / per_step, 1),
        "final_loss": float(loss),
        "peak_device_memory_MiB": round(torch.cuda.max_memory_allocated() / 2**20, 1) if dev.type == "cuda" else None,
    }


def main(argv=None) -> int:
    on_gpu = jax.default_backend() == "gpu"
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--batch", type=int, default=512, help="images per step (2 views each)")
    ap.add_argument("--size", type=int, default=32, help="image side")
    ap.add_argument("--steps", type=int, default=30, help="timed steps")
    ap.add_argument("--warmup", type=int, default=5, help="untimed steps after compilation")
    ap.add_argument(
        "--smoke",
        action="store_true",
        default=not on_gpu,
        help="tiny sizes: batch 8, 16×16 images, 2 steps (default without a GPU)",
    )
    ap.add_argument(
        "--width",
        type=int,
        default=STANDARD["width"],
        help="JAX model only: base width (64 is ResNet-18; others skip the PyTorch column)",
    )
    ap.add_argument(
        "--no-xla-optimisation",
        action="store_true",
        help="compile the step without XLA optimisation (checks that it runs; timings not representative)",
    )
    ap.add_argument(
        "--blocks",
        default=",".join(map(str, STANDARD["blocks"])),
        help="JAX model only: basic blocks per stage (2,2,2,2 is ResNet-18; others skip PyTorch)",
    )
    ap.add_argument("--out", default=str(ROOT / "out" / "bench_nn_gpu.json"))
    args = ap.parse_args(argv)
    if args.smoke:
        args.batch, args.size, args.steps, args.warmup = 8, 16, 2, 1
    blocks = tuple(int(b) for b in args.blocks.split(","))
    cfg = {
        "batch": args.batch,
        "image_size": args.size,
        "timed_steps": args.steps,
        "warmup_steps": args.warmup,
        "smoke": args.smoke,
        "backend": jax.default_backend(),
        "width": args.width,
        "blocks": list(blocks),
        "xla_optimised": not args.no_xla_optimisation,
    }
    print("config:", cfg, flush=True)
    rows = [
        jax_bench(
            args.batch, args.size, args.steps, args.warmup, args.width, blocks, optimise=not args.no_xla_optimisation
        )
    ]
    print(rows[0], flush=True)
    if dict(width=args.width, blocks=blocks) == STANDARD:
        rows.append(torch_bench(args.batch, args.size, args.steps, args.warmup))
    else:
        rows.append({"framework": "pytorch", "skipped": "torchvision's resnet18 has only width 64 and blocks 2,2,2,2"})
    print(rows[1], flush=True)
    if "images_per_s" in rows[1]:
        print(f"JAX / PyTorch throughput ratio: {rows[0]['images_per_s'] / rows[1]['images_per_s']:.2f}")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"config": cfg, "results": rows}, indent=2) + "\n")
    print("wrote", out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
