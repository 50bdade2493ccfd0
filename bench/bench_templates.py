"""Per-workflow convert and lint times: today's official templates against the old devset.

Target (issue 10): converting (UI -> API) and linting one of the 644 official templates with
the recent spec is no slower per workflow than one devset workflow with the October 2025
spec. Both sets are timed in one run, in process (the best of REPEAT passes), and the ratio
templates / devset is printed next to each figure, then per node (the templates are larger
workflows with heavier nodes) and the spread of single workflows (median, p10, p90, and the
share of the slowest tenth: the mean is carried by a tail of large workflows).

Run: ``python bench/bench_templates.py [REPEAT]`` (needs ``comfyui-workflow-templates-json``,
installed by the ``test`` extra).
"""

from __future__ import annotations

import json
import statistics
import sys
import time
import warnings
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cmfy_graph.convert.ui import ui_to_api  # noqa: E402
from cmfy_graph.spec import load_spec  # noqa: E402
from cmfy_graph.validate import validate_prompt  # noqa: E402

COMFYUI = ROOT.parent / "shared" / "comfyui"


def templates() -> list[Path]:
    import comfyui_workflow_templates_json as t

    d = Path(t.__file__).parent / "templates"
    return [p for p in sorted(d.glob("*.json")) if not p.name.startswith(("index", "fuse"))]


def timed(workflows: list[Any], spec: Any, repeat: int) -> tuple[float, float]:
    """(best ms per workflow to convert, best ms per workflow to lint the conversions)."""
    prompts: list[Any] = []
    conv = lint = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        prompts = [ui_to_api(w, spec, warnings=[]) for w in workflows]
        conv = min(conv, time.perf_counter() - t)
        t = time.perf_counter()
        for p in prompts:
            validate_prompt(p, spec)
        lint = min(lint, time.perf_counter() - t)
    n = len(workflows)
    return conv / n * 1000, lint / n * 1000


def main() -> None:
    repeat = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    warnings.simplefilter("ignore")
    recent = load_spec(COMFYUI / "object_info_recent.json")
    old = load_spec(COMFYUI / "object_info.json")
    tpl = [json.loads(p.read_text(encoding="utf-8")) for p in templates()]
    dev = [
        json.loads(p.read_text(encoding="utf-8"))
        for p in sorted((COMFYUI / "devset" / "ui2api").glob("*.ui.json"))
    ]
    tc, tl = timed(tpl, recent, repeat)
    dc, dl = timed(dev, old, repeat)
    print(f"templates ({len(tpl)}, recent spec): convert {tc:.3f} ms/workflow, lint {tl:.3f} ms")
    print(f"devset    ({len(dev)}, 2025 spec):   convert {dc:.3f} ms/workflow, lint {dl:.3f} ms")
    print(f"ratio templates/devset: convert {tc / dc:.2f}x, lint {tl / dl:.2f}x")
    # the templates are bigger workflows: per node, too (UI nodes, subgraph definitions
    # included, for convert; prompt nodes for lint)
    ui_t = sum(_ui_nodes(w) for w in tpl) / len(tpl)
    ui_d = sum(_ui_nodes(w) for w in dev) / len(dev)
    api_t = sum(len(ui_to_api(w, recent, warnings=[])) for w in tpl) / len(tpl)
    api_d = sum(len(ui_to_api(w, old, warnings=[])) for w in dev) / len(dev)
    print(
        f"UI nodes per workflow: templates {ui_t:.1f}, devset {ui_d:.1f}; "
        f"prompt nodes: templates {api_t:.1f}, devset {api_d:.1f}"
    )
    ct, cd = tc / ui_t * 1000, dc / ui_d * 1000
    lt, ld = tl / api_t * 1000, dl / api_d * 1000
    print(
        f"per node: convert {ct:.1f} us vs {cd:.1f} us ({ct / cd:.2f}x), "
        f"lint {lt:.1f} us vs {ld:.1f} us ({lt / ld:.2f}x)"
    )
    # the mean is carried by a tail of large workflows: the spread of single workflows
    tcs, tls = per_workflow(tpl, recent, repeat)
    dcs, dls = per_workflow(dev, old, repeat)
    print(f"one workflow, convert: templates {_spread(tcs)}")
    print(f"                       devset    {_spread(dcs)}")
    print(f"one workflow, lint:    templates {_spread(tls)}")
    print(f"                       devset    {_spread(dls)}")
    print(
        "median ratio templates/devset: "
        f"convert {statistics.median(tcs) / statistics.median(dcs):.2f}x, "
        f"lint {statistics.median(tls) / statistics.median(dls):.2f}x"
    )


def per_workflow(workflows: list[Any], spec: Any, repeat: int) -> tuple[list[float], list[float]]:
    """Each workflow's best convert and lint time, in ms."""
    conv: list[float] = []
    lint: list[float] = []
    for w in workflows:
        c = v = float("inf")
        for _ in range(repeat):
            t = time.perf_counter()
            p = ui_to_api(w, spec, warnings=[])
            c = min(c, time.perf_counter() - t)
            t = time.perf_counter()
            validate_prompt(p, spec)
            v = min(v, time.perf_counter() - t)
        conv.append(c * 1000)
        lint.append(v * 1000)
    return conv, lint


def _spread(xs: list[float]) -> str:
    q = statistics.quantiles(xs, n=10)
    tail = sorted(xs, reverse=True)[: max(1, len(xs) // 10)]
    return (
        f"median {statistics.median(xs):.3f}, p10 {q[0]:.3f}, p90 {q[8]:.3f} ms; "
        f"the slowest tenth {sum(tail) / sum(xs):.0%} of the total"
    )


def _ui_nodes(wf: Any) -> int:
    n = len(wf.get("nodes") or [])
    for sg in (wf.get("definitions") or {}).get("subgraphs") or []:
        n += len(sg.get("nodes") or [])
    return n


if __name__ == "__main__":
    main()
