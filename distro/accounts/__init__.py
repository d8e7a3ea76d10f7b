"""Accounts: users, organisations, passwords, API tokens, authentication and the acting Actor."""
