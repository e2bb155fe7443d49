"""csum.data.prefetch.prefetched: order, bounded look-ahead, errors where they happen, and
a producer that stops when the consumer does."""

import threading
import time

import pytest

from csum.data.prefetch import prefetched


def test_yields_every_item_in_order():
    assert list(prefetched(iter(range(100)), depth=3)) == list(range(100))
    assert list(prefetched([], depth=1)) == []


def test_the_producer_runs_at_most_depth_ahead():
    made = []

    def items():
        for i in range(50):
            made.append(i)
            yield i

    it = prefetched(items(), depth=2)
    assert next(it) == 0
    time.sleep(0.2)  # let the producer fill the queue
    # taken (1) + queued (2) + the one blocked on a full queue (1)
    assert len(made) <= 4
    it.close()


def test_an_error_is_raised_at_its_item():
    def items():
        yield 1
        yield 2
        raise ValueError("bad item 3")

    it = prefetched(items(), depth=4)
    assert next(it) == 1 and next(it) == 2
    with pytest.raises(ValueError, match="bad item 3"):
        next(it)


def test_stopping_early_stops_and_joins_the_producer():
    before = threading.active_count()

    def endless():
        i = 0
        while True:
            yield i
            i += 1

    for item in prefetched(endless(), depth=2, name="csum-test"):
        if item == 5:
            break
    time.sleep(0.05)
    assert not any(t.name == "csum-test" for t in threading.enumerate())
    assert threading.active_count() <= before
