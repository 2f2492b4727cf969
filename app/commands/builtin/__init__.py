"""One module per command, each holding its `COMMAND` record; the registry finds them all, no list to edit."""
