// unspin web page: send the text to /api/scan, show the evidence.
// User text only ever reaches the page as DOM text nodes (textContent, append(string)):
// never parsed as HTML, so text that looks like markup stays text.
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);
  const els = {
    form: $("scan-form"), text: $("text"), file: $("file"), fast: $("fast"),
    scanButton: $("scan-button"), progress: $("progress"), progressBar: $("progress-bar"),
    progressText: $("progress-text"), cancel: $("cancel"), error: $("error"),
    result: $("result"), verdict: $("verdict"), probability: $("probability"),
    probabilityLabel: $("probability-label"), counts: $("counts"), reason: $("reason"),
    legend: $("legend"), diffLegend: $("diff-legend"), doc: $("doc"), docHelp: $("doc-help"),
    source: $("source"), sourceBody: $("source-body"), pop: $("pop"), popClose: $("pop-close"),
    popTitle: $("pop-title"), popSuggestion: $("pop-suggestion"),
    popAlternatives: $("pop-alternatives"), popAlternativesRow: $("pop-alternatives-row"),
    version: $("version"),
  };

  // Server limits and features, from /api/info.
  let info = { max_body_bytes: 2000000, max_text_chars: 200000, trace: false, index: false };
  let infoLoaded = Promise.resolve();
  // The last scan: the text as sent, its result, and offsets converted for JS strings.
  let current = null;
  let inFlight = null;
  // Seconds per character measured on earlier scans (first scans also load the models).
  let secondsPerChar = 1 / 3000;
  let coldStartSeconds = 4;

  // ------------------------------------------------------------------ helpers

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  const percent = (p) => `${Math.round(p * 100)}%`;

  // Colour bin of a swap probability: p0 (< 0.2) … p4 (>= 0.8); the legend shows the same bins.
  const bin = (p) => `p${Math.min(4, Math.max(0, Math.floor(p * 5)))}`;

  function showError(message) {
    els.error.textContent = message;
    els.error.hidden = false;
  }

  function clearError() {
    els.error.hidden = true;
    els.error.textContent = "";
  }

  // Python counts characters by code point, JavaScript by UTF-16 unit: map one to the other.
  function offsetMapper(text) {
    if (!/[\uD800-\uDFFF]/.test(text)) return (i) => i;
    const map = [];
    let unit = 0;
    for (const ch of text) {
      map.push(unit);
      unit += ch.length;
    }
    map.push(unit);
    return (i) => map[Math.min(i, map.length - 1)];
  }

  async function postJSON(path, body, signal) {
    const response = await fetch(path, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
      signal,
    });
    let data = null;
    try {
      data = await response.json();
    } catch (_) {
      data = null;
    }
    if (!response.ok) {
      const detail = data && (data.message || data.detail);
      const message = typeof detail === "string" ? detail : `the server answered ${response.status}`;
      const error = new Error(message);
      error.status = response.status;
      throw error;
    }
    return data;
  }

  // ------------------------------------------------------------------ progress

  function startProgress(text) {
    const words = (text.match(/\S+/g) || []).length;
    const estimate = coldStartSeconds + text.length * secondsPerChar;
    const started = performance.now();
    els.progressBar.value = 0;
    els.progressText.textContent = `Scanning ${words.toLocaleString()} words…`;
    // Short texts come back at once: show the bar only if the scan takes a moment.
    const showTimer = setTimeout(() => { els.progress.hidden = false; }, 250);
    const tick = setInterval(() => {
      const elapsed = (performance.now() - started) / 1000;
      // Creep towards 95% along the estimate; never claim to be done before the answer.
      els.progressBar.value = Math.min(95, (elapsed / estimate) * 95);
      const left = Math.max(0, Math.round(estimate - elapsed));
      const eta = left > 0 ? `, about ${left} s left` : ", almost done";
      els.progressText.textContent =
        `Scanning ${words.toLocaleString()} words… ${Math.floor(elapsed)} s${eta}`;
    }, 250);
    return (ok) => {
      clearTimeout(showTimer);
      clearInterval(tick);
      els.progress.hidden = true;
      if (ok) {
        const seconds = (performance.now() - started) / 1000;
        if (text.length > 2000) secondsPerChar = Math.max(1e-5, seconds / text.length);
        coldStartSeconds = 0.5;
      }
    };
  }

  // ------------------------------------------------------------------ scanning

  async function scan() {
    await infoLoaded; // the limits, and whether an index is loaded
    const text = els.text.value;
    clearError();
    hidePop();
    if (!text.trim()) {
      showError("Paste some text to check first.");
      els.text.focus();
      return;
    }
    if ([...text].length > info.max_text_chars) {
      showError(`This text is too long: the limit is ${info.max_text_chars.toLocaleString()} characters.`);
      return;
    }
    if (inFlight) inFlight.abort();
    const controller = new AbortController();
    inFlight = controller;
    els.scanButton.disabled = true;
    const stop = startProgress(text);
    let ok = false;
    try {
      const result = await postJSON(
        "/api/scan?words=1&diff=1", { text, fast: els.fast.checked }, controller.signal,
      );
      ok = true;
      current = { text, result, toJs: offsetMapper(text) };
      renderResult();
      if (info.index) traceSource(text, controller.signal);
    } catch (error) {
      if (error.name !== "AbortError") showError(`Could not scan: ${error.message}`);
    } finally {
      stop(ok);
      if (inFlight === controller) inFlight = null;
      els.scanButton.disabled = false;
    }
  }

  async function traceSource(text, signal) {
    els.sourceBody.replaceChildren(el("p", "hint", "Looking for the source…"));
    els.source.hidden = false;
    try {
      const traced = await postJSON("/api/trace", { text }, signal);
      if (current && current.text === text) renderSource(traced);
    } catch (error) {
      if (error.name === "AbortError") return;
      els.sourceBody.replaceChildren(el("p", "hint", `No source lookup: ${error.message}`));
    }
  }

  // ------------------------------------------------------------------ result

  function renderResult() {
    const r = current.result;
    els.result.hidden = false;
    els.verdict.textContent = r.verdict;
    els.verdict.dataset.verdict = r.verdict;
    if (r.spin_probability === null) {
      els.probability.textContent = "";
      els.probabilityLabel.textContent = "not judged";
    } else {
      els.probability.textContent = percent(r.spin_probability);
      els.probabilityLabel.textContent = "chance this text was spun";
    }
    const n = r.flags.length;
    let counts = `${r.words.toLocaleString()} words · ${n} flagged ${n === 1 ? "span" : "spans"}`;
    if (r.evidence === "source" && r.source_id !== null) {
      counts += ` · judged against its source ${r.source_id}`;
    }
    els.counts.textContent = counts;
    els.reason.hidden = !r.reason;
    els.reason.textContent = r.reason ? `Not judged: ${r.reason}.` : "";
    els.source.hidden = !info.index;
    renderView();
  }

  function selectedView() {
    const checked = document.querySelector('input[name="view"]:checked');
    return checked ? checked.value : "given";
  }

  function renderView() {
    if (!current) return;
    hidePop();
    const view = selectedView();
    els.legend.hidden = view !== "given";
    els.diffLegend.hidden = view !== "diff";
    els.doc.dataset.view = view;
    if (view === "given") {
      els.doc.replaceChildren(renderTinted());
      if (current.result.verdict === "abstain") {
        els.docHelp.textContent = "Words are not scored when a text is not judged.";
      } else {
        els.docHelp.textContent = current.result.flags.length
          ? "Hover over, tap, or Tab to an underlined word to see what it probably replaced."
          : "Nothing here looks swapped.";
      }
    } else if (view === "restored") {
      els.doc.replaceChildren(renderRestored());
      els.docHelp.textContent = "The text with confident swaps put back; changes are marked.";
    } else {
      els.doc.replaceChildren(renderDiff());
      els.docHelp.textContent = "Struck out: as given. Underlined: restored.";
    }
  }

  // Flags in order, overlapping ones dropped (the first wins, as in the CLI report).
  function keptFlags() {
    const kept = [];
    let end = -1;
    current.result.flags.forEach((flag, index) => {
      if (flag.start >= end) {
        kept.push({ ...flag, index });
        end = flag.end;
      }
    });
    return kept;
  }

  // The text as given: each word tinted by its swap probability, flagged spans marked.
  function renderTinted() {
    const { text, result, toJs } = current;
    const frag = document.createDocumentFragment();
    const words = (result.word_probabilities || []).map((w) => ({
      start: toJs(w.start), end: toJs(w.end), p: w.p,
    }));
    let wi = 0;
    // Append text[from, to) to `parent`, words as tinted spans and the rest as plain text.
    const emit = (parent, from, to) => {
      let pos = from;
      while (wi < words.length && words[wi].start < to) {
        const w = words[wi];
        const start = Math.max(w.start, pos);
        const end = Math.min(w.end, to);
        if (start > pos) parent.append(text.slice(pos, start));
        if (end > start) {
          const span = el("span", `w ${bin(w.p)}`, text.slice(start, end));
          span.title = `swap probability ${percent(w.p)}`;
          parent.append(span);
          pos = end;
        }
        if (w.end <= to) wi += 1;
        else break;
      }
      if (to > pos) parent.append(text.slice(pos, to));
    };
    let pos = 0;
    for (const flag of keptFlags()) {
      const start = toJs(flag.start);
      const end = toJs(flag.end);
      emit(frag, pos, start);
      const mark = el("mark", "flag");
      mark.tabIndex = 0;
      mark.setAttribute("role", "button");
      mark.setAttribute("aria-haspopup", "dialog");
      mark.setAttribute("aria-expanded", "false");
      mark.dataset.flag = String(flag.index);
      const hint = flag.suggestion ? `, probably was “${flag.suggestion}”` : "";
      mark.setAttribute(
        "aria-label", `${text.slice(start, end)}: ${percent(flag.probability)} likely swapped${hint}`,
      );
      emit(mark, start, end);
      frag.append(mark);
      pos = end;
    }
    emit(frag, pos, text.length);
    return frag;
  }

  function diffChunks() {
    const { text, result } = current;
    return result.diff || [{ old: text, new: result.restored, changed: text !== result.restored }];
  }

  // The restored text, each restored wording marked (its title says what it replaced).
  function renderRestored() {
    const frag = document.createDocumentFragment();
    for (const chunk of diffChunks()) {
      if (!chunk.changed) {
        frag.append(chunk.new);
      } else if (chunk.new) {
        const mark = el("mark", "restored-change", chunk.new);
        mark.title = `was: ${chunk.old}`;
        frag.append(mark);
      }
    }
    return frag;
  }

  function renderDiff() {
    const frag = document.createDocumentFragment();
    for (const chunk of diffChunks()) {
      if (!chunk.changed) {
        frag.append(chunk.old);
        continue;
      }
      if (chunk.old) frag.append(el("del", "", chunk.old));
      if (chunk.old && chunk.new) frag.append(" ");
      if (chunk.new) frag.append(el("ins", "", chunk.new));
    }
    return frag;
  }

  function renderSource(traced) {
    const matches = (traced && traced.matches) || [];
    if (!matches.length) {
      els.sourceBody.replaceChildren(el("p", "hint", "No likely source in the index."));
      return;
    }
    const best = matches[0];
    const parts = [];
    const summary = el("p", "source-summary");
    summary.append("Most similar: ", el("strong", "", String(best.source_id)));
    summary.append(
      ` (similarity ${percent(best.similarity)}, ${percent(best.spin_ratio)} of words swapped)`,
    );
    parts.push(summary);
    const subs = best.substitutions || [];
    if (subs.length) {
      const table = el("table", "subs");
      const head = table.createTHead().insertRow();
      for (const label of ["In this text", "In the source"]) head.append(el("th", "", label));
      const body = table.createTBody();
      for (const sub of subs) {
        const row = body.insertRow();
        row.insertCell().textContent = sub.text;
        row.insertCell().textContent = sub.source_text;
      }
      parts.push(table);
    }
    if (matches.length > 1) {
      const others = matches.slice(1).map((m) => `${m.source_id} (${percent(m.similarity)})`);
      parts.push(el("p", "hint", `Other candidates: ${others.join(", ")}`));
    }
    els.sourceBody.replaceChildren(...parts);
  }

  // ------------------------------------------------------------------ suggestion pop-up

  let popFor = null;
  let popPinned = false;
  let hideTimer = null;

  function showPop(mark, pinned) {
    clearTimeout(hideTimer);
    const flag = current.result.flags[Number(mark.dataset.flag)];
    if (!flag) return;
    if (popFor && popFor !== mark) popFor.setAttribute("aria-expanded", "false");
    popFor = mark;
    popPinned = pinned || popPinned;
    // Judged against a source, a flag is where the text differs from it: a swap, or words
    // the source does not have (suggestion "", restored by leaving them out).
    const fromSource = current.result.evidence === "source";
    els.popTitle.replaceChildren(
      el("q", "", flag.text),
      fromSource ? " differs from the source" : ` is ${percent(flag.probability)} likely a swap`,
    );
    els.popSuggestion.textContent = flag.suggestion === ""
      ? "nothing: not in the source"
      : flag.suggestion || "no suggestion";
    const others = flag.alternatives.filter((a) => a !== flag.suggestion);
    els.popAlternatives.textContent = others.join(" · ");
    els.popAlternativesRow.hidden = others.length === 0;
    els.pop.hidden = false;
    mark.setAttribute("aria-expanded", "true");
    placePop(mark);
  }

  function placePop(mark) {
    if (window.matchMedia("(max-width: 600px)").matches) {
      els.pop.style.left = "";
      els.pop.style.top = "";
      return; // a sheet along the bottom edge (see style.css)
    }
    const box = mark.getBoundingClientRect();
    const pop = els.pop.getBoundingClientRect();
    const left = Math.min(window.innerWidth - pop.width - 8, Math.max(8, box.left));
    let top = box.bottom + 6;
    if (top + pop.height > window.innerHeight - 8) top = box.top - pop.height - 6;
    els.pop.style.left = `${left + window.scrollX}px`;
    els.pop.style.top = `${Math.max(8, top) + window.scrollY}px`;
  }

  function hidePop() {
    clearTimeout(hideTimer);
    if (popFor) popFor.setAttribute("aria-expanded", "false");
    els.pop.hidden = true;
    popFor = null;
    popPinned = false;
  }

  function hideSoon() {
    clearTimeout(hideTimer);
    hideTimer = setTimeout(() => { if (!popPinned) hidePop(); }, 200);
  }

  const flagOf = (target) => (target instanceof Element ? target.closest("mark.flag") : null);

  els.doc.addEventListener("mouseover", (event) => {
    const mark = flagOf(event.target);
    if (mark && !popPinned) showPop(mark, false);
  });
  els.doc.addEventListener("mouseout", (event) => {
    if (flagOf(event.target) && !popPinned) hideSoon();
  });
  els.doc.addEventListener("click", (event) => {
    const mark = flagOf(event.target);
    if (!mark) return;
    if (popPinned && popFor === mark) hidePop();
    else showPop(mark, true);
  });
  els.doc.addEventListener("keydown", (event) => {
    const mark = flagOf(event.target);
    if (mark && (event.key === "Enter" || event.key === " ")) {
      event.preventDefault();
      showPop(mark, true);
    }
  });
  els.doc.addEventListener("focusin", (event) => {
    const mark = flagOf(event.target);
    if (mark) showPop(mark, false);
  });
  els.doc.addEventListener("focusout", () => { if (!popPinned) hideSoon(); });
  els.pop.addEventListener("mouseover", () => clearTimeout(hideTimer));
  els.pop.addEventListener("mouseout", () => { if (!popPinned) hideSoon(); });
  els.popClose.addEventListener("click", () => {
    const mark = popFor;
    hidePop();
    if (mark) mark.focus();
  });
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && !els.pop.hidden) {
      const mark = popFor;
      hidePop();
      if (mark) mark.focus({ preventScroll: true });
    }
  });
  document.addEventListener("click", (event) => {
    if (!els.pop.hidden && !els.pop.contains(event.target) && !flagOf(event.target)) hidePop();
  });
  window.addEventListener("resize", () => { if (popFor) placePop(popFor); });

  // ------------------------------------------------------------------ input

  async function loadFile(file) {
    clearError();
    if (file.size > info.max_body_bytes) {
      showError(`${file.name} is too large: the limit is ${info.max_body_bytes.toLocaleString()} bytes.`);
      return;
    }
    let content = await file.text();
    const isHtml = /\.html?$/i.test(file.name) || file.type === "text/html";
    if (isHtml) {
      try {
        content = (await postJSON("/api/extract", { html: content })).text;
      } catch (error) {
        showError(`Could not read ${file.name}: ${error.message}`);
        return;
      }
      if (!content.trim()) {
        showError(`${file.name} has no main text to check.`);
        return;
      }
    }
    els.text.value = content;
    scan();
  }

  els.form.addEventListener("submit", (event) => {
    event.preventDefault();
    scan();
  });
  els.text.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      scan();
    }
  });
  els.cancel.addEventListener("click", () => { if (inFlight) inFlight.abort(); });
  els.file.addEventListener("change", () => {
    if (els.file.files.length) loadFile(els.file.files[0]);
    els.file.value = "";
  });
  els.text.addEventListener("dragover", (event) => {
    event.preventDefault();
    els.text.classList.add("dropping");
  });
  els.text.addEventListener("dragleave", () => els.text.classList.remove("dropping"));
  els.text.addEventListener("drop", (event) => {
    els.text.classList.remove("dropping");
    const files = event.dataTransfer && event.dataTransfer.files;
    if (files && files.length) {
      event.preventDefault();
      loadFile(files[0]);
    }
  });
  for (const radio of document.querySelectorAll('input[name="view"]')) {
    radio.addEventListener("change", renderView);
  }

  infoLoaded = fetch("/api/info")
    .then((response) => (response.ok ? response.json() : null))
    .then((data) => {
      if (!data) return;
      info = data;
      els.version.textContent = data.version;
      els.fast.checked = Boolean(data.fast);
    })
    .catch(() => {});
})();
