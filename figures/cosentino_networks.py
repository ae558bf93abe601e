"""Command-line entry of the figure ``cosentino_networks``; the code is :mod:`landscape.reproduction.cosentino2022.networks`.

Run ``python figures/cosentino_networks.py --help`` for the options, or ``landscape reproduce --only cosentino_networks``.
"""

from landscape.reproduction.cosentino2022.networks import main

if __name__ == "__main__":
    raise SystemExit(main())
