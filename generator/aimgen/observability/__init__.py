"""Dashboards and alert rules as data: built once here, filled per release by `aimgen render` and by the chart."""
