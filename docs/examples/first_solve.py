# %% [markdown]
# # First solve: the closed form, then training that lands on it
#
# A problem is two covariances: the data A0 and the augmentation C. Here both are diagonal,
# so each input coordinate is one direction of the theory. We solve β-InfoNCE (β = ½, the
# derived form, where B = β·A0 − (1−β)·C) in closed form, then train on the same landscape
# with gradient descent from a small random start and compare the spectra of WᵀW.

# %%
import jax

jax.config.update("jax_enable_x64", True)  # closed-form spectra to many digits

import optax

import landscape as ls

problem = ls.Problem.from_diagonal(
    [3.0, 2.0, 1.5, 1.0, 0.5, 0.2],  # a_i: data variances
    [0.5, 2.5, 0.3, 1.2, 0.1, 1.0],
)  # c_i: augmentation variances
land = ls.effective_landscape(problem, "beta-infonce", beta=0.5)
best = ls.global_minimum(land, out_dim=6)
print("origin:", ls.origin_type(land))
print("rank", int(best.rank), "of", problem.dim, "  loss", round(float(best.loss), 6))
print("eig(WᵀW):", [round(float(v), 5) for v in best.gram_eigenvalues])

# %% [markdown]
# The three directions with b_i = ½(a_i − c_i) ≤ 0 are zero at every stationary point:
# that is dimensional collapse. `predicted_rank` counts the positive b_i without solving.

# %%
print("predicted rank:", int(ls.predicted_rank(land, out_dim=6)))

# %% [markdown]
# Gradient descent from W₀ = 10⁻³·N(0, 1) reaches the same spectrum.

# %%
w0 = ls.random_init(jax.random.PRNGKey(0), 6, 6, scale=1e-3)
run = ls.gradient_descent(land, w0, optimizer=optax.sgd(0.1), steps=4000)
gap = float(abs(run.gram_eigenvalues - best.gram_eigenvalues).max())
print("GD rank", int(run.rank), "  max |Δλ| =", f"{gap:.1e}")
assert int(run.rank) == int(best.rank) and gap < 1e-8

# %% [markdown]
# The same solve on the command line:
#
# ```sh
# landscape solve --loss beta-infonce --a 3,2,1.5,1,0.5,0.2 --c 0.5,2.5,0.3,1.2,0.1,1.0
# landscape flow  --loss beta-infonce --a 3,2,1.5,1,0.5,0.2 --c 0.5,2.5,0.3,1.2,0.1,1.0 --steps 3000
# ```
