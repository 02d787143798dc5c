"""The clinic's own package: clinical rules, language understanding, storage, channels, web app."""
