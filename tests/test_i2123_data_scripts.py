"""Issue 23 item 6: a user with only the clone can rebuild each published table README's
commands read, from a local clone of its upstream repository (scripts/data/, standard library,
no download). Checked against ../shared/data where it is present: the rebuilt files are the
documented ones, byte for byte."""

from __future__ import annotations

import ast
import csv
import filecmp
import subprocess
import sys
from pathlib import Path

from tests.conftest import shared_file

SCRIPTS = Path(__file__).resolve().parents[1] / "scripts" / "data"
NETWORK = {"urllib", "http", "socket", "requests", "ftplib", "urllib3", "httpx", "subprocess"}


def _run(*args) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *map(str, args)], capture_output=True, text=True, timeout=120
    )


def test_scripts_only_no_data_and_no_network():
    files = sorted(p.name for p in SCRIPTS.iterdir())
    assert files and all(f.endswith(".py") for f in files), files
    for p in SCRIPTS.glob("*.py"):
        mods = set()
        for node in ast.walk(ast.parse(p.read_text())):
            if isinstance(node, ast.Import):
                mods |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module:
                mods.add(node.module.split(".")[0])
        assert not mods & NETWORK, (p.name, mods & NETWORK)
        assert not mods & {"scalinglab", "pandas", "numpy"}, p.name  # standard library only
        r = _run(p)  # no arguments: the usage, never a default output folder in the repo
        assert r.returncode != 0 and "usage" in (r.stdout + r.stderr).lower(), p.name


def test_chinchilla_points_rebuilt_byte_for_byte(tmp_path):
    """Epoch's columns (Model Size, Training FLOP, loss) -> points.csv, tokens = C / 6N."""
    points = shared_file("chinchilla", "points.csv")
    clone = tmp_path / "analyzing-chinchilla"
    (clone / "data").mkdir(parents=True)
    with points.open(newline="") as fh:
        rows = list(csv.reader(fh))[1:]
    with (clone / "data" / "svg_extracted_data.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["Model Size", "Training FLOP", "loss"])
        w.writerows([n, f, loss] for n, _, loss, f in rows)
    r = _run(SCRIPTS / "chinchilla.py", clone, tmp_path / "out")
    assert r.returncode == 0, r.stderr
    assert "245 runs (the documented file)" in r.stdout
    assert filecmp.cmp(tmp_path / "out" / "points.csv", points, shallow=False)


def test_pythia_harness_files_and_sizes_rebuilt(tmp_path):
    import shutil

    harness = shared_file("harness")
    clone = tmp_path / "pythia"
    shutil.copytree(harness / "pythia-v1", clone / "evals" / "pythia-v1")
    r = _run(SCRIPTS / "pythia_harness.py", clone, tmp_path / "out")
    assert r.returncode == 0, r.stderr
    out = tmp_path / "out"
    assert filecmp.cmp(out / "pythia-v1-sizes.csv", harness / "pythia-v1-sizes.csv", shallow=False)
    cmp = filecmp.dircmp(out / "pythia-v1", harness / "pythia-v1")
    assert not cmp.left_only and not cmp.right_only and not cmp.diff_files
    assert len(list((out / "pythia-v1").rglob("*.json"))) == 216
