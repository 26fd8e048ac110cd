"""The command line as a new user meets it: every command and option explained, choices read
from the registry and the ``Literal`` types (never a hand-copied list), flags without a type
label, ``--version``, one-line errors, commands callable as plain functions, and the one
training runner."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, get_args

import pytest
import typer
from typer.main import get_command
from typer.testing import CliRunner

from twoface import __version__
from twoface.apply.swap import Direction
from twoface.cli import app
from twoface.errors import TwofaceError
from twoface.models import gan, motion, swap_ae
from twoface.models.registry import names
from twoface.train.presets import MOTION_PRESETS, SWAP_PRESETS, PresetName
from twoface.types import BlendName, ColorMatchName, DetectorName, OneShotEngine


def _walk(command: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[str, Any]]:
    """Every command under ``command``, loaded as ``--help`` would (the app's groups load
    their commands' modules on demand)."""
    yield " ".join(path), command
    if hasattr(command, "list_commands"):
        ctx = typer.Context(command)
        for name in command.list_commands(ctx):
            yield from _walk(command.get_command(ctx, name), (*path, name))


COMMANDS = dict(_walk(get_command(app)))


def _params(name: str) -> list[Any]:
    """The parameters of command ``name`` (``"train swap"``), ``--help`` included."""
    command = COMMANDS[name]
    return command.get_params(typer.Context(command))


def test_every_command_option_and_argument_has_help() -> None:
    missing = [f"{name or 'twoface'}" for name, cmd in COMMANDS.items() if not cmd.help]
    missing += [f"{name} {p.opts[0] if p.opts else p.name}" for name in COMMANDS
                for p in _params(name) if not (p.help or "").strip()]
    assert not missing, f"no help text: {missing}"


def test_flags_show_no_type_label() -> None:
    for name, command in COMMANDS.items():
        ctx = typer.Context(command)
        for p in command.get_params(ctx):
            if getattr(p, "is_flag", False):
                assert not p.display_type_rich(ctx), f"{name} {p.opts}"
        shown = CliRunner().invoke(app, [*name.split(), "--help"], env={"COLUMNS": "200"})
        assert shown.exit_code == 0, shown.output
        assert "<bool>" not in shown.output and "BOOLEAN" not in shown.output, name


# Every option that takes a choice, and the one place its choices come from.
CHOICES: dict[tuple[str, str], tuple[Any, ...]] = {
    ("extract", "--detector"): get_args(DetectorName),
    ("swap", "--direction"): get_args(Direction),
    ("swap", "--blend"): get_args(BlendName),
    ("swap", "--color"): get_args(ColorMatchName),
    ("swap", "--engine"): get_args(OneShotEngine),
    ("train swap", "--model"): tuple(names("swap")),
    ("train swap", "--size"): swap_ae.SIZES,
    ("train swap", "--preset"): get_args(PresetName),
    ("train motion", "--model"): tuple(names("motion")),
    ("train motion", "--size"): motion.SIZES,
    ("train motion", "--preset"): get_args(PresetName),
    ("reenact", "--engine"): get_args(OneShotEngine),
    ("reenact", "--blend"): get_args(BlendName),
    ("reenact", "--color"): get_args(ColorMatchName),
    ("train gan", "--model"): tuple(names("gan")),
    ("train gan", "--size"): gan.SIZES,
    ("train detector", "--model"): tuple(names("detector")),
    ("eval cross-method", "--model"): tuple(names("detector")),
}


def test_choices_come_from_the_registry_and_the_literal_types() -> None:
    found = {(name, p.opts[-1]): tuple(p.type_descriptor.choices) for name in COMMANDS
             for p in _params(name) if getattr(p, "type_descriptor", None) is not None
             and p.type_descriptor.choices is not None}
    assert found == CHOICES
    assert 32 in found[("train gan", "--size")]  # the GAN accepts 32; the old help said not
    assert set(get_args(PresetName)) == set(SWAP_PRESETS) == set(MOTION_PRESETS)


def test_extract_defaults_match_the_library() -> None:
    # The one restated set of defaults (data.extract loads PyAV, which the CLI must not).
    from twoface.cli.faces import EXTRACT_DEFAULTS
    from twoface.data.extract import ExtractOptions

    lib = ExtractOptions()
    assert {k: getattr(lib, k) for k in EXTRACT_DEFAULTS} == EXTRACT_DEFAULTS


def test_version() -> None:
    res = CliRunner().invoke(app, ["--version"])
    assert res.exit_code == 0 and res.stdout == f"twoface {__version__}\n"


def _main(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    from twoface.cli import main

    capsys.readouterr()
    argv, sys.argv = sys.argv, ["twoface", *args]
    try:
        main()
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    finally:
        sys.argv = argv
    got = capsys.readouterr()
    return code, got.out, got.err


def test_a_user_error_is_one_line_on_stderr_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _main(capsys, "faces", "/nonexistent")
    assert (code, out, err) == (2, "", "error: /nonexistent: not a faceset (no alignments.json)\n")
    # Refused before its progress bar showed anything: no blank line from the bar.
    code, _, err = _main(capsys, "detect", "/nonexistent", "--no-provenance")
    assert code == 2 and err == "error: /nonexistent: does not exist\n"


def test_the_console_script_entry_point() -> None:
    run = subprocess.run([sys.executable, "-c", "from twoface.cli import main; main()",
                          "faces", "/nonexistent"], capture_output=True, text=True)
    assert run.returncode == 2 and run.stdout == ""
    assert run.stderr == "error: /nonexistent: not a faceset (no alignments.json)\n"


def test_a_usage_error_keeps_clicks_exit_code(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _main(capsys, "swap", "in.mp4", "-m", "m", "-o", "o.mp4", "--blend", "x")
    assert code == 2 and "'--blend'" in err and "Traceback" not in err


def test_commands_are_plain_functions(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                      ) -> None:
    from twoface.cli import faces, provenance

    with pytest.raises(TwofaceError, match="not a faceset"):
        faces.faces(tmp_path)
    provenance.keys_init(home=tmp_path)
    assert "signing keys written to" in capsys.readouterr().out
    assert list((tmp_path / "keys").glob("*.pem"))


def test_training_runner_summary_and_overrides(tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    from twoface.cli import training
    from twoface.train.loop import TrainOptions, TrainResult

    seen: list[tuple[TrainOptions, dict]] = []

    def job(opts: TrainOptions, cfg: dict) -> TrainResult:
        seen.append((opts, cfg))
        return TrainResult(start_step=2, step=6, seconds=3.2, examples_per_s=12.5,
                           last={"loss": 0.25})

    how = training.Run(output=tmp_path, steps=6, resume=True, device="cpu",
                       set=["latent=512", "norm=pixel"])
    training.run(how, "train x", job)
    opts, cfg = seen[0]
    assert (opts.steps, opts.resume, opts.device, opts.description) == (6, True, "cpu", "train x")
    assert cfg == {"latent": 512, "norm": "pixel"}
    assert capsys.readouterr().out == (f"steps 2→6 in 3 s, 12.5 examples/s, loss 0.2500; "
                                       f"model in {tmp_path}\n")
    with pytest.raises(TwofaceError, match="key=value"):
        training.run(training.Run(output=tmp_path, steps=1, set=["latent"]), "x", job)


def test_training_runner_ctrl_c(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from twoface.cli import training

    def job(opts: Any, cfg: dict) -> None:
        raise KeyboardInterrupt

    with pytest.raises(typer.Exit) as info:
        training.run(training.Run(output=tmp_path, steps=1), "train x", job)
    assert info.value.exit_code == 130
    assert capsys.readouterr().err == (f"interrupted: checkpoint saved in {tmp_path}; "
                                       "continue with --resume\n")
    (tmp_path / "samples").mkdir()
    (tmp_path / "samples" / "latest.png").write_bytes(b"")  # what fit leaves on Ctrl-C
    with pytest.raises(typer.Exit):
        training.run(training.Run(output=tmp_path, steps=1), "train x", job)
    assert capsys.readouterr().err == (
        f"interrupted: checkpoint saved in {tmp_path} (preview {tmp_path}/samples/latest.png);"
        " continue with --resume\n")
