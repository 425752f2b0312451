"""Load the models the CLI profiles: ``MODULE:FACTORY`` specs and local HuggingFace directories.

:func:`load_factory` imports a factory from a module or a ``.py`` file and calls it;
:func:`load_hf_directory` loads a HuggingFace ``transformers`` directory offline;
:func:`profile_hf_directory` loads, tokenises :data:`SAMPLE_TEXTS` (or given texts) and runs
:func:`neurosim.analysis.torch_profile.profile_model`. torch and transformers are imported inside the
functions that need them.
"""

from __future__ import annotations

from collections.abc import Sequence
import importlib
import importlib.util
from pathlib import Path
import sys
from typing import Any

from neurosim.exceptions import DependencyError, InputError, NotFoundError, unknown_name

from neurosim.analysis._torch_hooks import check_int, require_torch
from neurosim.analysis.torch_profile import ModelProfile, profile_model

__all__ = ["SAMPLE_TEXTS", "check_hf_directory", "load_factory", "load_hf_directory", "profile_hf_directory"]

#: Built-in sample texts for :func:`profile_hf_directory` (plain English of mixed length).
SAMPLE_TEXTS: tuple[str, ...] = (
    "The quick brown fox jumps over the lazy dog while the farmer watches from the porch.",
    "Spiking neural networks transmit information as discrete events rather than dense activations.",
    "In 1969, astronauts landed on the Moon and returned safely to Earth after a journey of eight days.",
    "Please summarise the following paragraph in one sentence and list three keywords.",
    "Energy per operation depends on the process node, the data width and where the operands live.",
    "def add(a, b):\n    return a + b",
)

_HF_HINT = "pip install 'neurosim[hf]'"


def load_factory(spec: str) -> tuple[Any, Any]:
    """Import ``MODULE:FACTORY`` and call the factory.

    Parameters
    ----------
    spec : str
        ``"package.module:make_model"`` (an importable module) or ``"path/to/file.py:make_model"``.
        The factory takes no arguments and returns a ``torch.nn.Module`` or a pair
        ``(module, example_inputs)``.

    Returns
    -------
    model : torch.nn.Module
    example_inputs : object or None
        What the factory returned beside the model (None when it returned the model alone).

    Raises
    ------
    InputError
        ``spec`` not of the form ``MODULE:FACTORY``, the factory not callable, or it returned
        something that is not a Module.
    NotFoundError
        The module or file does not exist, or has no attribute ``FACTORY`` (lists what it has).
    DependencyError
        The module imports something that is not installed.
    """
    if not isinstance(spec, str) or spec.count(":") < 1:
        raise InputError(f"'spec' must be 'MODULE:FACTORY', e.g. 'mypkg.models:make_net' (got {spec!r})")
    mod_name, _, attr = spec.rpartition(":")
    if not mod_name or not attr.isidentifier():
        raise InputError(f"'spec' must be 'MODULE:FACTORY' with a Python name after ':' (got {spec!r})")
    module = _import_spec_module(mod_name)
    if not hasattr(module, attr):
        known = [a for a in dir(module) if not a.startswith("_") and callable(getattr(module, a))]
        raise unknown_name(f"factory in {mod_name!r}", attr, known)
    factory = getattr(module, attr)
    if not callable(factory):
        raise InputError(f"{spec!r} must name a callable factory (got {type(factory).__name__})")
    made = factory()
    model, example = (made if isinstance(made, tuple) and len(made) == 2 else (made, None))
    if not isinstance(model, require_torch().nn.Module):
        msg = (f"factory {spec!r} must return a torch.nn.Module or (module, example_inputs) "
               f"(got {type(made).__name__})")
        raise InputError(msg)
    return model, example


def _import_spec_module(mod_name: str) -> Any:
    if mod_name.endswith(".py"):
        file = Path(mod_name)
        if not file.is_file():
            raise NotFoundError(f"model file {str(file)!r} does not exist")
        mod_id = f"_neurosim_factory_{abs(hash(str(file.resolve())))}"
        spec = importlib.util.spec_from_file_location(mod_id, file)
        if spec is None or spec.loader is None:
            raise InputError(f"cannot import {str(file)!r} as a Python module")
        module = importlib.util.module_from_spec(spec)
        sys.modules[mod_id] = module
        try:
            spec.loader.exec_module(module)
        except ModuleNotFoundError as exc:
            sys.modules.pop(mod_id, None)
            raise DependencyError(f"{str(file)!r} imports {exc.name!r}, which is not installed") from exc
        return module
    try:
        return importlib.import_module(mod_name)
    except ModuleNotFoundError as exc:
        if exc.name is not None and (mod_name == exc.name or mod_name.startswith(exc.name + ".")):
            msg = (f"module {mod_name!r} not found (is it on sys.path? run from its directory, or "
                   "give a file path 'path/to/file.py:FACTORY')")
            raise NotFoundError(msg) from exc
        raise DependencyError(f"module {mod_name!r} imports {exc.name!r}, which is not installed") from exc


