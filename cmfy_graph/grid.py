"""Contact sheets: a sweep's output images in a grid, labelled with the parameter values.

:func:`contact_sheet` reads a sweep's ``results.jsonl`` (or result rows) and draws one cell per
variant: the values of parameter ``x`` along the top, those of ``y`` down the left side (or a
single row without ``y``). Other parameters must be fixed with ``where`` when they vary, so each
cell holds one image. A variant without an image (failed, not run, file gone) gets a grey cell
saying why. Pillow is imported only here, when a sheet is drawn.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import CmfyGraphError, did_you_mean

if TYPE_CHECKING:
    from PIL import Image, ImageDraw, ImageFont

__all__ = ["ContactSheet", "GridError", "contact_sheet", "load_rows", "resolve_param"]

BACKGROUND = (255, 255, 255)
#: a cell without an image, its cross and its text: quiet, so the images hold the eye
PLACEHOLDER = (236, 236, 236)
PLACEHOLDER_LINE = (214, 214, 214)
PLACEHOLDER_TEXT = (120, 120, 120)
#: around an image of another aspect than the cell's
MARGIN = (246, 246, 246)
TEXT = (20, 20, 20)
#: pixels between two cells
GAP = 2


class GridError(CmfyGraphError):
    """The sheet cannot be drawn: no results, an unknown parameter, ambiguous cells."""

    exit_code = 2


class ContactSheet:
    """A drawn sheet and its layout (all boxes are ``(left, top, right, bottom)`` pixels).

    ``columns``/``rows``: the x and y values in order; ``cells[(col, row)]``: the box of each
    image cell; ``column_labels[col]``/``row_labels[row]``: the box of each label's text;
    ``missing``: the cells that had no image.
    """

    def __init__(self, path: Path | None, image: Image.Image) -> None:
        self.path = path
        self.image = image
        self.size: tuple[int, int] = image.size
        self.x: str = ""
        self.y: str | None = None
        self.columns: list[Any] = []
        self.rows: list[Any] = []
        self.cells: dict[tuple[int, int], tuple[int, int, int, int]] = {}
        self.column_labels: list[tuple[int, int, int, int]] = []
        self.row_labels: list[tuple[int, int, int, int]] = []
        self.missing: list[tuple[int, int]] = []

    def _repr_png_(self) -> bytes:
        """Jupyter: the sheet itself."""
        import io

        buf = io.BytesIO()
        self.image.save(buf, format="PNG")
        return buf.getvalue()

    def __repr__(self) -> str:
        return (
            f"ContactSheet({self.size[0]}x{self.size[1]}, {len(self.columns)} columns x "
            f"{len(self.rows)} rows, path={str(self.path) if self.path else None!r})"
        )


def load_rows(source: str | os.PathLike[str]) -> tuple[list[dict[str, Any]], Path]:
    """The result rows of a sweep directory (or a ``results.jsonl`` path) and the directory
    the rows' file paths are relative to."""
    p = Path(source)
    path = p / "results.jsonl" if p.is_dir() else p
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise GridError(f"{path}: no such file (run `cmfy-graph sweep` into it first)") from None
    except OSError as exc:
        raise GridError(f"{path}: cannot read: {exc.strerror}") from None
    rows = []
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise GridError(f"{path}:{n}: not valid JSON: {exc.msg}") from None
        if isinstance(row, dict) and isinstance(row.get("params"), dict):
            rows.append(row)
    if not rows:
        raise GridError(f"{path}: no result rows")
    return rows, path.parent


def resolve_param(name: str, labels: Sequence[str]) -> str:
    """The parameter label ``name`` stands for: the label itself, or the one label whose input
    part (after the last dot) is ``name``; raises :class:`GridError` otherwise."""
    if name in labels:
        return name
    hits = [lb for lb in labels if lb.rpartition(".")[2] == name or lb.endswith("." + name)]
    if len(hits) == 1:
        return hits[0]
    if len(hits) > 1:
        raise GridError(f"parameter {name!r} is ambiguous: {', '.join(hits)}")
    raise GridError(
        f"no parameter {name!r} in the sweep (parameters: {', '.join(labels)})"
        f"{did_you_mean(name, labels)}"
    )


def _key(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def _ordered(values: Iterable[Any]) -> list[Any]:
    seen: dict[str, Any] = {}
    for v in values:
        seen.setdefault(_key(v), v)
    out = list(seen.values())
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in out):
        out.sort()
    return out


