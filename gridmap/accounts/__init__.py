"""User accounts, roles and the area each user may see and change."""
