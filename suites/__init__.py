"""Suites that run against any Villa backend base URL (the mock or a real target)."""
