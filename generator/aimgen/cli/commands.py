"""Importing this module registers every command on the app (one module per command)."""

# isort: off
from aimgen.cli import render  # noqa: F401  (render, values)
from aimgen.cli import explain  # noqa: F401
from aimgen.cli import listing  # noqa: F401  (list)
from aimgen.cli import chart  # noqa: F401  (chart sync|check)
from aimgen.cli import validate  # noqa: F401
from aimgen.cli import recipes  # noqa: F401  (recipes import|check)
from aimgen.cli import cache  # noqa: F401  (cache prefetch|list|stats|verify|prune|evict)
from aimgen.cli import dashboard  # noqa: F401  (dashboard preview|check)
