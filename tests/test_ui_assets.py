"""The web UI's front-end libraries: vendored from the npm registry at exactly the versions
ui/package-lock.json pins (``make ui-assets`` re-vendors them), each with its licence, and every
module the UI's scripts import present in the package (no CDN: the UI works offline)."""

from __future__ import annotations

import json
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
LOCK = REPO / "ui" / "package-lock.json"
STATIC = REPO / "core" / "orchestrator" / "serve" / "ui" / "static"
VENDOR = STATIC / "vendor"


def locked() -> dict[str, str]:
    packages = json.loads(LOCK.read_text(encoding="utf-8"))["packages"]
    return {path.removeprefix("node_modules/"): entry["version"] for path, entry in packages.items() if path}


def test_the_dependencies_are_pinned_exactly_and_locked() -> None:
    wanted = json.loads((REPO / "ui" / "package.json").read_text(encoding="utf-8"))["dependencies"]
    versions = locked()
    for name, spec in wanted.items():
        assert re.fullmatch(r"\d+\.\d+\.\d+", spec), f"{name} is not pinned to one version: {spec!r}"
        assert versions[name] == spec, f"{name}: package.json wants {spec}, the lock has {versions[name]}"


def test_every_vendored_package_is_the_locked_version_with_its_licence() -> None:
    versions = locked()
    vendored = sorted(p.parent for p in VENDOR.rglob("package.json"))
    assert vendored, "nothing vendored: run `make ui-assets`"
    assert {str(p.relative_to(VENDOR)) for p in vendored} == set(versions), "vendor/ and the lock name different packages"
    for folder in vendored:
        name = str(folder.relative_to(VENDOR))
        manifest = json.loads((folder / "package.json").read_text(encoding="utf-8"))
        assert manifest["name"] == name
        assert manifest["version"] == versions[name], f"{name}: vendored {manifest['version']}, locked {versions[name]}"
        assert any((folder / licence).is_file() for licence in ("LICENSE", "LICENSE.md", "LICENSE.txt")), f"{name} has no licence file"


def test_every_module_the_scripts_import_is_shipped() -> None:
    """A relative import that points nowhere would fail only in the browser; here it fails the suite,
    and so would a bare or remote specifier (which needs an import map or a CDN)."""
    scripts = sorted((STATIC / "js").rglob("*.js"))
    assert scripts
    for script in scripts:
        for specifier in re.findall(r"^import\s[^'\"]*['\"]([^'\"]+)['\"]", script.read_text(encoding="utf-8"), re.MULTILINE):
            assert specifier.startswith("."), f"{script.relative_to(STATIC)} imports {specifier!r}: only files of the package may be imported"
            assert (script.parent / specifier).resolve().is_file(), f"{script.relative_to(STATIC)} imports {specifier}, which is missing"
