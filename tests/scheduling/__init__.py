"""Tests of bot.scheduling: what patients type for name, phone and preferred time."""
