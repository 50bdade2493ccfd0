"""Derive ``nodes_spec/comfyui_core.json`` from a real ComfyUI ``/object_info``.

Usage: ``python codegen/derive_core_spec.py [--check]``: derives ``comfyui_core.json`` from
``../shared/comfyui/object_info_recent.json`` (today's ComfyUI, the default core spec) and
``comfyui_core_2025.json`` from ``object_info.json`` (October 2025). Each output is its source,
key for key, plus the
``"cmfy"`` extension on each node (``nodes_spec/FORMAT.md``):

- ``file_inputs``: inputs whose choices are files of the installation (``"model"`` files may be
  given as URLs on cmfy.cloud; ``"input"`` files are uploads), so not a fixed enum;
- ``validate_inputs``: the argument names of the node's own ``VALIDATE_INPUTS`` in core ComfyUI
  (``["**"]`` for ``**kwargs``), from :data:`VALIDATE_INPUTS` below.

``--check`` exits 1 when the committed file differs from what this script derives.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cmfy_graph.spec import _guess_file_kind  # noqa: E402

SHARED = ROOT.parent / "shared" / "comfyui"
#: (source /object_info, bundled spec): today's ComfyUI is the default core spec; the one of
#: October 2025 stays bundled as "core-2025" for older servers.
TARGETS = [
    (SHARED / "object_info_recent.json", ROOT / "nodes_spec" / "comfyui_core.json"),
    (SHARED / "object_info.json", ROOT / "nodes_spec" / "comfyui_core_2025.json"),
]

#: class_type -> argument names of VALIDATE_INPUTS in ComfyUI backend a125cd84 (Oct 2025).
#: Facts read from the ComfyUI sources; see nodes_spec/FORMAT.md. The names exclude the
#: class argument (``cls``/``s``); ``"**"`` stands for ``**kwargs``; a name ending in ``=``
#: has a default. A class that inherits the method is listed with its parent's arguments.
#: Where found (V1 ``VALIDATE_INPUTS`` / V3 ``validate_inputs`` overrides):
#:   nodes.py: LoadLatent, LoadImage, LoadImageMask; LoadImageOutput (inherits LoadImage)
#:   comfy_extras/nodes_webcam.py: WebcamCapture (inherits LoadImage)
#:   comfy_extras/nodes_audio.py: LoadAudio
#:   comfy_extras/nodes_video.py: LoadVideo (V3)
#:   comfy_extras/nodes_train.py: LoadImageSetNode
#:   comfy_api_nodes/nodes_tripo.py: TripoConversionNode (takes input_types)
#:   comfy_api_nodes/nodes_bfl.py: FluxProUltraImageNode (V3)
#:   comfy_api_nodes/nodes_kling.py: KlingCameraControls (V3)
VALIDATE_INPUTS: dict[str, list[str]] = {
    "LoadLatent": ["latent"],
    "LoadImage": ["image"],
    "LoadImageMask": ["image"],
    "LoadImageOutput": ["image"],
    "WebcamCapture": ["image"],
    "LoadAudio": ["audio"],
    "LoadVideo": ["file"],
    "LoadImageSetNode": ["images", "resize_method"],
    "TripoConversionNode": ["input_types"],
    "FluxProUltraImageNode": ["aspect_ratio"],
    # comfy_extras (2026): CustomCombo's validate_inputs takes its combo and returns True
    # (the choices are defined in the editor), so its value is never checked against []
    "CustomCombo": ["choice"],
    "KlingCameraControls": [
        "horizontal_movement",
        "vertical_movement",
        "pan",
        "tilt",
        "roll",
        "zoom",
    ],
}

#: class_type -> {input: kind} where the guess from the choices is not enough: inputs whose
#: value the node's VALIDATE_INPUTS checks as a file of the server's input folder.
FILE_INPUT_OVERRIDES: dict[str, dict[str, str]] = {
    "LoadLatent": {"latent": "input"},
    "WebcamCapture": {"image": "input"},
    "LoadImageOutput": {"image": "input"},
    "LoadImageSetNode": {"images": "input"},
}


def derive(source: dict) -> dict:
    out = {}
    for name, node in source.items():
        node = dict(node)
        files: dict[str, str] = {}
        inp = node.get("input") or {}
        for section in ("required", "optional"):
            for iname, raw in (inp.get(section) or {}).items():
                if not isinstance(raw, list) or not raw:
                    continue
                t = raw[0]
                opts = raw[1] if len(raw) > 1 and isinstance(raw[1], dict) else {}
                if isinstance(t, list):
                    kind = _guess_file_kind(iname, "COMBO", opts, t)
                elif t == "COMBO":
                    kind = _guess_file_kind(iname, "COMBO", opts, opts.get("options") or [])
                else:
                    kind = None
                if kind:
                    files[iname] = kind
        files.update(FILE_INPUT_OVERRIDES.get(name, {}))
        ext: dict = {"file_inputs": dict(sorted(files.items()))}
        if name in VALIDATE_INPUTS:
            ext["validate_inputs"] = VALIDATE_INPUTS[name]
        node["cmfy"] = ext
        out[name] = node
    return out


def render(source_path: Path) -> str:
    data = json.loads(source_path.read_text(encoding="utf-8"))
    return json.dumps(derive(data), indent=1, ensure_ascii=False, sort_keys=False) + "\n"


def main(argv: list[str]) -> int:
    check = "--check" in argv
    rc = 0
    for src, target in TARGETS:
        text = render(src)
        if check:
            if not target.is_file() or target.read_text(encoding="utf-8") != text:
                print(
                    f"{target} is out of date: run python codegen/derive_core_spec.py",
                    file=sys.stderr,
                )
                rc = 1
            continue
        target.write_text(text, encoding="utf-8")
        print(f"wrote {target} ({len(text)} bytes)")
    return rc


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
