"""Command-line entry of the figure ``loss_expansions``; the code is :mod:`landscape.reproduction.ziyin2023.loss_expansions`.

Run ``python figures/loss_expansions.py --help`` for the options, or ``landscape reproduce --only loss_expansions``.
"""

from landscape.reproduction.ziyin2023.loss_expansions import main

if __name__ == "__main__":
    raise SystemExit(main())
