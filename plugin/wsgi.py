"""The WSGI entry point gunicorn loads: ``plugin.wsgi:app``."""

from plugin.api import create_app

app = create_app()
