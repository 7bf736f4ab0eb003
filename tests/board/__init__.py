"""Tests of the PC board."""
