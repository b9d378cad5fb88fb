"""Units, staff and posts, grid assignments (issue #13, people and units).

- :mod:`gridmap.org.kinds`: the unit-kind catalogue (街道, 居委会/社区, 城管中队 …) as data.
- :mod:`gridmap.org.units`: create, update, deactivate and read units (块/条, level, contact,
  webhook, served areas); :mod:`gridmap.org.unit_input` normalises and validates them.
- :mod:`gridmap.org.tree`: ancestors, :func:`~gridmap.org.tree.parent_chain` (escalation),
  descendants, the forest.
- :mod:`gridmap.org.areas`: served area codes → street/community/grid ids; units serving a
  place, narrowest area first.
- :mod:`gridmap.org.posts`: posts (网格员 … 领导), actions and
  :func:`~gridmap.org.posts.may` — permissions as data.
- :mod:`gridmap.org.staff`: assign/revoke posts, :func:`~gridmap.org.staff.posts_of`,
  :func:`~gridmap.org.staff.staff_with_post`.
- :mod:`gridmap.org.assignments`: grid workers / 楼长 / 路长 on grids and 小区 with duty
  times; grids without a worker and coverage per community/street.
- :mod:`gridmap.org.sheets` and :mod:`gridmap.org.importing`: CSV/XLSX import of all three.

Users are referred to by id through SQL: this package never imports :mod:`gridmap.accounts`,
:mod:`gridmap.dispatch` or :mod:`gridmap.supervision` (they import it).
"""
