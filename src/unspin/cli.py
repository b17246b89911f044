"""The `unspin` command line: a thin shell over `unspin.api` (no detection logic here).

Commands: `scan`, `restore`, `spin`, `train`, `bench detect`, `serve`, `index build|add`,
`trace`, `dedup`, `bench dedup`. Exit codes: 0 success;
2 bad usage or bad input (one line on stderr saying what and where); 1 an internal error (one
line, and the traceback when `UNSPIN_DEBUG=1`). Results go to stdout, everything else to stderr.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import sys
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import IO, TYPE_CHECKING, Annotated, Any

import typer

from unspin import __version__
from unspin.errors import InputError
from unspin.io.results import atomic_text, check_output, json_line

if TYPE_CHECKING:
    from rich.console import Console
    from rich.text import Text

    from unspin.detect.model import SpinModel
    from unspin.engines.spark import SparkSettings
    from unspin.io import ReadStats
    from unspin.trace.index import Index, TraceResult
    from unspin.types import Document, ScanResult

FORMATS = ("text", "json", "jsonl", "parquet")
ON_ERROR = ("fail", "skip")

app = typer.Typer(
    name="unspin",
    help="Unmask machine-spun text: detect, pinpoint and restore thesaurus-spun wording.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
bench_app = typer.Typer(
    help="Benchmarks: write a Markdown report and plots, print figures as JSON."
)
app.add_typer(bench_app, name="bench")


class InternalError(Exception):
    """Something is wrong with the installation (not the user's input): exit code 1."""


# --------------------------------------------------------------------------- helpers


def _stderr_console() -> Console:
    from rich.console import Console

    return Console(stderr=True, highlight=False)


def _note(message: str) -> None:
    """One line of information on stderr (never on stdout, which carries results)."""
    print(f"unspin: {message}", file=sys.stderr, flush=True)


def _write_text(text: str, out: IO[str] | None = None) -> None:
    """Write `text` exactly, with one trailing newline if it has none."""
    out = out or sys.stdout
    out.write(text if text.endswith("\n") else text + "\n")


def _check_inputs(paths: Sequence[str]) -> None:
    """Fail early (exit 2) on a missing input, before any slow work starts."""
    for p in paths:
        if p == "-":
            continue
        if not os.path.exists(p):
            raise InputError("no such file", p)
        if os.path.isdir(p):
            raise InputError("is a directory, not a file", p)


def _input_paths(paths: Sequence[str] | None) -> list[str]:
    """The PATH arguments, or stdin (`-`) when none are given and stdin is piped."""
    if paths:
        _check_inputs(paths)
        return list(paths)
    if sys.stdin is None or sys.stdin.isatty():
        raise InputError("no input: give a PATH, or '-' and pipe text to stdin")
    return ["-"]


def _load_model(path: str | None) -> SpinModel:
    """The model at `path` (bad file: exit 2) or the shipped one (missing: exit 1)."""
    from unspin.detect.model import default_model_path, load_model

    if path is None:
        shipped = default_model_path()
        if not shipped.exists():
            raise InternalError(
                f"no model at {shipped}; build it with 'unspin train --corpus ... --out {shipped}'"
                " or pass --model PATH"
            )
        return load_model(None)
    if not os.path.isfile(path):
        raise InputError("no such model file", path)
    try:
        return load_model(path)
    except Exception as exc:  # a user-supplied file that is not our model: bad input
        raise InputError(f"not an unspin model ({exc.__class__.__name__}: {exc})", path) from exc


def _new_stats() -> ReadStats:
    from unspin.io import ReadStats

    return ReadStats()


def _read(paths: Sequence[str], on_error: str, stats: ReadStats) -> Iterator[Document]:
    """Stream Documents from every path in order, counting them (and skips) in `stats`."""
    from unspin.io import read_documents

    return read_documents(paths, on_error="raise" if on_error == "fail" else "skip", stats=stats)


def _read_corpus(paths: Sequence[str], on_error: str, stats: ReadStats) -> Iterator[Document]:
    """Stream a corpus (files, folders, .parquet, .warc) like `_read`, counting in `stats`."""
    from unspin.io.corpus import read_corpus

    return read_corpus(paths, on_error="raise" if on_error == "fail" else "skip", stats=stats)


# Options of the commands that also run on Apache Spark (`--engine spark`).
EngineOption = Annotated[str, typer.Option("--engine", help="local or spark.")]
KeepWork = Annotated[
    bool,
    typer.Option("--keep-work", help="Keep the checkpoints after success (scan: --engine spark)."),
]
SparkMaster = Annotated[
    str | None,
    typer.Option(
        "--spark-master",
        help="Spark master URL (--engine spark); default: spark-submit's, else local[*].",
    ),
]
SparkPartitions = Annotated[
    int | None,
    typer.Option(
        "--spark-partitions",
        min=1,
        help="Partitions of the Spark job; default: from the cores and the documents.",
    ),
]
SparkWorkDir = Annotated[
    str | None,
    typer.Option(
        "--spark-work-dir",
        help="Checkpoints of a Spark run: a path or URI every executor can reach "
        "(e.g. hdfs:///tmp/unspin); default OUTPUT.work.",
    ),
]
SparkConf = Annotated[
    list[str] | None,
    typer.Option("--spark-conf", metavar="KEY=VALUE", help="A Spark setting; repeatable."),
]


def _spark_settings(
    engine: str,
    master: str | None,
    partitions: int | None,
    work_dir: str | None,
    conf_items: Sequence[str] | None,
    app_name: str,
) -> SparkSettings | None:
    """The Spark settings of `--engine spark` (None for the local engine); a bad engine or
    `--spark-conf` item, or pyspark missing, exits 2."""
    from unspin.engines import ENGINES, spark_available

    if engine not in ENGINES:
        raise typer.BadParameter(f"{engine!r} is not one of local, spark", param_hint="--engine")
    if engine == "local":
        return None
    if not spark_available():
        raise InputError(
            "the Spark engine needs pyspark: pip install 'unspin[spark]' (or use --engine local)"
        )
    conf: list[tuple[str, str]] = []
    for item in conf_items or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise typer.BadParameter(f"{item!r} is not KEY=VALUE", param_hint="--spark-conf")
        conf.append((key.strip(), value))
    from unspin.engines.spark import SparkSettings

    return SparkSettings(
        master=master, partitions=partitions, work_dir=work_dir, conf=tuple(conf), app_name=app_name
    )


# --------------------------------------------------------------------------- text report


def _flag_style(probability: float) -> str:
    """Colour a flag by how sure the detector is."""
    if probability >= 0.85:
        return "bold red"
    if probability >= 0.6:
        return "dark_orange"
    return "yellow"


def render_result(result: ScanResult, text: str) -> Text:
    """A readable report for one document: header, then the text with flags marked in place.

    Each flagged span becomes `[observed → suggestion]` (`?` when there is no suggestion), so the
    marks stay visible without colour; on a terminal they are coloured by probability.
    """
    from rich.text import Text

    out = Text()
    out.append(result.id, style="bold")
    verdict_style = {"spun": "bold red", "clean": "bold green"}.get(result.verdict, "dim")
    out.append("  ")
    out.append(result.verdict, style=verdict_style)
    if result.spin_probability is not None:
        out.append(f"  p(spun)={result.spin_probability:.2f}")
    details = f"{result.words} words, {len(result.flags)} flagged"
    if result.reason:
        details += f", {result.reason}"
    out.append(f"  ({details})\n", style="dim")
    pos = 0
    for flag in result.flags:
        if flag.start < pos:  # overlapping flags: keep the first
            continue
        out.append(text[pos : flag.start])
        suggestion = flag.suggestion if flag.suggestion is not None else "?"
        out.append(f"[{flag.text} → {suggestion}]", style=_flag_style(flag.probability))
        pos = flag.end
    out.append(text[pos:])
    if not text.endswith("\n"):
        out.append("\n")
    return out


# --------------------------------------------------------------------------- word diff


def word_diff(old: str, new: str) -> Text:
    """A word-level diff, wdiff style: `[-removed-]{+added+}`; coloured on a terminal.

    Changes separated only by whitespace are shown as one change (`[-as a result of-]{+due to+}`
    rather than one per word).
    """
    from rich.text import Text

    from unspin.restore.diff import word_diff_chunks

    merged = [(c.changed, c.old, c.new) for c in word_diff_chunks(old, new)]
    out = Text()
    for changed, was, now in merged:
        if not changed:
            out.append(was)
            continue
        if was:
            out.append("[-" + was + "-]", style="red")
        if now:
            out.append("{+" + now + "+}", style="green")
    return out


# --------------------------------------------------------------------------- scan output


_RESULT_START = b'{"id": '  # how every result line starts (json.dumps of ScanResult.to_dict)


def _existing_results(path: Path) -> Counter[str]:
    """Ids already in a JSONL output file; a half-written last line is truncated away.

    Each result line is written with its newline in one call, so a killed run can only leave a
    last line without a newline that starts like a result; that line is cut off. Anything else
    that is not a result line means the file is not a scan output: bad input, left untouched.
    The file is streamed, so resuming a large run needs no more memory than its ids.
    """
    done: Counter[str] = Counter()
    if not path.is_file():  # none yet, or a FIFO or device that holds no earlier run
        return done
    good_end = 0  # byte offset just past the last whole result line
    with path.open("rb") as fh:
        for n, raw in enumerate(fh, start=1):
            if raw.strip() and not raw.endswith(b"\n"):
                if _RESULT_START.startswith(raw[: len(_RESULT_START)]):
                    break  # the line a killed run was writing
            elif raw.strip():
                try:
                    record = json.loads(raw)
                    # a result, not a corpus line: corpora have ids too
                    is_result = isinstance(record, dict) and "verdict" in record
                    doc_id = record["id"] if is_result else None
                except (ValueError, KeyError, RecursionError):
                    doc_id = None
                if doc_id is not None:
                    done[str(doc_id)] += 1
                    good_end += len(raw)
                    continue
            else:
                good_end += len(raw)
                continue
            raise InputError(
                "not a JSONL scan output (bad line); use another --output", str(path), n
            )
    if good_end < path.stat().st_size:
        with path.open("r+b") as fh:
            fh.truncate(good_end)
            os.fsync(fh.fileno())
    return done


class _AppendLines:
    """Append results to a JSONL file: each line written and flushed whole (a killed run loses
    at most the line in flight, which the next run cuts off), synced to disk every
    `SYNC_EVERY` lines and at the end."""

    SYNC_EVERY = 64

    def __init__(self, path: Path) -> None:
        self.fh = path.open("a", encoding="utf-8")
        self.unsynced = 0
        self.regular = path.is_file()  # fsync fails on devices and pipes (/dev/null)

    def write(self, text: str) -> None:
        self.fh.write(text)
        self.fh.flush()
        self.unsynced += text.count("\n")
        if self.unsynced >= self.SYNC_EVERY:
            self.sync()

    def flush(self) -> None:
        self.fh.flush()

    def sync(self) -> None:
        self.fh.flush()
        if self.regular:
            os.fsync(self.fh.fileno())
        self.unsynced = 0

    def __enter__(self) -> _AppendLines:
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self.sync()
        finally:
            self.fh.close()


def _skip_done(docs: Iterable[Document], done: Counter[str]) -> Iterator[Document]:
    """Drop documents whose id already has a result (duplicates counted one by one)."""
    for doc in docs:
        if done[doc.id] > 0:
            done[doc.id] -= 1
            continue
        yield doc


def _progress(enabled: bool):  # noqa: ANN202 - rich Progress or a no-op stand-in
    """A transient progress display on stderr, or a stand-in that does nothing."""
    if not enabled:
        return None
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    return Progress(
        SpinnerColumn(),
        TextColumn("scanning: {task.completed} documents"),
        TimeElapsedColumn(),
        console=_stderr_console(),
        transient=True,
    )


# --------------------------------------------------------------------------- commands


def _version(value: bool) -> None:
    if value:
        print(f"unspin {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
) -> None:
    """Unmask machine-spun text: detect, pinpoint and restore thesaurus-spun wording."""


@app.command()
def scan(
    paths: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="PATH|-",
            help=(
                ".txt, .html, .jsonl[.gz], .parquet or .warc[.gz] files; '-' (or nothing, when"
                " piped) is stdin."
            ),
            show_default=False,
        ),
    ] = None,
    fmt: Annotated[
        str | None,
        typer.Option(
            "--format",
            "-f",
            help="text (readable report), json (one array), jsonl (one object per line) or "
            "parquet (one row per document; needs --output). Default: text, or with --output "
            "parquet for a .parquet file and jsonl otherwise.",
            show_default=False,
        ),
    ] = None,
    fast: Annotated[
        bool, typer.Option("--fast", help="Skip the encoder and the trigram LM: faster.")
    ] = False,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            help="Write results here. With jsonl, a rerun with the same arguments resumes: "
            "documents already in the file are skipped; other formats are written whole.",
        ),
    ] = None,
    model: Annotated[
        str | None, typer.Option("--model", help="Model file (default: the shipped one).")
    ] = None,
    index: Annotated[
        str | None,
        typer.Option(
            "--index", help="Source index: a source found there decides flags and restoration."
        ),
    ] = None,
    on_error: Annotated[
        str,
        typer.Option("--on-error", help="Malformed input records: fail (exit 2) or skip them."),
    ] = "fail",
    workers: Annotated[
        int,
        typer.Option(
            "--workers",
            min=1,
            help="Scan in this many processes, each loading the model (about 0.8 GB each); "
            "the results and their order are the same as with one.",
        ),
    ] = 1,
    engine: EngineOption = "local",
    keep_work: KeepWork = False,
    spark_master: SparkMaster = None,
    spark_partitions: SparkPartitions = None,
    spark_work_dir: SparkWorkDir = None,
    spark_conf: SparkConf = None,
) -> None:
    """Detect spinning: one result per document (P(spun), verdict, flagged spans, restored).

    `--engine spark` scans the files as a pyspark job and writes --output (JSONL, or Parquet
    for a .parquet file) with the same results, in the same order, as one machine would.
    """
    if fmt is None:
        fmt = "text" if output is None else "parquet" if _is_parquet(output) else "jsonl"
    if fmt not in FORMATS:
        raise typer.BadParameter(
            f"{fmt!r} is not one of {', '.join(FORMATS)}", param_hint="--format"
        )
    if fmt == "parquet" and output is None:
        raise typer.BadParameter(
            "parquet is written to a file: add --output FILE", param_hint="--format"
        )
    if on_error not in ON_ERROR:
        raise typer.BadParameter(
            f"{on_error!r} is not one of {', '.join(ON_ERROR)}", param_hint="--on-error"
        )
    inputs = _input_paths(paths)
    if output is not None:
        check_output(output, inputs)
    settings = _spark_settings(
        engine, spark_master, spark_partitions, spark_work_dir, spark_conf, "unspin scan"
    )
    if settings is not None:
        _scan_on_spark(inputs, output, fmt, fast, model, index, on_error, workers, settings,
                       keep_work)  # fmt: skip
        return
    source_index = _open_index(index) if index is not None else None
    resolved = _load_model(model)
    from unspin.api import scan_documents
    from unspin.engines.scan import tune_gc_for_batch

    tune_gc_for_batch()

    stats = _new_stats()
    done: Counter[str] = Counter()
    if output is not None and fmt == "jsonl":
        done = _existing_results(output)
    # Keep each document's text next to its result: the text report marks flags in place.
    texts: dict[str, list[str]] = {}

    def remember(docs: Iterable[Document]) -> Iterator[Document]:
        for doc in docs:
            if fmt == "text":
                texts.setdefault(doc.id, []).append(doc.text)
            yield doc

    docs = remember(_skip_done(_read(inputs, on_error, stats), done))
    results = scan_documents(
        docs, fast=fast, model=resolved, index=source_index, workers=workers
    )

    wrote = abstained = 0
    with ExitStack() as stack:
        if output is None:
            sink: IO[str] | _AppendLines = sys.stdout
        elif fmt == "jsonl":
            sink = stack.enter_context(_AppendLines(output))
        elif fmt == "parquet":
            from unspin.io.results import ParquetResults

            table = stack.enter_context(ParquetResults(output))
        else:
            sink = stack.enter_context(atomic_text(output))
        console = None
        if fmt == "text":
            from rich.console import Console

            console = (
                Console(highlight=False, soft_wrap=True)
                if output is None
                else Console(file=sink, highlight=False, soft_wrap=True, no_color=True)
            )
        bar = _progress(sys.stderr.isatty() and not (output is None and sys.stdout.isatty()))
        task = None
        if bar is not None:
            stack.enter_context(bar)
            task = bar.add_task("scan", total=None)
        if fmt == "json":
            sink.write("[")
        try:
            for result in results:
                if fmt == "text":
                    text = texts[result.id].pop(0)
                    if wrote:
                        console.print()
                    console.print(render_result(result, text), end="")
                elif fmt == "parquet":
                    table.write(result.to_dict())
                else:
                    line = json_line(result.to_dict())
                    if fmt == "json":
                        sink.write(("," if wrote else "") + "\n" + line)
                    else:
                        sink.write(line + "\n")
                    sink.flush()
                wrote += 1
                abstained += result.verdict == "abstain"
                if bar is not None:
                    bar.advance(task)
        finally:
            # Also when a later input fails: what was printed stays one valid JSON array, as
            # the lines printed before a failure stay valid JSONL (a file is not kept at all).
            if fmt == "json":
                sink.write("\n]\n" if wrote else "]\n")
                sink.flush()

    if output is not None or stats.read > 1 or stats.skipped:
        summary = (
            f"read {stats.read} documents, wrote {wrote}, "
            f"skipped {stats.skipped} malformed, abstained {abstained}"
        )
        resumed = stats.read - wrote  # every document read was either written or already done
        if resumed:
            summary += f" ({resumed} already in {output}, resumed after them)"
        _note(summary)


