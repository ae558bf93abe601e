"""Command-line entry of the figure ``fig_cover_wn``; the code is :mod:`landscape.reproduction.dubois2022.cover_wn`.

Run ``python figures/fig_cover_wn.py --help`` for the options, or ``landscape reproduce --only fig_cover_wn``.
"""

from landscape.reproduction.dubois2022.cover_wn import main

if __name__ == "__main__":
    raise SystemExit(main())
