"""Tests of bot.storage, each run on SQLite and on PostgreSQL."""
