"""Warehouse: the task wall, its tables and auto-assignment, exception reports, evidence files."""
