"""How the conversation moves forward: repairing answers the bot can't use, and reading back facts."""
