"""Markdown report and PNG plots for the benchmarks."""

from __future__ import annotations

from pathlib import Path

from unspin.bench import metrics


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_roc(rows: list[dict], path: Path, rate: float = 0.2) -> None:
    """ROC curves of the document probability at `rate`, one line per profile."""
    plt = _plt()
    clean = [r["p"] for r in rows if r["profile"] == "clean" and r["p"] is not None]
    fig, ax = plt.subplots(figsize=(5, 5))
    for profile in sorted({r["profile"] for r in rows} - {"clean"}):
        pos = [
            r["p"] for r in rows
            if r["profile"] == profile and r["rate"] == rate and r["p"] is not None
        ]
        fpr, tpr = metrics.roc_curve(pos, clean)
        ax.plot(fpr, tpr, label=f"{profile} (AUROC {metrics.auroc(pos, clean):.3f})")
    ax.plot([0, 1], [0, 1], "k:", lw=0.8)
    ax.set(xlabel="false positive rate (clean)", ylabel="true positive rate (spun)",
           title=f"Document ROC, spin rate {rate}")
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_f1_by_rate(by_profile: dict, path: Path) -> None:
    """Flag F1 against spin rate, one line per profile."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(5, 4))
    for profile, by_rate in sorted(by_profile.items()):
        rates = sorted(by_rate, key=float)
        ax.plot([float(r) for r in rates], [by_rate[r]["flag_f1"] for r in rates], "o-",
                label=profile)
    ax.set(xlabel="spin rate", ylabel="flag F1", ylim=(0, 1), title="Flag F1 by spin rate")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_reliability(groups: dict[str, dict], path: Path) -> None:
    """Mean P(spun) against the spun share per bin (`metrics.reliability`), one line per group
    of texts (paragraphs, articles): on the diagonal, P(spun) means what it says."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.plot([0, 1], [0, 1], "k:", lw=0.8, label="perfectly calibrated")
    for name, rel in groups.items():
        xs = [b["mean_p"] for b in rel["bins"]]
        ys = [b["spun_share"] for b in rel["bins"]]
        ax.plot(xs, ys, "o-", label=f"{name} (ECE {rel['ece']:.3f}, Brier {rel['brier']:.3f})")
    ax.set(xlabel="mean P(spun) in bin", ylabel="share spun (even odds)", xlim=(0, 1),
           ylim=(0, 1), title="Calibration of P(spun)")
    ax.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _reliability(rel: dict) -> list[str]:
    """The calibration line and its bin table."""
    lines = [
        f"Brier score {rel['brier']}, expected calibration error {rel['ece']} (spun texts of "
        "every profile and rate against the clean ones, each side weighing half: the even odds "
        "P(spun) is calibrated for).",
        "",
        "| P(spun) bin | texts | mean P(spun) | share spun |",
        "|---|---|---|---|",
    ]
    for b in rel["bins"]:
        lines.append(
            f"| {b['low']:.1f}-{b['high']:.1f} | {b['texts']} | {b['mean_p']:.3f} | "
            f"{b['spun_share']:.3f} |"
        )
    return lines


