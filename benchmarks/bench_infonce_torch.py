"""Euclidean-InfoNCE training of a linear model: JAX (jitted scan, vmapped) vs a plain PyTorch loop.

The workload is WS App. A's: a fixed training set (N points in d dims), fresh
Gaussian augmentation at every step, full-batch Adam on the real InfoNCE loss
(mean over anchors, negatives = the other samples' second views), for several
independent runs (seeds × σ² values).

* JAX: :func:`landscape.studies.linear_training.train_grid`, one compiled program that
  runs every configuration at once (``vmap``) and every step inside
  ``lax.scan``.  Compile time is reported apart.
* PyTorch (CPU): the straightforward loop one would write, one configuration
  after another, ``torch.optim.Adam``, autograd, one Python iteration per step.

Both use float32 and the same loss formula (‖a‖² + ‖b‖² − 2a·b distances,
log-sum-exp denominator).  Timings are the best of ``--repeat`` runs; other
processes on the machine distort them, so the 1-minute load average is printed
with the result.  PyTorch is an optional, benchmark-only dependency
(``pip install torch``); without it the script reports the JAX timing alone.

Usage: ``python benchmarks/bench_infonce_torch.py [--steps 500 --configs 8 --n 128 --d 32]``
"""

from __future__ import annotations

import argparse
import json
import os
import time

import jax
import jax.numpy as jnp
import numpy as np

from landscape.studies.linear_training import train_grid


def bench_jax(x, sigma2s, seeds, steps, lr, repeat):
    keys = jax.random.split(jax.random.PRNGKey(0), seeds)
    xj = jnp.asarray(x, jnp.float32)
    sj = jnp.asarray(sigma2s, jnp.float32)
    t0 = time.perf_counter()
    out = train_grid(keys, xj, sj, loss="infonce", steps=steps, lr=lr)
    jax.block_until_ready(out)
    first = time.perf_counter() - t0
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = train_grid(keys, xj, sj, loss="infonce", steps=steps, lr=lr)
        jax.block_until_ready(out)
        best = min(best, time.perf_counter() - t0)
    return {
        "first_call_s": first,
        "compile_s_est": max(first - best, 0.0),
        "run_s": best,
        "final_loss_mean": float(jnp.mean(out["loss_trace"][..., -1])),
    }


def bench_torch(x, sigma2s, seeds, steps, lr, repeat, threads=None):
    import torch

    if threads:
        torch.set_num_threads(int(threads))
    torch.manual_seed(0)
    xt = torch.tensor(x, dtype=torch.float32)
    n, d = xt.shape

    def infonce(z1, z2):
        u = 0.5 * ((z1 * z1).sum(1)[:, None] + (z2 * z2).sum(1)[None, :] - 2.0 * z1 @ z2.T)
        return (torch.diagonal(u) + torch.logsumexp(-u, dim=1)).mean()

    def one_run(s2):
        bound = 1.0 / np.sqrt(d)
        w = (torch.rand(d, d) * 2 * bound - bound).requires_grad_(True)
        opt = torch.optim.Adam([w], lr=lr)
        sd = float(np.sqrt(s2))
        for _ in range(steps):
            x1 = xt + sd * torch.randn(n, d)
            x2 = xt + sd * torch.randn(n, d)
            loss = infonce(x1 @ w.T, x2 @ w.T)
            opt.zero_grad()
            loss.backward()
            opt.step()
        return float(loss.detach())

    best = float("inf")
    last = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        last = [one_run(s2) for _ in range(seeds) for s2 in sigma2s]
        best = min(best, time.perf_counter() - t0)
    return {
        "run_s": best,
        "final_loss_mean": float(np.mean(last)),
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
    }


def run(
    steps: int = 500,
    n: int = 128,
    d: int = 32,
    configs: int = 8,
    repeat: int = 2,
    lr: float = 6e-4,
    torch_threads: int = 0,
) -> dict:
    """Time both sides on one workload; without torch, the JAX side alone (``torch_result`` absent)."""
    seeds = 2
    n_sig = max(1, configs // seeds)
    sigma2s = np.geomspace(0.25, 20.0, n_sig)
    x = np.random.default_rng(0).normal(size=(n, d)).astype(np.float32)
    res = {
        "setup": {"steps": steps, "n": n, "d": d, "configs": seeds * n_sig, "dtype": "float32"},
        "load_1min_before": round(os.getloadavg()[0], 2),
        "cores": os.cpu_count(),
        "jax": jax.__version__,
    }
    res["jax_result"] = bench_jax(x, sigma2s, seeds, steps, lr, repeat)
    print(
        f"JAX   : {res['jax_result']['run_s']:.2f} s run (+ ~{res['jax_result']['compile_s_est']:.2f} s compile)",
        flush=True,
    )
    try:
        import torch  # noqa: F401
    except ImportError:
        print("torch not installed: JAX timing only")
    else:
        res["torch_result"] = bench_torch(x, sigma2s, seeds, steps, lr, repeat, torch_threads)
        print(
            f"torch : {res['torch_result']['run_s']:.2f} s run (torch {res['torch_result']['torch']}, "
            f"{res['torch_result']['torch_threads']} threads)"
        )
        res["speedup_torch_over_jax"] = res["torch_result"]["run_s"] / res["jax_result"]["run_s"]
        print(f"ratio torch/jax (run time): {res['speedup_torch_over_jax']:.2f}x")
    res["load_1min_after"] = round(os.getloadavg()[0], 2)
    print(
        f"load average (1 min): {res['load_1min_before']} before, {res['load_1min_after']} after, {res['cores']} cores"
    )
    return res


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--steps", type=int, default=500)
    ap.add_argument("--n", type=int, default=128)
    ap.add_argument("--d", type=int, default=32)
    ap.add_argument("--configs", type=int, default=8, help="seeds × σ² values (σ² spread over [0.25, 20])")
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--lr", type=float, default=6e-4)
    ap.add_argument("--torch-threads", type=int, default=0, help="torch intra-op threads (0: torch's default)")
    ap.add_argument("--json", help="also write the result here")
    args = ap.parse_args(argv)
    res = run(args.steps, args.n, args.d, args.configs, args.repeat, args.lr, args.torch_threads)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(res, f, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
