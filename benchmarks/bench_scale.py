"""Throughput of `energy-report hf` on a corpus: 1 worker vs a 2-process Dask LocalCluster.

The benchmark builds and saves its own HuggingFace model (a Llama-style decoder with seeded weights and a
word-level tokenizer over the prompts' words), then profiles the default 320-prompt corpus (or
``--prompts N`` of it) through :func:`neurosim.analysis.corpus_profile.profile_corpus`, the function
`energy-report hf DIR --texts FILE` runs:

* 1 worker: every shard in this process, one torch thread per shard (the default of every mode, so
  the numbers do not depend on the worker count);
* 2 workers: a LocalCluster of 2 worker processes, one thread each (cluster start-up and each worker's
  model load included in the time).

Both runs price on one profile and draw the same bootstrap (--bootstrap, default 200), so the serial
part after the shards is the same. The peer is the same code on one worker: the ratio is the speed-up
of sharding over Dask. `identical_results` compares the two summaries (bytes).

Run:  python benchmarks/bench_scale.py            (about 1-3 minutes on 2 cores)
      python benchmarks/bench_scale.py --prompts 80 --layers 2   (quick)
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
import re
import sys
import tempfile
import time

os.environ.setdefault("MKL_CBWR", "COMPATIBLE")  # before torch: reproducible MKL kernels in every process

__all__ = ["build_model", "main"]


def build_model(path: Path, texts: list[str], *, layers: int, hidden: int, seed: int = 0) -> Path:
    """Save a seeded Llama-style model and a word-level tokenizer over ``texts`` to ``path``."""
    import tokenizers
    import torch
    import transformers

    words = list(dict.fromkeys(w for t in texts for w in re.findall(r"\w+|[^\w\s]", t.lower())))
    vocab = {"[PAD]": 0, "[UNK]": 1, **{w: i + 2 for i, w in enumerate(words)}}
    tok = tokenizers.Tokenizer(tokenizers.models.WordLevel(vocab, unk_token="[UNK]"))
    tok.normalizer = tokenizers.normalizers.Lowercase()
    tok.pre_tokenizer = tokenizers.pre_tokenizers.Whitespace()
    fast = transformers.PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]")
    torch.manual_seed(seed)
    config = transformers.LlamaConfig(vocab_size=len(vocab), hidden_size=hidden, intermediate_size=2 * hidden,
                                      num_hidden_layers=layers, num_attention_heads=4, num_key_value_heads=2,
                                      max_position_embeddings=512)
    model = transformers.LlamaForCausalLM(config).eval()
    model.save_pretrained(path)
    fast.save_pretrained(path)
    return path


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--prompts", type=int, default=320, help="prompts of the default corpus (default 320)")
    ap.add_argument("--layers", type=int, default=4, help="decoder layers of the model (default 4)")
    ap.add_argument("--hidden", type=int, default=256, help="hidden size (default 256)")
    ap.add_argument("--batch-size", type=int, default=8, help="prompts per shard (default 8)")
    ap.add_argument("--bootstrap", type=int, default=200, help="bootstrap replicates (default 200)")
    args = ap.parse_args(argv)

    import logging

    logging.getLogger("distributed").setLevel(logging.ERROR)
    from neurosim.analysis.corpus import load_corpus
    from neurosim.analysis.corpus_profile import profile_corpus
    from neurosim.analysis.distributed import ProfileJob
    from neurosim.reports.writer import dumps_json

    corpus = load_corpus(max_prompts=args.prompts)
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp:
        model_dir = build_model(Path(tmp) / "llama", list(corpus.texts), layers=args.layers, hidden=args.hidden)
        job = ProfileJob("hf", str(model_dir), max_length=64)
        times, summaries = {}, {}
        for workers in (1, 2):
            t0 = time.perf_counter()
            prof = profile_corpus(job, corpus, batch_size=args.batch_size, workers=workers,
                                  profiles=("paper-45nm",), n_boot=args.bootstrap)
            times[workers] = time.perf_counter() - t0
            summaries[workers] = dumps_json(prof.to_summary())
            tokens = prof.corpus["tokens"] if prof.corpus else 0
            print(f"workers={workers}: {len(corpus.texts)} prompts ({tokens} tokens, "
                  f"{-(-len(corpus.texts) // args.batch_size)} shards) in {times[workers]:.1f} s "
                  f"= {len(corpus.texts) / times[workers]:.2f} prompts/s", file=sys.stderr)
    pps1 = len(corpus.texts) / times[1]
    pps2 = len(corpus.texts) / times[2]
    identical = summaries[1] == summaries[2]
    print(f"model: Llama-style, {args.layers} layers, hidden {args.hidden}, seeded; corpus: "
          f"{len(corpus.texts)} prompts, batch {args.batch_size}, max length 64; 1 torch thread per shard")
    print(f"1 worker (in process):      {pps1:.2f} prompts/s")
    print(f"2 workers (Dask processes): {pps2:.2f} prompts/s")
    print(f"speed-up: {pps2 / pps1:.2f}x; summaries identical: {identical}")
    print(f"reproduce: python benchmarks/bench_scale.py --prompts {args.prompts} --layers {args.layers} "
          f"--hidden {args.hidden} --batch-size {args.batch_size} --bootstrap {args.bootstrap}")
    print(json.dumps({"prompts_per_second_1": round(pps1, 4), "prompts_per_second_2": round(pps2, 4),
                      "speedup_2_workers": round(pps2 / pps1, 4), "identical_results": identical}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
