"""Regenerate everything generated in the repository, or check that it is up to date.

``python codegen/regen.py``: derive ``nodes_spec/comfyui_core.json`` from
``../shared/comfyui/object_info.json`` and regenerate ``cmfy_graph/nodes/`` from it.
``python codegen/regen.py --check``: regenerate into a temporary directory and exit 1 on any
difference with the committed files (CI runs this through the test suite).
"""

from __future__ import annotations

import filecmp
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

NODES_DIR = ROOT / "cmfy_graph" / "nodes"
SPEC_SOURCE = "nodes_spec/comfyui_core.json"


def generate_core(out: Path) -> None:
    import json

    from cmfy_graph.codegen.generator import generate
    from cmfy_graph.spec import Spec

    data = json.loads((ROOT / SPEC_SOURCE).read_text(encoding="utf-8"))
    generate(
        Spec.from_dict(data, source=SPEC_SOURCE, warn=False),
        out,
        package="nodes",
        source=SPEC_SOURCE,
    )


def diff_dirs(a: Path, b: Path) -> list[str]:
    names = {p.name for p in a.glob("*") if p.is_file()} | {
        p.name for p in b.glob("*") if p.is_file()
    }
    out = []
    for n in sorted(names):
        pa, pb = a / n, b / n
        if not pa.is_file() or not pb.is_file() or not filecmp.cmp(pa, pb, shallow=False):
            out.append(n)
    return out


def main(argv: list[str]) -> int:
    check = "--check" in argv
    derive = [sys.executable, str(ROOT / "codegen" / "derive_core_spec.py")]
    if check:
        rc = subprocess.call(derive + ["--check"])
        with tempfile.TemporaryDirectory() as tmp:
            generate_core(Path(tmp))
            changed = diff_dirs(NODES_DIR, Path(tmp))
        if changed:
            print("generated node classes are out of date: " + ", ".join(changed), file=sys.stderr)
            print("run: python codegen/regen.py", file=sys.stderr)
            return 1
        return rc
    subprocess.check_call(derive)
    generate_core(NODES_DIR)
    print(f"regenerated {NODES_DIR}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
