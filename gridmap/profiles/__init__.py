"""Community and street profiles (社区画像) and the life-circle check-up (体检报告), issue #17.

Modules, lowest first: :mod:`~gridmap.profiles.area` (a community or street code → its
communities), :mod:`~gridmap.profiles.people` (人 and 地), :mod:`~gridmap.profiles.services`
(产/服务: facilities by tier, coverage per type, gaps, capacity and 2SFCA),
:mod:`~gridmap.profiles.cases` (事), :mod:`~gridmap.profiles.stars` (star ratings where
rated), :mod:`~gridmap.profiles.checkup` (体检报告 with candidate sites),
:mod:`~gridmap.profiles.report` (the whole profile) and :mod:`~gridmap.profiles.export`
(XLSX).
"""

from gridmap.profiles.checkup import checkup
from gridmap.profiles.export import profile_xlsx
from gridmap.profiles.report import ProfileParams, profile

__all__ = ["ProfileParams", "checkup", "profile", "profile_xlsx"]
