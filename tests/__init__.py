"""Tests of villa-contracts and its mock."""
