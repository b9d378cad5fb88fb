"""Dispatch engine (issue #13): who handles a case and how it moves by itself.

- :mod:`gridmap.dispatch.params`: acceptance limits per order type, initial levels, recurrence.
- :mod:`gridmap.dispatch.units`: the unit answering for a case at a handling level (属地).
- :mod:`gridmap.dispatch.rules`: versioned routing rules, set-based proposal and re-run.
- :mod:`gridmap.dispatch.ruleio`: rules from and to CSV/XLSX.
- :mod:`gridmap.dispatch.engine`: 立案 → 派遣 (override with reason) → 接单 → 回退 → 改派.
- :mod:`gridmap.dispatch.levels`: graded response (分级响应): raise on request, overdue, recurrence.
- :mod:`gridmap.dispatch.events`: automatic steps as case events (actor ``system``).

Library code imports the submodule it needs; this package re-exports nothing.
"""
