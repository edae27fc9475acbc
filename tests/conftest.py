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
    # over 0.7 s each on 2 idle cores (2026-12-02): the fast tier back under a minute
    "tests/test_component_diagnostics.py::test_olmo_ladder_step1_not_converged_is_an_error_in_every_rendering",
    "tests/test_component_diagnostics.py::test_many_task_ladder_names_each_tasks_findings",
    "tests/test_component_diagnostics.py::test_ladder_cli_text_and_json_show_step_findings",
    "tests/test_component_diagnostics.py::test_ladder_carries_its_step_fits_findings_named_by_step",
    "tests/test_component_diagnostics.py::test_forecast_json_and_report_carry_fit_codes_and_extrapolation",
    "tests/test_component_diagnostics.py::test_audit_says_which_folds_fits_have_which_findings",
    "tests/test_testbed_arms.py::test_prompt_specials_train_the_special_rows_only",
    "tests/test_parse_call_render_2.py::test_run_ladder_many_tasks_returns_what_the_command_prints",
    "tests/test_i17c_figure_colours.py::test_pretrain_choice_plot_is_the_isik_figure_the_report_draws",
    "tests/test_parse_call_render.py::test_build_report_has_the_sections_the_command_lists",
    "tests/test_parse_call_render_2.py::test_run_forecast_many_tasks_returns_what_the_command_prints",
    "tests/test_i2123_many_task_laws.py::test_single_task_json_records_the_laws_too",
    "tests/test_i2123_transfer_yardstick_code.py::test_a_clean_yardstick_gives_no_yardstick_diagnostic",
    "tests/test_i17c_figure_colours.py::test_isik_points_share_their_curves_colour_dashes_beyond_the_data_and_shade_it",
    "tests/test_i17c_figure_colours.py::test_pretrain_figure_marker_and_line_share_the_source_colour",
    "tests/test_harness_import.py::test_pythia_import_gives_models_by_27_checkpoints",
    "tests/test_preset_in_fit.py::test_only_fit_applies_presets",
    "tests/test_i17b_forecast_targets.py::test_each_target_has_its_own_colour_in_both_forecast_figures[names-from-data]",
    "tests/test_i1517_report_n.py::test_report_applies_where_before_checking_and_names_n",
    "tests/test_i23_json_precision.py::test_method_choice_tables_are_exact",
    "tests/test_calibration.py::test_forecast_without_enough_scales_says_uncalibrated",
    "tests/test_parse_call_render_2.py::test_run_ladder_one_task_returns_what_the_command_prints",
    "tests/test_sweep.py::test_sweep_plan_cli_with_overrides_and_a_gpu_rate",
    "tests/test_workflows.py::test_pretraining_choice_does_not_judge_unresolvable_bleu",
    "tests/test_parse_call_render_2.py::test_run_forecast_one_task_returns_what_the_command_prints",
    "tests/test_i17b_forecast_targets.py::test_each_target_has_its_own_colour_in_both_forecast_figures[row-numbers]",
    "tests/test_i21_transfer_figures.py::test_transfer_section_has_loss_and_fraction_figures_and_the_yardstick",
    "tests/hostile/test_hostile.py::test_summary",
    "tests/test_i21_ladder_expr.py::test_ladder_cli_takes_expression_laws_and_fix",
    "tests/test_preset_in_fit.py::test_folds_score_in_the_presets_space",
    "tests/test_i15_review.py::test_partial_side_table_warning_names_the_unmatched_not_give_side_table",
    "tests/test_harness_import.py::test_side_table_unmatched_models_listed_no_name_fallback",
    "tests/test_workflows.py::test_critical_finetune_size_is_found",
    "tests/test_i2123b_report_forecast.py::test_report_forecast_figures_name_targets_by_run",
    "tests/test_report_expression_law.py::test_report_fits_an_expression_law_with_a_fixed_parameter",
    "tests/test_i18_fold_fits.py::test_long_folds_search_on_their_own_subsample",
    "tests/test_i2123_interval_labels.py::test_factor_effects_and_constant_exponent_state_resamples",
    "tests/test_testbed_tasks.py::test_chrf_interval_and_paired_bootstrap",
    "tests/test_i17_checkpoint_suite.py::test_forecast_step1_legend_fits_after_targets",
    "tests/test_figures_h21.py::test_factor_effects_forest_plot_shows_each_exponent_and_interval",
    "tests/test_i2123_many_task_laws.py::test_ladder_many_tasks_records_laws_and_the_fixed_floor",
    "tests/test_zhang_joint.py::test_joint_out_feeds_fit_and_audit_on_the_cli",
    "tests/test_i15_audit_unpredictable.py::test_cli_audit_without_intervals_prints_no_miss",
    "tests/test_cli.py::test_audit_states_level_and_resamples_and_prints_percent",
    "tests/test_uncertainty.py::test_predict_with_interval",
    "tests/test_many_tasks.py::test_ladder_acc_col_acc_is_found",
    "tests/test_i21_audit_factors.py::test_largest_per_factor_names_the_factor_whose_extrapolation_fails",
    "tests/test_i2123_api_suffixes.py::test_ladder_tasks_target_with_suffixes_and_a_named_error",
    "tests/test_runs_checkpoints.py::test_cli_filters_before_validating_and_says_values_plainly",
    "tests/test_figures_h21_report.py::test_constant_exponent_section_sets_every_training_set_on_one_scale",
    "tests/test_i17c_figure_colours.py::test_factor_effects_marker_and_interval_share_the_factor_colour",
    "tests/test_workflows.py::test_no_crossing_is_said_and_too_few_methods_is_an_error",
    "tests/test_i18_fold_fits.py::test_leave_largest_out_folds_equal_separate_fits",
    "tests/test_transfer_regimes.py::test_high_data_runs_are_flagged_and_can_be_left_out",
    "tests/test_harness_import.py::test_side_table_names_match_by_normalised_rules",
    "tests/test_i17c_figure_colours.py::test_isik_shade_is_the_range_every_source_shares_so_no_dash_falls_inside_it",
    "tests/test_calibration_chain.py::test_no_fold_below_the_fitted_range_gives_none",
    "tests/test_uncertainty.py::test_grid_bootstrap_agrees_with_warm",
    "tests/test_cli.py::test_audit_where_limits_both_sides",
    "tests/test_reference_fit.py::test_full_strategy_agrees_with_screening",
    "tests/test_ladder.py::test_too_little_history_is_a_diagnostic_not_a_silent_fallback",
    "tests/test_i2123_many_task_laws.py::test_the_result_object_carries_the_laws",
    "tests/test_i17c_figure_colours.py::test_transfer_figure_points_share_their_law_colour_and_solid_stays_in_range",
    "tests/test_i17c_figure_colours.py::test_hernandez_figures_colour_each_model_size_once",
    "tests/test_i2123b_choose_method.py::test_converged_additive_law_that_wins_held_out_decides",
    "tests/test_i1517_step0.py::test_step0_tokens_are_written_as_0_and_commands_filter_them",
    "tests/test_plots.py::test_forecast_error_curve_is_dashed_beyond_the_error_fit",
    "tests/test_i14_calibration_width.py::test_forecast_learns_its_slope_along_size",
    "tests/test_ladder.py::test_step2_bootstrap_resamples_whole_runs",
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
