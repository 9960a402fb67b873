"""Importing this module registers every command on the app (one module per command)."""

# isort: off
