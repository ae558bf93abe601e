"""Stepwise learning in trained networks: the last layer's staircase against the predicted escape times.

Run ``python figures/stepwise_networks.py --help`` for the options, or ``landscape reproduce --only stepwise_networks``.
"""

from landscape.reproduction.extensions.stepwise_networks import main

if __name__ == "__main__":
    raise SystemExit(main())
