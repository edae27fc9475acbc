"""Every command says what each option does and shows an example; the command list shows
whole summaries (issue 17)."""

import re

import click
import pytest
from click.testing import CliRunner

from scalinglab.cli import main


def _walk(cmd, path=()):
    if isinstance(cmd, click.Group):
        for name, sub in cmd.commands.items():
            yield from _walk(sub, (*path, name))
    else:
        yield path, cmd


COMMANDS = [(" ".join(p), c) for p, c in _walk(main)]


@pytest.mark.parametrize("name,cmd", COMMANDS, ids=[n for n, _ in COMMANDS])
def test_every_option_has_help_and_the_command_an_example(name, cmd):
    missing = [
        p.opts[-1] for p in cmd.params if isinstance(p, click.Option) and not (p.help or "").strip()
    ]
    assert not missing, f"{name}: options without help: {missing}"
    r = CliRunner().invoke(main, [*name.split(), "--help"], terminal_width=100)
    assert r.exit_code == 0, r.output
    lines = r.output.splitlines()
    at = next((i for i, line in enumerate(lines) if line.strip().startswith("Example")), None)
    assert at is not None, f"{name}: no Example in --help"
    example = lines[at + 1].strip()
    assert example.startswith("scalinglab "), f"{name}: the example is not a command: {example}"
    assert name.split()[-1] in example, f"{name}: the example runs another command"
    # a docstring's lone backslash joins the next line: 'E=0:10           --param A=...'
    block = lines[at + 1 : next(i for i, ln in enumerate(lines) if ln.startswith("Options"))]
    joined = [ln for ln in block if re.search(r"\S {4,}--", ln)]
    assert not joined, f"{name}: an example line continuation was swallowed: {joined}"


def test_the_command_list_shows_whole_summaries():
    r = CliRunner().invoke(main, ["--help"], terminal_width=80)
    assert r.exit_code == 0
    listing = r.output.split("Commands:", 1)[1]
    assert "..." not in listing, listing
    assert "audits of one or more laws." in " ".join(listing.split())
