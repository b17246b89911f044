"""The detection bench report shows every figure for the left-out model too."""

from __future__ import annotations

from unspin.bench.report import write_detect_report


def _rate_figures(auroc: float) -> dict:
    return {
        "docs": 4, "auroc": auroc, "flag_precision": 0.7, "flag_recall": 0.6, "flag_f1": 0.65,
        "restoration_gain": 0.3, "suggestion_right": 0.6, "detected_spun": 0.5,
    }  # fmt: skip


def _evaluated(profile: str, auroc: float, clean_share: float) -> dict:
    by_rate = {rate: _rate_figures(auroc) for rate in ("0.1", "0.2", "0.3")}
    return {
        "clean": {"docs": 100, "words": 6000, "changed_per_1000": 1.25, "flags_per_1000": 8.0,
                  "flagged_spun_share": clean_share},
        "by_profile": {profile: by_rate},
        "all_profiles": by_rate,
    }  # fmt: skip


def test_left_out_section_has_its_articles_and_tortured_phrases(tmp_path):
    rows = [
        {"profile": "clean", "rate": 0.0, "p": p} for p in (0.1, 0.2, 0.3, 0.4)
    ] + [{"profile": "spinbot", "rate": 0.2, "p": p} for p in (0.35, 0.6, 0.8, 0.9)]
    left_out = _evaluated("wordai", 0.812, 0.02)
    left_out.update(
        profile="wordai",
        model_profiles=["spinbot"],
        articles={**_evaluated("wordai", 0.934, 0.0), "documents": 5, "mean_words": 300.0},
        tortured={"phrases": 40, "restored_exactly": 0.175, "flagged": 0.6},
    )
    figures = {
        "mode": "default", "paragraphs": 4, "clean_paragraphs": 4, "seed": 0,
        "model_profiles": ["spinbot", "wordai"],
        "main": _evaluated("spinbot", 0.9, 0.01),
        "left_out": left_out,
        "articles": {**_evaluated("spinbot", 0.987, 0.0), "documents": 5, "mean_words": 300.0},
        "tortured": {"phrases": 40, "restored_exactly": 0.25, "flagged": 0.7},
    }  # fmt: skip
    write_detect_report(figures, rows, tmp_path)
    report = (tmp_path / "report.md").read_text()
    lo_part, _, rest = report.partition("## Whole articles")
    lo_part = lo_part.split("## Left-out profile")[1]
    assert "| 0.2 | 0.934 |" in lo_part  # the left-out model's article figures
    assert "restored exactly 17.5 %" in lo_part
    assert "| 0.2 | 0.987 |" in rest and "restored exactly 25.0 %" in rest
    assert "0.934" not in rest and "17.5 %" not in rest
    assert (tmp_path / "roc.png").stat().st_size > 0


def test_calibration_section_shows_paragraphs_articles_and_left_out(tmp_path):
    rows = [
        {"profile": "clean", "rate": 0.0, "p": 0.1},
        {"profile": "spinbot", "rate": 0.2, "p": 0.8},
    ]
    bins = [{"low": 0.1, "high": 0.2, "texts": 7, "mean_p": 0.13, "spun_share": 0.21}]
    para = {"brier": 0.061, "ece": 0.034, "bins": bins}
    main = {**_evaluated("spinbot", 0.9, 0.01), "calibration": para}
    articles = {
        **_evaluated("spinbot", 0.98, 0.0), "documents": 5, "mean_words": 300.0,
        "calibration": {"brier": 0.022, "ece": 0.051, "bins": bins},
    }  # fmt: skip
    left_out = {
        **_evaluated("wordai", 0.8, 0.02), "profile": "wordai", "model_profiles": ["spinbot"],
        "calibration": {"brier": 0.077, "ece": 0.045, "bins": bins},
    }  # fmt: skip
    figures = {
        "mode": "default", "paragraphs": 1, "clean_paragraphs": 1, "seed": 0,
        "model_profiles": ["spinbot"], "main": main, "articles": articles, "left_out": left_out,
    }  # fmt: skip
    write_detect_report(figures, rows, tmp_path)
    report = (tmp_path / "report.md").read_text()
    section = report.split("## Calibration of P(spun)")[1]
    assert "Paragraphs: Brier score 0.061, expected calibration error 0.034" in section
    assert "Articles: Brier score 0.022, expected calibration error 0.051" in section
    assert "| 0.1-0.2 | 7 | 0.130 | 0.210 |" in section
    assert "Brier score 0.077, expected calibration error 0.045" in report.split("## Left-out")[1]
    assert (tmp_path / "reliability.png").stat().st_size > 0


def test_speed_sample_spins_each_paragraph_once_with_profiles_in_turn():
    from unspin.bench.detect import distinct_spun
    from unspin.spin import PROFILES, spin

    texts = [
        "The harbour committee met on Tuesday to argue about the ferry timetable and the "
        f"cost of running the early crossing through winter number {k}." for k in range(3)
    ]
    profiles = list(PROFILES)[:2]
    out = distinct_spun(texts, profiles, seed=7)
    expected = [spin(t, profiles[k % 2], rate=0.2, seed=7 + k).text for k, t in enumerate(texts)]
    assert out == expected
    assert len(set(out)) == len(texts)  # one version per paragraph, not variants of one


def test_speed_section_shows_one_core_and_all_cores(tmp_path):
    rows = [
        {"profile": "clean", "rate": 0.0, "p": 0.1},
        {"profile": "spinbot", "rate": 0.2, "p": 0.9},
    ]
    speed = {"docs": 10, "words": 600, "wall_seconds": 0.5, "words_per_second": 1200.0,
             "words_per_second_loaded": 1500.0, "model_load_seconds": 1.2, "peak_rss_mb": 700.0,
             "one_core": True, "workers": 1}  # fmt: skip
    figures = {
        "mode": "default", "paragraphs": 1, "clean_paragraphs": 1, "seed": 0,
        "model_profiles": ["spinbot"], "main": _evaluated("spinbot", 0.9, 0.01),
        "speed": speed,
        "speed_all_cores": {**speed, "words_per_second": 2300.0, "one_core": False, "workers": 2},
        "speed_fast_bulk": {**speed, "words": 250000, "words_per_second": 21000.0},
    }  # fmt: skip
    write_detect_report(figures, rows, tmp_path)
    speed_part = (tmp_path / "report.md").read_text().split("## Speed")[1]
    assert "default: 1200.0 words/s end to end" in speed_part
    assert "--fast, every held-out paragraph: 21000.0 words/s end to end over 250000" in speed_part
    assert "all 2 cores (`--workers 2`): 2300.0 words/s" in speed_part


def test_speed_runs_report_their_own_peak_memory():
    # A large child run first must not leak into a later, smaller child's figure (as the
    # process-wide RUSAGE_CHILDREN peak did).
    import os
    import subprocess
    import sys

    import pytest

    from unspin.bench.detect import run_measured

    def child(mb: int) -> int:
        code = f"b = bytearray({mb} << 20); b[::4096] = b'x' * len(b[::4096]); print('ok')"
        out, peak_kb, seconds = run_measured([sys.executable, "-c", code], dict(os.environ))
        assert out.strip() == "ok" and 0 < seconds < 60
        return peak_kb

    big, small = child(300), child(40)
    assert big > 300 * 1024 and small < big - 200 * 1024
    with pytest.raises(subprocess.CalledProcessError):
        run_measured([sys.executable, "-c", "raise SystemExit(3)"], dict(os.environ))
