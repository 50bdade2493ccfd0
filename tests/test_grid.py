"""Contact sheets of a sweep (cmfy_graph.grid and `cmfy-graph grid`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from cmfy_graph.cli import main
from cmfy_graph.grid import BACKGROUND, GAP, PLACEHOLDER, GridError, contact_sheet

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
    assert w >= 4 * 64 and h >= 3 * 48
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
    assert sheet.image.getpixel((x0 + 5, y0 + 2)) == PLACEHOLDER


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


def test_the_sheet_looks_like_an_xy_plot(tmp_path: Path) -> None:
    """Issue 12 item 9: cells took no notice of the images (64x48 images drawn small in
    256-pixel squares, placeholders full size), failed cells dominated and the sheet was mostly
    white. Now the cells have the images' aspect, images fill them, a placeholder is the size
    of an image, cells are GAP pixels apart and the axes are named."""
    d = make_sweep_dir(tmp_path / "sw", missing=(2, 5.5))
    sheet = contact_sheet(d, "cfg", "seed", cell=256)
    img = sheet.image.convert("RGB")
    boxes = list(sheet.cells.values())
    sizes = {(b[2] - b[0], b[3] - b[1]) for b in boxes}
    assert sizes == {(256, 192)}  # one size for all, the images' 4:3, placeholders included
    # a tight grid
    a, b = sheet.cells[(0, 0)], sheet.cells[(1, 0)]
    assert b[0] - a[2] == GAP and sheet.cells[(0, 1)][1] - a[3] == GAP
    # images are scaled up to fill their cell: a corner pixel is the image's colour
    for (ci, ri), (x0, _y0, _x1, y1) in sheet.cells.items():
        if (ci, ri) not in sheet.missing:
            assert img.getpixel((x0 + 1, y1 - 2)) == color_of(SEEDS[ri], CFGS[ci])
    # the images hold the sheet: little white, and a failed cell is quiet (light, little ink)
    raw = img.tobytes()
    white = sum(1 for i in range(0, len(raw), 3) if tuple(raw[i : i + 3]) == BACKGROUND)
    assert white / (img.width * img.height) < 0.25
    x0, y0, x1, y1 = sheet.cells[(1, 1)]
    region = img.crop((x0, y0, x1, y1)).convert("L")
    from PIL import ImageStat

    assert ImageStat.Stat(region).mean[0] > 220
    assert dark_pixels(img, (x0, y0, x1, y1)) < 0.01 * region.width * region.height
    # the axes are named: ink above the column labels and left of the row labels
    top_of_labels = min(bx[1] for bx in sheet.column_labels)
    assert dark_pixels(img, (boxes[0][0], 0, boxes[-1][2], top_of_labels)) > 0
    left_of_rows = min(bx[0] for bx in sheet.row_labels)
    assert dark_pixels(img, (0, boxes[0][1], left_of_rows, boxes[-1][3])) > 0


def test_an_image_of_another_aspect_fits_inside_its_cell(tmp_path: Path) -> None:
    d = make_sweep_dir(tmp_path / "sw")
    odd = tmp_path / "sw" / "outputs" / "v005" / "0.png"
    Image.new("RGB", (30, 60), (0, 0, 0)).save(odd)  # tall, in a sheet of wide images
    sheet = contact_sheet(d, "cfg", "seed", cell=128)
    x0, y0, x1, y1 = sheet.cells[(1, 1)]
    img = sheet.image.convert("RGB")
    assert img.getpixel(((x0 + x1) // 2, (y0 + y1) // 2)) == (0, 0, 0)
    assert img.getpixel((x0 + 1, y0 + 1)) != (0, 0, 0)  # a margin beside it


def test_a_sheet_shows_itself_in_jupyter(tmp_path: Path) -> None:
    import io

    d = make_sweep_dir(tmp_path / "sw")
    sheet = contact_sheet(d, "cfg", "seed", cell=32)
    png = sheet._repr_png_()
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert Image.open(io.BytesIO(png)).size == sheet.size
