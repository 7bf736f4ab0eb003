"""Intake: canonical form, importer, bulk writes, brushing, channels, carriers, pulls, their tables."""
