"""Helpers shared by the tests (imported as `support`, next to conftest.py)."""
