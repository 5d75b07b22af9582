"""`workflows-plugin samples`: the sample apps an installed package carries, listed and copied to a folder of
the user's, where they check clean and become the workspace (the wheel test runs the same from a wheel)."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from plugin.cli import main
from tests.checkout import SAMPLE_APPS

NAMES = sorted(p.name for p in SAMPLE_APPS.iterdir() if (p / "workspace.json").is_file())


def test_list_names_every_sample():
    result = CliRunner().invoke(main, ["samples", "list"])
    assert result.exit_code == 0, result.output
    assert [line.split()[0] for line in result.output.splitlines()] == NAMES


def test_copy_puts_every_sample_in_the_folder_and_they_check_clean(tmp_path: Path):
    target = tmp_path / "mine"
    result = CliRunner().invoke(main, ["samples", "copy", str(target)])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in target.iterdir()) == NAMES
    for name in NAMES:
        assert {p.relative_to(target / name) for p in (target / name).rglob("*")} == {
            p.relative_to(SAMPLE_APPS / name) for p in (SAMPLE_APPS / name).rglob("*") if "__pycache__" not in p.parts}
    assert "WORKFLOWS_WORKSPACE=" in result.output
    checked = CliRunner().invoke(main, ["check", *(str(target / n) for n in NAMES)])
    assert checked.exit_code == 0 and checked.output.startswith("OK:"), checked.output


def test_copy_of_some_samples_and_the_refusals(tmp_path: Path):
    runner = CliRunner()
    assert runner.invoke(main, ["samples", "copy", str(tmp_path), NAMES[0]]).exit_code == 0
    assert [p.name for p in tmp_path.iterdir()] == [NAMES[0]]
    again = runner.invoke(main, ["samples", "copy", str(tmp_path)])
    assert again.exit_code == 1 and "already exists: nothing was copied" in again.output
    assert [p.name for p in tmp_path.iterdir()] == [NAMES[0]]
    unknown = runner.invoke(main, ["samples", "copy", str(tmp_path / "x"), "no-such-sample"])
    assert unknown.exit_code == 1 and "no sample app named no-such-sample" in unknown.output
    assert not (tmp_path / "x").exists()
