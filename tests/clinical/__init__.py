"""Tests of the clinical rules, red flags and explanations (bot/clinical)."""
