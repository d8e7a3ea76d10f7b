"""Mail: an outbox written in the same transaction as the event that causes a message,
and a worker (`distro worker`) that sends it over SMTP with retries."""
