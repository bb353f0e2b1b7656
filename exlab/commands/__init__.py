"""Sub-commands of the ``exlab`` command, one module each (see ``exlab.cli``)."""
