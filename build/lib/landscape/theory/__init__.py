"""Closed-form solvers: stationary points (Theorem 1) and collapse diagnostics."""
