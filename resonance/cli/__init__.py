"""The command-line layer: the only code that knows about terminals; nothing imports it."""
