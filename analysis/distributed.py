"""Run shards of prompts in this process or on a Dask cluster; merge nothing, lose nothing.

A corpus is cut into shards of ``batch_size`` prompts (:func:`plan_shards`; the cut depends on the
corpus and the batch size only, never on the number of workers). :func:`run_shard` profiles one shard
and returns its exact statistics (:class:`~neurosim.analysis.mergeable.CorpusStats`). :func:`run_shards`
runs every shard

* in this process (``workers=1``), or
* on a ``dask.distributed.LocalCluster`` of ``workers`` worker processes with one thread each, or
* on an existing cluster (``scheduler="tcp://host:8786"``): start ``dask scheduler`` on one machine and
  ``MKL_CBWR=COMPATIBLE dask worker tcp://host:8786 --nthreads 1`` on each machine; the model directory
  (or factory module) must be readable at the same path by every worker.

The model is loaded once per worker process (a cache keyed by the job's source and options), not once
per task. Each shard runs with ``torch_threads`` torch threads (default 1) in every mode, so the numbers
do not depend on how many workers ran them: results are byte-identical to ``workers=1``. A task lost
with its worker is rescheduled by Dask; a shard whose workers die repeatedly fails with
:class:`~neurosim.exceptions.ShardFailedError` naming it. Results are collected by shard index, and every
shard must come back exactly once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
import hashlib
import logging
import os
import sys
from typing import Any

import numpy as np

from neurosim.analysis import model_loading
from neurosim.analysis.torch_profile import profile_model
from neurosim.exceptions import (
    CorpusError,
    DependencyError,
    DistributedError,
    InputError,
    ShardFailedError,
)

__all__ = [
    "DASK_HINT",
    "ProfileJob",
    "Shard",
    "ShardResult",
    "plan_shards",
    "run_shard",
    "run_shards",
]

DASK_HINT = "pip install 'neurosim[distributed]'"

# MKL (torch's CPU BLAS) picks kernels by memory alignment unless told not to, so the same matmul can
# round differently in two processes. Conditional numerical reproducibility fixes the code path; it must
# be set before MKL's first call, i.e. before torch computes anything, and is inherited by the worker
# processes a LocalCluster starts. Workers of an existing cluster need it in their environment too
# (`MKL_CBWR=COMPATIBLE dask worker ...`). An explicit user setting is kept.
os.environ.setdefault("MKL_CBWR", "COMPATIBLE")

#: Deaths of a worker running a task before Dask gives the task up (then ShardFailedError).
ALLOWED_FAILURES = 2


@dataclass(frozen=True)
class ProfileJob:
    """What to profile and how; sent to every worker (small and picklable).

    ``kind`` is ``"hf"`` (``source`` = model directory) or ``"torch"`` (``source`` = ``MODULE:FACTORY``
    returning ``(model, tokenizer)``, the tokenizer a HuggingFace one or any callable mapping a list of
    texts to ``{"input_ids", "attention_mask"}`` tensors).
    """

    kind: str
    source: str
    max_length: int = 64
    k: float = 3.0
    coding: str = "bidirectional"
    group_size: int | None = 128
    path: str = "event"
    max_tokens: int | None = None
    spike_outputs: bool = True
    seed: int = 0
    torch_threads: int = 1
    allow_pickle: bool = False  # hf: also load torch .bin pickles (they can run code)

    @property
    def cache_key(self) -> tuple[str, str]:
        return (self.kind, os.path.abspath(self.source) if self.kind == "hf" else self.source)


@dataclass(frozen=True)
class Shard:
    """A slice of the corpus: global prompt indices, their texts and their line numbers in the file."""

    index: int
    prompt_ids: tuple[int, ...]
    texts: tuple[str, ...]
    lines: tuple[int, ...] = ()

    def describe(self) -> str:
        return f"shard {self.index} (prompts {self.prompt_ids[0]}..{self.prompt_ids[-1]})"


@dataclass(frozen=True, eq=False)
class ShardResult:
    """What a shard sends back: exact statistics plus where and how it ran."""

    index: int
    stats: Any = field(repr=False)  # CorpusStats
    label: str = ""
    skipped: tuple[dict[str, str], ...] = ()
    fingerprint: str = ""
    pid: int = 0
    loads: int = 0


def plan_shards(texts: Sequence[str], *, batch_size: int, lines: Sequence[int] | None = None) -> list[Shard]:
    """Cut ``texts`` into shards of ``batch_size`` consecutive prompts (the last may be shorter)."""
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise InputError(f"'batch_size' must be an integer >= 1 (got {batch_size!r})")
    lines = list(lines) if lines is not None else list(range(1, len(texts) + 1))
    return [Shard(index=i // batch_size, prompt_ids=tuple(range(i, min(i + batch_size, len(texts)))),
                  texts=tuple(texts[i:i + batch_size]), lines=tuple(lines[i:i + batch_size]))
            for i in range(0, len(texts), batch_size)]


# -- worker side --------------------------------------------------------------------------------

# Loaded models of this process, keyed by ProfileJob.cache_key: a worker loads each model once.
_CACHE: dict[tuple[str, str], tuple[Any, Any, str, str]] = {}
_LOADS = [0]


def _fingerprint(model: Any) -> str:
    """SHA-256 of the model's parameters and buffers (name, dtype, shape, values), in name order."""
    import torch

    h = hashlib.sha256()
    for name, t in sorted(model.state_dict().items()):
        arr = t.detach().cpu().contiguous()
        h.update(f"{name}:{arr.dtype}:{tuple(arr.shape)}".encode())
        if arr.dtype == torch.bfloat16:  # numpy has no bfloat16; float32 holds it exactly
            arr = arr.float()
        h.update(arr.numpy().tobytes())
    return h.hexdigest()


