"""WSGI entry point: ``gunicorn wsgi:app`` (workers run separately: ``classeur worker``)."""

from core.app import create_app

app = create_app()
