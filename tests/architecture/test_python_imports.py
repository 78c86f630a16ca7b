"""No import cycles among the luaconn package's modules (bindings/python/luaconn).

Every import counts, module-level or inside a function: an import inside a function
only hides a cycle until that function runs."""
import ast
from pathlib import Path

PACKAGE = "luaconn"


def package_modules(package_dir: Path) -> dict:
    """{dotted module name: source path} for every .py file under package_dir."""
    modules = {}
    for path in sorted(package_dir.rglob("*.py")):
        parts = [PACKAGE, *path.relative_to(package_dir).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts.pop()
        modules[".".join(parts)] = path
    return modules


def imported_modules(module: str, path: Path, modules: dict):
    """The package's modules that module's import statements load, besides the
    packages above them (importing luaconn.x always imports luaconn first)."""
    is_package = path.name == "__init__.py"
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names if alias.name in modules)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                # "from . import x" in luaconn.spark means luaconn.x; in luaconn/__init__
                # the package itself is ".".
                parts = module.split(".")
                keep = len(parts) - node.level + (1 if is_package else 0)
                base = ".".join(parts[:keep] + ([node.module] if node.module else []))
            else:
                base = node.module
            for alias in node.names:
                # "from luaconn import errors" loads a module; "from luaconn import
                # Connector" runs luaconn/__init__.
                name = f"{base}.{alias.name}"
                if name in modules:
                    yield name
                elif base in modules:
                    yield base


def import_graph(package_dir: Path) -> dict:
    """{module: sorted modules of the package it imports}."""
    modules = package_modules(package_dir)
    return {module: sorted(set(imported_modules(module, path, modules)) - {module})
            for module, path in modules.items()}


def find_cycle(graph: dict):
    """One cycle as [a, b, ..., a], or None."""
    state = {}   # module -> "open" while on the DFS stack, "done" after

    def visit(module, stack):
        state[module] = "open"
        stack.append(module)
        for target in graph[module]:
            if state.get(target) == "open":
                return stack[stack.index(target):] + [target]
            if target not in state:
                cycle = visit(target, stack)
                if cycle:
                    return cycle
        stack.pop()
        state[module] = "done"
        return None

    for module in graph:
        if module not in state:
            cycle = visit(module, [])
            if cycle:
                return cycle
    return None


def test_find_cycle_reports_the_modules_in_order():
    assert find_cycle({"a": ["b"], "b": ["c"], "c": ["a"]}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": ["b", "c"], "b": ["c"], "c": []}) is None


def test_the_python_package_has_no_import_cycle(source_dir):
    graph = import_graph(source_dir / "bindings" / "python" / PACKAGE)
    assert "luaconn.spark_stream" in graph["luaconn.spark"]   # the graph is really built
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle)
