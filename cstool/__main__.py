"""``python -m cstool``."""

from cstool.cli import main

main()
