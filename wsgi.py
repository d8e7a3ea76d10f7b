"""WSGI entry point for gunicorn: `gunicorn wsgi:app`."""

from distro import create_app

app = create_app()
