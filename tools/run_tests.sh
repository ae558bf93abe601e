#!/usr/bin/env bash
# Runs the suite twice at the same time: float64 (with the package doctests) and float32.
# Each pass is mostly single-threaded XLA compilation, so on two cores the two passes
# overlap almost perfectly.  Logs are printed one after the other; the exit status is
# non-zero if either pass failed.
set -u
PY=${PY:-.venv/bin/python}
# jaxlib 0.10 on CPU can wedge its multi-threaded Eigen pool on vmapped graphs
# (batched eigh among them); single-threaded Eigen avoids the hang.
export XLA_FLAGS="${XLA_FLAGS:-} --xla_cpu_multi_thread_eigen=false"
MARK=${MARK:-not slow}
logdir=$(mktemp -d)
JAX_ENABLE_X64=1 "$PY" -m pytest landscape tests -q -m "$MARK" -p no:cacheprovider "$@" >"$logdir/x64.log" 2>&1 &
pid64=$!
JAX_ENABLE_X64=0 "$PY" -m pytest tests -q -m "$MARK" -p no:cacheprovider "$@" >"$logdir/x32.log" 2>&1 &
pid32=$!
wait $pid64; rc64=$?
wait $pid32; rc32=$?
echo "===== float64 pass (JAX_ENABLE_X64=1), exit $rc64"; cat "$logdir/x64.log"
echo "===== float32 pass (JAX_ENABLE_X64=0), exit $rc32"; cat "$logdir/x32.log"
rm -rf "$logdir"
[ "$rc64" -eq 0 ] && [ "$rc32" -eq 0 ]
