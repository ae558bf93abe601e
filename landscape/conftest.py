"""Doctests of the package run in float64, as the examples state their values."""
import jax

jax.config.update("jax_enable_x64", True)
