"""The hostile corpus through the CLI: every case ends in exit 0 with a correct result or exit 2
with a named error; never a traceback, an internal error, code run, a file written through a
link or data lost. The summary test prints the counts by outcome."""

from __future__ import annotations

from collections import Counter

import pytest

from .corpus import OUTCOMES, Outcome, all_cases, run_case

CASES = all_cases()
_RESULTS: dict[str, Outcome] = {}


@pytest.fixture(autouse=True)
def _state_dir(tmp_path, monkeypatch):
    # internal-error logs (if any) go to the test's folder, not the user's state directory
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))


def _run(case, folder):
    o = run_case(case, folder)
    _RESULTS[case.id] = o
    return o


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_case(case, tmp_path):
    o = _run(case, tmp_path / "w")
    assert o.kind == case.expect, (
        f"{case.group}/{case.id}: {o.kind} (expected {case.expect}); exit {o.exit_code}; "
        f"{o.detail}\nstdout: {o.stdout[-500:]}\nstderr: {o.stderr[-800:]}"
    )


def test_summary(tmp_path_factory, capsys):
    """Counts by outcome over the whole corpus (cases not run above are run here)."""
    for case in CASES:
        if case.id not in _RESULTS:
            _run(case, tmp_path_factory.mktemp("hostile") / "w")
    counts = Counter(_RESULTS[c.id].kind for c in CASES)
    groups = Counter(c.group for c in CASES)
    with capsys.disabled():
        print(f"\nhostile corpus: {len(CASES)} cases in {len(groups)} groups")
        for g, n in groups.items():
            print(f"  {g:<22} {n}")
        print("outcomes: " + ", ".join(f"{k} {counts.get(k, 0)}" for k in OUTCOMES))
    assert len(CASES) >= 60
    bad = {k: v for k, v in counts.items() if k not in ("named error", "correct")}
    assert not bad, bad
    wrong = [c.id for c in CASES if _RESULTS[c.id].kind != c.expect]
    assert not wrong, wrong
