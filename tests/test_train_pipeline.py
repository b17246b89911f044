"""End to end on a small corpus written for this test: train-encoder, then train with that
encoder, then scan with the result. Slow-ish (about a minute): it is the path users retrain by."""

from __future__ import annotations

import gzip
import json
import random

import pytest

pytest.importorskip("torch")

SENTENCES = [
    "The harbour board met on Thursday to discuss the cost of repairing the northern pier.",
    "Several fishermen said the storm last month had damaged their boats and their nets.",
    "A spokesman for the council promised that work would begin before the end of the summer.",
    "Local shops reported that trade had fallen sharply since the road was closed to traffic.",
    "The school will open a new library next year after a long campaign by parents.",
    "Engineers found cracks in the old bridge and asked drivers to use another route.",
    "Farmers in the valley hope the early rain will help them bring in a larger harvest.",
    "The museum plans to show a collection of maps that were drawn two centuries ago.",
    "Police asked anyone who saw the accident on the coast road to contact them.",
    "The hospital said it needed more nurses to keep its new ward open at night.",
    "Residents complained that buses were often late and that fares had risen again.",
    "The minister told reporters that the plan would create hundreds of jobs in the region.",
]


def _corpus(path, n_docs: int = 160) -> str:
    rng = random.Random(0)
    with gzip.open(path, "wt", encoding="utf-8") as fh:
        for k in range(n_docs):
            paras = [" ".join(rng.sample(SENTENCES, 4)) for _ in range(2)]
            fh.write(json.dumps({"id": f"doc-{k}", "text": "\n\n".join(paras)}) + "\n")
    return str(path)


def test_train_encoder_then_train_then_scan(tmp_path):
    from unspin.context.encoder_train import train_encoder
    from unspin.detect.model import SpinModel
    from unspin.detect.scan import scan_text
    from unspin.detect.train import train

    corpus = _corpus(tmp_path / "c.jsonl.gz")
    enc = tmp_path / "model" / "encoder.safetensors"
    report = train_encoder([corpus], str(enc), paragraphs=64, workers=1)
    assert report["paragraphs"] > 0 and enc.is_file()
    out = tmp_path / "model" / "model.pkl"
    csv = tmp_path / "phrases.csv"  # calibration rows are the odd ones (1st, 3rd, ...)
    rows = [("climate alteration", "climate change"), ("car mishap", "car accident")]
    csv.write_text(
        "tortured_phrase,expected_phrase\n"
        + "".join(f"{t},{e}\nunused row,unused row\n" for t, e in rows),
        encoding="utf-8",
    )
    report = train(
        [corpus], str(out), paragraphs=200, workers=1, encoder=str(enc), tortured_csv=str(csv)
    )
    model = SpinModel.load(out)
    # The clean budgets read the calibration documents' other paragraphs too, in both modes.
    assert model.meta["budget_paragraphs"] > 0
    for part in (report, report["fast"]):
        assert part["calibration_lone_clean_paragraphs"] > model.meta["budget_paragraphs"]
    # The disguised-collocation scorer is fitted last, on the saved model (default mode only).
    assert [r["mode"] for r in report["collocations"]] == ["default"]
    assert report["collocations"][0]["right_readings"] >= 1
    assert model.collocation_scorer is not None and model.fast.collocation_scorer is None
    assert model.meta["collocations"] == report["collocations"]
    assert model.uses_encoder and model.meta["encoder"]["file"] == "encoder.safetensors"
    assert len(model.meta["features"]) == len(set(model.meta["features"]))
    text = " ".join(SENTENCES[:6])
    result = scan_text(text, model=model)
    assert result.verdict in {"spun", "clean"} and 0.0 <= result.spin_probability <= 1.0
    assert result.words == len(text.split())
