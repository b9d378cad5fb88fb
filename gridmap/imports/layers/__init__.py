"""A street office's own layers (issue #15): survey buildings, streets and estates from any
vector file (:mod:`.survey`), facilities from POI files (:mod:`.facilities`) and official
population figures (:mod:`.official`). Parameters and reports in :mod:`.report`.
"""