def _load(job: ProfileJob) -> tuple[Any, Any, str, str]:
    key = job.cache_key
    hit = _CACHE.get(key)
    if hit is not None:
        return hit
    from pathlib import Path

    if job.kind == "hf":
        path = Path(job.source)
        model_loading.check_hf_directory(path)
        model, tokenizer = model_loading.load_hf_directory(path, allow_pickle=job.allow_pickle)
        label = path.name
    elif job.kind == "torch":
        model, tokenizer = model_loading.load_factory(job.source)
        if tokenizer is None or not callable(tokenizer):
            raise InputError(f"factory {job.source!r} must return (model, tokenizer) to profile texts; the "
                             "tokenizer maps a list of texts to {'input_ids', 'attention_mask'} tensors")
        label = job.source.rsplit(":", 1)[-1]
    else:
        raise InputError(f"'kind' must be 'hf' or 'torch' (got {job.kind!r})")
    model.eval()
    _LOADS[0] += 1
    entry = (model, tokenizer, _fingerprint(model), label)
    _CACHE[key] = entry
    return entry


def encode(tokenizer: Any, texts: Sequence[str], max_length: int) -> tuple[dict[str, Any], np.ndarray]:
    """Tokenise a batch, right-padded (real tokens keep positions 0..n-1); returns inputs and the mask."""
    is_hf = hasattr(tokenizer, "pad_token") and hasattr(tokenizer, "padding_side")
    if is_hf:
        if getattr(tokenizer, "pad_token", None) is None and getattr(tokenizer, "eos_token", None):
            tokenizer.pad_token = tokenizer.eos_token  # decoder tokenizers often lack one; a batch needs it
        tokenizer.padding_side = "right"
        enc = tokenizer(list(texts), return_tensors="pt", padding=True, truncation=True, max_length=max_length)
    else:
        enc = tokenizer(list(texts))
    if "input_ids" not in enc:
        raise InputError("the tokenizer returned no 'input_ids'")
    ids = enc["input_ids"][:, :max_length]
    if "attention_mask" in enc:
        mask_t = enc["attention_mask"][:, :max_length]
    else:
        import torch

        mask_t = torch.ones_like(ids)
    inputs = {"input_ids": ids, "attention_mask": mask_t}
    for key in ("token_type_ids",):
        if key in enc:
            inputs[key] = enc[key][:, :max_length]
    return inputs, mask_t.detach().cpu().numpy().astype(bool)


def run_shard(job: ProfileJob, shard: Shard) -> ShardResult:
    """Profile one shard (in whichever process calls it); the model comes from this process's cache."""
    import torch

    model, tokenizer, fingerprint, label = _load(job)
    inputs, mask = encode(tokenizer, shard.texts, job.max_length)
    empty = np.flatnonzero(mask.sum(axis=1) == 0)
    if empty.size:
        i = int(empty[0])
        line = shard.lines[i] if shard.lines else shard.prompt_ids[i] + 1
        raise CorpusError(f"prompt {shard.prompt_ids[i]} (line {line}) tokenises to nothing: {shard.texts[i]!r:.60}")
    # The sampling seed depends on the shard only, never on which worker runs it.
    seed = int(np.random.SeedSequence([job.seed, shard.index]).generate_state(1)[0])
    threads = torch.get_num_threads()
    torch.set_num_threads(job.torch_threads)
    try:
        prof = profile_model(model, inputs, k=job.k, coding=job.coding, profiles=(), modes=(),
                             spike_outputs=job.spike_outputs, group_size=job.group_size,
                             max_tokens=job.max_tokens, seed=seed, path=job.path, name=label,
                             token_mask=mask, prompt_ids=shard.prompt_ids)
    finally:
        torch.set_num_threads(threads)
    return ShardResult(index=shard.index, stats=prof.stats, label=label, skipped=prof.skipped,
                       fingerprint=fingerprint, pid=os.getpid(), loads=_LOADS[0])


# -- driver side --------------------------------------------------------------------------------


