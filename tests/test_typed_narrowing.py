"""Inputs that the mypy ratchet's Optional narrowing showed could reach code that assumed a
value: each now gets a named error before any work, instead of a misleading one later."""

import numpy as np
import pandas as pd
import pytest

from scalinglab.errors import OptionError
from scalinglab.report import build
from scalinglab.report.html import Report


def _ladder() -> pd.DataFrame:
    n = np.repeat(np.geomspace(1e7, 1e10, 4), 4)
    d = np.tile(np.geomspace(1e8, 1e11, 4), 4)
    return pd.DataFrame({"n_params": n, "tokens": d, "loss": 1.8 + 480 / n**0.35 + 2100 / d**0.37})


def test_audit_section_without_holdout_or_axis_names_both():
    # was MissingColumnError "--leave-largest-out axis 'None' is not in the data"
    rep = Report("t")
    with pytest.raises(OptionError, match="holdout query or a leave-largest-out axis"):
        build.audit_section(
            rep,
            _ladder(),
            ["chinchilla"],
            holdout=None,
            axis=None,
            metric=None,
            mapping=None,
            preset=None,
            n_bootstrap=20,
            seed=0,
        )
    assert rep.sections == []


def test_finetuning_run_without_its_pretraining_run_is_named(tmp_path):
    # Registry.register takes any row: a finetuning run without depends_on reached
    # torch.load(None["artifact"]), a TypeError, when a worker ran it
    pytest.importorskip("torch", reason="the testbed needs torch")
    from scalinglab.testbed.registry import Claim
    from scalinglab.testbed.sweep.training import execute
    from scalinglab.testbed.train import TestbedError

    config = {"context": 32, "model": {"d_model": 16, "n_layers": 1, "n_heads": 2}}
    claim = Claim("k1", "ft-orphan", "finetune", config, depends_on=[], attempt=1)
    with pytest.raises(TestbedError, match="finetuning run ft-orphan has no pretraining run"):
        execute(claim, None, tmp_path)
    assert list(tmp_path.iterdir()) == []