def _table(by_profile: dict) -> list[str]:
    lines = [
        "| profile | rate | AUROC | flag P | flag R | flag F1 | restoration gain | judged spun |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for profile, by_rate in sorted(by_profile.items()):
        for rate, f in sorted(by_rate.items(), key=lambda kv: float(kv[0])):
            lines.append(
                f"| {profile} | {rate} | {f['auroc']:.3f} | {f['flag_precision']:.3f} | "
                f"{f['flag_recall']:.3f} | {f['flag_f1']:.3f} | {f['restoration_gain']} | "
                f"{f['detected_spun']:.3f} |"
            )
    return lines


def _judged_spun(clean: dict, what: str = "") -> str:
    """Share of clean paragraphs judged spun (`what` after the share), with the count behind it."""
    share, docs = clean["flagged_spun_share"], clean["docs"]
    return f"{100 * share:.2f} %{what} ({round(share * docs)} of {docs} paragraphs)"


def write_detect_report(figures: dict, rows: list[dict], outdir: Path) -> None:
    """Write report.md, roc.png and f1_by_rate.png into `outdir`."""
    plot_roc(rows, outdir / "roc.png")
    plot_f1_by_rate(figures["main"]["by_profile"], outdir / "f1_by_rate.png")
    main = figures["main"]
    calibrated = {"paragraphs": main["calibration"]} if "calibration" in main else {}
    if "calibration" in figures.get("articles", {}):
        calibrated["articles"] = figures["articles"]["calibration"]
    if calibrated:
        plot_reliability(calibrated, outdir / "reliability.png")
    lines = [
        f"# unspin detection benchmark ({figures['mode']} mode)",
        "",
        f"{figures['paragraphs']} held-out paragraphs (test split), seed {figures['seed']}, "
        "spun by every profile at every rate; on the clean side "
        f"{figures.get('clean_paragraphs', figures['paragraphs'])} held-out paragraphs (those "
        "and more, scanned clean only); "
        f"model trained on profiles: {', '.join(figures['model_profiles'])}.",
        "",
        "## All profiles pooled",
        "",
        "| rate | AUROC | flag F1 | restoration gain | first suggestion right |",
        "|---|---|---|---|---|",
    ]
    for rate, f in main["all_profiles"].items():
        lines.append(f"| {rate} | {f['auroc']:.3f} | {f['flag_f1']:.3f} | "
                     f"{f['restoration_gain']} | {f.get('suggestion_right')} |")
    c = main["clean"]
    lines += [
        "",
        "First suggestion right: of the swaps flagged exactly (the flag's span is the swap's),",
        "the share whose first suggestion is the original wording (candidate ranking alone).",
        "",
        "## Clean paragraphs",
        "",
        f"- words changed by restoration: {c['changed_per_1000']} per 1,000",
        f"- flags: {c['flags_per_1000']} per 1,000 words",
        f"- judged spun: {_judged_spun(c)}",
        "",
        "## By profile and rate",
        "",
        *_table(main["by_profile"]),
        "",
        "![ROC](roc.png) ![F1 by rate](f1_by_rate.png)",
    ]
    if calibrated:
        lines += ["", "## Calibration of P(spun)", ""]
        for name, rel in calibrated.items():
            first, *rest = _reliability(rel)
            lines += [f"{name.capitalize()}: {first}", *rest, ""]
        lines.append("![Reliability](reliability.png)")
    if "left_out" in figures:
        lo = figures["left_out"]
        lines += [
            "",
            f"## Left-out profile: {lo['profile']} (model trained without it on "
            f"{', '.join(lo['model_profiles'] or [])})",
            "",
            *_table(lo["by_profile"]),
            "",
            f"Clean with that model: {lo['clean']['changed_per_1000']} changed words per 1,000, "
            f"{_judged_spun(lo['clean'], ' judged spun')}.",
        ]
        if "calibration" in lo:
            rel = lo["calibration"]
            lines += [
                "",
                f"Calibration of its P(spun) on paragraphs: Brier score {rel['brier']}, expected "
                f"calibration error {rel['ece']}.",
            ]
        if "articles" in lo:
            lines += ["", "Whole articles spun by it, read by that model:", ""]
            lines += _articles(lo["articles"])
        if "tortured" in lo:
            lines += ["", f"Real tortured phrases, read by that model: {_tortured(lo['tortured'])}"]
    if "articles" in figures:
        a = figures["articles"]
        lines += [
            "",
            f"## Whole articles ({a['documents']} held-out documents, {a['mean_words']} words "
            "on average)",
            "",
            *_articles(a),
        ]
    if "tortured" in figures:
        lines += [
            "",
            "## Real tortured phrases (even rows of the CSV, own carrier sentences)",
            "",
            _tortured(figures["tortured"]),
        ]
    lines += ["", "## Speed (`unspin scan --format jsonl`, one core)", ""]
    labels = (
        ("speed", figures["mode"]),
        ("speed_fast", "--fast"),
        ("speed_fast_bulk", "--fast, every held-out paragraph"),
    )
    for key, label in labels:
        if key not in figures:
            continue
        s = figures[key]
        lines.append(
            f"- {label}: {s['words_per_second']} words/s end to end over {s['words']} words "
            f"({s.get('words_per_second_loaded', '?')} words/s once loaded); load and first "
            f"scan {s['model_load_seconds']} s; peak RSS {s['peak_rss_mb']} MB."
        )
    if "speed_all_cores" in figures:
        s = figures["speed_all_cores"]
        lines.append(
            f"- {figures['mode']}, all {s['workers']} cores (`--workers {s['workers']}`): "
            f"{s['words_per_second']} words/s end to end (worker start-up included)."
        )
    lines.append("")
    (outdir / "report.md").write_text("\n".join(lines), encoding="utf-8")


def _articles(a: dict) -> list[str]:
    """The whole-article table and its clean line."""
    lines = [
        "| rate | AUROC | flag F1 | restoration gain | judged spun |",
        "|---|---|---|---|---|",
    ]
    for rate, f in a["all_profiles"].items():
        lines.append(
            f"| {rate} | {f['auroc']:.3f} | {f['flag_f1']:.3f} | {f['restoration_gain']} | "
            f"{f['detected_spun']:.3f} |"
        )
    return [
        *lines,
        "",
        f"Clean articles: {100 * a['clean']['flagged_spun_share']:.2f} % judged spun, "
        f"{a['clean']['changed_per_1000']} changed words per 1,000.",
    ]


def _tortured(t: dict) -> str:
    """One line: how many real tortured phrases were restored exactly and flagged."""
    return (
        f"{t['phrases']} phrases: restored exactly {100 * t['restored_exactly']:.1f} %, "
        f"flagged {100 * t['flagged']:.1f} %."
    )
