"""Scanning in worker processes gives the same results, in the same order, as one process."""

from __future__ import annotations

import itertools
from importlib import resources
from pathlib import Path

import pytest

from unspin.api import scan_documents
from unspin.types import Document

MODEL = Path(str(resources.files("unspin") / "data" / "model.pkl"))
needs_model = pytest.mark.skipif(not MODEL.exists(), reason="the shipped model is not built yet")

# Paragraphs written for this test; the last two are too short and not English.
PARAGRAPHS = [
    "The harbour committee met on Tuesday evening to argue about the new ferry timetable, and "
    "several members said the early crossing should stay because nurses and bakers depend on it "
    "every morning of the week.",
    "Engineers at the water board warned that the old pumping station would need a new roof "
    "before winter, since heavy rain had already flooded the lower hall twice this year and "
    "damaged two of the main motors.",
    "The school choir travelled by coach to the regional festival, where they sang three songs "
    "and won a small prize for the best arrangement of a folk tune, to the delight of their "
    "teacher and the parents who came along.",
    "Farmers in the valley have begun planting a hardier kind of barley that copes better with "
    "dry summers, and the first harvests suggest the yield holds up even when the rain arrives "
    "weeks later than expected.",
    "A local bakery has started selling bread made from grain grown on the hills above the town, "
    "and the owner says demand has been strong enough to hire two more people for the early "
    "shift on weekends.",
    "Too short to judge.",
    "Le conseil municipal a voté mardi la construction d'une nouvelle passerelle sur la rivière "
    "après des mois de débat sur son coût et sur les travaux prévus au printemps prochain.",
]


def _docs() -> list[Document]:
    return [Document(f"p{k}", text) for k, text in enumerate(PARAGRAPHS)]


@needs_model
@pytest.mark.parametrize("fast", [True, False])
def test_workers_give_the_same_results_in_order(fast: bool) -> None:
    from unspin.detect.model import load_model
    from unspin.engines.scan import scan_in_workers

    one = [r.to_dict() for r in scan_documents(_docs(), fast=fast)]
    # One document per job, so jobs finish out of order and the queue bound is reached.
    many = scan_in_workers(_docs(), workers=2, fast=fast, model=load_model(), chunk_docs=1)
    assert [r.to_dict() for r in many] == one
    assert [r["id"] for r in one] == [f"p{k}" for k in range(len(PARAGRAPHS))]
    assert {r["verdict"] for r in one[-2:]} == {"abstain"}


@needs_model
def test_reading_stays_a_few_chunks_ahead_and_stopping_early_ends_the_workers() -> None:
    from unspin.detect.model import load_model
    from unspin.engines.scan import INFLIGHT_PER_WORKER, scan_in_workers

    read: list[str] = []

    def stream():  # an endless stream: the scan must not try to read it all
        for k in itertools.count():
            read.append(f"d{k}")
            yield Document(f"d{k}", PARAGRAPHS[k % 5])

    results = scan_in_workers(stream(), workers=2, fast=True, model=load_model(), chunk_docs=2)
    first = [next(results).id for _ in range(3)]
    assert first == ["d0", "d1", "d2"]
    assert len(read) <= 2 * (INFLIGHT_PER_WORKER * 2 + 1)
    results.close()  # shuts the pool down; must return, not hang


def test_workers_below_one_are_refused() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        scan_documents(_docs(), workers=0)


@needs_model
def test_documents_read_before_a_failing_record_still_get_their_results() -> None:
    from unspin.detect.model import load_model
    from unspin.engines.scan import scan_in_workers

    def stream():
        yield from _docs()[:5]
        raise ValueError("line 6: not JSON")

    got: list[str] = []
    with pytest.raises(ValueError, match="line 6"):
        for result in scan_in_workers(
            stream(), workers=2, fast=True, model=load_model(), chunk_docs=2
        ):
            got.append(result.id)
    assert got == ["p0", "p1", "p2", "p3", "p4"]


def test_batch_gc_tuning_raises_only_the_youngest_threshold() -> None:
    import gc

    from unspin.engines.scan import BATCH_GC_THRESHOLD, tune_gc_for_batch

    before = gc.get_threshold()
    try:
        gc.set_threshold(700, 7, 9)
        tune_gc_for_batch()
        assert gc.get_threshold() == (BATCH_GC_THRESHOLD, 7, 9)
        assert gc.isenabled()
    finally:
        gc.set_threshold(*before)
