"""`python -m roomsops` is the `roomsops` command."""

from roomsops.cli import main

main()
