#!/usr/bin/env bash
# The checks that need a GPU, as one short script for a session that has one (about 10 minutes on
# one H100). Run from the repository root with the project installed (`pip install -e .`, or
# PYTHONPATH=.); every result goes to $OUT (default out/gpu_checks), and each step is logged with
# its exit status, so a failing step does not hide the others.
#
#   1. bench_batched_flow.py at full size (4,096 points, d = 32, float64), one block for the whole
#      grid: the dynamics issue's ≥ 30× target against per-point diffrax on the same device;
#   2. bench_nn_gpu.py: one ResNet-18 SimCLR step, landscape.nn against PyTorch (torch optional);
#   3. the learning-dynamics and diagnosis smoke runs on the GPU backend (the reproduction code paths
#      that take a device, at their test size).
#
# Needs jax with CUDA, diffrax, optax, matplotlib, sympy and scikit-learn (the digits of the diagnosis
# smoke run); torch is optional. zarr is not needed: PYTHONPATH=. works where the project cannot be
# installed (no package registry).
#
# QUICK=1 runs the benchmarks at their smoke sizes (a dry run of the script, on any machine).
set -u
OUT=${OUT:-out/gpu_checks}
QUICK_FLOW=${QUICK:+--quick}
QUICK_NN=${QUICK:+--smoke}
PY=${PY:-python}
mkdir -p "$OUT"
export XLA_PYTHON_CLIENT_PREALLOCATE=false
log() { echo "== $(date -u +%H:%M:%S) $*" | tee -a "$OUT/log.txt"; }
step() {  # step NAME TIMEOUT_S COMMAND...: run, keep its output, record the exit status
  local name=$1 limit=$2
  shift 2
  log "$name: $*"
  timeout "$limit" "$@" > "$OUT/$name.txt" 2>&1
  local rc=$?
  log "$name: exit $rc"
  tail -n 12 "$OUT/$name.txt"
}
log "devices: $($PY -c 'import jax; print(jax.devices())' 2>&1)"
nvidia-smi -L 2>&1 | tee -a "$OUT/log.txt"
# shellcheck disable=SC2086
step batched_flow 420 "$PY" benchmarks/bench_batched_flow.py --block-size 4096 $QUICK_FLOW
# shellcheck disable=SC2086
step nn_step 180 "$PY" benchmarks/bench_nn_gpu.py --out "$OUT/bench_nn_gpu.json" $QUICK_NN
step dynamics_smoke 120 "$PY" figures/learning_dynamics.py --smoke --out "$OUT/smoke"
step diagnosis_smoke 120 "$PY" figures/diagnosis_networks.py --smoke --out "$OUT/smoke"
log "done"
