"""The clinic's own tables (requests, red-flag events, status changes) and Rasa's tracker store.

See ``store.get_store()`` for the process-wide store and ``repository`` for the functions.
"""
