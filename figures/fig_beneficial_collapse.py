"""Command-line entry of the figure ``fig_beneficial_collapse``; the code is :mod:`landscape.reproduction.ziyin2023.beneficial_collapse`.

Run ``python figures/fig_beneficial_collapse.py --help`` for the options, or ``landscape reproduce --only fig_beneficial_collapse``.
"""

from landscape.reproduction.ziyin2023.beneficial_collapse import main

if __name__ == "__main__":
    raise SystemExit(main())
