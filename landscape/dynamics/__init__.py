r"""Training dynamics on the effective landscape: gradient descent and gradient flow.

Both routes start from a weight matrix W₀ (d1×d0) and follow

    dW/dt = −∇L(W),   ∇L = −2 W B + 4k (WΣWᵀ) WΣ + 2γ W,

either in discrete steps with an optax optimizer (:func:`gradient_descent`) or
in continuous time with an adaptive Runge–Kutta solver (:func:`gradient_flow`).
Both return a :class:`~landscape.Solution` whose trajectory fields hold the
descending spectrum of WᵀW and the loss at the save points, so the result of
a run can be compared field by field with :func:`~landscape.global_minimum`.

:func:`max_stable_learning_rate` is 2/λ_max of the Hessian at a point: plain
gradient descent with a smaller step is locally stable there, with a larger one
it is not.  :func:`normalized_gradient_descent` trains with the norm penalty,
its κ → ∞ constraint, or a bias.  :func:`check_divergence` turns a diverged run into an exception.
:func:`nesterov_restart` is an optax transformation (Nesterov's method with
adaptive restart) for :func:`gradient_descent`; :func:`batched_gradient_descent`
runs plain GD, heavy ball or that method for many runs at matrix-multiply speed;
:func:`batched_gradient_flow` integrates the flow of a whole batch at once, each point
with its own adaptive Dormand–Prince step and eigenvalue-crossing events.
:func:`trajectory` returns the flow as a function of time, exact where a closed form exists
and otherwise integrated (:func:`integrated_flow`); :func:`flow_events` gives the escape and
collapse time of each rank of WᵀW for any problem.

Every function is pure; ``landscape`` and ``w0`` are pytrees that may be
batched with ``jax.vmap``, and the integer arguments (``steps``, ``save_every``,
``n_save``, ``max_steps``) are static under ``jax.jit``.

Example:
    >>> import jax, optax
    >>> import landscape as ls
    >>> p = ls.Problem.from_diagonal([3.0, 1.0], [1.0, 1.0])
    >>> land = ls.effective_landscape(p, "infonce")
    >>> w0 = ls.random_init(jax.random.PRNGKey(0), 2, 2)
    >>> run = ls.gradient_descent(land, w0, optimizer=optax.sgd(0.05), steps=3000)
    >>> [round(float(v), 6) for v in run.gram_eigenvalues]   # b_i / (2 s_i²)
    [0.125, 0.09375]
    >>> abs(float(run.loss - ls.global_minimum(land, 2).loss)) < 1e-12
    True
"""

from landscape.dynamics.batched_descent import BatchedDescent, batched_gradient_descent
from landscape.dynamics.batched_flow import BatchedFlow, batched_gradient_flow
from landscape.dynamics.descent import descend, gradient_descent, random_init
from landscape.dynamics.divergence import DivergenceError, check_divergence
from landscape.dynamics.flow_events import FlowEvents, flow_events
from landscape.dynamics.integrated_flow import integrated_flow
from landscape.dynamics.nesterov_restart import NesterovRestartState, nesterov_restart
from landscape.dynamics.normalized_descent import normalized_gradient_descent, normalized_max_stable_learning_rate
from landscape.dynamics.ode import gradient_flow
from landscape.dynamics.stability import hessian_top_eigenvalue, max_stable_learning_rate
from landscape.dynamics.trajectory import Trajectory, trajectory

__all__ = [
    "DivergenceError",
    "random_init",
    "gradient_descent",
    "descend",
    "gradient_flow",
    "BatchedDescent",
    "batched_gradient_descent",
    "BatchedFlow",
    "batched_gradient_flow",
    "Trajectory",
    "trajectory",
    "integrated_flow",
    "FlowEvents",
    "flow_events",
    "NesterovRestartState",
    "nesterov_restart",
    "normalized_gradient_descent",
    "normalized_max_stable_learning_rate",
    "max_stable_learning_rate",
    "hessian_top_eigenvalue",
    "check_divergence",
]
