"""csum.data.sources: lazy sources and the prefetching batch stream."""

import threading
import time

import numpy as np
import pytest

from csum.data.batching import default_buckets, train_batches
from csum.data.eccv16 import load_eccv16
from csum.data.errors import DataError
from csum.data.sources import H5Source, SyntheticSource, stream_batches
from csum.data.synthetic import FEATURE_KEYS


def test_stream_equals_in_memory_batches(small_h5):
    # The same plan, the same padded arrays: streaming changes where videos come from only.
    videos = list(load_eccv16(small_h5, (FEATURE_KEYS[0],)).values())
    buckets = default_buckets(max(v.n_steps for v in videos))
    source = H5Source([small_h5], FEATURE_KEYS[0])
    assert source.lengths().tolist() == [v.n_steps for v in videos]
    for epoch in range(2):
        ref = train_batches(videos, 4, buckets, np.random.default_rng(epoch))
        got = list(stream_batches(source, 4, buckets, np.random.default_rng(epoch)))
        assert len(got) == len(ref)
        for a, b in zip(got, ref, strict=True):
            np.testing.assert_array_equal(a.features[0], b.features[0])
            np.testing.assert_array_equal(a.mask, b.mask)
            np.testing.assert_array_equal(a.index, b.index)
    source.close()


class Counting:
    """A synthetic source that counts videos read but not yet handed to the consumer."""

    def __init__(self, n):
        self.inner = SyntheticSource(n, dim=8, min_steps=10, max_steps=40)
        self.loaded, self.lock = 0, threading.Lock()

    def __len__(self):
        return len(self.inner)

    def lengths(self):
        return self.inner.lengths()

    def load(self, i):
        with self.lock:
            self.loaded += 1
        return self.inner.load(i)


def test_memory_is_bounded_by_prefetch():
    source = Counting(400)
    buckets = default_buckets(40, quantum=8)
    consumed, ahead = 0, []
    for batch in stream_batches(source, 4, buckets, np.random.default_rng(0), prefetch=2):
        consumed += int(batch.valid.sum())
        time.sleep(0.002)  # a consumer slower than the reader
        ahead.append(source.loaded - consumed)
    assert consumed == 400
    # At most the queue's 2 batches plus the one being collated are read ahead.
    assert max(ahead) <= 3 * 4


def test_reader_errors_reach_the_consumer_and_synthetic_is_deterministic():
    class Broken(Counting):
        def load(self, i):
            if i == 7:
                raise DataError("shard_3.h5", "non-finite features", video="video_7")
            return super().load(i)

    with pytest.raises(DataError, match="shard_3.h5.*video_7"):
        for _ in stream_batches(Broken(20), 4, [64], np.random.default_rng(0)):
            pass
    s = SyntheticSource(5, dim=8, seed=3)
    np.testing.assert_array_equal(
        s.load(2).features[0], SyntheticSource(5, dim=8, seed=3).load(2).features[0]
    )
    assert s.load(2).n_steps == s.lengths()[2]


def test_each_process_reads_only_its_rows():
    # Two processes holding slots 0:2 and 2:4 of every batch: each reads only its slots'
    # videos, and their rows put side by side are the one-process batch (10 videos: the
    # last batch holds 2, so the second process gets empty slots of the right shape).
    class Recording(Counting):
        def __init__(self, n):
            super().__init__(n)
            self.read = []

        def load(self, i):
            self.read.append(i)
            return super().load(i)

    buckets = default_buckets(40, quantum=8)
    whole = list(stream_batches(Recording(10), 4, buckets, np.random.default_rng(5)))
    parts = {}
    for rows in ((0, 2), (2, 4)):
        source = Recording(10)
        parts[rows] = list(stream_batches(source, 4, buckets, np.random.default_rng(5), rows=rows))
        mine = [int(i) for b in whole for i in b.index[rows[0] : rows[1]] if i >= 0]
        extra = [int(b.index[0]) for b in whole if (b.index[rows[0] : rows[1]] < 0).all()]
        assert sorted(source.read) == sorted(mine + extra)
    for b, first, second in zip(whole, parts[(0, 2)], parts[(2, 4)], strict=True):
        for name in ("mask", "length", "valid", "index", "target"):
            joined = np.concatenate([getattr(first, name), getattr(second, name)])
            np.testing.assert_array_equal(joined, getattr(b, name))
        np.testing.assert_array_equal(
            np.concatenate([first.features[0], second.features[0]]), b.features[0]
        )
    assert sum(not b.valid.any() for b in parts[(2, 4)]) == 1  # the blank rows were used
    with pytest.raises(ValueError, match="rows"):
        next(stream_batches(Recording(10), 4, buckets, np.random.default_rng(0), rows=(3, 5)))
