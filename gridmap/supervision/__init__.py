"""督办 (supervision), notifications and indicators of units and posts (issue #13).

- :mod:`~gridmap.supervision.scan`: the periodic, set-based 督办 scan (lights, reminders,
  escalation of red cases to the parent unit and the street centre).
- :mod:`~gridmap.supervision.notify`: in-app notifications (unread counts per user and unit,
  mark read) and the outgoing webhook queue.
- :mod:`~gridmap.supervision.webhook`: the separate deliverer of the queue (HMAC-SHA256
  signed, retried with backoff; never inside a web request).
- :mod:`~gridmap.supervision.board`: the 督办 list per street and unit.
- :mod:`~gridmap.supervision.access`: who sees which units, notifications and cases.
- :mod:`~gridmap.supervision.indicators` / :mod:`~gridmap.supervision.posts`: cases.md §7
  indicators of units (部门) and posts (岗位), the hotline 三率 and the
  "小事不出网格、大事不出社区" rate.
"""
