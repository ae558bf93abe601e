# %% [markdown]
# # Closed form against gradient flow
#
# The closed form and training share one result type, `Solution`, so they can be put side by
# side. `gradient_flow` integrates dW/dt = −∇L(W) with diffrax (Tsit5, adaptive steps) and
# saves the eigenvalues of WᵀW along the way. From a small start, a kept direction grows
# and settles on its closed-form value; a collapsing one decays to zero.

# %%
import jax

jax.config.update("jax_enable_x64", True)

import matplotlib.pyplot as plt

import landscape as ls

problem = ls.Problem.from_diagonal([3.0, 2.0, 1.0, 0.2], [0.5, 0.5, 0.5, 0.5])  # C = ½·I
land = ls.effective_landscape(problem, "beta-infonce", beta=0.5)
best = ls.global_minimum(land, out_dim=4)
w0 = ls.random_init(jax.random.PRNGKey(1), 4, 4, scale=1e-3)
flow = ls.gradient_flow(land, w0, t1=300.0, n_save=120, spacing="log")
print("closed form: rank", int(best.rank), "eig(WᵀW)", [round(float(v), 6) for v in best.gram_eigenvalues])
print("flow:        rank", int(flow.rank), "eig(WᵀW)", [round(float(v), 6) for v in flow.gram_eigenvalues])
gap = float(abs(flow.gram_eigenvalues - best.gram_eigenvalues).max())
print(f"max |Δλ| = {gap:.1e}")
assert int(flow.rank) == int(best.rank) and gap < 1e-6

# %%
fig, ax = plt.subplots(figsize=(6, 3.6))
ax.loglog(flow.times, flow.trajectory_eigenvalues, lw=1.5)
for v in best.gram_eigenvalues:
    if v > 0:
        ax.axhline(float(v), color="0.4", ls=":", lw=1)
ax.set(
    xlabel="time t",
    ylabel="eigenvalues of WᵀW",
    ylim=(1e-9, 1),
    title="gradient flow (lines) and the closed form (dotted)",
)
fig.savefig("flow_vs_closed_form.png", dpi=110, bbox_inches="tight")
