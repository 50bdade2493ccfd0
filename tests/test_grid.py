"""Contact sheets of a sweep (cmfy_graph.grid and `cmfy-graph grid`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from cmfy_graph.cli import main
from cmfy_graph.grid import GridError, contact_sheet

SEEDS = [1, 2, 3]
CFGS = [4.0, 5.5, 7.0, 8.5]


def color_of(seed: int, cfg: float) -> tuple[int, int, int]:
    return (40 * seed + 20, int(cfg * 20), 255 - 30 * seed)


def make_sweep_dir(
    root: Path, *, missing: tuple[int, float] | None = None, extra: bool = False
) -> Path:
    """A sweep directory as the runner leaves it: results.jsonl and one PNG per variant,
    each filled with a colour that encodes its parameters."""
    (root / "outputs").mkdir(parents=True)
    rows = []
    index = 0
    for seed in SEEDS:
        for cfg in CFGS:
            for steps in [20, 30] if extra else [20]:
                vid = f"v{index:03d}"
                rel = f"outputs/{vid}/0.png"
                (root / "outputs" / vid).mkdir()
                Image.new("RGB", (64, 48), color_of(seed, cfg)).save(root / rel)
                params: dict[str, Any] = {"KSampler.seed": seed, "KSampler.cfg": cfg}
                if extra:
                    params["KSampler.steps"] = steps
                status = "completed"
                files = [rel]
                if missing == (seed, cfg):
                    status, files = "failed", []
                rows.append(
                    {"index": index, "id": vid, "params": params, "status": status, "files": files}
                )
                index += 1
    (root / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return root


def dark_pixels(img: Image.Image, box: tuple[int, int, int, int]) -> int:
    region = img.crop(box).convert("L")
    return sum(region.histogram()[:128])


def test_contact_sheet_4x3(tmp_path: Path) -> None:
    d = make_sweep_dir(tmp_path / "sw")
    sheet = contact_sheet(d, "cfg", "seed", out=tmp_path / "sheet.png", cell=64)
    on_disk = Image.open(tmp_path / "sheet.png")
    assert on_disk.format == "PNG" and on_disk.size == sheet.size
    assert sheet.columns == CFGS and sheet.rows == SEEDS
    assert len(sheet.cells) == 12 and not sheet.missing
    w, h = sheet.size
    assert w >= 4 * 64 and h >= 3 * 64
    img = on_disk.convert("RGB")
    # each cell shows the image of its own parameters (centre pixel = that variant's colour)
    for (ci, ri), (x0, y0, x1, y1) in sheet.cells.items():
        assert img.getpixel(((x0 + x1) // 2, (y0 + y1) // 2)) == color_of(SEEDS[ri], CFGS[ci])
    # labels: one per column and row, inside the sheet, left of / above the cells, with ink
    assert len(sheet.column_labels) == 4 and len(sheet.row_labels) == 3
    first_cell = sheet.cells[(0, 0)]
    for box in sheet.column_labels:
        assert box[3] <= first_cell[1] and dark_pixels(img, box) > 0
    for box in sheet.row_labels:
        assert box[2] <= first_cell[0] and dark_pixels(img, box) > 0
    # different values, different label pictures
    crops = {img.crop(b).tobytes() for b in sheet.column_labels}
    assert len(crops) == 4


def test_missing_image_gets_placeholder(tmp_path: Path) -> None:
    d = make_sweep_dir(tmp_path / "sw", missing=(2, 5.5))
    sheet = contact_sheet(d, "KSampler.cfg", "KSampler.seed", cell=48)
    assert sheet.missing == [(1, 1)]
    x0, y0, x1, y1 = sheet.cells[(1, 1)]
    assert sheet.image.getpixel((x0 + 2, y0 + 2)) == (200, 200, 200)


def test_other_varying_parameter_needs_where(tmp_path: Path) -> None:
    d = make_sweep_dir(tmp_path / "sw", extra=True)
    with pytest.raises(GridError, match="KSampler.steps"):
        contact_sheet(d, "cfg", "seed", cell=32)
    sheet = contact_sheet(d, "cfg", "seed", where={"steps": "30"}, cell=32)
    assert len(sheet.cells) == 12 and not sheet.missing


def test_single_row_and_errors(tmp_path: Path) -> None:
    d = make_sweep_dir(tmp_path / "sw")
    sheet = contact_sheet(d, "seed", where={"cfg": 7}, cell=32)
    assert sheet.columns == SEEDS and sheet.rows == [] and len(sheet.cells) == 3
    with pytest.raises(GridError, match="did you mean 'KSampler.seed'"):
        contact_sheet(d, "KSampler.sed", cell=32)
    with pytest.raises(GridError, match="no such file"):
        contact_sheet(tmp_path / "nothing", "seed")


def test_grid_command(tmp_path: Path, capsys: Any) -> None:
    d = make_sweep_dir(tmp_path / "sw")
    out = tmp_path / "g.png"
    assert main(["grid", str(d), "--x", "cfg", "--y", "seed", "-o", str(out), "--cell", "40"]) == 0
    assert Image.open(out).size[0] >= 160
    assert "4 x 3 cells" in capsys.readouterr().out
    assert main(["grid", str(d), "--x", "nope"]) == 2
    assert "no parameter 'nope'" in capsys.readouterr().err
