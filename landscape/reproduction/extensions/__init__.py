"""Predictions of this library that go beyond the three papers, checked like the papers' claims:
the time course of gradient flow (escape from small initialization, stepwise learning) and the
diagnosis of collapse from two views of a network's own features.  One module per experiment."""