def _is_parquet(path: Path) -> bool:
    """Whether results written to `path` default to Parquet (its name ends in .parquet)."""
    return path.suffix.lower() == ".parquet"


def _scan_on_spark(
    inputs: Sequence[str], output: Path | None, fmt: str, fast: bool, model: str | None,
    index: str | None, on_error: str, workers: int, settings: SparkSettings, keep_work: bool,
) -> None:  # fmt: skip
    """`unspin scan --engine spark`: check what the Spark engine does not do (exit 2), run it."""
    if output is None:
        raise typer.BadParameter(
            "the Spark engine writes a file: add --output FILE", param_hint="--engine"
        )
    if fmt not in ("jsonl", "parquet") or (fmt == "parquet") != _is_parquet(output):
        raise typer.BadParameter(
            "the Spark engine writes jsonl, or parquet to a .parquet file", param_hint="--format"
        )
    for name, given in (("--index", index), ("--workers", workers > 1)):
        if given:
            raise typer.BadParameter(f"{name} works with --engine local", param_hint=name)
    if "-" in inputs:
        raise InputError("the Spark engine reads files, not stdin")
    if model is not None and not os.path.isfile(model):
        raise InputError("no such model file", model)
    from unspin.engines.spark_scan import run_spark_scan

    stats = run_spark_scan(
        inputs, output, fast=fast, model=model, settings=settings, keep_work=keep_work,
        on_error="raise" if on_error == "fail" else "skip",
    )  # fmt: skip
    resumed = ", resumed (the scan of a previous run reused)" if stats.resumed else ""
    _note(
        f"read {stats.read} documents, wrote {stats.read}, skipped {stats.skipped} malformed, "
        f"abstained {stats.abstained}{resumed}"
    )


