"""The HTTP API of Reelstack (FastAPI under ``/api/v1``), served by the Serve ingress (serve/ingress.py)."""

from .app import API_PREFIX, create_api
from .context import ApiContext, resolve_secrets

__all__ = ["API_PREFIX", "ApiContext", "create_api", "resolve_secrets"]
