"""Copy the front-end libraries that ``npm ci`` put in ui/node_modules into the web UI's static
folder (core/orchestrator/serve/ui/static/vendor/<package>/), each with its licence and its
package.json (which names the version; tests/test_ui_assets.py checks it against package-lock.json).

Only the browser builds the UI imports are copied: the wheel ships these files, and the UI must
work offline, so nothing is fetched at run time. Run through ``make ui-assets``.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
MODULES = HERE / "node_modules"
VENDOR = HERE.parent / "core" / "orchestrator" / "serve" / "ui" / "static" / "vendor"

#: package -> the files of it the UI needs (paths inside the package); package.json and the licence
#: files always come along
FILES: dict[str, tuple[str, ...]] = {
    "preact": ("dist/preact.mjs",),
    "htm": ("dist/htm.mjs",),
}
LICENCES = ("LICENSE", "LICENSE.md", "LICENSE.txt")


def main() -> int:
    if not MODULES.is_dir():
        print("error: ui/node_modules is missing: run `npm ci` in ui/ first (make ui-assets does)", file=sys.stderr)
        return 2
    shutil.rmtree(VENDOR, ignore_errors=True)
    for package, files in FILES.items():
        source, target = MODULES / package, VENDOR / package
        target.mkdir(parents=True)
        licences = [name for name in LICENCES if (source / name).is_file()]
        if not licences:
            print(f"error: {package} ships no licence file", file=sys.stderr)
            return 2
        for name in (*files, "package.json", *licences):
            shutil.copyfile(source / name, target / Path(name).name)
    print(f"vendored {', '.join(FILES)} into {VENDOR.relative_to(HERE.parent)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