@app.command()
def restore(
    path: Annotated[str, typer.Argument(metavar="PATH|-", help="Text to restore; '-' is stdin.")],
    diff: Annotated[
        bool, typer.Option("--diff", help="Print a word diff: [-spun-]{+restored+}.")
    ] = False,
    fast: Annotated[
        bool, typer.Option("--fast", help="Skip the encoder and the trigram LM: faster.")
    ] = False,
    model: Annotated[
        str | None, typer.Option("--model", help="Model file (default: the shipped one).")
    ] = None,
    index: Annotated[
        str | None,
        typer.Option(
            "--index", help="Source index: a source found there decides flags and restoration."
        ),
    ] = None,
) -> None:
    """Print the text with confident swaps replaced by their likely originals.

    Several documents (a JSONL, Parquet or WARC file) are printed one after another, each under
    a `==> id <==` line.
    """
    inputs = _input_paths([path])
    source_index = _open_index(index) if index is not None else None
    resolved = _load_model(model)
    from unspin.api import scan_documents
    from unspin.engines.scan import tune_gc_for_batch

    tune_gc_for_batch()

    stats = _new_stats()
    docs: list[Document] = []

    def keep(stream: Iterable[Document]) -> Iterator[Document]:
        for doc in stream:
            docs.append(doc)
            yield doc

    console = None
    if diff:
        from rich.console import Console

        console = Console(highlight=False, soft_wrap=True)
    results = scan_documents(
        keep(_read(inputs, "fail", stats)), fast=fast, model=resolved, index=source_index
    )
    for n, result in enumerate(results):
        doc = docs.pop(0)
        if n > 0 or _peek_many(path):
            _header(doc.id, first=n == 0)
        if console is not None:
            text = word_diff(doc.text, result.restored)
            if not doc.text.endswith("\n"):
                text.append("\n")
            console.print(text, end="")
        else:
            _write_text(result.restored)
        sys.stdout.flush()


