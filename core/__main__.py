"""``python -m core`` runs the ``classeur`` command."""

from core.cli import main

main()
