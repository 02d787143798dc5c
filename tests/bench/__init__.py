"""Tests for the NLU benchmark helpers (bench/)."""
