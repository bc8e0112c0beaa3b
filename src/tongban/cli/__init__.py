"""The ``tongban`` command line (Typer), one file per command group."""
