"""Command-line entry of the figure ``fig3_normalization``; the code is :mod:`landscape.reproduction.ziyin2023.fig3_normalization`.

Run ``python figures/fig3_normalization.py --help`` for the options, or ``landscape reproduce --only fig3_normalization``.
"""

from landscape.reproduction.ziyin2023.fig3_normalization import main

if __name__ == "__main__":
    raise SystemExit(main())
