"""Cosentino et al., "Toward a Geometrical Understanding of Self-supervised Contrastive Learning" (2022):
the encoder/projector geometry, one module per experiment."""
