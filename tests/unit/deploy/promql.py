"""The metric names a PromQL expression reads: enough of PromQL to catch a renamed metric.

Not a parser: it drops what cannot be a metric name (strings, label matchers, ranges, grouping
label lists, function calls, keywords) and keeps the identifiers left. promtool parses the
expressions for real; this only answers "which metrics".
"""

from __future__ import annotations

import re

GRAFANA_VARIABLES = {"$__rate_interval": "1m", "$__interval": "1m", "$__range": "1h"}
"""Grafana's built-in range variables, replaced by a fixed duration so the expression parses."""

KEYWORDS = frozenset({"and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring",
                      "group_left", "group_right", "inf", "nan", "Inf", "NaN"})

_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
_MATCHERS = re.compile(r"\{[^}]*\}")
_RANGES = re.compile(r"\[[^\]]*\]")
_GROUPING = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
_IDENTIFIER = re.compile(r"(?<![\w:.$])([a-zA-Z_:][\w:]*)(?![\w:])(?!\s*\()")


def with_grafana_variables(expr: str) -> str:
    """The expression with Grafana's range variables filled in and $service/$instance matching all."""
    for name, value in GRAFANA_VARIABLES.items():
        expr = expr.replace(name, value)
    return expr.replace("$service", ".*").replace("$instance", ".*")


def metric_names(expr: str) -> set[str]:
    text = _STRINGS.sub('""', with_grafana_variables(expr))
    text = _GROUPING.sub(" ", _RANGES.sub(" ", _MATCHERS.sub(" ", text)))
    return {name for name in _IDENTIFIER.findall(text) if name not in KEYWORDS}
