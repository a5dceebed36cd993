"""Interactive figures in one call, with a static figure where no kernel can redraw.

``interact(fn, a=(0.0, 1.0), b=[1, 2, 3])`` shows sliders and drop-downs in
JupyterLab and calls ``fn(a=..., b=...)`` to redraw whenever one moves. On the
book's website no Python kernel runs, so when the book's runner executes a
notebook (it sets ``D2L_STATIC_WIDGETS=1``) the same call draws one static
figure at the default values instead, with a line that reads right both on the
website and in JupyterLab, where the stored figure shows until the cell runs.
"""

from __future__ import annotations

import inspect
import math
import os
import textwrap
from collections.abc import Callable
from typing import Any

__all__ = ["interact", "static_requested", "static_widgets"]

Control = Any  # (min, max[, step]) tuple, a list of choices, a bool, a str, or an ipywidgets widget


def static_requested() -> bool:
    """True when ``D2L_STATIC_WIDGETS`` is set (not ``0``): the book's runner is storing this notebook's outputs.

    Live-only output (widgets, progress bars) is then left out of the stored notebook.
    """
    return os.environ.get("D2L_STATIC_WIDGETS", "") not in ("", "0")


def static_widgets() -> bool:
    """True when widgets should be drawn as static figures (``D2L_STATIC_WIDGETS=1``, or no ipywidgets)."""
    if static_requested():
        return True
    try:
        import ipywidgets  # noqa: F401
    except ImportError:
        return True
    return False


def _default(name: str, control: Control, fn_defaults: dict[str, Any]) -> Any:
    if name in fn_defaults:
        return fn_defaults[name]
    if isinstance(control, tuple):
        lo, hi = control[0], control[1]
        mid = (lo + hi) / 2
        return int(mid) if all(isinstance(v, int) for v in control) else mid
    if isinstance(control, list):
        return control[0]
    if isinstance(control, (bool, str)):
        return control
    value = getattr(control, "value", None)
    if value is not None:
        return value
    raise TypeError(f"interact: cannot tell the default value of control {name!r}")


def _readout_format(step: float) -> str:
    # Enough decimals to show one step (0.0001 -> ".4f", so 0.999 reads 0.9990, not 1.00); at least 2, at most 6.
    for decimals in range(2, 7):
        if math.isclose(round(step, decimals), step, rel_tol=1e-9, abs_tol=0.0):
            return f".{decimals}f"
    return ".6f"


def _widget(name: str, control: Control, value: Any) -> Any:
    import ipywidgets as w

    style = {"description_width": "initial"}
    if isinstance(control, bool):
        return w.Checkbox(value=value, description=name)
    if isinstance(control, tuple):
        if len(control) not in (2, 3):
            raise ValueError(f"interact: control {name!r} must be (min, max) or (min, max, step), got {control}")
        lo, hi = control[0], control[1]
        if all(isinstance(v, int) for v in control):
            step = control[2] if len(control) == 3 else 1
            return w.IntSlider(value=value, min=lo, max=hi, step=step, description=name, style=style,
                               continuous_update=False)
        step = control[2] if len(control) == 3 else (hi - lo) / 100
        return w.FloatSlider(value=value, min=lo, max=hi, step=step, description=name, style=style,
                             continuous_update=False, readout_format=_readout_format(step))
    if isinstance(control, list):
        return w.Dropdown(options=control, value=value, description=name, style=style)
    if isinstance(control, str):
        return w.Text(value=value, description=name, style=style, continuous_update=False,
                      layout=w.Layout(width="90%"))
    if isinstance(control, w.Widget):
        return control
    raise TypeError(f"interact: control {name!r} has unsupported type {type(control).__name__}; "
                    f"use a (min, max[, step]) tuple, a list of choices, a bool, a str or an ipywidgets widget")


def interact(fn: Callable[..., Any], /, **controls: Control) -> None:
    """Make ``fn`` interactive: one control per keyword, redrawing the figure ``fn`` draws.

    Args:
        fn: a function that draws one matplotlib figure from keyword arguments
            (e.g. with :func:`d2lutils.plot.plot`); its default argument values are the
            starting values of the controls.
        **controls: for each keyword of ``fn``: ``(min, max)`` or ``(min, max, step)``
            gives a slider (integer if all are ints), a list gives a drop-down, a bool a
            check box, a string a text box (redrawn on Enter); an ipywidgets widget is used as it is.

    Returns:
        ``None``. With a kernel and ipywidgets the panel (controls and figure) is displayed once;
        returning it as well would make Jupyter show it a second time as the cell's value. In
        static mode ``fn`` is called once with the default values, the figure is shown and a line
        says how to get the controls. Float sliders read out as many decimals as their step needs.

    Raises:
        ValueError: a control names no parameter of ``fn``.
        TypeError: a control has an unsupported form.
    """
    params = inspect.signature(fn).parameters
    unknown = [k for k in controls if k not in params]
    if unknown:
        raise ValueError(f"interact: {fn.__name__}() has no parameter(s) {unknown}; it takes {list(params)}")
    fn_defaults = {k: p.default for k, p in params.items() if p.default is not inspect.Parameter.empty}
    values = {k: _default(k, c, fn_defaults) for k, c in controls.items()}
    if static_widgets():
        import matplotlib.pyplot as plt

        from .plot import use_svg_display

        use_svg_display()
        fn(**values)
        plt.show()
        shown = ", ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}" for k, v in values.items())
        # Read on the website and in JupyterLab before the cell runs: the sentence holds in both places.
        # Wrapped to the 88 columns that a page shows without scrolling sideways.
        print(textwrap.fill(f"Figure drawn once at {shown}; run this cell in JupyterLab for controls that "
                            "redraw it.", width=88))
        return None
    import ipywidgets as w
    from IPython.display import display

    widgets = {k: _widget(k, c, values[k]) for k, c in controls.items()}
    display(w.interactive(fn, **widgets))
    return None
