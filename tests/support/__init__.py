"""Helpers shared by test folders (imported as ``tests.support.x``, never through conftest)."""
