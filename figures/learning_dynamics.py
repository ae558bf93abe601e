"""Command-line entry of the figure ``learning_dynamics``; the code is :mod:`landscape.reproduction.extensions.learning_dynamics`.

Run ``python figures/learning_dynamics.py --help`` for the options, or ``landscape reproduce --only learning_dynamics``.
"""

from landscape.reproduction.extensions.learning_dynamics import main

if __name__ == "__main__":
    raise SystemExit(main())
