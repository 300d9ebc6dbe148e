"""Drives real Kivy widgets in an offscreen window, for UI tests and headless demos.

    from kiosk.ui import kivy_harness as kh   # before anything imports Kivy
    kh.prepare_environment(tmp_dir)                 # optional: where Kivy keeps its files
    kh.open_window((1280, 800))                     # one window per process, resized at will
    root = kh.show(MyScreen())
    kh.tap(kh.find_by_text(root, "確定"))           # a finger: touch down and up at its centre
    kh.render(tmp_dir / "pin.png")                  # the frame, as a PNG
    assert kh.clipped_labels(root) == []            # no text cut off or off the window
    assert kh.small_touch_targets(root) == []       # nothing touchable under 20 mm

The window is rendered by SDL's ``offscreen`` driver on Mesa (no X server). Kivy reads its
environment once, when first imported: ``prepare_environment()`` must run before that,
which every function here ensures.
"""

from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

_KIVY_ENV = {
    "SDL_VIDEODRIVER": "offscreen",
    "KIVY_NO_ARGS": "1",  # leave pytest's command line alone
    "KIVY_NO_CONSOLELOG": "1",
    "KIVY_NO_FILELOG": "1",
    # Kivy's default mode takes over the root logger and stderr; keep it to its own logger.
    "KIVY_LOG_MODE": "PYTHON",
    "KIVY_NO_CONFIG": "1",  # do not write config.ini: every run starts from the defaults
    # SDL turns SIGTERM into a quit event for its window: a process forked after the
    # window opened (a test's multiprocessing pool) would then never die of its SIGTERM.
    "SDL_NO_SIGNAL_HANDLERS": "1",
}
# Sound, unless the caller chose otherwise: Kivy's SDL2 provider, and SDL's null sink
# (``dummy``: played at the speed of sound into nothing), so a test or the headless demo
# never speaks through a real speaker. ``SDL_AUDIODRIVER=disk`` writes the stream to
# ``SDL_DISKAUDIOFILE`` instead.
_AUDIO_ENV = {"KIVY_AUDIO": "sdl2", "SDL_AUDIODRIVER": "dummy"}
# A Label's texture may exceed its box by rounding; more than this is text cut off.
_TOLERANCE_PX = 1.0

# The offscreen surface is made once, this size; windows up to it can be rendered.
MAX_WINDOW_SIZE = (1920, 1080)

_prepared_home: Path | None = None


class KivyHarnessError(AssertionError):
    """A UI check failed, or the harness cannot drive Kivy the way it was asked."""


def prepare_environment(home: Path | str | None = None) -> Path:
    """Set Kivy's environment (offscreen video, no argument parsing, no console log, a
    private ``KIVY_HOME``) before Kivy is imported. Returns the ``KIVY_HOME`` used."""
    global _prepared_home
    if _prepared_home is not None:
        return _prepared_home
    if "kivy" in sys.modules:
        if os.environ.get("SDL_VIDEODRIVER") != "offscreen":
            raise KivyHarnessError(
                "Kivy was imported before kiosk.ui.kivy_harness set its environment: "
                "import the harness (or tests.support.kivy_fixtures) first"
            )
        _prepared_home = Path(os.environ.get("KIVY_HOME", "."))
        return _prepared_home
    if home is None:
        home = Path(tempfile.mkdtemp(prefix="kivy-home-"))
        atexit.register(shutil.rmtree, home, True)
    home = Path(home)
    home.mkdir(parents=True, exist_ok=True)
    os.environ.update(_KIVY_ENV)
    for name, value in _AUDIO_ENV.items():
        os.environ.setdefault(name, value)
    os.environ["KIVY_HOME"] = str(home)
    _configure_kivy()
    _prepared_home = home
    return home


def window() -> Any:
    """Kivy's window, created on first use."""
    prepare_environment()
    from kivy.base import EventLoop
    from kivy.core.window import Window

    if EventLoop.window is None:
        EventLoop.ensure_window()
    return Window


def _configure_kivy() -> None:
    """Kivy settings read once, when the clock and the window are made: set them first."""
    from kivy.config import Config

    # SDL's offscreen surface keeps the size the window was created with: create it as
    # large as the largest window a test asks for, smaller windows render in its corner.
    Config.set("graphics", "width", str(MAX_WINDOW_SIZE[0]))
    Config.set("graphics", "height", str(MAX_WINDOW_SIZE[1]))
    # Tests drive the frames themselves: no sleeping to hold 60 frames a second.
    Config.set("graphics", "maxfps", "0")
    # A released button looks released at once (not 35 ms of real time later): screenshots
    # taken right after a tap show the screen, not the finger.
    Config.set("graphics", "min_state_time", "0")
    # Only our touches: no mouse provider reading a pointer that is not there.
    for name, _value in Config.items("input"):
        Config.remove_option("input", name)


