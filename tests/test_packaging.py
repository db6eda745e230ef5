"""The conda environment.yml lists the same packages as pyproject.toml (runtime + test + docs)."""
import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def names(reqs):
    return {re.split(r"[<>=!~\[; ]", r.strip(), maxsplit=1)[0].lower() for r in reqs if r.strip()}


def test_environment_matches_pyproject():
    proj = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = proj["optional-dependencies"]
    wanted = names(proj["dependencies"]) | names(extras["test"]) | names(extras["docs"])
    env = (ROOT / "environment.yml").read_text()
    pip_section = env.split("- pip:", 1)[1]
    listed = names(re.findall(r"^\s+-\s+(\S+)", pip_section, re.M))
    assert listed == wanted, f"only in environment.yml: {listed - wanted}; only in pyproject: {wanted - listed}"


def test_makefile_pins_torch_like_environment():
    mk, env = (ROOT / "Makefile").read_text(), (ROOT / "environment.yml").read_text()
    for pin in ("torch==2.14.1", "torchvision==0.29.1"):
        assert pin in mk and pin in env


def test_ci_calls_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text()
    assert "make test" in ci and "make test" in (ROOT / "README.md").read_text()


def _imports(path):
    """The mixgan modules a file imports (absolute names), top level and inside functions."""
    import ast
    pkg = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            base = pkg.rsplit(".", node.level - 1)[0] if node.level > 1 else pkg
            mod = (base + "." + node.module if node.module else base) if node.level else node.module or ""
            out |= {mod} | {f"{mod}.{a.name}" for a in node.names}
        elif isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
    return {m for m in out if m.startswith("mixgan")}


def test_modules_are_small_and_imports_flow_one_way():
    """No module over 400 lines; plots, widgets and analysis never import training or the toy trainers;
    only mixgan.results (and the benchmarks) know results/."""
    files = sorted((ROOT / "mixgan").rglob("*.py"))
    for f in files:
        assert len(f.read_text().splitlines()) <= 400, f
    below_train = [f for f in files if f.parent.name in ("plots", "analysis", "metrics", "nets", "data")
                   or f.name in ("widgets.py", "results.py", "presets.py")]
    for f in below_train:
        bad = {m for m in _imports(f) if m.startswith(("mixgan.train", "mixgan.toys", "mixgan.sweep"))}
        assert not bad, (f, bad)
    for f in files:
        if f.name != "results.py" and f != ROOT / "mixgan" / "__init__.py":      # the package face hands it on
            assert "mixgan.results" not in _imports(f), f
            assert '"results"' not in f.read_text() or f.name == "features.py", f   # shipped weights only