def _peek_many(path: str) -> bool:
    """Whether an input may hold several documents (JSONL, Parquet, WARC), so each one gets a
    header."""
    return path.lower().endswith((".jsonl", ".jsonl.gz", ".parquet", ".warc", ".warc.gz"))


def _header(doc_id: str, *, first: bool) -> None:
    sys.stdout.write(("" if first else "\n") + f"==> {doc_id} <==\n")


def _list_profiles() -> None:
    from unspin.spin import PROFILES

    width = max(len(name) for name in PROFILES)
    for name, prof in PROFILES.items():
        print(f"{name:<{width}}  rate {prof.rate:.2f}  {prof.description}")


def _check_profile(profile: str) -> None:
    from unspin.spin import PROFILES

    if profile not in PROFILES:
        raise typer.BadParameter(
            f"unknown profile {profile!r}; valid profiles: {', '.join(PROFILES)}",
            param_hint="--profile",
        )


@app.command()
def spin(
    path: Annotated[
        str | None,
        typer.Argument(
            metavar="PATH|-", help="Clean text to spin; '-' is stdin.", show_default=False
        ),
    ] = None,
    rate: Annotated[
        float | None,
        typer.Option(
            "--rate", min=0.0, max=1.0, help="Share of eligible words changed (default: profile's)."
        ),
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="Same seed, same output.")] = 0,
    profile: Annotated[
        str, typer.Option("--profile", "-p", help="Spinner profile (see --list-profiles).")
    ] = "spinbot",
    list_profiles: Annotated[
        bool, typer.Option("--list-profiles", help="List the spinner profiles and exit.")
    ] = False,
) -> None:
    """Spin clean text like an article spinner would (the simulator used for training)."""
    if list_profiles:
        _list_profiles()
        return
    if path is None:
        raise typer.BadParameter("missing PATH (or '-' for stdin)", param_hint="PATH")
    _check_profile(profile)
    inputs = _input_paths([path])
    from unspin.api import spin as spin_text

    stats = _new_stats()
    for n, doc in enumerate(_read(inputs, "fail", stats)):
        if n > 0 or _peek_many(path):
            _header(doc.id, first=n == 0)
        _write_text(spin_text(doc.text, profile, rate=rate, seed=seed).text)
        sys.stdout.flush()


def _all_paths(option: Sequence[str] | None, extra: Sequence[str] | None, what: str) -> list[str]:
    """`--corpus a b c` arrives as one option value plus extra arguments: join them."""
    paths = [*(option or []), *(extra or [])]
    if not paths:
        raise typer.BadParameter(f"give at least one {what} file", param_hint="--corpus")
    _check_inputs(paths)
    return paths


# Options shared by the training commands.
CorpusOption = Annotated[
    list[str] | None,
    typer.Option("--corpus", help="Clean JSONL(.gz) corpus; repeat it or list several."),
]
MoreCorpus = Annotated[
    list[str] | None,
    typer.Argument(metavar="CORPUS", help="More corpus files.", show_default=False),
]
ProfilesOption = Annotated[
    str | None,
    typer.Option("--profiles", help="Comma-separated spinner profiles (default: all)."),
]


def _chosen_profiles(profiles: str | None) -> list[str] | None:
    """The comma-separated profile names, each checked (unknown: exit 2); None for all."""
    if not profiles:
        return None
    chosen = [p.strip() for p in profiles.split(",") if p.strip()]
    for p in chosen:
        _check_profile(p)
    return chosen


def _print_json(data: Any) -> None:
    print(json.dumps(data, indent=2, ensure_ascii=False, default=str))


@app.command()
def train(
    out: Annotated[str, typer.Option("--out", help="Where to write the model.")],
    corpus: CorpusOption = None,
    more: MoreCorpus = None,
    paragraphs: Annotated[
        int, typer.Option("--paragraphs", min=1, help="Training paragraphs sampled.")
    ] = 6000,
    seed: Annotated[int, typer.Option("--seed")] = 0,
    profiles: ProfilesOption = None,
    workers: Annotated[int, typer.Option("--workers", min=1, help="Worker processes.")] = 2,
    tortured_csv: Annotated[
        str | None,
        typer.Option(
            "--tortured-csv",
            help="Tortured-phrases CSV: its calibration (odd) rows teach the candidate ranker "
            "real spinner choices and fit the disguised-collocation scorer.",
        ),
    ] = None,
    encoder: Annotated[
        str | None,
        typer.Option(
            "--encoder",
            help="Encoder head file from `unspin train-encoder` (default: the shipped one).",
        ),
    ] = None,
    per_doc: Annotated[
        int, typer.Option("--per-doc", min=1, help="Most paragraphs taken from one document.")
    ] = 3,
    no_encoder: Annotated[
        bool,
        typer.Option("--no-encoder", help="Train without the encoder's word features."),
    ] = False,
) -> None:
    """Train the detector on clean corpora (self-supervised) and print its report as JSON."""
    paths = _all_paths(corpus, more, "corpus")
    if encoder is not None and no_encoder:
        raise InputError("--encoder and --no-encoder exclude each other")
    if encoder is not None:
        _check_inputs([encoder])
    elif not no_encoder:
        from unspin.context.encoder import default_encoder_path

        encoder = str(default_encoder_path())
    chosen = _chosen_profiles(profiles)
    from unspin.api import train as train_model

    if tortured_csv is not None:
        _check_inputs([tortured_csv])
    report = train_model(
        paths,
        out,
        profiles=chosen,
        paragraphs=paragraphs,
        seed=seed,
        workers=workers,
        tortured_csv=tortured_csv,
        encoder=None if no_encoder else encoder,
        per_doc=per_doc,
    )
    _print_json(report)


