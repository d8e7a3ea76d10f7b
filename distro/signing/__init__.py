"""Keys and signatures: the Ed25519 signer, canonical JSON, the key lifecycle and the
TUF key adapters."""
