from csum.lazy import submodule


def __getattr__(name: str):
    return submodule(__name__, name)  # the modules as attributes (csum.lazy)
