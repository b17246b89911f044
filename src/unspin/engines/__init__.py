"""Dedup engines: `local` (worker processes on one machine); an Apache Spark engine may follow.

Every engine calls the same pure functions of `unspin.trace` (fingerprint, align, cluster), so
their outputs agree. `ENGINES` names the ones that can be asked for on the command line.
"""

ENGINES = ("local", "spark")


def spark_available() -> bool:
    """Whether this installation has the Spark engine (`unspin.engines.spark`)."""
    import importlib.util

    return importlib.util.find_spec("unspin.engines.spark") is not None
