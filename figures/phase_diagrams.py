"""Command-line entry of the figure ``phase_diagrams``; the code is :mod:`landscape.reproduction.ziyin2023.phase_diagrams`.

Run ``python figures/phase_diagrams.py --help`` for the options, or ``landscape reproduce --only phase_diagrams``.
"""

from landscape.reproduction.ziyin2023.phase_diagrams import main

if __name__ == "__main__":
    raise SystemExit(main())
