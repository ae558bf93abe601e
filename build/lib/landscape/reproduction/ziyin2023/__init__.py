"""Ziyin, Lubana, Ueda, Tanaka, "What shapes the loss landscape of self-supervised learning?" (ICLR 2023;
workshop version "Loss Landscape of Self-Supervised Learning", WS): one module per figure or group of claims."""
