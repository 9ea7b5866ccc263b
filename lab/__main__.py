"""``python -m lab``: the ``lab`` command, where its script is not on the path."""

from lab.cli import main

main()
