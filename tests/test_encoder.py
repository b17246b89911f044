"""The swapped-word encoder: same network as the pretrained BERT, windows that cover every
word-piece once, a head file that round-trips, and a fine-tune that learns."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

torch = pytest.importorskip("torch")

from unspin.context.encoder import (  # noqa: E402
    WINDOW,
    SwapEncoder,
    base_model_dir,
    build_module,
    first_pieces,
    load_base,
    piece_windows,
    torch_forward,
    trained_names,
    word_logits,
)
from unspin.context.encoder_train import Labelled, fit_encoder, save_encoder  # noqa: E402
from unspin.detect.features import ENCODER_FEATURE_NAMES, encoder_columns  # noqa: E402


@given(st.integers(min_value=1, max_value=2000))
@settings(max_examples=200, deadline=None)
def test_windows_keep_every_piece_once(n):
    kept = np.zeros(n, dtype=int)
    for start, end, keep_from, keep_to in piece_windows(n):
        assert 0 <= start < end <= n and end - start <= WINDOW
        assert start <= keep_from <= keep_to <= end
        kept[keep_from:keep_to] += 1
    assert (kept == 1).all()


def test_first_pieces_point_at_each_words_first_piece():
    # "unbelievable news" as pieces: un|believ|able| |news ; offsets per piece
    offsets = [(0, 2), (2, 8), (8, 12), (13, 17)]
    spans = [(0, 12), (13, 17), (18, 20)]
    assert first_pieces(offsets, spans).tolist() == [0, 3, -1]
    # special tokens (empty offsets) are never a word's piece; a word between pieces has none
    offsets = [(0, 0), (0, 3), (5, 9), (0, 0)]
    assert first_pieces(offsets, [(0, 3), (3, 4), (5, 9), (9, 12)]).tolist() == [1, -1, 2, -1]
    assert first_pieces(offsets, []).tolist() == []
    assert first_pieces([(0, 0)], [(0, 3)]).tolist() == [-1]


def test_forward_matches_the_pretrained_bert():
    transformers = pytest.importorskip("transformers")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    ours = build_module(6)
    load_base(ours)
    ours.eval()
    torch.manual_seed(0)
    torch.nn.init.normal_(ours.head.weight)
    ref = transformers.AutoModel.from_pretrained(str(base_model_dir())).eval()
    tok = transformers.AutoTokenizer.from_pretrained(str(base_model_dir()))
    batch = tok(
        ["The ferry left the harbour an hour late.", "Rain again."],
        return_tensors="pt",
        padding=True,
    )
    with torch.inference_mode():
        got = ours(batch["input_ids"], batch["attention_mask"])
        hidden = ref(**batch).last_hidden_state
        want = (hidden @ ours.head.weight.T).squeeze(-1) + ours.head.bias
    mask = batch["attention_mask"].bool()
    assert torch.allclose(got[mask], want[mask], atol=1e-3)


def _odd_word_examples(n: int) -> list[Labelled]:
    """Short sentences where one out-of-place word (a colour in a spot that wants a verb) is the
    swap: enough signal for a few training steps to pick up."""
    rng = np.random.default_rng(0)
    subjects = ["The mayor", "Our neighbour", "A teacher", "The pilot", "My cousin", "The baker"]
    verbs = ["visited", "praised", "painted", "watched", "cleaned", "described"]
    colours = ["purple", "crimson", "violet", "scarlet"]
    objects = ["the old bridge", "a small garden", "the new library", "the harbour wall"]
    out = []
    for _ in range(n):
        swap = rng.random() < 0.5
        verb = rng.choice(colours) if swap else rng.choice(verbs)
        subject = str(rng.choice(subjects))
        text = f"{subject} {verb} {rng.choice(objects)} on Sunday."
        spans, pos = [], 0
        for w in text.rstrip(".").split(" "):
            spans.append((pos, pos + len(w)))
            pos += len(w) + 1
        labels = np.zeros(len(spans), dtype=np.int8)
        if swap:
            labels[len(subject.split())] = 1
        out.append(Labelled(text, spans, labels))
    return out


def test_fine_tune_learns_and_round_trips(tmp_path):
    torch.set_num_threads(2)
    train = _odd_word_examples(192)
    module = fit_encoder(train, layers=2, rank=4, epochs=2, batch=16, lr=2e-3, seed=0)
    test = _odd_word_examples(40)[20:]
    path = tmp_path / "enc.safetensors"
    save_encoder(module, path, {"note": "test"})
    loaded = SwapEncoder.load(path, bf16=False, backend="torch")
    assert loaded.meta["layers"] == "2" and loaded.meta["note"] == "test"
    texts, spans = [e.text for e in test], [e.spans for e in test]
    fresh = word_logits(torch_forward(module), loaded.tokenizer, texts, spans)
    again = loaded.word_logits(texts, spans)
    for a, b in zip(fresh, again, strict=True):
        assert np.allclose(a, b, atol=0.05)  # fp16 storage of the trained layer
    swapped = np.concatenate([lo[e.labels == 1] for lo, e in zip(again, test, strict=True)])
    kept = np.concatenate([lo[e.labels == 0] for lo, e in zip(again, test, strict=True)])
    assert len(swapped) and swapped.min() > np.median(kept)


def test_later_epochs_read_fresh_spins_and_checkpoint_each_epoch():
    torch.set_num_threads(2)
    signal = _odd_word_examples(192)
    # Epoch 0 carries no signal (every label 0): the swap can only be learned from the respins.
    blank = [Labelled(e.text, e.spans, np.zeros_like(e.labels)) for e in signal]
    asked, saved = [], []

    def respin(epoch):
        asked.append(epoch)
        return signal

    module = fit_encoder(
        blank,
        layers=2,
        rank=4,
        epochs=3,
        batch=16,
        lr=2e-3,
        seed=0,
        respin=respin,
        checkpoint=lambda m, epoch: saved.append((epoch, m.training)),
    )
    assert asked == [1, 2]
    assert saved == [(0, False), (1, False), (2, False)]  # saved in eval mode, after each epoch
    test = _odd_word_examples(40)[20:]
    texts, spans = [e.text for e in test], [e.spans for e in test]
    logits = word_logits(torch_forward(module), _tokenizer(), texts, spans)
    swapped = np.concatenate([lo[e.labels == 1] for lo, e in zip(logits, test, strict=True)])
    kept = np.concatenate([lo[e.labels == 0] for lo, e in zip(logits, test, strict=True)])
    assert len(swapped) and swapped.min() > np.median(kept)


def _adapted(layers: int, rank: int = 2):
    module = build_module(layers)
    module.add_adapters(rank)
    return module


def test_only_adapters_norms_biases_and_head_are_saved(tmp_path):
    from safetensors import safe_open

    module = _adapted(2)
    names = trained_names(module)
    assert any(n.endswith("lora_a") for n in names) and "head.weight" in names
    assert not any(n.startswith(("words", "positions", "types", "norm.")) for n in names)
    assert not any(n.endswith(("query.weight", "ffn_in.weight")) for n in names)
    save_encoder(module, tmp_path / "e.safetensors")
    with safe_open(str(tmp_path / "e.safetensors"), "pt") as fh:
        assert sorted(fh.keys()) == sorted(names)
        assert all(fh.get_tensor(k).dtype == torch.float16 for k in fh.keys())
        assert fh.metadata()["lora_rank"] == "2"
    assert (tmp_path / "e.safetensors").stat().st_size < 2_000_000  # far below the base model


def test_merged_adapters_compute_what_the_adapted_module_does():
    module = _adapted(2, rank=4)
    _perturb_adapters(module)
    ids = torch.tensor([[101, 2023, 2003, 1037, 3231, 102]])
    mask = torch.ones_like(ids)
    with torch.inference_mode():
        before = module(ids, mask)
        module.merge_adapters()
        after = module(ids, mask)
    assert torch.allclose(before, after, atol=1e-4)
    assert not any("lora" in n for n, _ in module.named_parameters())


def _perturb_adapters(module) -> None:
    """Pretrained weights plus non-zero adapters, as after some training."""
    torch.manual_seed(1)
    with torch.no_grad():
        for n, p in module.named_parameters():
            if n.endswith("lora_b"):
                p.normal_(0, 0.05)


def test_long_texts_get_a_logit_for_every_word():
    module = build_module(1)
    load_base(module)
    module.eval()
    loaded = SwapEncoder(torch_forward(module), _tokenizer(), {})
    text = " ".join(f"word{k % 7} river" for k in range(400))
    spans, pos = [], 0
    for w in text.split(" "):
        spans.append((pos, pos + len(w)))
        pos += len(w) + 1
    (logits,) = loaded.word_logits([text], [spans])
    assert len(logits) == len(spans)
    # every word was read in some window: no word is left at the 0.0 fill value
    assert np.count_nonzero(logits == 0.0) == 0


def _tokenizer():
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(base_model_dir() / "tokenizer.json"))
    tok.no_truncation()
    tok.no_padding()
    return tok


def test_encoder_columns():
    cols = encoder_columns(np.array([-3.0, 4.0, -2.0, -5.0, -1.0]))
    assert cols.shape == (5, len(ENCODER_FEATURE_NAMES))
    assert cols[:, 0].tolist() == [-3.0, 4.0, -2.0, -5.0, -1.0]
    # neighbours within two words on each side, the word itself excluded
    assert cols[:, 1].tolist() == [4.0, -2.0, 4.0, 4.0, -2.0]
    p = 1 / (1 + np.exp(-np.array([-3.0, 4.0, -2.0, -5.0, -1.0])))
    assert np.allclose(cols[:, 2], p.mean())  # a short text is one window
    assert encoder_columns(np.zeros(0)).shape == (0, 3)


def test_context_columns_are_local_in_a_long_text():
    """In a text longer than the window, a run of suspicious words raises the window means
    of the words near it only."""
    from unspin.detect.features import CONTEXT_WINDOW, window_mean

    n = 6 * CONTEXT_WINDOW
    logits = np.full(n, -4.0)
    logits[:10] = 4.0
    col = encoder_columns(logits)[:, 2]
    assert col[0] > 0.1 and np.allclose(col[3 * CONTEXT_WINDOW :], 1 / (1 + np.exp(4.0)))
    assert np.all(np.diff(col[: 3 * CONTEXT_WINDOW]) <= 1e-12)  # falls off with distance
    # masked means count only the masked values, and a window without any gives 0
    v = np.array([1.0, 5.0, 3.0, 7.0])
    assert np.allclose(window_mean(v, np.array([1, 0, 1, 0]), half=1), [1.0, 2.0, 3.0, 3.0])
    assert window_mean(v, np.zeros(4), half=1).tolist() == [0.0] * 4


def test_model_finds_and_checks_its_encoder_file(tmp_path):
    import shutil

    from unspin.detect.features import FEATURE_NAMES
    from unspin.detect.model import SpinModel
    from unspin.detect.train import encoder_reference

    enc = tmp_path / "a" / "encoder.safetensors"
    save_encoder(_adapted(1), enc)
    out = tmp_path / "a" / "model.pkl"
    meta = {
        "features": list(FEATURE_NAMES) + list(ENCODER_FEATURE_NAMES),
        "encoder": encoder_reference(str(enc), str(out)),
    }
    assert meta["encoder"]["file"] == "encoder.safetensors"  # beside the model: by name
    SpinModel(word_model=None, doc_model=None, meta=meta).save(out)
    assert SpinModel.load(out).encoder_file == str(enc)
    # the pair moves together
    shutil.copytree(tmp_path / "a", tmp_path / "b")
    moved = SpinModel.load(tmp_path / "b" / "model.pkl")
    assert moved.uses_encoder and moved.encoder_file == str(tmp_path / "b" / "encoder.safetensors")
    # another encoder file under the same name is refused, as is a missing one
    save_encoder(_adapted(2), tmp_path / "b" / "encoder.safetensors")
    with pytest.raises(ValueError, match="not the one"):
        SpinModel.load(tmp_path / "b" / "model.pkl")
    (tmp_path / "a" / "encoder.safetensors").unlink()
    with pytest.raises(ValueError, match="missing"):
        SpinModel.load(out)


def test_bf16_reads_like_fp32():
    from unspin.context.encoder import native_bf16

    if not native_bf16():
        pytest.skip("this CPU has no native bfloat16")
    fp32 = SwapEncoder.load(bf16=False, backend="torch")
    bf16 = SwapEncoder.load(bf16=True, backend="torch")
    text = "The committee will publish its findings next month, the chairman told reporters."
    spans, pos = [], 0
    for w in text.rstrip(".").split(" "):
        w = w.rstrip(",")
        spans.append((pos, pos + len(w)))
        pos = text.index(" ", pos) + 1 if " " in text[pos:] else len(text)
    (a,) = fp32.word_logits([text], [spans])
    (b,) = bf16.word_logits([text], [spans])
    assert np.abs(a - b).max() < 0.5 and np.corrcoef(a, b)[0, 1] > 0.99


_SENTENCES = [
    "The committee will publish its findings next month, the chairman told reporters.",
    "Heavy rain closed the mountain road for a second day, and the ferry stayed in port.",
    "Shares of the bakery chain rose after it said sales had recovered over the summer.",
]


def _word_spans(text: str) -> list[tuple[int, int]]:
    import re

    return [(m.start(), m.end()) for m in re.finditer(r"[A-Za-z']+", text)]


@pytest.fixture()
def onnx_cache(tmp_path, monkeypatch):
    pytest.importorskip("onnxruntime")
    monkeypatch.setenv("UNSPIN_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_onnx_backend_reads_like_torch_and_is_built_once(onnx_cache, monkeypatch):
    import unspin.context.encoder as encoder

    spans = [_word_spans(t) for t in _SENTENCES]
    int8 = SwapEncoder.load(backend="onnx", threads=1)
    assert int8.meta["backend"] == "onnx" and int8.meta["layers"] == "6"  # the head's metadata
    assert Path(int8.meta["onnx_file"]).parent == onnx_cache
    fp32 = SwapEncoder.load(backend="torch", bf16=False)
    a = np.concatenate(fp32.word_logits(_SENTENCES, spans))
    b = np.concatenate(int8.word_logits(_SENTENCES, spans))
    assert len(a) == sum(len(s) for s in spans)
    # int8 weights: close, not equal (0.995 correlation over 300 spun paragraphs)
    assert np.corrcoef(a, b)[0, 1] > 0.97 and np.abs(a - b).mean() < 0.4
    # A second load reads the cached file instead of exporting again.
    monkeypatch.setattr(encoder, "build_onnx", lambda *a: pytest.fail("rebuilt"))
    again = SwapEncoder.load(backend="onnx", threads=1)
    assert np.allclose(np.concatenate(again.word_logits(_SENTENCES, spans)), b)


def test_a_texts_logits_do_not_depend_on_the_texts_read_with_it(onnx_cache):
    """Training reads thousands of texts in one call, a scan one: the int8 copy must give a
    text the same logits either way (activations are quantised per forward call)."""
    enc = SwapEncoder.load(backend="onnx", threads=1)
    texts = [*_SENTENCES, " ".join(_SENTENCES * 7)]  # the last one is longer than a window
    assert len(enc.tokenizer.encode(texts[-1], add_special_tokens=False).ids) > WINDOW
    spans = [_word_spans(t) for t in texts]
    together = enc.word_logits(texts, spans)
    for text, s, logits in zip(texts, spans, together, strict=True):
        (alone,) = enc.word_logits([text], [s])
        assert np.array_equal(alone, logits)


def test_onnx_copy_cannot_saturate_on_cpus_without_vnni(onnx_cache):
    """Every int8 weight a quantised product reads lies within ONNX_WEIGHT_LIMIT, so a pair
    of uint8 x int8 products fits an int16 and all CPUs compute the same integers."""
    import onnx
    from onnx import numpy_helper

    from unspin.context.encoder import ONNX_WEIGHT_LIMIT

    assert 2 * 255 * ONNX_WEIGHT_LIMIT <= 32767
    path = SwapEncoder.load(backend="onnx", threads=1).meta["onnx_file"]
    graph = onnx.load(path).graph
    weights = {t.name: t for t in graph.initializer}
    products = [n for n in graph.node if n.op_type in ("MatMulInteger", "ConvInteger")]
    assert len(products) >= 6 * 6  # q, k, v, attention out, ffn in, ffn out in every layer
    for node in products:
        w = weights[node.input[1]]
        assert w.data_type == onnx.TensorProto.INT8
        assert np.abs(numpy_helper.to_array(w).astype(np.int32)).max() <= ONNX_WEIGHT_LIMIT


def test_onnx_cache_follows_the_head_file(tmp_path, onnx_cache):
    from unspin.context.encoder import onnx_cache_path

    save_encoder(_adapted(1), tmp_path / "one.safetensors")
    save_encoder(_adapted(2), tmp_path / "two.safetensors")
    one = onnx_cache_path(tmp_path / "one.safetensors")
    two = onnx_cache_path(tmp_path / "two.safetensors")
    assert one != two and one.parent == two.parent == onnx_cache
    (tmp_path / "copy.safetensors").write_bytes((tmp_path / "one.safetensors").read_bytes())
    assert onnx_cache_path(tmp_path / "copy.safetensors") == one  # by content, not by name


def test_scanning_with_a_built_onnx_copy_does_not_import_torch(onnx_cache):
    import subprocess
    import sys

    SwapEncoder.load(backend="onnx", threads=1)  # builds the copy (needs torch)
    code = (
        "import sys; from unspin.context.encoder import SwapEncoder;"
        "e = SwapEncoder.load(backend='onnx', threads=1);"
        "e.word_logits(['A short test sentence.'], [[(0, 1), (2, 7)]]);"
        "print('torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_unknown_backend_is_refused():
    with pytest.raises(ValueError, match="backend"):
        SwapEncoder.load(backend="tpu")


def test_a_damaged_onnx_copy_is_rebuilt(onnx_cache):
    from unspin.context.encoder import default_encoder_path, onnx_cache_path

    cache = onnx_cache_path(default_encoder_path())
    cache.parent.mkdir(parents=True)
    cache.write_bytes(b"not an onnx model")
    enc = SwapEncoder.load(backend="onnx", threads=1)
    (logits,) = enc.word_logits([_SENTENCES[0]], [_word_spans(_SENTENCES[0])])
    assert len(logits) == len(_word_spans(_SENTENCES[0])) and cache.stat().st_size > 1_000_000


def test_encoder_threads_follow_the_environment(monkeypatch):
    from unspin.context import encoder

    seen = []

    def load(cls, path, threads=None):
        seen.append(threads)

    monkeypatch.setattr(encoder.SwapEncoder, "load", classmethod(load))
    monkeypatch.setenv("UNSPIN_ENCODER_THREADS", "3")
    encoder.get_encoder.__wrapped__("head.safetensors")
    monkeypatch.setenv("UNSPIN_ENCODER_THREADS", "")  # unset: the process decides
    encoder.get_encoder.__wrapped__("head.safetensors")
    assert seen == [3, None]  # pytest's process is no pool worker
