"""The ``nasearch`` subcommands, one module each (see :data:`nasearch.cli.COMMANDS`)."""