@app.command("cache")
def cache_command(
    prune: Annotated[
        bool, typer.Option("--prune", help="Delete the files this unspin no longer reads.")
    ] = False,
    models: Annotated[
        list[str] | None,
        typer.Option(
            "--model",
            help="A model of your own whose forest and encoder copies to keep (repeatable); "
            "the shipped model's are always kept.",
        ),
    ] = None,
) -> None:
    """Show unspin's cache dir and which of its files this version reads; --prune the rest.

    The cache holds files built once: the lexicon, word tables, ONNX copies of the models.
    """
    from rich.console import Console
    from rich.table import Table

    from unspin.cache import listing
    from unspin.cache import prune as prune_files
    from unspin.lexicon.core import default_cache_dir

    kept = [_load_model(None), *(_load_model(m) for m in models or [])]
    cache_dir = default_cache_dir()
    files = listing(cache_dir, kept)
    table = Table("family", "in use", "not in use", title=str(cache_dir))
    for family in sorted({f.family for f in files if f.family}):
        cells = [[f for f in files if f.family == family and f.in_use is u] for u in (True, False)]
        table.add_row(family, *(f"{len(c)} ({_megabytes(c)})" for c in cells))
    other = [f for f in files if f.family is None]
    if other:
        table.add_row("(not unspin's)", f"{len(other)} ({_megabytes(other)}), left alone", "")
    console = Console(highlight=False)
    console.print(table)
    stale = [f for f in files if f.family and not f.in_use]
    if prune:
        gone = prune_files(files)
        console.print(f"deleted {len(gone)} files ({_megabytes(gone)})")
    elif stale:
        console.print(f"'unspin cache --prune' deletes the {len(stale)} not in use")


def _megabytes(files: Sequence[Any]) -> str:
    """The summed size of cache files, in MB."""
    return f"{sum(f.size for f in files) / 1e6:,.1f} MB"


@app.command("train-encoder")
def train_encoder(
    out: Annotated[str, typer.Option("--out", help="Where to write the encoder head file.")],
    corpus: CorpusOption = None,
    more: MoreCorpus = None,
    paragraphs: Annotated[
        int, typer.Option("--paragraphs", min=1, help="Training paragraphs sampled.")
    ] = 12000,
    epochs: Annotated[
        int,
        typer.Option(
            "--epochs", min=1, help="Passes; each spins the paragraphs afresh and saves --out."
        ),
    ] = 1,
    per_doc: Annotated[
        int, typer.Option("--per-doc", min=1, help="Most paragraphs taken from one document.")
    ] = 3,
    seed: Annotated[int, typer.Option("--seed")] = 0,
    profiles: ProfilesOption = None,
    layers: Annotated[
        int,
        typer.Option(
            "--layers",
            min=1,
            max=6,
            help="Pretrained MiniLM layers kept (the lowest ones); fewer read faster.",
        ),
    ] = 6,
    workers: Annotated[
        int, typer.Option("--workers", min=1, help="Processes for spinning; torch threads.")
    ] = 2,
) -> None:
    """Fine-tune the swapped-word encoder (MiniLM adapters + head) on clean corpora."""
    paths = _all_paths(corpus, more, "corpus")
    chosen = _chosen_profiles(profiles)
    from unspin.context.encoder_train import train_encoder as fit

    report = fit(
        paths,
        out,
        profiles=chosen,
        paragraphs=paragraphs,
        seed=seed,
        epochs=epochs,
        per_doc=per_doc,
        layers=layers,
        workers=workers,
        log=lambda line: print(line, file=sys.stderr, flush=True),
    )
    _print_json(report)


@bench_app.command("detect")
def bench_detect(
    out: Annotated[str, typer.Option("--out", help="Directory for report.md and plots.")],
    corpus: Annotated[
        list[str] | None,
        typer.Option("--corpus", help="Clean JSONL(.gz) corpus (its test split is used)."),
    ] = None,
    more: Annotated[
        list[str] | None,
        typer.Argument(metavar="CORPUS", help="More corpus files.", show_default=False),
    ] = None,
    paragraphs: Annotated[int, typer.Option("--paragraphs", min=1)] = 200,
    seed: Annotated[int, typer.Option("--seed")] = 0,
    fast: Annotated[bool, typer.Option("--fast/--no-fast", help="Benchmark fast mode.")] = False,
    model: Annotated[
        str | None, typer.Option("--model", help="Model file (default: the shipped one).")
    ] = None,
    left_out_model: Annotated[
        str | None, typer.Option("--left-out-model", help="Model trained without one profile.")
    ] = None,
    left_out_profile: Annotated[
        str | None, typer.Option("--left-out-profile", help="The profile it was trained without.")
    ] = None,
    tortured_csv: Annotated[
        str | None, typer.Option("--tortured-csv", help="Tortured-phrases CSV to score.")
    ] = None,
    workers: Annotated[int, typer.Option("--workers", min=1)] = 2,
    articles: Annotated[
        int,
        typer.Option("--articles", min=0, help="Also judge this many whole held-out articles."),
    ] = 0,
    clean_paragraphs: Annotated[
        int,
        typer.Option(
            "--clean-paragraphs",
            min=0,
            help="Clean held-out paragraphs on the clean side (the spun ones plus more, scanned "
            "clean only), so the clean figures rest on more than a handful of paragraphs.",
        ),
    ] = 1000,
) -> None:
    """Detection, pinpointing and restoration on held-out spun paragraphs; prints figures."""
    paths = _all_paths(corpus, more, "corpus")
    for extra in (model, left_out_model, tortured_csv):
        if extra is not None:
            _check_inputs([extra])
    if left_out_profile is not None:
        _check_profile(left_out_profile)
    if model is None:
        _load_model(None)  # a clear error now rather than deep in a worker
    from unspin.bench.detect import run_detect_bench

    figures = run_detect_bench(
        paths,
        out,
        paragraphs=paragraphs,
        seed=seed,
        fast=fast,
        model=model,
        left_out_model=left_out_model,
        left_out_profile=left_out_profile,
        tortured_csv=tortured_csv,
        workers=workers,
        articles=articles,
        clean_paragraphs=clean_paragraphs,
    )
    _print_json(figures)


