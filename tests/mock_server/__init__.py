"""Tests of the mock server."""
