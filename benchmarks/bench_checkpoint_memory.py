"""Peak memory of loading a BF16 checkpoint: what a run reads (one layer) and the whole model.

Writes a BF16 ``gla_swa`` checkpoint (hidden 1024, FFN 5632, 8 layers, 32k vocabulary: 430 MiB of tensor
data) into a temporary folder, then measures in fresh processes (peak RSS from ``VmHWM`` (Linux), tracemalloc
peak of Python-visible allocations):

* ``layer0``: ``load_checkpoint`` + INT8 weights of layer 0 (what ``energy-report --checkpoint`` holds per
  simulated layer);
* ``all``: every tensor read as float32 (what ``load_model`` starts from);
* ``safetensors``: the ``safetensors`` package reading the same tensors from an F32 copy (peer; numpy has
  no BF16 dtype, so the peer's file is already float32: it does no widening), where installed.

Before tensors were read on lookup (commit 860b397), ``layer0`` read every tensor first: 1050 MiB peak
allocations, 1256 MiB max RSS on this checkpoint.

Run: ``python benchmarks/bench_checkpoint_memory.py``. The last line is one JSON object.
"""

from __future__ import annotations

import json
from pathlib import Path
import struct
import subprocess
import sys
import tempfile

import numpy as np

CONFIG = {"model_type": "gla_swa", "hidden_size": 1024, "intermediate_size": 5632, "num_hidden_layers": 8,
          "num_attention_heads": 8, "num_key_value_heads": 2, "vocab_size": 32000, "rms_norm_eps": 1e-6,
          "rope_theta": 10000.0, "sliding_window": 64, "attn_layers": [1, 3, 5, 7], "gate_low_rank_dim": 16,
          "tie_word_embeddings": False}

_MEASURE = r"""
import sys, tracemalloc
def hwm():  # peak resident set of this process (VmHWM; getrusage's maxrss is inherited from the parent)
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
what, folder = sys.argv[1], sys.argv[2]
import numpy as np
from neurosim.checkpoint import load_checkpoint
from neurosim.layers.model import block_weights_from_params
base = hwm()
tracemalloc.start()
if what == "layer0":
    ck = load_checkpoint(folder)
    w = block_weights_from_params(ck.params, ck.config, 0, group_size=128, keep_float=False)
elif what == "all":
    ck = load_checkpoint(folder)
    arrays = {n: ck.params[n] for n in ck.params}
else:
    import safetensors.numpy
    arrays = safetensors.numpy.load_file(folder + "/f32.safetensors")
peak = tracemalloc.get_traced_memory()[1]
print(peak, hwm() - base, base)
"""


def _bf16(x: np.ndarray) -> np.ndarray:
    u = x.astype(np.float32).view(np.uint32).astype(np.uint64)
    return ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype("<u2")


def write_checkpoint(folder: Path, *, f32_copy: bool) -> int:
    from neurosim.hf_config import config_from_hf
    from neurosim.layers.model import parameter_shapes

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(json.dumps(CONFIG))
    shapes = parameter_shapes(config_from_hf(folder / "config.json"))
    rng = np.random.default_rng(0)
    for dtype, name, item in (("BF16", "model.safetensors", 2), ("F32", "f32.safetensors", 4)):
        if dtype == "F32" and not f32_copy:
            continue
        header, off = {}, 0
        for n, s in shapes.items():
            size = int(np.prod(s)) * item
            header[n] = {"dtype": dtype, "shape": list(s), "data_offsets": [off, off + size]}
            off += size
        h = json.dumps(header).encode()
        with open(folder / name, "wb") as f:
            f.write(struct.pack("<Q", len(h)) + h)
            for n, s in shapes.items():
                a = np.ones(s, np.float32) if n.endswith("norm.weight") else rng.standard_normal(s, np.float32) * 0.02
                f.write(_bf16(a).tobytes() if dtype == "BF16" else a.astype("<f4").tobytes())
        if dtype == "BF16":
            data_bytes = off
    return data_bytes


def main() -> None:
    try:
        import safetensors.numpy  # noqa: F401

        peer = True
    except ImportError:
        peer = False
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "ckpt"
        data = write_checkpoint(folder, f32_copy=peer)
        results = {}
        for what in ("layer0", "all") + (("safetensors",) if peer else ()):
            out = subprocess.run([sys.executable, "-c", _MEASURE, what, str(folder)], capture_output=True, text=True,
                                 check=True).stdout.split()
            results[what] = {"tracemalloc_peak_mib": int(out[0]) / 2**20,
                             "max_rss_mib": (int(out[1]) + int(out[2])) / 1024, "rss_after_imports_mib": int(out[2]) / 1024}
    print(f"BF16 checkpoint: {data / 2**20:.0f} MiB of tensor data ({CONFIG['num_hidden_layers']} layers)")
    for what, r in results.items():
        print(f"{what:<12} peak allocations {r['tracemalloc_peak_mib']:6.0f} MiB ({r['tracemalloc_peak_mib'] * 2**20 / data:.2f}"
              f" x the BF16 data)   max RSS {r['max_rss_mib']:6.0f} MiB (after imports {r['rss_after_imports_mib']:.0f})")
    if peer:
        print(f"all tensors as float32, neurosim vs safetensors: peak allocations "
              f"{results['all']['tracemalloc_peak_mib'] / results['safetensors']['tracemalloc_peak_mib']:.2f}x, max RSS "
              f"{results['all']['max_rss_mib'] / results['safetensors']['max_rss_mib']:.2f}x")
    print("reproduce: python benchmarks/bench_checkpoint_memory.py")
    print(json.dumps({"bf16_data_mib": round(data / 2**20, 1),
                      **{f"{k}_{m}": round(v[m], 1) for k, v in results.items() for m in v}}))


if __name__ == "__main__":
    main()
