"""``python -m landscape.cli``: the same entry point as the ``landscape`` console script."""

from landscape.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
