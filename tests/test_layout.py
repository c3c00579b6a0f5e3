"""The package's rooms import only downwards (docs/architecture.md): no module imports from a
room on its own floor or above, so there is no cycle between rooms and no arrow back up."""

import ast
from pathlib import Path

import hammer_fc

FLOORS = {
    "errors": 1,
    **dict.fromkeys(("cpu", "outputs", "schema"), 2),
    "model_spec": 3,
    **dict.fromkeys(("formats", "export"), 4),
    "prompts": 5,
    **dict.fromkeys(("augment", "inference"), 6),
    **dict.fromkeys(("prepare", "eval", "serve"), 7),
    **dict.fromkeys(("train", "bench"), 8),
    "recipes": 9,
    "cli": 10,
}
"""Room (a top-level module or package of hammer_fc) -> floor, as docs/architecture.md draws it."""

PACKAGE = Path(hammer_fc.__file__).parent


def _room(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if parts[0] == "hammer_fc" and len(parts) > 1 else None


def _imports(path: Path) -> set[str]:
    """Every ``hammer_fc...`` module ``path`` imports, at the top or inside a function."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names if node.module == "hammer_fc")
    return {name for name in found if name.startswith("hammer_fc.")}


def test_every_room_has_a_floor() -> None:
    rooms = {p.stem if p.is_file() else p.name for p in PACKAGE.iterdir() if not p.name.startswith("__")}
    rooms = {r for r in rooms if (PACKAGE / f"{r}.py").is_file() or (PACKAGE / r / "__init__.py").is_file()}
    assert rooms == set(FLOORS)


def test_imports_only_go_down() -> None:
    upward = []
    for path in sorted(PACKAGE.rglob("*.py")):
        room = path.relative_to(PACKAGE).parts[0].removesuffix(".py")
        for name in _imports(path):
            target = _room(name)
            if target is None or target == room or target not in FLOORS:
                continue
            if FLOORS[target] >= FLOORS[room]:
                upward.append(f"{path.relative_to(PACKAGE)} -> {name}")
    assert upward == []