@app.command()
def serve(
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[
        int, typer.Option("--port", min=0, max=65535, help="Port to listen on.")
    ] = 8000,
    index: Annotated[
        str | None, typer.Option("--index", help="Source index: enables tracing on the page.")
    ] = None,
    model: Annotated[
        str | None, typer.Option("--model", help="Model file (default: the shipped one).")
    ] = None,
    fast: Annotated[
        bool, typer.Option("--fast", help="Default to fast mode (the page can switch).")
    ] = False,
    max_body_bytes: Annotated[
        int, typer.Option("--max-body-bytes", min=1, help="Larger request bodies answer 413.")
    ] = 2_000_000,
    max_text_chars: Annotated[
        int, typer.Option("--max-text-chars", min=1, help="Longer texts answer 413.")
    ] = 200_000,
    time_limit: Annotated[
        float,
        typer.Option(
            "--time-limit", min=0.1, help="Seconds a request may take (waiting included); 503."
        ),
    ] = 120.0,
    workers: Annotated[
        int,
        typer.Option(
            "--workers",
            min=1,
            help="Server processes, each with its own model (about 0.8 GB each) scanning one "
            "text at a time: up to this many texts are scanned at once.",
        ),
    ] = 1,
) -> None:
    """Serve the web page and the JSON API (POST /api/scan, /api/restore, /api/trace)."""
    if index is not None:
        _open_index(index).close()  # a missing or foreign file: exit 2 now, not on a request
    resolved = _load_model(model)
    import uvicorn

    from unspin.web import create_app

    # Bind before saying "serving on": a port in use or an unknown host is bad usage (exit 2),
    # and --port 0 is told the port the system chose.
    sock = _listen_socket(host, port)
    port = sock.getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    _note(f"serving on http://{shown}:{port}/ (API docs at /docs); Ctrl+C stops")
    if workers > 1:
        sock.close()  # uvicorn's worker processes bind it again, as given

        from unspin.web.app import SERVE_CONFIG_ENV, serve_config

        # Each worker process builds the app from these settings (its own model and lock).
        os.environ[SERVE_CONFIG_ENV] = serve_config(
            index,
            max_body_bytes,
            max_text_chars=max_text_chars,
            time_limit_s=time_limit,
            model=model,
            fast=fast,
        )
        uvicorn.run(
            "unspin.web.app:app_from_env",
            factory=True,
            workers=workers,
            host=host,
            port=port,
            log_level="warning",
        )
        return
    web_app = create_app(
        index,
        max_body_bytes,
        max_text_chars=max_text_chars,
        time_limit_s=time_limit,
        model=resolved,
        fast=fast,
        warm_up=True,
    )
    server = uvicorn.Server(uvicorn.Config(web_app, log_level="warning"))
    server.run(sockets=[sock])


def _listen_socket(host: str, port: int) -> socket.socket:
    """A TCP socket bound to host:port as uvicorn binds one; one that cannot be is bad usage."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except socket.gaierror:
        sock.close()
        raise InputError(f"cannot listen on {host}:{port}: unknown host") from None
    except (OSError, OverflowError) as exc:
        sock.close()
        why = getattr(exc, "strerror", None) or str(exc)
        raise InputError(f"cannot listen on {host}:{port}: {why}") from None
    return sock


@bench_app.command("pairs")
def bench_pairs(
    pairs: Annotated[
        str,
        typer.Argument(
            metavar="PAIRS",
            help='JSONL(.gz) of {"id", "original", "spun"}: texts and their real spun copies.',
        ),
    ],
    out: Annotated[str, typer.Option("--out", help="Directory for report.md, figures.json.")],
    fast: Annotated[bool, typer.Option("--fast/--no-fast", help="Benchmark fast mode.")] = False,
    model: Annotated[
        str | None, typer.Option("--model", help="Model file (default: the shipped one).")
    ] = None,
) -> None:
    """Measure unspin on real spun copies of texts you have: each copy is aligned to its
    original, the swaps found become the labels, and both are scanned."""
    from unspin.bench.pairs import evaluate_pairs, read_pairs, write_report

    if model is not None:
        _load_model(model)  # a bad model file: exit 2 before any work
    figures, per_pair = evaluate_pairs(list(read_pairs(pairs)), fast=fast, model=model)
    report = write_report(figures, per_pair, out)
    _note(f"report: {report}")
    _print_json(figures)


@bench_app.command("load")
def bench_load(
    out: Annotated[str, typer.Option("--out", help="Directory for report.md and figures.json.")],
    requests: Annotated[int, typer.Option("--requests", min=1, help="Requests in all.")] = 2000,
    concurrency: Annotated[
        int, typer.Option("--concurrency", min=1, help="Concurrent clients.")
    ] = 50,
    sentences: Annotated[
        int, typer.Option("--sentences", min=1, help="Texts have 1 to 2x this many sentences.")
    ] = 4,
    seed: Annotated[int, typer.Option("--seed")] = 0,
    fast: Annotated[bool, typer.Option("--fast/--no-fast", help="Server's default mode.")] = True,
    model: Annotated[
        str | None, typer.Option("--model", help="Model file (default: the shipped one).")
    ] = None,
    max_body_bytes: Annotated[int, typer.Option("--max-body-bytes", min=1)] = 2_000_000,
    max_text_chars: Annotated[int, typer.Option("--max-text-chars", min=1)] = 200_000,
    time_limit: Annotated[float, typer.Option("--time-limit", min=0.1)] = 120.0,
    workers: Annotated[
        int, typer.Option("--workers", min=1, help="Server processes ('unspin serve --workers').")
    ] = 1,
) -> None:
    """Load-test 'unspin serve' on loopback: a mix of scans, restorations, script payloads,
    oversized and malformed bodies; status counts, 5xx, p50/p99 latency. Exit 1 if any answer
    was a 5xx, failed in transport or differed from the contract."""
    if model is not None:
        _check_inputs([model])
    else:
        _load_model(None)  # a missing shipped model: a clear error now, not a dead server
    from unspin.bench.load import run_load_bench

    figures = run_load_bench(
        out,
        requests=requests,
        concurrency=concurrency,
        seed=seed,
        sentences=sentences,
        fast=fast,
        model=model,
        serve_args=[
            "--max-body-bytes",
            str(max_body_bytes),
            "--max-text-chars",
            str(max_text_chars),
            "--time-limit",
            str(time_limit),
            "--workers",
            str(workers),
        ],  # fmt: skip
    )
    _print_json(figures)
    if not figures["ok"]:
        raise InternalError(
            f"load test failed: {figures['server_errors']} server errors, "
            f"{figures['transport_errors']} transport errors, "
            f"{figures['unexpected']} answers other than the contract's (see {out}/report.md)"
        )


# --------------------------------------------------------------------------- trace and dedup

index_app = typer.Typer(help="Source index for 'unspin trace' and 'scan --index' (SQLite).")
app.add_typer(index_app, name="index")


def _corpus_paths(paths: Sequence[str] | None) -> list[str]:
    """Corpus arguments: files (.jsonl[.gz], .parquet, .warc[.gz], .txt, .html) or folders."""
    if not paths:
        raise typer.BadParameter("give at least one corpus file or folder", param_hint="CORPUS")
    seen: set[str] = set()
    for p in paths:
        if p != "-" and not os.path.exists(p):
            raise InputError("no such file or folder", p)
        real = os.path.realpath(p) if p != "-" else p
        if real in seen:  # read twice, every document would be its own exact copy
            raise InputError("given twice", p)
        seen.add(real)
    return list(paths)


def _open_index(path: str, *, create: bool = False) -> Index:
    """Open (or create) a source index; a missing or foreign file is bad input (exit 2)."""
    from unspin.trace.index import Index, IndexError_

    if os.path.isdir(path):
        raise InputError("is a directory, not an index file", path)
    if not create and not os.path.isfile(path):
        raise InputError("no such index (build one with 'unspin index build')", path)
    try:
        return Index(path, create=create)
    except IndexError_ as exc:
        raise InputError(str(exc), path) from None


def _count_progress(label: str, enabled: bool):  # noqa: ANN202 - rich Progress or None
    """A transient progress display for long jobs, or None off a terminal."""
    if not enabled:
        return None
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed:,}" + label),
        TimeElapsedColumn(),
        console=_stderr_console(),
        transient=True,
    )


def _index_documents(index: Index, paths: list[str], workers: int) -> None:
    from unspin.io.corpus import read_corpus

    stats = _new_stats()
    bar = _count_progress(" documents", sys.stderr.isatty())
    with ExitStack() as stack:
        task = None
        if bar is not None:
            stack.enter_context(bar)
            task = bar.add_task("indexing", total=None)
        added = index.add(
            read_corpus(paths, stats=stats),
            workers=workers,
            on_batch=(lambda s: bar.update(task, completed=s.added + s.skipped)) if bar else None,
        )
    _note(
        f"read {stats.read} documents, indexed {added.added}, "
        f"{added.skipped} already in {index.path} (or repeated ids); {len(index)} in the index"
    )


@index_app.command("build")
def index_build(
    corpus: Annotated[
        list[str], typer.Argument(metavar="CORPUS...", help="Files or folders to index.")
    ],
    index: Annotated[str, typer.Option("--index", help="The index file to build.")],
    workers: Annotated[int, typer.Option("--workers", min=1, help="Worker processes.")] = 2,
) -> None:
    """Build a source index; rerun the same command to resume a build that was stopped."""
    paths = _corpus_paths(corpus)
    check_output(index, paths)
    with _open_index(index, create=True) as ix:
        _index_documents(ix, paths, workers)


@index_app.command("add")
def index_add(
    corpus: Annotated[list[str], typer.Argument(metavar="CORPUS...", help="Files or folders.")],
    index: Annotated[str, typer.Option("--index", help="An existing index file.")],
    workers: Annotated[int, typer.Option("--workers", min=1, help="Worker processes.")] = 2,
) -> None:
    """Add documents to an existing index (ids already there are skipped)."""
    paths = _corpus_paths(corpus)
    with _open_index(index) as ix:
        _index_documents(ix, paths, workers)


def render_trace(result: TraceResult, text: str) -> Any:
    """A readable trace: each match's figures, then its substitutions side by side."""
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    parts: list[Any] = [Text(result.id, style="bold")]
    if not result.matches:
        parts.append(Text("  no source found in the index", style="dim"))
    for m in result.matches:
        parts.append(
            Text.assemble(
                ("  source ", "dim"),
                (m.source_id, "bold"),
                f"  similarity {m.similarity:.2f}  spin ratio {m.spin_ratio:.2f}",
                (f"  {len(m.substitutions)} substitutions", "dim"),
            )
        )
        if m.substitutions:
            table = Table(box=None, padding=(0, 2), show_edge=False, pad_edge=False)
            table.add_column("at", justify="right", style="dim")
            table.add_column("traced text", style="red")
            table.add_column("source text", style="green")
            for s in m.substitutions:
                table.add_row(str(s.start), s.text or "(dropped)", s.source_text or "(added)")
            parts.append(table)
    return Group(*parts)


