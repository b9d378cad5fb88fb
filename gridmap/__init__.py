"""gridmap: geospatial grid management for urban community governance.

The library holds all domain and spatial logic. It never imports Flask; the web
app in ``web/`` and the ``gridmap`` CLI are thin callers of these modules.
"""

__version__ = "0.1.0"
