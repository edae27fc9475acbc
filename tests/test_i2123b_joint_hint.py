"""`fit --law finetune_joint` on a factor-tagged table: the error says what builds x_model /
x_data / x_pet (factor-effects --joint-out), not `--map x_model=COLUMN`, which cannot work
(no single column holds them) — and what it says runs (issue 21/23 verification)."""

from click.testing import CliRunner

from scalinglab.cli import main
from tests.test_zhang_joint import _long


def test_hint_names_the_command_that_builds_the_columns_and_it_works(tmp_path):
    data, joint = tmp_path / "ft.csv", tmp_path / "joint.csv"
    _long().to_csv(data, index=False)  # no method column: the hint's --by ''
    r = CliRunner().invoke(main, ["fit", str(data), "--law", "finetune_joint"])
    assert r.exit_code != 0
    assert "--map x_model=COLUMN" not in r.output
    assert "--joint-out joint.csv (--by '' if the table has no method column)" in r.output
    steps = [
        ["factor-effects", str(data), "--factor", "n_params", "--factor", "tokens",
         "--factor", "lora_rank", "--by", "", "--bootstrap", "0", "--joint-out", str(joint)],
        ["fit", str(joint), "--law", "finetune_joint", "--json"],
    ]  # fmt: skip
    for args in steps:
        r = CliRunner().invoke(main, args)
        assert r.exit_code == 0, r.output
    assert '"alpha_model"' in r.stdout