@app.command()
def trace(
    path: Annotated[
        str, typer.Argument(metavar="PATH|-", help="Text(s) to trace: .txt, .html, .jsonl, -.")
    ],
    index: Annotated[str, typer.Option("--index", help="Source index to search.")],
    fmt: Annotated[
        str,
        typer.Option(
            "--format",
            "-f",
            help="text (substitutions side by side) or json (one object per document, per line).",
        ),
    ] = "text",
    limit: Annotated[int, typer.Option("--limit", min=1, help="Most sources per text.")] = 5,
) -> None:
    """Find the likely sources of a text in an index: similarity, spin ratio, substitutions."""
    if fmt not in ("text", "json", "jsonl"):
        raise typer.BadParameter(f"{fmt!r} is not one of text, json", param_hint="--format")
    inputs = _input_paths([path])
    with _open_index(index) as ix:
        console = None
        if fmt == "text":
            from rich.console import Console

            console = Console(highlight=False, soft_wrap=True)
        for n, doc in enumerate(_read(inputs, "fail", _new_stats())):
            result = ix.trace(doc.text, doc_id=doc.id, limit=limit)
            if console is not None:
                if n:
                    console.print()
                console.print(render_trace(result, doc.text))
            else:
                print(json.dumps(result.to_dict(), ensure_ascii=False), flush=True)