def open_window(size: tuple[int, int] = (1920, 1080), dpi: float | None = None) -> Any:
    """The window at ``size`` px, with the kiosk theme following it (``dpi`` defaults to
    the panel with that resolution in ``kiosk.ui.kit.theme.PANELS``)."""
    if size[0] > MAX_WINDOW_SIZE[0] or size[1] > MAX_WINDOW_SIZE[1]:
        raise KivyHarnessError(f"{size} is larger than the offscreen surface {MAX_WINDOW_SIZE}")
    win = window()
    from kiosk.ui.kit.style import ui

    win.size = size
    ui.follow_window(win, dpi=dpi)
    advance_frames(2)
    if tuple(win.size) != tuple(size):
        raise KivyHarnessError(f"asked for a {size} window, got {tuple(win.size)}")
    return win


def resize(size: tuple[int, int], dpi: float | None = None) -> None:
    """Resize the window (and the theme with it), and let the layout settle."""
    open_window(size, dpi)


def advance_frames(count: int = 2, draw: bool = True) -> None:
    """Run ``count`` frames of Kivy's loop: clock, input, kv rules, layout and, if ``draw``,
    drawing (the slow part on a software renderer, and only pictures need it)."""
    from kivy.base import EventLoop
    from kivy.clock import Clock
    from kivy.lang import Builder

    for _ in range(count):
        if draw:
            EventLoop.idle()
        else:
            Clock.tick()
            Builder.sync()
            Clock.tick_draw()
            Builder.sync()


def show(root: Any, frames: int = 3) -> Any:
    """Make ``root`` the window's only widget and let it lay itself out."""
    win = window()
    clear()
    win.add_widget(root)
    advance_frames(frames, draw=False)
    return root


def clear() -> None:
    """Remove every widget from the window (between tests)."""
    win = window()
    for child in list(win.children):
        win.remove_widget(child)
    from kivy.base import EventLoop

    EventLoop.touches.clear()


# --- Finding widgets ---------------------------------------------------------------------


def _is_shown(widget: Any) -> bool:
    """On screen as far as a person is concerned: not transparent, not zero-sized, in a
    tree that reaches the window."""
    node = widget
    while node is not None:
        if getattr(node, "opacity", 1) == 0:
            return False
        if node.parent is node:  # the window is its own parent in some providers
            break
        node = node.parent
    return widget.width > 0 and widget.height > 0


def _labels(root: Any) -> Iterator[Any]:
    from kivy.uix.label import Label

    for widget in root.walk(restrict=True):
        if isinstance(widget, Label) and widget.text and _is_shown(widget):
            yield widget


def visible_texts(root: Any) -> list[str]:
    """The text of every shown Label under ``root``, in tree order."""
    return [label.text for label in _labels(root)]


def find_by_text(root: Any, text: str) -> Any:
    """The shown Label (or button) whose text equals ``text``; else the only one whose text
    contains it. Fails listing the texts on screen."""
    labels = list(_labels(root))
    exact = [label for label in labels if label.text == text]
    if len(exact) == 1:
        return exact[0]
    matches = exact or [label for label in labels if text in label.text]
    if len(matches) == 1:
        return matches[0]
    texts = ", ".join(repr(label.text) for label in labels)
    how = "several" if matches else "no"
    raise KivyHarnessError(f"{how} widget shows {text!r}; the texts on screen are: {texts}")


def reachable(root: Any, widget: Any) -> bool:
    """Whether a finger at ``widget``'s centre reaches it: from ``root`` down, the top-most
    shown child under the point each time (a message over the screen, the countdown
    banner cover what is under them) ends at ``widget`` or inside it."""
    x, y = widget.to_window(*widget.center)
    node = root
    while True:
        under = [
            child
            for child in node.children  # the first is drawn last: on top
            if _is_shown(child) and _contains(window_box(child), x, y)
        ]
        if not under:
            break
        node = under[0]
    return node is widget or _inside(node, widget)


def _contains(box: tuple[float, float, float, float], x: float, y: float) -> bool:
    left, bottom, right, top = box
    return left <= x <= right and bottom <= y <= top


