"""Shared fixtures. Real public data lives in ../shared/data beside the repository."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def shared_file(*parts: str) -> Path:
    p = SHARED.joinpath(*parts)
    if not p.exists():
        pytest.skip(f"shared data not found: {p} (tests read ../shared/data beside the repo)")
    return p


@pytest.fixture(scope="session")
def chinchilla_240() -> pd.DataFrame:
    """Epoch's 240-point subset: drop the 5 highest-loss runs (their README)."""
    import scalinglab as sl

    df = sl.read_table(shared_file("chinchilla", "points.csv"))
    cutoff = df["loss"].nlargest(5).min()
    out = df[df["loss"] < cutoff].reset_index(drop=True)
    assert len(out) == 240
    return out


# The slow tier: tests that train models, start executors, render reports in Chromium or fit
# millions of rows (each > 3 s alone on 2 cores). `pytest -m "not slow"` is the fast tier.
# Kept here as one list (module::test prefix) rather than spread over decorators.
SLOW = (
    "tests/test_sweep.py::test_slurm_executor_through_submitit_matches_local",
    "tests/test_sweep.py::test_ray_executor_matches_local",
    "tests/test_sweep.py::test_two_concurrent_sweeps_share_a_registry",
    "tests/test_sweep.py::test_kill_and_resume_runs_everything_exactly_once",
    "tests/test_sweep.py::test_gpu_spec_settings_run_end_to_end_at_toy_scale",
    "tests/test_sweep.py::test_workers_stop_when_the_sweep_process_is_killed",
    "tests/test_testbed.py::test_smoke_preset_end_to_end",
    "tests/test_testbed.py::test_transfer_command_writes_each_run_and_resumes_after_a_crash",
    "tests/test_testbed.py::test_transfer_experiment_rows_feed_the_transfer_workflow",
    "tests/test_testbed.py::test_compiled_pretraining_matches_eager",
    "tests/test_testbed.py::test_pretraining_lowers_validation_loss",
    "tests/test_testbed.py::test_each_budget_is_its_own_cosine_run",
    "tests/test_transfer_exp_presets.py::test_preset_run_scaled_down_records_preset_and_overrides",
    "tests/test_testbed.py::test_peft_methods_train_only_their_own_parameters",
    "tests/test_testbed.py::test_gettext_translation_tasks",
    "tests/test_testbed.py::test_nothing_touches_the_network",
    "tests/test_testbed.py::test_shared_bpe_tokenizer_mixtures_and_pair_filtering",
    "tests/test_testbed.py::test_early_stopping_stops_when_validation_stops_improving",
    "tests/test_cli.py::test_readme_tour_runs_on_the_demo_data",
    "tests/test_cli.py::test_demo_runs",
    "tests/test_report.py::",
    "tests/test_fit_scale.py::test_two_million_rows_fit_in_bounded_memory",
    "tests/test_fit_scale.py::test_long_table_recovers_truth_and_equals_all_rows_search",
    "tests/test_uncertainty.py::test_prediction_interval_calibration",
    "tests/test_builtin_data.py::",
    "tests/test_calibration.py::test_pythia_forecast_intervals_hold_the_truth",
    "tests/test_registry_fencing.py::test_resume_ends_when_a_run_died_on_its_last_attempt",
    "tests/test_results_protocol.py::",
)


def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.nodeid.startswith(SLOW) or item.get_closest_marker("slow"):
            item.add_marker(pytest.mark.slow)