@app.command()
def dedup(
    corpus: Annotated[
        list[str], typer.Argument(metavar="CORPUS...", help="Files or folders to deduplicate.")
    ],
    output: Annotated[str, typer.Option("--output", "-o", help="clusters.jsonl to write.")],
    engine: EngineOption = "local",
    workers: Annotated[int, typer.Option("--workers", min=1, help="Worker processes.")] = 2,
    on_error: Annotated[
        str,
        typer.Option(
            "--on-error",
            help="Malformed input records: fail (exit 2) or skip them (--engine local).",
        ),
    ] = "fail",
    partition_size: Annotated[
        int, typer.Option("--partition-size", min=1, help="Documents per checkpoint.")
    ] = 10_000,
    min_similarity: Annotated[
        float,
        typer.Option("--min-similarity", min=0.0, max=1.0, help="Alignment similarity of a copy."),
    ] = 0.7,
    restore_copies: Annotated[
        bool,
        typer.Option("--restore", help="Add the consensus restoration of every spun copy."),
    ] = False,
    keep_work: KeepWork = False,
    spark_master: SparkMaster = None,
    spark_partitions: SparkPartitions = None,
    spark_work_dir: SparkWorkDir = None,
    spark_conf: SparkConf = None,
) -> None:
    """Cluster exact, near and spun copies: one line per document (cluster, role, similarity).

    Checkpoints go to OUTPUT.work/; a run that was stopped resumes when rerun with the same
    arguments. `--engine spark` runs the same decisions as a pyspark job (same output).
    """
    settings = _spark_settings(
        engine, spark_master, spark_partitions, spark_work_dir, spark_conf, "unspin dedup"
    )
    if on_error not in ON_ERROR:
        raise typer.BadParameter(
            f"{on_error!r} is not one of {', '.join(ON_ERROR)}", param_hint="--on-error"
        )
    if on_error == "skip" and engine == "spark":
        raise typer.BadParameter("skip works with --engine local", param_hint="--on-error")
    paths = _corpus_paths(corpus)
    if "-" in paths:
        raise InputError("dedup reads files and folders, not stdin (a rerun must resume)")
    check_output(output, paths)
    from unspin.engines.local import DedupConfig, run_dedup
    from unspin.trace.fingerprint import FingerprintParams

    config = DedupConfig(
        params=FingerprintParams(),
        partition_size=partition_size,
        workers=workers,
        min_similarity=min_similarity,
        restore=restore_copies,
        keep_work=keep_work,
    )
    bar = _count_progress("", sys.stderr.isatty())
    tasks: dict[str, Any] = {}
    with ExitStack() as stack:
        if bar is not None:
            stack.enter_context(bar)

        def progress(stage: str, done: int, total: int | None) -> None:
            if bar is None:
                return
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total)
            bar.update(tasks[stage], completed=done, total=total)

        if settings is not None:
            from unspin.engines.spark import run_spark_dedup

            stats = run_spark_dedup(paths, output, config, settings, progress=progress)
        else:
            # Read here, so that malformed records are skipped (and counted) or fail the run
            # with their file and line; a resumed run reads past finished partitions the same way.
            read_stats = _new_stats()
            documents = _read_corpus(paths, on_error, read_stats)
            stats = run_dedup(paths, output, config, documents=documents, progress=progress)
    if engine == "local":
        _note(
            f"read {read_stats.read} documents, wrote {stats.documents}, "
            f"skipped {read_stats.skipped} malformed"
        )
    resumed = f", resumed ({stats.partitions_reused} partitions reused)" if stats.resumed else ""
    _note(
        f"{stats.documents} documents, {stats.clusters} clusters, {stats.copies} copies "
        f"({', '.join(f'{v} {k}' for k, v in sorted(stats.by_kind.items())) or 'none'}); "
        f"{stats.verified_pairs} of {stats.candidate_pairs} candidate pairs verified{resumed}"
    )
    if stats.repeated_ids:
        _note(
            f"warning: {stats.repeated_ids} documents have an id an earlier one has: their rows "
            "cannot be told apart (files of the same name in two folders, say); give them ids "
            "of their own"
        )


@bench_app.command("dedup")
def bench_dedup(
    out: Annotated[str, typer.Option("--out", help="Directory for report.md and plots.")],
    corpus: CorpusOption = None,
    more: MoreCorpus = None,
    docs: Annotated[int, typer.Option("--docs", min=10, help="Corpus documents used.")] = 4000,
    copies: Annotated[
        int, typer.Option("--copies", min=1, help="Sampled documents that get copies.")
    ] = 300,
    seed: Annotated[int, typer.Option("--seed")] = 0,
    workers: Annotated[int, typer.Option("--workers", min=1)] = 2,
    scale: Annotated[
        str | None,
        typer.Option(
            "--scale",
            help="Instead: time 'unspin dedup' on synthetic corpora of these sizes "
            "(comma-separated, e.g. 10000,100000,1000000).",
        ),
    ] = None,
    engine: Annotated[
        str, typer.Option("--engine", help="With --scale: the dedup engine timed, local or spark.")
    ] = "local",
) -> None:
    """Dedup and trace against datasketch MinHashLSH on one corpus with planted copies."""
    paths = _all_paths(corpus, more, "corpus")
    if engine not in ("local", "spark"):
        raise typer.BadParameter(f"{engine!r} is not one of local, spark", param_hint="--engine")
    if scale is not None:
        try:
            sizes = [int(x) for x in scale.split(",") if x.strip()]
        except ValueError:
            raise typer.BadParameter("sizes must be integers", param_hint="--scale") from None
        from unspin.bench.dedup import run_scale_bench

        _print_json(
            run_scale_bench(paths, out, sizes=sizes, seed=seed, workers=workers, engine=engine)
        )
        return
    if engine != "local":
        raise typer.BadParameter("only --scale runs the spark engine", param_hint="--engine")
    from unspin.bench.dedup import run_dedup_bench

    figures = run_dedup_bench(paths, out, docs=docs, copies=copies, seed=seed, workers=workers)
    _print_json(figures)


# --------------------------------------------------------------------------- entry point


def _one_line(message: str) -> str:
    return " ".join(str(message).split())


class _StderrLines(logging.Handler):
    """Library warnings (e.g. invalid UTF-8 in a file) as one `unspin: warning:` line each."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = _one_line(record.getMessage())
        except Exception:  # a bad log call must not end the run
            self.handleError(record)
            return
        print(f"unspin: warning: {message}", file=sys.stderr, flush=True)


def main(argv: Sequence[str] | None = None) -> None:
    """Run the CLI and exit with 0 (success), 2 (bad usage or input) or 1 (internal error)."""
    args = list(sys.argv[1:] if argv is None else argv)
    debug = os.environ.get("UNSPIN_DEBUG", "") not in ("", "0")
    command = typer.main.get_command(app)
    code = 0
    logger = logging.getLogger("unspin")
    handler = _StderrLines(logging.WARNING)
    logger.addHandler(handler)
    old_level = logger.level
    if logger.getEffectiveLevel() > logging.WARNING:
        logger.setLevel(logging.WARNING)
    try:
        rv = command.main(args=args, prog_name="unspin", standalone_mode=False)
        code = rv if isinstance(rv, int) else 0
    except typer.Exit as exc:
        code = exc.exit_code
    except InputError as exc:
        _note(_one_line(str(exc)))
        code = 2
    except typer.TyperException as exc:  # click usage errors: one line, exit 2
        if type(exc).__name__ == "NoArgsIsHelpError":
            exc.show()  # type: ignore[attr-defined]
            code = 0
        else:
            ctx = getattr(exc, "ctx", None)
            where = ctx.command_path if ctx is not None else "unspin"
            hint = f" (see '{where} --help')" if getattr(exc, "exit_code", 1) == 2 else ""
            print(f"{where}: {_one_line(exc.format_message())}{hint}", file=sys.stderr)
            code = exc.exit_code
    except (KeyboardInterrupt, typer.Abort):
        print("unspin: interrupted", file=sys.stderr)
        code = 130
    except BrokenPipeError:
        # The reader went away (`| head`): stop quietly, and keep Python from complaining.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        code = 1
    except InternalError as exc:
        _note(f"error: {_one_line(str(exc))}")
        code = 1
    except Exception as exc:
        if debug:
            raise
        _note(
            f"internal error: {exc.__class__.__name__}: {_one_line(str(exc))} "
            "(rerun with UNSPIN_DEBUG=1 for the traceback)"
        )
        code = 1
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)
    sys.exit(code)


if __name__ == "__main__":  # pragma: no cover
    main()
