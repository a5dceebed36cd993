"""Every figure in the book has a caption, alt text and, where it is labelled, a unique label.

myst-nb renders a code cell's image output as a numbered figure when the cell's metadata holds
``{"mystnb": {"figure": {"caption": ..., "name": ...}, "image": {"alt": ...}}}``. These checks read the
stored outputs and the cell metadata only (no site build, no kernel), and fail on:

- a code cell whose stored outputs hold an image (``image/svg+xml`` or ``image/png``) but whose metadata has
  no non-empty ``mystnb.figure.caption``;
- alt text (``mystnb.image.alt``) missing, shorter than 40 characters, or a bare hex hash;
- a ``mystnb.figure.name`` that does not start with ``fig-``, uses other than lowercase letters, digits and
  hyphens, appears on two cells anywhere in the book (a duplicate Sphinx label), or sits on a cell with more
  than one image output (myst-nb would give every image the same label).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted(p for p in (ROOT / "notebooks").rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
IMAGE_MIME = ("image/svg+xml", "image/png")
MIN_ALT = 40
HEX_HASH = re.compile(r"[0-9a-fA-F]{16,}")
NAME = re.compile(r"fig-[a-z0-9]+(?:-[a-z0-9]+)*")


def image_count(cell: dict) -> int:
    """How many of the cell's stored outputs hold an image."""
    return sum(1 for out in cell.get("outputs", []) if any(m in out.get("data", {}) for m in IMAGE_MIME))


def figure_problems(nb: dict, where: str, names: dict[str, str]) -> list[str]:
    """The problems with the figures of one notebook; ``names`` maps each label seen so far to its cell."""
    problems = []
    for index, cell in enumerate(nb.get("cells", [])):
        if cell.get("cell_type") != "code":
            continue
        images = image_count(cell)
        mystnb = cell.get("metadata", {}).get("mystnb", {})
        figure = mystnb.get("figure", {}) or {}
        place = f"{where} cell {cell.get('id', index)}"
        name = figure.get("name")
        if name is not None:
            if not isinstance(name, str) or not NAME.fullmatch(name):
                problems.append(f"{place}: figure name {name!r} is not 'fig-' + lowercase letters, digits, hyphens")
            elif name in names:
                problems.append(f"{place}: figure name {name!r} already used by {names[name]}")
            else:
                names[name] = place
            if images != 1:
                problems.append(f"{place}: figure name {name!r} on a cell with {images} images (needs exactly 1)")
        if not images:
            continue
        caption = figure.get("caption")
        if not isinstance(caption, str) or not caption.strip():
            problems.append(f"{place}: image output without mystnb.figure.caption")
        alt = (mystnb.get("image", {}) or {}).get("alt")
        if not isinstance(alt, str) or len(alt.strip()) < MIN_ALT:
            problems.append(f"{place}: image output without mystnb.image.alt of {MIN_ALT} characters or more")
        elif HEX_HASH.fullmatch(alt.strip()):
            problems.append(f"{place}: alt text {alt!r} is a hash, not a description")
    return problems


def book_problems(notebooks: list[Path]) -> list[str]:
    names: dict[str, str] = {}
    problems = []
    for path in notebooks:
        nb = json.loads(path.read_text(encoding="utf-8"))
        problems += figure_problems(nb, str(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path), names)
    return problems


def test_every_figure_has_caption_alt_and_unique_name():
    assert NOTEBOOKS, "no notebooks found"
    problems = book_problems(NOTEBOOKS)
    assert not problems, f"{len(problems)} figure problems:\n" + "\n".join(problems)


def _cell(cell_id: str, images: int = 1, mystnb: dict | None = None) -> dict:
    outputs = [{"output_type": "display_data", "data": {"image/png": "iVBOR", "text/plain": "<Figure>"}}] * images
    return {"cell_type": "code", "id": cell_id, "metadata": {"mystnb": mystnb} if mystnb else {},
            "outputs": outputs, "source": ""}


GOOD_ALT = {"alt": "Line chart of training loss against epoch, falling steadily to a plateau."}


def test_checker_accepts_a_good_figure():
    nb = {"cells": [_cell("a", mystnb={"figure": {"caption": "Loss falls.", "name": "fig-ok"}, "image": GOOD_ALT}),
                    {"cell_type": "markdown", "id": "m", "metadata": {}, "source": "text"},
                    _cell("b", images=0)]}
    assert figure_problems(nb, "nb", {}) == []


@pytest.mark.parametrize(
    ("cells", "needle"),
    [
        ([_cell("a", mystnb={"image": GOOD_ALT})], "without mystnb.figure.caption"),
        ([_cell("a", mystnb={"figure": {"caption": "  "}, "image": GOOD_ALT})], "without mystnb.figure.caption"),
        ([_cell("a", mystnb={"figure": {"caption": "Loss falls."}})], "without mystnb.image.alt"),
        ([_cell("a", mystnb={"figure": {"caption": "Loss falls."}, "image": {"alt": "a plot"}})],
         "without mystnb.image.alt"),
        ([_cell("a", mystnb={"figure": {"caption": "Loss falls."}, "image": {"alt": "0123456789abcdef" * 3}})],
         "is a hash"),
        ([_cell("a", mystnb={"figure": {"caption": "A.", "name": "fig-x"}, "image": GOOD_ALT}),
          _cell("b", mystnb={"figure": {"caption": "B.", "name": "fig-x"}, "image": GOOD_ALT})], "already used"),
        ([_cell("a", images=2, mystnb={"figure": {"caption": "Two.", "name": "fig-two"}, "image": GOOD_ALT})],
         "with 2 images"),
        ([_cell("a", mystnb={"figure": {"caption": "A.", "name": "Fig_X"}, "image": GOOD_ALT})], "is not 'fig-'"),
    ],
)
def test_checker_catches(cells, needle):
    problems = figure_problems({"cells": cells}, "nb", {})
    assert any(needle in p for p in problems), problems


def test_checker_catches_duplicate_across_notebooks():
    names: dict[str, str] = {}
    cell = _cell("a", mystnb={"figure": {"caption": "A.", "name": "fig-same"}, "image": GOOD_ALT})
    assert figure_problems({"cells": [cell]}, "one.ipynb", names) == []
    assert any("already used by one.ipynb" in p for p in figure_problems({"cells": [cell]}, "two.ipynb", names))
