"""Command-line entry of the figure ``fig_encoder_projector``; the code is :mod:`landscape.reproduction.cosentino2022.encoder_projector`.

Run ``python figures/fig_encoder_projector.py --help`` for the options, or ``landscape reproduce --only fig_encoder_projector``.
"""

from landscape.reproduction.cosentino2022.encoder_projector import main

if __name__ == "__main__":
    raise SystemExit(main())
