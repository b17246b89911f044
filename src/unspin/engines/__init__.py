"""Engines: `local` (worker processes on one machine) and `spark` (an Apache Spark job).

For dedup, every engine calls the same pure functions of `unspin.trace` (fingerprint, align,
cluster) and `unspin.engines.common`; for scans, the same `unspin.api.scan` (`scan` for worker
processes, `spark_scan` for Spark). So their outputs agree. `ENGINES` names the ones that can
be asked for on the command line.
"""

ENGINES = ("local", "spark")


def spark_available() -> bool:
    """Whether the Spark engine can run here: pyspark is installed (`unspin[spark]`)."""
    import importlib.util

    return importlib.util.find_spec("pyspark") is not None
