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
    # > 1.5 s each in a loaded run of the fast tier (pytest --durations; 2026-12-02): the
    # real-data forecasts, report sections and testbed checks that took it to 3.5 minutes;
    # then those over 1 s in the next loaded run (2.1 minutes)
    "tests/test_bootstrap_drift.py::test_drifting_resamples_are_kept_and_named",
    "tests/test_calibration.py::test_gadre_error_interval_stays_a_rate",
    "tests/test_calibration.py::test_interval_widens_with_distance_and_learns_from_folds",
    "tests/test_calibration_chain.py::test_step2_drift_is_learned_and_widens_the_interval",
    "tests/test_hostile_cli.py::test_a_kill_mid_write_keeps_the_old_fit",
    "tests/test_i18_fold_fits.py::test_leave_largest_out_audit_uses_the_batched_fits",
    "tests/test_i2123b_report_method.py::test_api_label_without_bootstrap",
    "tests/test_i2123b_report_method.py::test_crossing_intervals_state_level_and_resamples",
    "tests/test_i2123b_report_method.py::test_report_section_takes_metric_and_bootstrap",
    "tests/test_i2123b_report_method.py::test_report_section_takes_the_requested_law",
    "tests/test_i23_json_precision.py::test_pretraining_choice_ranking_is_exact",
    "tests/test_ladder.py::test_ladder_states_its_interval_level_and_resamples",
    "tests/test_merge_inspect_real.py::test_olmo_merge_keeps_labels_as_written_and_filters_first",
    "tests/test_plots.py::test_isik_token_axes_use_the_shared_ticks_not_si_prefixes",
    "tests/test_plots.py::test_method_curves_are_dashed_beyond_their_fits",
    "tests/test_plots.py::test_method_curves_stay_near_the_data_and_crossings",
    "tests/test_sweep.py::test_builtin_gpu_spec_is_an_h100_hour_that_fits_in_memory",
    "tests/test_testbed.py::test_bad_input_named_errors",
    "tests/test_testbed_arms.py::test_zero_tokens_is_random_initialisation_recorded_as_zero",
    "tests/test_uncertainty.py::test_leave_largest_out_curve_and_law_comparison",
    "tests/test_workflows.py::test_gadre_default_procedure_has_intervals",
    "tests/test_workflows.py::test_method_choice_says_where_it_extrapolates",
    "tests/test_workflows.py::test_pretraining_choice_ranks_and_flags",
    "tests/test_zhang_choice.py::test_demo_default_decides_with_the_law_that_wins_held_out",
    "tests/test_zhang_choice.py::test_requested_additive_law_that_loses_held_out_is_said",
    "tests/test_cloze_scoring.py::test_batched_scoring_equals_one_sequence_at_a_time",
    "tests/test_figures_h21.py::test_method_figure_draws_held_out_curves_dashed_and_both_crossings",
    "tests/test_figures_h21_report.py::test_method_sections_render",
    "tests/test_gadre_exponent.py::test_gadre_runs_per_training_set_and_cli",
    "tests/test_i14_calibration_width.py::test_chinchilla_leave_largest_out_is_calibrated_not_enormous",
    "tests/test_i17_tables.py::test_wide_long_table_scrolls_inside_its_card",
    "tests/test_i2123_api_suffixes.py::test_forecast_tasks_targets_with_suffixes_equal_numbers",
    "tests/test_i2123_interval_labels.py::test_transfer_comparison_states_level_and_resamples",
    "tests/test_i2123_many_task_laws.py::test_forecast_many_tasks_json_records_both_laws_per_task",
    "tests/test_i2123_parity_workflows.py::test_many_task_forecast_and_ladder_cli_equal_api",
    "tests/test_i2123_transfer_yardstick_code.py::test_a_degenerate_yardstick_is_a_yardstick_error_everywhere",
    "tests/test_i2123_transfer_yardstick_code.py::test_the_report_shows_a_yardstick_finding_with_its_code",
    "tests/test_i2123b_choose_method.py::test_default_does_not_decide_with_a_non_converged_law",
    "tests/test_i2123b_choose_method.py::test_requested_law_with_a_non_converged_fit_says_so",
    "tests/test_i21_isik_figure.py::test_isik_figure_has_score_and_ce_panels_fitted_curves_and_the_verdict",
    "tests/test_ladder.py::test_arc_easy_intervals_learn_from_compute_folds_and_step2_drift",
    "tests/test_ladder.py::test_chained_predictions_match_the_paper",
    "tests/test_many_tasks.py::test_long_table_with_task_col",
    "tests/test_many_tasks.py::test_olmo_ladder_tasks_in_one_command_with_truth",
    "tests/test_many_tasks.py::test_pythia_forecast_of_several_tasks_from_lambada_ce",
    "tests/test_merge_inspect_real.py::test_olmo_tasks_join_checkpoints_on_run_and_step",
    "tests/test_plots.py::test_pretrain_figure_plots_the_score_the_choice_was_made_on",
    "tests/test_public_api.py::test_core_import_stays_light",
    "tests/test_report_paper_sections.py::test_report_draws_gadre_task_selection_and_constant_exponent",
    "tests/test_sweep.py::test_finetuned_models_are_scored_zero_shot_on_the_accuracy_task",
    "tests/test_sweep.py::test_finetuning_seeds_share_one_pretraining_run",
    "tests/test_testbed_arms.py::test_preset_runner_and_sweep_write_one_row_schema",
    "tests/test_testbed_tasks.py::test_verse_cloze_items_are_held_out_and_matched",
    "tests/test_testbed_writes.py::test_corpus_cache_is_never_written_through_a_planted_link",
    "tests/test_zhang_choice.py::test_crossing_intervals_contain_the_crossing_they_are_quoted_beside",
    "tests/test_zhang_choice.py::test_demo_multiplicative_decision_checked_held_out",
)


def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.nodeid.startswith(SLOW) or item.get_closest_marker("slow"):
            item.add_marker(pytest.mark.slow)
