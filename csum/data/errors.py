"""The one exception type for bad input data."""


class DataError(ValueError):
    """Bad or missing input data. The message is one line naming file, video and key.

    Args:
        file: the file (or directory) being read.
        what: the problem and what was expected.
        video: the video key, when the problem is in one video.
        key: the h5 key (or config field), when one is at fault.
    """

    def __init__(self, file, what: str, video: str | None = None, key: str | None = None):
        where = [str(file)]
        if video is not None:
            where.append(f"video {video!r}")
        if key is not None:
            where.append(f"key {key!r}")
        super().__init__(f"{': '.join(where)}: {what}")


def synthetic_hint(config_name: str) -> str:
    """The hint of a data error in a run of ``config_name`` (``NAME[:WORDS]``): a command
    that runs on the built-in synthetic data (``tvsum_msva:quick`` becomes
    ``tvsum_msva:quick,synthetic``)."""
    base, _, arg = config_name.partition(":")
    words = [w for w in arg.split(",") if w]
    words += [] if "synthetic" in words else ["synthetic"]
    return f"run on the built-in synthetic data with --config={base}:{','.join(words)}"
