"""A synthetic city for tests and benchmarks: districts → streets → communities with real
NBS codes, estates and buildings with households, grids, a walking network, facilities and
years of incidents (docs/city.md).

Public API: :func:`generate`, :class:`CityParams`, :data:`PRESETS`, :class:`CityReport`.
"""

from gridmap.city.generate import CityReport, build_grids, generate
from gridmap.city.params import PRESETS, CityParams, resolve

__all__ = ["generate", "build_grids", "CityParams", "CityReport", "PRESETS", "resolve"]
