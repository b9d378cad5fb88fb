"""The case workspace (issue #14): what the pages people run the case loop in read and write.

- :mod:`~gridmap.cases.scoping`: a viewer's :class:`~gridmap.accounts.scope.Scope` as SQL.
- :mod:`~gridmap.cases.search`: the case list (案卷号, address/description text, reporter
  phone for those who may see it, filters, sorting, paging, map points, XLSX export).
- :mod:`~gridmap.cases.detail`: one case for its page (fields, timeline, comments, the
  transitions this viewer may take) and comments.
- :mod:`~gridmap.cases.worklist`: 我的待办 per post (to file, dispatch, accept, handle,
  check, evaluate) with counts.
- :mod:`~gridmap.cases.lists`: 三张清单 of a community (问题, 服务, 解决) and its own,
  editable service list.
"""