def find_target(root: Any, text: str) -> Any:
    """The touch target (button, key, a service's tile) that shows ``text`` and that a
    finger can reach (not under a message or a banner): as its own label, else in a label
    inside it; an exact text first, then the only one containing it. Fails listing the
    targets' texts."""
    targets = [target for target in touch_targets(root) if reachable(root, target)]

    def own(widget: Any) -> list[str]:
        return [widget.text] if getattr(widget, "text", "") else []

    def inner(widget: Any) -> list[str]:
        return [label.text for label in _labels(widget) if label is not widget]

    for texts_of in (own, inner):
        exact = [t for t in targets if text in texts_of(t)]
        if len(exact) == 1:
            return exact[0]
        if len(exact) > 1:
            raise KivyHarnessError(f"several touch targets show {text!r}: {exact}")
    for texts_of in (own, inner):
        partial = [t for t in targets if any(text in shown for shown in texts_of(t))]
        if len(partial) == 1:
            return partial[0]
    shown = ", ".join(repr(" / ".join(own(t) + inner(t))) for t in targets)
    raise KivyHarnessError(f"no single touch target shows {text!r}; the targets show: {shown}")


# --- A finger ----------------------------------------------------------------------------


def window_box(widget: Any) -> tuple[float, float, float, float]:
    """``(x, y, right, top)`` of ``widget`` in window coordinates."""
    x, y = widget.to_window(widget.x, widget.y)
    right, top = widget.to_window(widget.right, widget.top)
    return x, y, right, top


def visible_box(widget: Any) -> tuple[float, float, float, float] | None:
    """The part of ``widget`` a person can see now: its window box cut to every
    ``ScrollView`` it scrolls in (None when it is scrolled out of sight)."""
    from kivy.uix.scrollview import ScrollView

    x, y, right, top = window_box(widget)
    node = widget.parent
    while node is not None and node is not node.parent:
        if isinstance(node, ScrollView):
            vx, vy, vright, vtop = window_box(node)
            x, y, right, top = max(x, vx), max(y, vy), min(right, vright), min(top, vtop)
        node = node.parent
    if right - x <= 0 or top - y <= 0:
        return None
    return x, y, right, top


def tap(widget: Any, frames: int = 2) -> None:
    """Touch ``widget``'s centre and lift, through Kivy's input dispatch as a finger would:
    whatever is on top at that point gets the touch. Fails if the centre is off-window."""
    from kivy.tests.common import UnitTestTouch

    win = window()
    x, y = widget.to_window(*widget.center)
    if not (0 <= x < win.width and 0 <= y < win.height):
        raise KivyHarnessError(f"{widget!r} has its centre ({x}, {y}) outside the window")
    touch = UnitTestTouch(x, y)
    touch.touch_down()
    advance_frames(1, draw=False)
    touch.touch_up()
    advance_frames(frames, draw=False)


def tap_text(root: Any, text: str, frames: int = 2) -> Any:
    """``tap(find_by_text(root, text))``; returns the widget tapped."""
    widget = find_by_text(root, text)
    tap(widget, frames)
    return widget


# --- Pictures ----------------------------------------------------------------------------


def render(path: Path | str) -> Path:
    """Draw a frame and save the window as a PNG at ``path``."""
    win = window()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    advance_frames(1)
    win.dispatch("on_draw")  # else the read-back may be an empty (black) buffer
    # Window.screenshot numbers its files: save beside the target, then move it there.
    saved = win.screenshot(name=str(path.with_name(f".{path.stem}-shot.png")))
    if not saved:
        raise KivyHarnessError("the window provider cannot take screenshots")
    os.replace(saved, path)
    return path


# --- Checks ------------------------------------------------------------------------------


def _needed_height(label: Any) -> float:
    """The height ``label``'s text needs at its wrapping width, for labels whose
    ``text_size`` sets a height (Kivy then drops the lines that do not fit, silently)."""
    from kivy.core.text import Label as CoreLabel

    options = dict(label._label.options)
    options.pop("font_name_r", None)
    options["text_size"] = (label.text_size[0], None)
    core = CoreLabel(**options)
    core.refresh()
    return core.content_size[1] + 2 * label.padding_y


