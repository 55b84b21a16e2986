"""`python -m sdassist` is the same as the `sdassist` command."""

from sdassist.cli import main

main()
