"""Command-line entry of the figure ``theorems``; the code is :mod:`landscape.reproduction.ziyin2023.theorems`.

Run ``python figures/theorems.py --help`` for the options, or ``landscape reproduce --only theorems``.
"""

from landscape.reproduction.ziyin2023.theorems import main

if __name__ == "__main__":
    raise SystemExit(main())
