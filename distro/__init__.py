"""distro: patch, installer and license distribution server.

The tree is the map: one package per feature (`accounts`, `patches`, `licenses`,
`audit`), shared infrastructure in packages of its own (`core`, `storage`, `signing`),
the surfaces on top (`api`, `web`, `cli`, `ops`), and `client`, the installer client,
which must import without Flask. `app.create_app` builds the service.
"""

from __future__ import annotations


def __getattr__(name: str):
    # `flask --app distro` looks up `create_app` here; importing it lazily keeps
    # `import distro.client` free of Flask.
    if name == "create_app":
        from distro.app import create_app

        return create_app
    raise AttributeError(f"module 'distro' has no attribute {name!r}")
