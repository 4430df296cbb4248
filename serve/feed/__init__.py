"""The For You feed pipeline: ``FeedService`` (state, retrieval, ranking, re-rank, page).

The ingress builds one ``FeedService`` per replica around a ``Catalogue`` kept fresh by a
``CatalogueTail`` and calls ``await feed.get_page(user_id, count, cursor, context=FeedContext(...))``;
the result is a ``FeedPage`` (``server_timing()`` gives the header). Only ranking may live in another
process (``serve.ranking``); everything else runs in the ingress, in-process.
"""

from .breaker import CircuitBreaker
from .catalogue import Catalogue, CatalogueParams, Details
from .config import FeedConfig, FeedContext
from .errors import BadCursorError, CircuitOpenError, FeedError, StageFailedError, StageTimeoutError
from .local import LocalUserStates
from .page import FeedItem, FeedPage
from .scoring import PriorRanker, TorchRanker, load_ranker
from .service import FeedService
from .tail import CatalogueTail
from .views import ViewFeatures, ViewTrending

__all__ = [
    "BadCursorError",
    "Catalogue",
    "CatalogueParams",
    "CatalogueTail",
    "CircuitBreaker",
    "CircuitOpenError",
    "Details",
    "FeedConfig",
    "FeedContext",
    "FeedError",
    "FeedItem",
    "FeedPage",
    "FeedService",
    "LocalUserStates",
    "PriorRanker",
    "StageFailedError",
    "StageTimeoutError",
    "TorchRanker",
    "ViewFeatures",
    "ViewTrending",
    "build_feed_service",
    "load_ranker",
    "ranking_app",
]


def __getattr__(name: str) -> object:
    # the wiring imports Ray Serve: loaded on first use, so the pure pipeline imports stay light
    if name in ("build_feed_service", "ranking_app"):
        from . import wiring

        return getattr(wiring, name)
    raise AttributeError(name)
