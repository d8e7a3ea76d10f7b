"""Object storage: one interface, the local and S3 stores, and HTTP file delivery."""
