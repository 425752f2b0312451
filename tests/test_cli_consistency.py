"""Shared CLI options mean the same thing, with the same help text, in every subcommand (issue 15 item 10)."""

from __future__ import annotations

import argparse

import pytest

from neurosim.reports import cli

SHARED = ("--seed", "--out", "--format", "--no-progress", "--debug")


def _actions(parser: argparse.ArgumentParser) -> dict[str, argparse.Action]:
    return {opt: a for a in parser._actions for opt in a.option_strings}


@pytest.mark.parametrize("option", SHARED)
def test_shared_option_has_one_help_text(option: str) -> None:
    parsers = cli._build_parsers()
    helps: dict[str, set[str]] = {}
    for name, parser in parsers.items():
        action = _actions(parser).get(option)
        if action is None:
            continue
        assert action.help, f"{option} in {name or 'default'} has no help text"
        kind = "print" if option == "--format" and action.choices else "file"
        text = action.help
        if option == "--out":  # one text; only the stated default differs (compare writes elsewhere)
            assert text == cli.OUT_HELP.format(default=action.default), name
            text = cli.OUT_HELP
        helps.setdefault(kind, set()).add(text)
    assert helps, option
    for kind, texts in helps.items():
        assert len(texts) == 1, f"{option} ({kind}) has {len(texts)} help texts: {texts}"


def test_format_choices_named_alike() -> None:
    # Printing subcommands choose from table/md/json/csv; writing ones from md/html/json/csv: the shared names agree.
    for name, parser in cli._build_parsers().items():
        action = _actions(parser)["--format"] if "--format" in _actions(parser) else None
        if action is None:
            continue
        if action.choices:
            assert tuple(action.choices) == cli.PRINT_FORMATS, name
        else:
            assert action.default == cli.FORMATS, name


@pytest.mark.parametrize("command", ["", "sweep-k", "raster", "torch", "hf", "compare"])
def test_report_writers_take_no_progress(command: str) -> None:
    assert "--no-progress" in _actions(cli._build_parsers()[command])
