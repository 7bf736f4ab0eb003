"""Tests of aftersales."""
