"""`python -m rlrun` is the `rlrun` command."""

from rlrun.cli import main

main()
