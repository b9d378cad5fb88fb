"""Field reporting from a phone (issue #14): reports with photos delivered exactly once
(client-generated ids), the reporter's own reports, the common categories of their area,
the possible-duplicate check, and the on-site tasks (核实/核查) of grid workers and inspectors.

Library only: the web page ``/field`` and its API (:mod:`web.api.field`) call these functions.
"""
