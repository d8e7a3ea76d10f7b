"""A site mirror (issue 26): a folder at a customer site without a connection to the
vendor, holding what signed bundles brought (its own SQLite database and local store,
nothing of the vendor's database, keys or store)."""
