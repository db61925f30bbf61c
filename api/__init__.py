"""HTTP service of energyopt (FastAPI): ``create_app()`` in :mod:`api.main`."""

from api.main import create_app

__all__ = ["create_app"]
