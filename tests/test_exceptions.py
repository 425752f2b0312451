"""The one exception tree (neurosim/exceptions.py): hierarchy, KeyError quoting, unknown_name()."""

from __future__ import annotations

import inspect
import re

import pytest

from neurosim import exceptions
from neurosim.exceptions import (
    CheckpointError,
    CodingRangeError,
    ConfigError,
    DependencyError,
    InputError,
    NeurosimError,
    NotFoundError,
    OverflowRiskError,
    ShapeError,
    unknown_name,
)

ALL_ERRORS = [
    obj
    for _, obj in inspect.getmembers(exceptions, inspect.isclass)
    if issubclass(obj, Exception) and obj.__module__ == exceptions.__name__
]


def test_every_exported_class_is_listed_in_all() -> None:
    names = {cls.__name__ for cls in ALL_ERRORS}
    assert names <= set(exceptions.__all__)
    # The module docstring draws the tree: every class is drawn, and nothing is drawn that does not exist.
    drawn = set(re.findall(r"[├└]── (\w+)", exceptions.__doc__)) | {"NeurosimError"}
    assert names == drawn


@pytest.mark.parametrize("cls", ALL_ERRORS, ids=lambda c: c.__name__)
def test_every_error_derives_from_neurosim_error(cls: type[Exception]) -> None:
    assert issubclass(cls, NeurosimError)
    with pytest.raises(NeurosimError):
        raise cls("boom")


@pytest.mark.parametrize(
    ("cls", "builtin"),
    [
        (InputError, ValueError),
        (ShapeError, ValueError),
        (CodingRangeError, ValueError),
        (NotFoundError, KeyError),
        (OverflowRiskError, ArithmeticError),
        (DependencyError, ImportError),
    ],
)
def test_builtin_bases_let_generic_handlers_catch(cls: type[Exception], builtin: type[Exception]) -> None:
    with pytest.raises(builtin):
        raise cls("x")


def test_tree_shape() -> None:
    assert issubclass(ShapeError, InputError)
    assert issubclass(CodingRangeError, InputError)
    for cls in (NotFoundError, ConfigError, CheckpointError, OverflowRiskError, DependencyError):
        assert not issubclass(cls, InputError)
    # ConfigError and CheckpointError are not ValueErrors: a malformed file is not a bad argument.
    assert not issubclass(ConfigError, ValueError)
    assert not issubclass(CheckpointError, ValueError)


def test_not_found_error_str_is_not_quoted() -> None:
    err = NotFoundError("unknown model 'x'")
    assert str(err) == "unknown model 'x'"
    # A plain KeyError would repr-quote its message; ours must not.
    assert str(KeyError("unknown model 'x'")) != "unknown model 'x'"
    assert str(NotFoundError()) == ""


def test_unknown_name_lists_known_and_near_matches() -> None:
    err = unknown_name("spike coding", "bidirectionl", ["ternary", "bidirectional", "binary"])
    assert isinstance(err, NotFoundError)
    msg = str(err)
    assert msg.startswith("unknown spike coding 'bidirectionl'")
    assert "did you mean 'bidirectional'" in msg
    # Known names come sorted.
    assert msg.endswith("Known: bidirectional, binary, ternary")


def test_unknown_name_without_near_match_or_known_and_with_hint() -> None:
    msg = str(unknown_name("hardware profile", "zzz", ["loihi2", "h100"], hint="energy-report --list-profiles"))
    assert "did you mean" not in msg
    assert "Known: h100, loihi2" in msg
    assert msg.endswith("(see `energy-report --list-profiles`)")
    assert "Known: (none)" in str(unknown_name("model", "a", []))


def test_unknown_name_is_raisable_and_caught_as_key_error() -> None:
    with pytest.raises(KeyError, match=r"unknown model 'gpt'.*Known: a, b"):
        raise unknown_name("model", "gpt", ["b", "a"])
