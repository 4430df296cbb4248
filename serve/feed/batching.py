"""Micro-batched ANN retrieval: concurrent feed requests' searches become one hnswlib call off the event loop.

Under load several ``get_page`` calls reach retrieval in the same turn of the event loop.
``BatchedRetriever`` (the ``Retriever`` port over the catalogue's index, like ``CatalogueRetriever``)
queues each query, and once the loop has run everything that was ready (``call_soon``; plus
``window_s`` when set) searches the whole queue in one ``AnnIndex.query_many`` on a worker thread:
hnswlib releases the GIL while it searches, so the replica's loop keeps serving other requests'
Python work on the other core meanwhile. Each caller gets exactly the rows a one-by-one search
would have given it (the searches are independent; same index, same ``ef``).
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import numpy.typing as npt

from events.turns import TurnFlush

from .catalogue import Catalogue

__all__ = ["BatchedRetriever"]

_Waiter = tuple[npt.NDArray[np.float32], "asyncio.Future[tuple[list[int], list[float]]]"]


class BatchedRetriever:
    def __init__(self, catalogue: Catalogue, *, ef: int | None = None, window_s: float = 0.0,
                 max_batch: int = 64, offload: bool = True) -> None:
        self.catalogue = catalogue
        self.ef = ef
        self.window_s = window_s
        self.max_batch = max_batch
        self.offload = offload  # False: search on the loop's thread (no thread hop; tests, 1-core hosts)
        self._queues: dict[int, list[_Waiter]] = {}  # by k
        self._turn = TurnFlush(self._flush, window_s=window_s)
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="ann") if offload else None
        self.batches = 0  # searches issued (a batch each), for tests and operators
        self.queries = 0

    async def search(self, vector: npt.NDArray[np.float32], k: int) -> tuple[list[int], list[float]]:
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[tuple[list[int], list[float]]] = loop.create_future()
        queue = self._queues.setdefault(k, [])
        queue.append((np.asarray(vector, dtype=np.float32), fut))
        if len(queue) >= self.max_batch:
            self._run(k, loop)
        else:
            self._turn.request()
        return await fut

    def _flush(self) -> None:
        loop = asyncio.get_running_loop()
        for k in list(self._queues):
            self._run(k, loop)

    def _run(self, k: int, loop: asyncio.AbstractEventLoop) -> None:
        batch = self._queues.pop(k, [])
        if not batch:
            return
        self.batches += 1
        self.queries += len(batch)
        vectors = np.stack([v for v, _ in batch])
        if self._pool is None:
            try:
                self._deliver(batch, self.catalogue.index.query_many(vectors, k, ef=self.ef))
            except Exception as exc:
                self._fail(batch, exc)
            return
        work = loop.run_in_executor(self._pool, lambda: self.catalogue.index.query_many(vectors, k, ef=self.ef))
        work.add_done_callback(lambda f: self._done(batch, f))

    def _done(self, batch: list[_Waiter],
              work: asyncio.Future[tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]]) -> None:
        exc = work.exception()
        if exc is not None:
            self._fail(batch, exc)
        else:
            self._deliver(batch, work.result())

    @staticmethod
    def _deliver(batch: list[_Waiter], result: tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]) -> None:
        labels, sims = result
        for i, (_, fut) in enumerate(batch):
            if not fut.done():  # a caller past its time budget has gone
                fut.set_result((labels[i].tolist(), sims[i].tolist()))

    @staticmethod
    def _fail(batch: list[_Waiter], exc: BaseException) -> None:
        for _, fut in batch:
            if not fut.done():
                fut.set_exception(exc)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False)
