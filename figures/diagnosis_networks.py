"""Command-line entry of the figure ``diagnosis_networks``; the code is :mod:`landscape.reproduction.extensions.diagnosis_networks`.

Run ``python figures/diagnosis_networks.py --help`` for the options, or ``landscape reproduce --only diagnosis_networks``.
"""

from landscape.reproduction.extensions.diagnosis_networks import main

if __name__ == "__main__":
    raise SystemExit(main())
