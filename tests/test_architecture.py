"""The house rules that keep the layout walkable: every import runs down the layer order the
README draws, no two modules import each other at load time, no source file grows past
400 lines, and the importable core needs neither dlib nor PyAV."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "twoface"

# Bottom to top (the README's "Architecture" section). A package may import from its own
# layer's modules and from any layer below it, never from one above.
LAYERS: list[set[str]] = [
    {"__init__", "types", "errors", "fileio", "device", "progress", "report"},
    {"metrics"},
    {"media"},
    {"provenance"},
    {"synth"},
    {"faces"},
    {"nn"},
    {"data"},
    {"models"},
    {"train"},
    {"apply"},
    {"forensics"},
    {"evaluate"},
    {"scan"},
    {"demo"},
    {"web"},
    {"cli"},
]
RANK = {name: i for i, names in enumerate(LAYERS) for name in names}
MAX_LINES = 400


def _module(path: Path) -> str:
    parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path, *, top_level_only: bool) -> set[str]:
    """The ``twoface`` modules ``path`` imports (anywhere, or only at load time)."""
    tree = ast.parse(path.read_text("utf-8"))
    package = _module(path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    found: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            target = ".".join([*base, node.module] if node.module else base)
            found.add(target)
            # `from twoface.x import y` may name the module twoface.x.y
            found.update(f"{target}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
    modules = {_module(p) for p in SRC.rglob("*.py")}
    return {m for m in found if m in modules}


def _layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _sources() -> list[Path]:
    return sorted(SRC.rglob("*.py"))


def test_every_package_has_a_layer() -> None:
    missing = {_layer(_module(p)) for p in _sources()} - set(RANK)
    assert not missing, f"give these a place in LAYERS and the README: {sorted(missing)}"


def test_imports_only_run_down_the_layers() -> None:
    upward = []
    for path in _sources():
        here = _module(path)
        for target in _imports(path, top_level_only=False):
            if RANK[_layer(target)] > RANK[_layer(here)]:
                upward.append(f"{here} -> {target}")
    assert not upward, "imports against the layer order:\n" + "\n".join(sorted(upward))


def test_no_import_cycle_at_load_time() -> None:
    graph = {_module(p): _imports(p, top_level_only=True) for p in _sources()}
    # A package's __init__ re-exporting its own modules is not a cycle through them.
    for mod, targets in graph.items():
        graph[mod] = {t for t in targets if t != mod and not mod.startswith(t + ".")}
    state: dict[str, int] = {}
    cycles: list[str] = []

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                cycles.append(" -> ".join([*stack[stack.index(nxt):], nxt]))
            elif nxt not in state:
                visit(nxt, [*stack, nxt])
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    assert not cycles, "import cycles:\n" + "\n".join(cycles)


def test_no_source_file_over_the_limit() -> None:
    long = [f"{p.relative_to(SRC)}: {n}" for p in _sources()
            if (n := len(p.read_text("utf-8").splitlines())) > MAX_LINES]
    assert not long, f"split these (over {MAX_LINES} lines): {long}"


def _blocking(blocked: tuple[str, ...], body: str) -> subprocess.CompletedProcess[str]:
    """Run ``body`` in a fresh interpreter where importing any of ``blocked`` fails."""
    code = ("import sys\n"
            "class Block:\n"
            "    def find_spec(self, name, path=None, target=None):\n"
            f"        if name.split('.')[0] in {blocked!r}:\n"
            "            raise ImportError('blocked: ' + name)\n"
            "sys.meta_path.insert(0, Block())\n" + body)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)


ALL_COMMANDS = ("from twoface.cli.app import COMMANDS, GROUPS, load_command\n"
                "for name, target in COMMANDS.items():\n"
                "    load_command(name, target)\n"
                "for _, commands in GROUPS.values():\n"
                "    for name, target in commands.items():\n"
                "        load_command(name, target)\n")


@pytest.mark.parametrize("module", ["twoface.models", "twoface.train.loop", "twoface.cli"])
def test_core_imports_without_dlib_or_av(module: str) -> None:
    """A GPU box has torch but neither dlib nor PyAV: what trains there must import there,
    and every command of the CLI must load without either."""
    body = f"import {module}\n" + (ALL_COMMANDS if module == "twoface.cli" else "")
    run = _blocking(("dlib", "av", "face_recognition_models"), body)
    assert run.returncode == 0, run.stderr[-2000:]


@pytest.mark.parametrize("command", ["verify", "detect", "mark", "inspect", "extract", "faces"])
def test_light_commands_start_without_torch(command: str) -> None:
    """Commands that refuse bad input from a header answer in well under a second: they must
    not load torch (2-3 s) before checking it. ``detect`` loads it once its inputs passed."""
    body = ("from twoface.cli.app import COMMANDS, load_command\n"
            f"load_command({command!r}, COMMANDS[{command!r}])\n")
    run = _blocking(("torch",), body)
    assert run.returncode == 0, run.stderr[-2000:]
