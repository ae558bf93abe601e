"""Run every benchmark in turn (``make bench``); ``--quick`` for the small smoke sizes.

Each benchmark prints its own table; this script adds a one-line summary per
benchmark and writes all returned numbers to ``--json`` if given.
"""

from __future__ import annotations

import argparse
import json
import time

import _common as C  # float64, BLAS threads (a sibling: python benchmarks/run_all.py puts benchmarks/ on sys.path)
import bench_flow
import bench_gd_flops
import bench_phase_diagram

BENCHMARKS = {"phase_diagram": bench_phase_diagram.main, "flow": bench_flow.main, "gd_flops": bench_gd_flops.main}


def _jsonable(x):
    import numpy as np

    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, np.ndarray):
        return x.tolist()
    if isinstance(x, np.generic):
        return x.item()
    return x


def summary_lines(out: dict) -> list[str]:
    """One line per benchmark (per route for the flow), like-for-like ratios first."""
    lines = []
    for name, r in out.items():
        check = "PASS" if r["check_passed"] else "FAIL"
        if name == "phase_diagram":
            lines.append(
                f"phase_diagram: {r['n_points']:,} points, vs NumPy GD with each point's own step: "
                f"general closed form {r['ratio']:,.0f}x, batched per-direction {r['ratio_grid']:,.0f}x; "
                f"check {check}"
            )
        elif name == "flow":
            for k, q in r["ratios"].items():
                rr = r["routes"][k]
                lines.append(
                    f"flow[{k}]: same algorithm {C.fmt_ratio(q['same_algorithm'])}, typical points vs plain "
                    f"GD {C.fmt_ratio(q['vs_plain_gd_bulk'])}, stratified vs plain GD "
                    f"{C.fmt_ratio(q['vs_plain_gd_stratified'])}; "
                    f"solved {100 * rr['solved_fraction']:.2f}%, worst rel gap {rr['worst_rel_gap']:.1e}"
                )
            if "ode" in r["routes"]:
                rr = r["routes"]["ode"]
                lines.append(
                    f"flow[ode]: {rr['per_point_s'] * 1e3:.2f} ms/point on {rr['points']} points, "
                    f"solved {100 * rr['solved_fraction']:.2f}%"
                )
            lines.append(f"flow: check {check}")
        elif name == "gd_flops":
            lines.append(
                "gd_flops: best fraction of peak "
                + ", ".join(f"{k} {100 * v:.0f}%" for k, v in r["best"].items())
                + f"; check {check}"
            )
    return lines


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="small sizes (smoke run)")
    ap.add_argument("--only", default=None, help=f"comma-separated subset of {','.join(BENCHMARKS)}")
    ap.add_argument("--json", default=None, help="write the returned numbers to this file")
    args = ap.parse_args(argv)
    names = list(BENCHMARKS) if args.only is None else args.only.split(",")
    out = {}
    for name in names:
        t0 = time.perf_counter()
        out[name] = BENCHMARKS[name](quick=args.quick)
        out[name]["wall_s"] = time.perf_counter() - t0
        print(f"-- {name} done in {out[name]['wall_s']:.1f} s\n", flush=True)
    print("== summary")
    for line in summary_lines(out):
        print(line)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(_jsonable(out), f, indent=1)
    return 0 if all(r["check_passed"] for r in out.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
