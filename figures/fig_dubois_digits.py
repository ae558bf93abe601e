"""Command-line entry of the figure ``fig_dubois_digits``; the code is :mod:`landscape.reproduction.dubois2022.digits_networks`.

Run ``python figures/fig_dubois_digits.py --help`` for the options, or ``landscape reproduce --only fig_dubois_digits``.
"""

from landscape.reproduction.dubois2022.digits_networks import main

if __name__ == "__main__":
    raise SystemExit(main())
