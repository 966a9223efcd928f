"""`python -m twin.cli`: the same as the `twin` command."""

from twin.cli.main import main

main()
