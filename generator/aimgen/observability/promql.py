"""PromQL checks for our dashboards, alerts and scaling queries: parse (syntax and types) and list metric names.

Uses the `promql-parser` package (PyPI; the Rust parser behind GreptimeDB), imported lazily: only tests and
`aimgen dashboard check` need it, never `aimgen render`.
"""

from __future__ import annotations

import re

from aimgen.errors import EnvironmentProblem

# Grafana macros and variables, replaced by values of the right type before parsing.
_GRAFANA_SUBSTITUTIONS = (
    (re.compile(r"\$__(rate_interval|interval|range)\b"), "5m"),
    (re.compile(r"\$\{?[A-Za-z_][A-Za-z0-9_]*\}?"), "x"),
)
_LABEL_VALUES = re.compile(r"^label_values\((?P<expr>.*),\s*(?P<label>[A-Za-z_][A-Za-z0-9_]*)\)$", re.S)
_CHILDREN = ("lhs", "rhs", "expr", "args", "param", "vector_selector")


def _parser():
    try:
        import promql_parser
    except ImportError as e:  # pragma: no cover - the test extra installs it
        raise EnvironmentProblem("promql-parser is not installed: pip install 'aimgen[test]'") from e
    return promql_parser


def from_grafana(expr: str) -> str:
    """A Grafana query as plain PromQL: macros/variables substituted; label_values(e, l) → e."""
    m = _LABEL_VALUES.match(expr.strip())
    if m:
        expr = m.group("expr")
    for pattern, value in _GRAFANA_SUBSTITUTIONS:
        expr = pattern.sub(value, expr)
    return expr


def parse(expr: str):
    """The AST; ValueError with the parser's message when the expression is not valid PromQL."""
    return _parser().parse(expr)


def metric_names(expr: str) -> set[str]:
    """Every metric name the expression selects."""
    names: set[str] = set()
    stack = [parse(expr)]
    while stack:
        node = stack.pop()
        if type(node).__name__ == "VectorSelector" and node.name:
            names.add(node.name)
        for attr in _CHILDREN:
            child = getattr(node, attr, None)
            if child is None:
                continue
            stack.extend(child if isinstance(child, list) else [child])
    return names


def problems(queries: list[tuple[str, str]], known: frozenset[str]) -> list[str]:
    """One message per query (where, PromQL) that does not parse or selects a metric outside `known`."""
    out = []
    for where, expr in queries:
        try:
            names = metric_names(expr)
        except ValueError as e:
            out.append(f"{where}: not valid PromQL ({e}): {expr}")
            continue
        unknown = sorted(names - known)
        if unknown:
            out.append(f"{where}: {', '.join(unknown)} not exported by the pinned engine or exporters: {expr}")
    return out
