"""Masking of reporters' names and phone numbers by role and area."""

from __future__ import annotations

from gridmap import incidents


def test_masking_rules() -> None:
    assert incidents.mask_phone("13812345678") == "138****5678"
    assert incidents.mask_name("张三") == "张*"
    assert incidents.mask_name("欧阳娜娜") == "欧***"
    row = {"reporter_name": "张三", "reporter_phone": "13812345678", "street_id": 1,
           "community_id": 10}
    own = incidents.masked_for(row, role="supervisor", street_ids=[], community_ids=[10])
    assert own["reporter_phone"] == "13812345678"
    other = incidents.masked_for(row, role="supervisor", street_ids=[2], community_ids=[11])
    assert other["reporter_phone"] == "138****5678" and other["reporter_name"] == "张*"
    street = incidents.masked_for(row, role="supervisor", street_ids=[1], community_ids=[])
    assert street["reporter_name"] == "张三"
    officer = incidents.masked_for(row, role="officer", street_ids=None, community_ids=None)
    assert officer["reporter_phone"] == "138****5678"
    district = incidents.masked_for(row, role="supervisor", street_ids=None, community_ids=None)
    assert district["reporter_phone"] == "13812345678"
