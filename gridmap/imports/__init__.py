"""Imports and exports of boundaries, OSM extracts, population, street blocks and their links."""
