"""Tests of the villa_contracts library."""
