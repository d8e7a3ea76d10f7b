"""`python -m distro.cli`, the same as the `distro` console script."""

from distro.cli import main

main()
