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
import os
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
    _check_no_required_args(factory, spec)
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
    # The current directory is searched too (as `python -c` would): `energy-report torch snnnet:build` run from
    # snnnet.py's folder must find it, although the console script's own folder heads sys.path.
    cwd = os.getcwd()
    added = cwd not in sys.path
    if added:
        sys.path.insert(0, cwd)
    try:
        return importlib.import_module(mod_name)
    except ModuleNotFoundError as exc:
        if exc.name is not None and (mod_name == exc.name or mod_name.startswith(exc.name + ".")):
            msg = (f"module {mod_name!r} not found in the current directory ({cwd}) or on sys.path; run from "
                   "the folder that holds it, or give a file path 'path/to/file.py:FACTORY'")
            raise NotFoundError(msg) from exc
        raise DependencyError(f"module {mod_name!r} imports {exc.name!r}, which is not installed") from exc
    finally:
        if added and cwd in sys.path:
            sys.path.remove(cwd)


def _check_no_required_args(factory: Any, spec: str) -> None:
    """Raise :class:`InputError` when ``factory`` cannot be called without arguments."""
    import inspect

    try:
        sig = inspect.signature(factory)
    except (TypeError, ValueError):  # builtins without a signature: let the call decide
        return
    required = [n for n, p in sig.parameters.items()
                if p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    if required:
        raise InputError(f"factory {spec!r} needs argument(s) {', '.join(required)}; energy-report calls it with "
                         "none: wrap it in a function without arguments that returns (model, example_inputs)")


#: File suffixes of torch pickles: loading one can run arbitrary code.
_PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt", ".pkl")


def _weights_policy(path: Path, allow_pickle: bool) -> None:
    """Refuse a directory whose weights exist only as torch pickles unless the user opted in."""
    names = sorted(p.name for p in path.iterdir() if p.is_file())
    if any(n.endswith(".safetensors") for n in names) or allow_pickle:
        return
    pickles = [n for n in names if n.endswith(_PICKLE_SUFFIXES)]
    if pickles:
        raise InputError(f"{str(path)!r} holds its weights only as torch pickles ({', '.join(pickles[:3])}); "
                         "loading a pickle can run code, so only *.safetensors are read: convert the weights "
                         "(model.save_pretrained(dir, safe_serialization=True)) or pass --allow-pickle if you "
                         "trust the files")
    raise InputError(f"{str(path)!r} has no *.safetensors weights (nor torch .bin); is it a complete HuggingFace "
                     "model directory?")


def _model_type(path: Path) -> str | None:
    import json

    try:
        value = json.loads((path / "config.json").read_text(encoding="utf-8")).get("model_type")
    except (OSError, ValueError, AttributeError):
        return None
    return value if isinstance(value, str) else None


def load_hf_directory(path: Path, *, allow_pickle: bool = False) -> tuple[Any, Any]:
    """Load model and tokenizer from a local HuggingFace directory, offline.

    ``*ForCausalLM`` architectures load with ``AutoModelForCausalLM``, others with ``AutoModel``. Only
    ``*.safetensors`` weights are read unless ``allow_pickle=True`` (torch ``.bin`` files are pickles,
    which can run code when loaded).

    Raises
    ------
    DependencyError
        transformers is not installed.
    InputError
        Weights only as pickles without ``allow_pickle``; a configuration transformers does not know (e.g.
        a SpikingBrain ``gla_swa`` checkpoint, which ``energy-report --checkpoint`` reads); files that
        transformers or torch cannot load (one line, the loader's reason).
    """
    path = Path(path)
    try:
        import transformers
    except ImportError as exc:
        raise DependencyError(f"profiling a HuggingFace directory needs transformers: {_HF_HINT}") from exc
    _weights_policy(path, allow_pickle)
    try:
        config = transformers.AutoConfig.from_pretrained(path, local_files_only=True)
    except (ValueError, KeyError, OSError) as exc:
        mtype = _model_type(path)
        if mtype == "gla_swa":
            raise InputError(f"{str(path)!r} is a SpikingBrain checkpoint (model_type 'gla_swa'), which transformers "
                             f"does not know; simulate it with `energy-report --checkpoint {path}`") from None
        raise InputError(f"{str(path)!r}: transformers cannot read its config.json (model_type {mtype!r}): "
                         f"{' '.join(str(exc).split())[:300]}") from None
    kwargs: dict[str, Any] = {"local_files_only": True}
    if not allow_pickle:
        kwargs["use_safetensors"] = True
    archs = getattr(config, "architectures", None) or []
    auto = (transformers.AutoModelForCausalLM if any(a.endswith("ForCausalLM") for a in archs)
            else transformers.AutoModel)
    import pickle

    # transformers' own progress bars ("Loading checkpoint shards") would interleave with energy-report's
    # output: silenced while loading, the caller's setting restored afterwards.
    hf_logging = transformers.utils.logging
    bars_were_on = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        model = auto.from_pretrained(path, **kwargs)
        tokenizer = transformers.AutoTokenizer.from_pretrained(path, local_files_only=True)
    except (pickle.UnpicklingError, EOFError, OSError, ValueError, RuntimeError) as exc:
        # torch's weights-only unpickler, a truncated file, missing tokenizer files: one line, no traceback.
        raise InputError(f"{str(path)!r}: cannot load the model ({type(exc).__name__}: "
                         f"{' '.join(str(exc).split())[:300]})") from None
    finally:
        if bars_were_on:
            hf_logging.enable_progress_bar()
    return model, tokenizer


def check_hf_directory(path: str | Path) -> None:
    """Raise :class:`NotFoundError` unless ``path`` is a directory holding ``config.json``."""
    p = Path(path)
    if p.exists() and not p.is_dir():
        raise InputError(f"{str(p)!r} is a file, not a directory; `hf` takes a HuggingFace model directory "
                         "(config.json, tokenizer files, *.safetensors)")
    if not p.is_dir():
        raise NotFoundError(f"HuggingFace model directory {str(p)!r} does not exist")
    if not (p / "config.json").is_file():
        raise NotFoundError(f"{str(p)!r} has no config.json; is it a HuggingFace model directory?")


def profile_hf_directory(
    path: str | Path,
    *,
    texts: Sequence[str] | None = None,
    max_length: int = 64,
    allow_pickle: bool = False,
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
    allow_pickle : bool, default False
        Also load torch ``.bin`` pickles (they can run code); by default only ``*.safetensors``.
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
    model, tokenizer = load_hf_directory(p, allow_pickle=True) if allow_pickle else load_hf_directory(p)
    if getattr(tokenizer, "pad_token", None) is None and getattr(tokenizer, "eos_token", None):
        tokenizer.pad_token = tokenizer.eos_token  # decoder tokenizers often lack one; batch needs it
    enc = tokenizer(texts, return_tensors="pt", padding=True, truncation=True, max_length=max_length)
    inputs = {key: enc[key] for key in ("input_ids", "attention_mask") if key in enc}
    kwargs.setdefault("name", p.name)
    if "attention_mask" in inputs:  # padding positions are left out of every statistic and of energy
        kwargs.setdefault("token_mask", inputs["attention_mask"])
    return profile_model(model, inputs, **kwargs)
