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