def _dask() -> Any:
    try:
        import distributed
    except ImportError as exc:
        raise DependencyError(f"--workers > 1 and --scheduler need Dask: {DASK_HINT}") from exc
    return distributed


def connect(*, workers: int, scheduler: str | None, timeout: float = 10.0) -> tuple[Any, Any]:
    """A Dask client and the cluster it owns (None for an existing cluster given by ``scheduler``)."""
    distributed = _dask()
    import dask

    if scheduler is not None:
        try:
            return distributed.Client(scheduler, timeout=f"{timeout}s", set_as_default=False), None
        except (OSError, TimeoutError, ValueError) as exc:
            msg = " ".join(str(exc).split())[:160]
            raise DistributedError(f"cannot reach the Dask scheduler at {scheduler!r} within {timeout:g} s "
                                   f"({type(exc).__name__}: {msg})") from None
    with dask.config.set({"distributed.scheduler.allowed-failures": ALLOWED_FAILURES,
                          "distributed.worker.daemon": False}):
        cluster = distributed.LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                           dashboard_address=None, silence_logs=logging.ERROR,
                                           memory_limit=0)
        client = distributed.Client(cluster, set_as_default=False)
    return client, cluster


def run_shards(
    job: ProfileJob,
    shards: Sequence[Shard],
    *,
    workers: int = 1,
    scheduler: str | None = None,
    progress: bool = False,
    timeout: float = 10.0,
    on_done: Callable[[ShardResult, Any], None] | None = None,
) -> list[ShardResult]:
    """Run every shard once and return the results in shard order.

    Parameters
    ----------
    workers : int
        1: in this process; N > 1: a LocalCluster of N single-threaded worker processes.
    scheduler : str, optional
        Address of an existing Dask scheduler (``workers`` is then ignored).
    progress : bool
        A progress bar of finished shards on stderr.
    timeout : float
        Seconds to wait for ``scheduler``.
    on_done : callable, optional
        Called as ``on_done(result, client)`` after each shard (client None in-process); for tests.

    Raises
    ------
    InputError
        ``workers`` < 1.
    DependencyError
        Dask is needed and not installed.
    DistributedError
        The scheduler cannot be reached, or a shard came back twice or not at all.
    ShardFailedError
        A shard's worker died repeatedly.
    """
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise InputError(f"'workers' must be an integer >= 1 (got {workers!r})")
    from tqdm import tqdm

    bar = tqdm(total=len(shards), unit="shard", desc="shards", disable=not progress, file=sys.stderr,
               leave=False)
    results: dict[int, ShardResult] = {}
    try:
        if workers == 1 and scheduler is None:
            # Shards run on one worker thread, as on a Dask worker: some torch CPU kernels (attention)
            # round differently on the main thread than on another one, and the numbers must not depend
            # on where a shard ran.
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(max_workers=1, thread_name_prefix="neurosim-shard") as pool:
                for shard in shards:
                    res = pool.submit(run_shard, job, shard).result()
                    results[shard.index] = res
                    bar.update(1)
                    if on_done is not None:
                        on_done(res, None)
        else:
            results = _run_dask(job, shards, workers=workers, scheduler=scheduler, timeout=timeout, bar=bar,
                                on_done=on_done)
    finally:
        bar.close()
    missing = sorted({s.index for s in shards} - set(results))
    if missing:
        raise DistributedError(f"shard(s) {missing} never came back")
    return [results[s.index] for s in shards]


def _run_dask(job: ProfileJob, shards: Sequence[Shard], *, workers: int, scheduler: str | None, timeout: float,
              bar: Any, on_done: Callable[[ShardResult, Any], None] | None) -> dict[int, ShardResult]:
    distributed = _dask()
    client, cluster = connect(workers=workers, scheduler=scheduler, timeout=timeout)
    results: dict[int, ShardResult] = {}
    futures: dict[Any, Shard] = {}
    try:
        token = hashlib.sha256(repr((job, len(shards), os.getpid(), id(shards))).encode()).hexdigest()[:12]
        for shard in shards:
            fut = client.submit(run_shard, job, shard, key=f"neurosim-shard-{token}-{shard.index}", pure=False)
            futures[fut] = shard
        for fut in distributed.as_completed(list(futures), loop=client.loop):
            shard = futures[fut]
            try:
                res = fut.result()
            except distributed.KilledWorker:
                raise ShardFailedError(
                    f"{shard.describe()} failed: the worker running it died {ALLOWED_FAILURES + 1} times "
                    "(out of memory? a crash in the model?); nothing was written") from None
            if res.index in results:
                raise DistributedError(f"{shard.describe()} came back twice")
            results[res.index] = res
            bar.update(1)
            if on_done is not None:
                on_done(res, client)
    finally:
        for fut in futures:
            fut.release()
        client.close()
        if cluster is not None:
            cluster.close()
    return results