def _matches(value: Any, wanted: Any) -> bool:
    """``value`` (from a result row) equals ``wanted`` (typed by a user: ``"7"`` matches 7.0)."""
    if _key(value) == _key(wanted):
        return True
    numbers = (int, float)
    if (
        isinstance(value, numbers)
        and isinstance(wanted, numbers)
        and not isinstance(value, bool)
        and not isinstance(wanted, bool)
    ):
        return float(value) == float(wanted)
    if isinstance(wanted, str):
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            try:
                return float(wanted) == float(value)
            except ValueError:
                return False
        if isinstance(value, bool):
            return wanted.strip().lower() == str(value).lower()
    return _fmt(value) == _fmt(wanted)


def _fmt(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return f"{value:.1f}"
    return json.dumps(value) if not isinstance(value, (int, float)) else repr(value)


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    from PIL import ImageFont

    try:
        return ImageFont.load_default(size=size)
    except (TypeError, OSError, ImportError):  # pragma: no cover - old Pillow, no FreeType
        return ImageFont.load_default()


def _text_size(
    draw: ImageDraw.ImageDraw, text: str, font: ImageFont.FreeTypeFont | ImageFont.ImageFont
) -> tuple[int, int]:
    box = draw.textbbox((0, 0), text, font=font)
    return int(box[2] - box[0]), int(box[3] - box[1])


def _fit(
    draw: ImageDraw.ImageDraw,
    text: str,
    font: ImageFont.FreeTypeFont | ImageFont.ImageFont,
    width: int,
) -> str:
    if _text_size(draw, text, font)[0] <= width:
        return text
    while len(text) > 1 and _text_size(draw, text + "…", font)[0] > width:
        text = text[:-1]
    return text + "…"


def contact_sheet(
    source: str | os.PathLike[str] | Iterable[Mapping[str, Any]],
    x: str,
    y: str | None = None,
    *,
    out: str | os.PathLike[str] | None = None,
    where: Mapping[str, Any] | None = None,
    cell: int = 256,
    font_size: int | None = None,
    base_dir: str | os.PathLike[str] | None = None,
) -> ContactSheet:
    """Draw the contact sheet of a sweep, laid out as the XY plots people know: the images
    side by side in a tight grid, the ``x`` values over the columns under the name of ``x``,
    the ``y`` values beside the rows next to the name of ``y`` (written upwards).

    ``source``: a sweep directory, a ``results.jsonl`` path, or result rows (with ``base_dir``
    for their relative file paths). ``x``/``y``: parameter labels (``"KSampler.cfg"``) or input
    names when unambiguous (``"cfg"``). ``where``: values for the other parameters that vary.
    ``cell``: the longest side of a cell in pixels; cells take the images' aspect (that of the
    first image) and images are scaled to fill them, so a cell without an image (failed, not
    run) is exactly the size of the others, in a quiet grey. With ``out`` the sheet is saved as
    PNG. Returns the :class:`ContactSheet` with its layout.
    """
    layout = _Layout.of(source, x, y, where, base_dir, cell)
    images = {pos: _open_first(row, layout.root) for pos, row in layout.grid.items()}
    try:
        return _draw_sheet(layout, images, out, cell, font_size)
    finally:
        for img in images.values():
            if img is not None:
                img.close()


def _cell_size(images: Iterable[Image.Image | None], cell: int) -> tuple[int, int]:
    """The cell box: the first image's aspect, its longest side ``cell``."""
    for img in images:
        if img is not None and img.width > 0 and img.height > 0:
            if img.width >= img.height:
                return cell, max(16, round(cell * img.height / img.width))
            return max(16, round(cell * img.width / img.height)), cell
    return cell, cell


def _draw_sheet(
    layout: _Layout,
    images: Mapping[tuple[int, int], Image.Image | None],
    out: str | os.PathLike[str] | None,
    cell: int,
    font_size: int | None,
) -> ContactSheet:
    from PIL import Image, ImageDraw

    cw, ch = _cell_size((images.get(k) for k in sorted(images)), cell)
    fsize = font_size or max(12, min(28, min(cw, ch) // 10))
    font, bold = _font(fsize), _font(round(fsize * 1.15))
    probe = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    pad = max(4, fsize // 3)
    line_h = _text_size(probe, "Ag", font)[1] + pad
    yl = layout.yl
    row_texts = [_fmt(v) for v in layout.row_vals] if yl else []
    row_w = max((_text_size(probe, t, font)[0] for t in row_texts), default=0)
    row_w = min(row_w, 2 * cw)
    axis_h = _text_size(probe, "Ag", bold)[1] + 2 * pad  # a band for an axis name
    left = (axis_h + row_w + 2 * pad) if yl else 0
    top = axis_h + line_h
    ncols, nrows = len(layout.columns), len(layout.row_vals)
    width = left + ncols * (cw + GAP) - GAP + pad
    height = top + nrows * (ch + GAP) - GAP + pad
    sheet_img = Image.new("RGB", (width, height), BACKGROUND)
    draw = ImageDraw.Draw(sheet_img)
    sheet = ContactSheet(Path(out) if out is not None else None, sheet_img)
    sheet.x, sheet.y = layout.xl, yl
    sheet.columns, sheet.rows = layout.columns, layout.row_vals if yl else []
    # the axes: x's name centred over the columns, y's name written upwards at the left
    grid_w = ncols * (cw + GAP) - GAP
    xname = _fit(draw, layout.xl, bold, max(grid_w, cw))
    tw, _ = _text_size(draw, xname, bold)
    draw.text((left + max(0, (grid_w - tw) // 2), pad), xname, fill=TEXT, font=bold)
    if yl:
        _vertical_label(sheet_img, yl, bold, (pad, top), nrows * (ch + GAP) - GAP)
    for ci, v in enumerate(layout.columns):
        x0 = left + ci * (cw + GAP)
        text = _fit(draw, _fmt(v), font, cw)
        tw, _ = _text_size(draw, text, font)
        sheet.column_labels.append(_label(draw, (x0 + (cw - tw) // 2, axis_h), text, font))
    for ri, t in enumerate(row_texts):
        y0 = top + ri * (ch + GAP)
        text = _fit(draw, t, font, row_w)
        tw, th = _text_size(draw, text, font)
        sheet.row_labels.append(_label(draw, (left - pad - tw, y0 + (ch - th) // 2), text, font))
    small = _font(max(10, fsize * 3 // 4))
    for ri in range(nrows):
        for ci in range(ncols):
            x0, y0 = left + ci * (cw + GAP), top + ri * (ch + GAP)
            box = (x0, y0, x0 + cw, y0 + ch)
            sheet.cells[(ci, ri)] = box
            hit = layout.grid.get((ci, ri))
            img = images.get((ci, ri))
            if img is None:
                _placeholder(draw, box, hit, small, pad)
                sheet.missing.append((ci, ri))
            else:
                _paste(sheet_img, img, box)
    if out is not None:
        target = Path(out)
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            sheet_img.save(target, format="PNG")
        except OSError as exc:
            raise GridError(f"cannot write {target}: {exc}") from None
    return sheet


def _vertical_label(sheet: Any, text: str, font: Any, at: tuple[int, int], length: int) -> None:
    """``text`` written bottom to top, centred along ``length`` pixels from ``at``."""
    from PIL import Image, ImageDraw

    probe = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    text = _fit(probe, text, font, max(length, 40))
    tw, th = _text_size(probe, text, font)
    bb = probe.textbbox((0, 0), text, font=font)
    strip = Image.new("RGB", (tw + 2, th + 2), BACKGROUND)
    ImageDraw.Draw(strip).text((1 - bb[0], 1 - bb[1]), text, fill=TEXT, font=font)
    strip = strip.rotate(90, expand=True)
    sheet.paste(strip, (at[0], at[1] + max(0, (length - strip.height) // 2)))


def _paste(sheet: Any, img: Any, box: tuple[int, int, int, int]) -> None:
    """The image scaled to fit the cell (up or down), centred; a different aspect leaves a
    margin of the sheet's grey."""
    from PIL import Image

    x0, y0, x1, y1 = box
    cw, ch = x1 - x0, y1 - y0
    scale = min(cw / img.width, ch / img.height)
    size = (max(1, round(img.width * scale)), max(1, round(img.height * scale)))
    thumb = img.convert("RGB").resize(size, Image.Resampling.LANCZOS)
    if size != (cw, ch):
        sheet.paste(MARGIN, (x0, y0, x1, y1))
    sheet.paste(thumb, (x0 + (cw - size[0]) // 2, y0 + (ch - size[1]) // 2))


def _placeholder(
    draw: Any, box: tuple[int, int, int, int], hit: Mapping[str, Any] | None, font: Any, pad: int
) -> None:
    """A cell with no image: a light grey box of the images' size, crossed, saying why in
    small grey letters (it must not draw the eye away from the images)."""
    x0, y0, x1, y1 = box
    draw.rectangle((x0, y0, x1 - 1, y1 - 1), fill=PLACEHOLDER)
    draw.line((x0, y0, x1 - 1, y1 - 1), fill=PLACEHOLDER_LINE, width=1)
    draw.line((x0, y1 - 1, x1 - 1, y0), fill=PLACEHOLDER_LINE, width=1)
    why = "no variant" if hit is None else (hit.get("status") or "no image")
    if hit is not None and hit.get("status") == "completed":
        why = "no image"
    text = _fit(draw, str(why), font, x1 - x0 - 2 * pad)
    tw, th = _text_size(draw, text, font)
    tx, ty = x0 + (x1 - x0 - tw) // 2, y0 + (y1 - y0 - th) // 2
    draw.rectangle((tx - pad, ty - pad // 2, tx + tw + pad, ty + th + pad), fill=PLACEHOLDER)
    draw.text((tx, ty), text, fill=PLACEHOLDER_TEXT, font=font)


def _label(draw: Any, at: tuple[int, int], text: str, font: Any) -> tuple[int, int, int, int]:
    """Draw a label; its bounding box."""
    draw.text(at, text, fill=TEXT, font=font)
    bb = draw.textbbox(at, text, font=font)
    return int(bb[0]), int(bb[1]), int(bb[2]), int(bb[3])


class _Layout:
    """Which result row goes in which cell: the x (and y) values, in order."""

    def __init__(self) -> None:
        self.xl = ""
        self.yl: str | None = None
        self.columns: list[Any] = []
        self.row_vals: list[Any] = [None]
        self.grid: dict[tuple[int, int], dict[str, Any]] = {}
        self.root = Path.cwd()

    @classmethod
    def of(
        cls,
        source: str | os.PathLike[str] | Iterable[Mapping[str, Any]],
        x: str,
        y: str | None,
        where: Mapping[str, Any] | None,
        base_dir: str | os.PathLike[str] | None,
        cell: int,
    ) -> _Layout:
        lay = cls()
        if isinstance(source, (str, os.PathLike)):
            rows, lay.root = load_rows(source)
        else:
            rows = [dict(r) for r in source]
            lay.root = Path(base_dir) if base_dir is not None else Path.cwd()
            if not rows:
                raise GridError("no result rows")
        if cell < 16:
            raise GridError("cell must be at least 16 pixels")
        labels: list[str] = []
        for r in rows:
            labels.extend(lb for lb in r["params"] if lb not in labels)
        lay.xl = resolve_param(x, labels)
        lay.yl = yl = resolve_param(y, labels) if y is not None else None
        if yl == lay.xl:
            raise GridError(f"--x and --y are the same parameter {lay.xl!r}")
        fixed = {resolve_param(name, labels): value for name, value in (where or {}).items()}
        rows = [r for r in rows if all(_matches(r["params"].get(lb), v) for lb, v in fixed.items())]
        if not rows:
            raise GridError(
                f"no result row matches {', '.join(f'{k}={v}' for k, v in fixed.items())}"
            )
        lay.columns = _ordered(r["params"].get(lay.xl) for r in rows)
        lay.row_vals = _ordered(r["params"].get(yl) for r in rows) if yl is not None else [None]
        col_ix = {_key(v): i for i, v in enumerate(lay.columns)}
        row_ix = {_key(v): i for i, v in enumerate(lay.row_vals)}
        for r in rows:
            pos = (
                col_ix[_key(r["params"].get(lay.xl))],
                row_ix[_key(r["params"].get(yl))] if yl else 0,
            )
            if pos in lay.grid:
                others = [
                    lb
                    for lb in labels
                    if lb not in (lay.xl, yl)
                    and lb not in fixed
                    and len({_key(rr["params"].get(lb)) for rr in rows}) > 1
                ]
                raise GridError(
                    "several variants fall in one cell: other parameters vary "
                    f"({', '.join(others) or 'none'}); fix them with --where NAME=VALUE"
                )
            lay.grid[pos] = r
        return lay


def _open_first(row: Mapping[str, Any], root: Path) -> Image.Image | None:
    from PIL import Image, UnidentifiedImageError

    for f in row.get("files") or ():
        p = Path(f)
        if not p.is_absolute():
            p = root / p
        try:
            img = Image.open(p)
            img.load()
            return img
        except (OSError, UnidentifiedImageError):
            continue
    return None
