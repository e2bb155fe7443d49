"""Iterating in a background thread, a bounded number of items ahead.

The training stream (``csum.data.sources.stream_batches``) reads and pads the next batches
while a step runs; feature extraction (``csum.video.features.extract``) decodes the next
frames while the network runs. Both wait on work that releases the GIL (h5py reads, FFmpeg
decoding, XLA), so one thread overlaps them.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")


def prefetched(items: Iterable[T], depth: int = 2, name: str = "csum-prefetch") -> Iterator[T]:
    """Yields ``items`` in order, produced by a daemon thread up to ``depth`` items ahead.

    Memory holds at most ``depth + 1`` items (the queue and the one being consumed). An
    exception raised while producing is raised here, at the item where it happened. When the
    consumer stops early (``break``, an error, ``close()``), the thread stops after its
    current item and is joined.

    Args:
        items: any iterable; it is iterated in the thread only.
        depth: items kept ready (at least 1).
        name: the thread's name (shown by debuggers and profilers).
    """
    ready: queue.Queue = queue.Queue(maxsize=max(1, depth))
    stop = threading.Event()
    done = object()

    def work():
        try:
            for item in items:
                if stop.is_set():
                    return
                ready.put(item)
            ready.put(done)
        except BaseException as err:  # handed to the consumer, which raises it
            ready.put(err)

    thread = threading.Thread(target=work, daemon=True, name=name)
    thread.start()
    try:
        while (item := ready.get()) is not done:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        while thread.is_alive():  # unblock a producer waiting on a full queue
            try:
                ready.get_nowait()
            except queue.Empty:
                thread.join(timeout=0.01)
