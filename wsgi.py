"""WSGI entry point for gunicorn: `gunicorn wsgi:app`."""

from distro.app import create_app

app = create_app()