def clipped_labels(root: Any) -> list[Any]:
    """Every shown Label under ``root`` whose text does not fit: its texture is wider or
    taller than its box, it was shortened with "...", lines were dropped to fit a
    ``text_size`` height, or its box reaches outside the window."""
    win = window()
    advance_frames(1, draw=False)
    found = []
    for label in _labels(root):
        label.texture_update()
        width, height = label.texture_size
        # Text in a ScrollView may run past its viewport (it scrolls): what counts is
        # that the part in sight is inside the window (None: all of it is scrolled out of
        # sight, so only the text's fit in its own box counts).
        x, y, right, top = visible_box(label) or (0.0, 0.0, 0.0, 0.0)
        clipped = (
            width > label.width + _TOLERANCE_PX
            or height > label.height + _TOLERANCE_PX
            or getattr(label, "is_shortened", False)
            or x < -_TOLERANCE_PX
            or y < -_TOLERANCE_PX
            or right > win.width + _TOLERANCE_PX
            or top > win.height + _TOLERANCE_PX
        )
        if not clipped and label.text_size[1] is not None and label.text_size[0] is not None:
            clipped = _needed_height(label) > min(label.height, label.text_size[1]) + 1
        if clipped:
            found.append(label)
    return found


def describe(widget: Any) -> str:
    """``PadKey 'OK' 146x104 px at (10, 20)``: for failure messages."""
    x, y, _right, _top = window_box(widget)
    text = getattr(widget, "text", "")
    texture = getattr(widget, "texture_size", None)
    extra = f" (text needs {texture[0]:.0f}x{texture[1]:.0f})" if texture else ""
    return (
        f"{type(widget).__name__} {text!r} {widget.width:.0f}x{widget.height:.0f} px "
        f"at ({x:.0f}, {y:.0f}){extra}"
    )


def touch_targets(root: Any) -> list[Any]:
    """Every shown widget that reacts to a tap (buttons, keys, the countdown banner)."""
    from kivy.uix.behaviors import ButtonBehavior

    return [
        widget
        for widget in root.walk(restrict=True)
        if isinstance(widget, ButtonBehavior) and _is_shown(widget)
    ]


def min_touch_px() -> int:
    """20 mm in px at the DPI the theme assumes for the current window."""
    from kiosk.ui.kit import theme
    from kiosk.ui.kit.style import ui

    return theme.mm_to_px(theme.MIN_TOUCH_MM, ui.dpi)


def small_touch_targets(root: Any, min_px: float | None = None) -> list[Any]:
    """Touch targets under ``min_px`` (default: 20 mm) in width or height."""
    advance_frames(1, draw=False)
    limit = min_touch_px() if min_px is None else min_px
    return [
        widget
        for widget in touch_targets(root)
        if widget.width < limit - 0.01 or widget.height < limit - 0.01
    ]


def _inside(widget: Any, ancestor: Any) -> bool:
    node = widget.parent
    while node is not None and node is not node.parent:
        if node is ancestor:
            return True
        node = node.parent
    return False


def overlapping(root: Any) -> list[tuple[Any, Any]]:
    """Pairs of shown texts and touch targets drawn over each other (a layout too full for
    its window pushes one block over the next: nothing is cut off, yet nothing can be
    read); a widget and what it contains do not count."""
    advance_frames(1, draw=False)
    shown = [*_labels(root), *touch_targets(root)]
    unique = list({id(widget): widget for widget in shown}.values())
    # What is scrolled out of sight is drawn nowhere (a ScrollView clips it).
    boxes = [(widget, box) for widget in unique if (box := visible_box(widget)) is not None]
    found = []
    for index, (first, (x1, y1, r1, t1)) in enumerate(boxes):
        for second, (x2, y2, r2, t2) in boxes[index + 1 :]:
            width = min(r1, r2) - max(x1, x2)
            height = min(t1, t2) - max(y1, y2)
            if width <= _TOLERANCE_PX or height <= _TOLERANCE_PX:
                continue
            if _inside(first, second) or _inside(second, first):
                continue
            found.append((first, second))
    return found


def assert_no_overlaps(root: Any) -> None:
    pairs = overlapping(root)
    if pairs:
        lines = "\n  ".join(f"{describe(a)}  over  {describe(b)}" for a, b in pairs)
        raise KivyHarnessError(
            f"widgets drawn over each other at {tuple(window().size)}:\n  {lines}"
        )


def assert_no_clipped_text(root: Any) -> None:
    clipped = clipped_labels(root)
    if clipped:
        lines = "\n  ".join(describe(label) for label in clipped)
        raise KivyHarnessError(f"text cut off at {tuple(window().size)}:\n  {lines}")


def assert_touch_targets(root: Any, min_px: float | None = None) -> None:
    limit = min_touch_px() if min_px is None else min_px
    small = small_touch_targets(root, limit)
    if small:
        lines = "\n  ".join(describe(widget) for widget in small)
        raise KivyHarnessError(
            f"touch targets under {limit} px (20 mm) at {tuple(window().size)}:\n  {lines}"
        )
