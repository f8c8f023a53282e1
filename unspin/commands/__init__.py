"""Subcommands of the ``unspin`` CLI, one module each (see :mod:`unspin.cli`)."""
