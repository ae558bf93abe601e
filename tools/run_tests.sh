#!/usr/bin/env bash
# The default test run: the suite in float64 (with the package doctests), then the
# precision-sensitive part of it again in float32, each spread over two workers.
#
# The float32 pass covers the numerics whose tolerances depend on the dtype: the
# problem, the loss table, the landscape and its closed forms, gradient flow,
# normalization, the sample losses and the metrics.  Scans (I/O and processes),
# the CLI, the figure smoke runs and the networks (float32 in both passes anyway)
# run once, in the float64 pass.
set -u
PY=${PY:-.venv/bin/python}
MARK=${MARK:-not slow}
WORKERS=${WORKERS:-2}
# jaxlib 0.10 on CPU can wedge its multi-threaded Eigen pool on vmapped graphs
# (batched eigh among them); single-threaded Eigen avoids the hang.
export XLA_FLAGS="${XLA_FLAGS:-} --xla_cpu_multi_thread_eigen=false"

FLOAT32_TESTS="tests/test_exact_flow.py tests/test_flow_events.py tests/test_cli_normalization.py tests/test_problem.py tests/test_losses_table.py tests/test_effective_landscape.py
  tests/test_stationary.py tests/test_collapse.py tests/test_flow.py tests/test_normalization.py tests/test_normalized_descent.py tests/test_per_direction.py
  tests/test_sample_losses.py tests/test_metrics.py tests/test_two_layer.py tests/test_nesterov_restart.py
  tests/test_finite.py tests/test_rank_rule.py"

echo "===== float64 pass (JAX_ENABLE_X64=1)"
JAX_ENABLE_X64=1 "$PY" -m pytest landscape tests -q -m "$MARK" -n "$WORKERS" -p no:cacheprovider "$@"
rc64=$?
echo "===== float32 pass (JAX_ENABLE_X64=0)"
# shellcheck disable=SC2086
JAX_ENABLE_X64=0 "$PY" -m pytest $FLOAT32_TESTS -q -m "$MARK" -n "$WORKERS" -p no:cacheprovider "$@"
rc32=$?
echo "float64 pass exit $rc64, float32 pass exit $rc32"
[ "$rc64" -eq 0 ] && [ "$rc32" -eq 0 ]
