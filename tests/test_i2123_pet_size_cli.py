"""Issue 21, Zhang et al.: the PET-size recipe (fix beta and E from the model-size /
pretraining-data rows, then fit the PET exponent) is one command, as it was one API call."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from scalinglab.cli import main
from tests.test_fixed_params import BETA, TRUE, E, _pet_data


def test_pet_size_command_recovers_known_parameters(tmp_path):
    """Old: 'No such command'; the recipe needed Python."""
    p = tmp_path / "lora.csv"
    _pet_data().to_csv(p, index=False)
    r = CliRunner().invoke(main, ["pet-size", str(p), "--pet", "lora_rank", "--bootstrap", "40",
                                  "--json"])  # fmt: skip
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    t = {row["parameter"]: row for row in out["table"]}
    assert t["beta"]["estimate"] == pytest.approx(BETA, rel=0.03)
    assert t["E"]["estimate"] == pytest.approx(E, rel=0.03)
    assert t["alpha"]["estimate"] == pytest.approx(TRUE["a_p"], rel=0.1)
    assert t["alpha"]["lower"] < TRUE["a_p"] < t["alpha"]["upper"]
    assert out["fixed"] == pytest.approx({"beta": t["beta"]["estimate"], "E": t["E"]["estimate"]})
    text = CliRunner().invoke(main, ["pet-size", str(p), "--bootstrap", "0"])
    assert text.exit_code == 0, text.output
    flat = " ".join(text.output.split())
    assert "PET-size scaling of lora_rank (no intervals (--bootstrap 0))" in flat
    assert "fixed in step 2" in flat and "note: step 1: beta = 0.15" in flat
