"""Dubois, Hashimoto, Ermon, Liang, "Improving Self-Supervised Learning by Characterizing Idealized
Representations" (NeurIPS 2022): one module per experiment."""
