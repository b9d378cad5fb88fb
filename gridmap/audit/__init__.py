"""What happened, by whom, when: one view over the project's history tables (issue #16).

- :mod:`gridmap.audit.log`: :func:`~gridmap.audit.log.record` writes an ``audit_log`` row;
  :func:`~gridmap.audit.log.list_entries` lists ``audit_log``, grid edits, incident events,
  logins (``user_session``) and imports (``import_run``) filtered by user, object and time;
  :func:`~gridmap.audit.log.edit_geometry` gives a grid edit's before/after geometry.
- :mod:`gridmap.audit.runs`: import runs and their reports as readable tables.
"""