def load_hf_directory(path: Path) -> tuple[Any, Any]:
    """Load model and tokenizer from a local HuggingFace directory, offline.

    ``*ForCausalLM`` architectures load with ``AutoModelForCausalLM``, others with ``AutoModel``.

    Raises
    ------
    DependencyError
        transformers is not installed.
    """
    try:
        import transformers
    except ImportError as exc:
        raise DependencyError(f"profiling a HuggingFace directory needs transformers: {_HF_HINT}") from exc
    config = transformers.AutoConfig.from_pretrained(path, local_files_only=True)
    tokenizer = transformers.AutoTokenizer.from_pretrained(path, local_files_only=True)
    archs = getattr(config, "architectures", None) or []
    if any(a.endswith("ForCausalLM") for a in archs):
        model = transformers.AutoModelForCausalLM.from_pretrained(path, local_files_only=True)
    else:
        model = transformers.AutoModel.from_pretrained(path, local_files_only=True)
    return model, tokenizer


def check_hf_directory(path: str | Path) -> None:
    """Raise :class:`NotFoundError` unless ``path`` is a directory holding ``config.json``."""
    p = Path(path)
    if not p.is_dir():
        raise NotFoundError(f"HuggingFace model directory {str(p)!r} does not exist")
    if not (p / "config.json").is_file():
        raise NotFoundError(f"{str(p)!r} has no config.json; is it a HuggingFace model directory?")


def profile_hf_directory(
    path: str | Path,
    *,
    texts: Sequence[str] | None = None,
    max_length: int = 64,
    **kwargs: Any,
) -> ModelProfile:
    """Profile a local HuggingFace ``transformers`` model directory with :func:`profile_model`.

    Parameters
    ----------
    path : str or Path
        Directory with ``config.json``, the weights and the tokenizer files. Loaded offline
        (``local_files_only=True``): ``*ForCausalLM`` architectures with ``AutoModelForCausalLM``
        (output ``logits``), others with ``AutoModel`` (output ``last_hidden_state``).
    texts : sequence of str, optional
        Prompts to run (default :data:`SAMPLE_TEXTS`), padded to one batch; padding positions (the
        tokenizer's attention mask) run through the model but are left out of every statistic and of
        energy. For a corpus file, shards and intervals see :mod:`neurosim.analysis.corpus_profile`.
    max_length : int, default 64
        Truncation length in tokens.
    **kwargs
        Passed to :func:`profile_model` (``k``, ``profiles``, ``max_tokens``, ...).

    Returns
    -------
    ModelProfile
        Labelled with the directory name.

    Raises
    ------
    NotFoundError
        ``path`` is not a directory or has no ``config.json``.
    InputError
        Empty ``texts`` or bad ``max_length``.
    DependencyError
        transformers (or torch) is not installed: ``pip install 'neurosim[hf]'``.
    """
    p = Path(path)
    check_hf_directory(p)
    texts = list(SAMPLE_TEXTS if texts is None else texts)
    if not texts or not all(isinstance(t, str) and t for t in texts):
        raise InputError(f"'texts' must be non-empty strings (got {texts!r})")
    max_length = check_int(max_length, "max_length", minimum=1)
    model, tokenizer = load_hf_directory(p)
    if getattr(tokenizer, "pad_token", None) is None and getattr(tokenizer, "eos_token", None):
        tokenizer.pad_token = tokenizer.eos_token  # decoder tokenizers often lack one; batch needs it
    enc = tokenizer(texts, return_tensors="pt", padding=True, truncation=True, max_length=max_length)
    inputs = {key: enc[key] for key in ("input_ids", "attention_mask") if key in enc}
    kwargs.setdefault("name", p.name)
    if "attention_mask" in inputs:  # padding positions are left out of every statistic and of energy
        kwargs.setdefault("token_mask", inputs["attention_mask"])
    return profile_model(model, inputs, **kwargs)
