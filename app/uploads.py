"""Bring your own data, Streamlit side: the sidebar uploaders, their storage in the session, and
their messages. The parsing and checks are :mod:`lovasz_core.lab.uploads` (pure, in memory).

**One call in a page's sidebar is enough**::

    from app import uploads

    case = uploads.upload_controls(PAGE, max_side=32)   # image + mask uploaders
    if case is not None:                                 # the user's mask, at most 32 px a side
        labels, num_classes = case.mask, case.num_classes  # [H, W] int64, 255 = void
    else:
        labels, num_classes = widgets.ground_truth_controls(PAGE, st.sidebar)

:func:`logits_controls` is the same with a third uploader for a model's logits ``[C, H, W]``
(``.npy`` or ``.pt``), checked against the mask: ``case.logits`` is then ``[C, H, W]`` float32.

What the user uploads is parsed once, at most 512 pixels a side, and kept in
``st.session_state`` (never on disk) in one :class:`UploadStore` shared by every page: an upload
made on one page is offered on the others, each page resizing it (nearest neighbour, so class
values stay exact) to its own ``max_side``. The sidebar shows what is stored, a "Use my upload"
toggle (remembered across pages) and a "Forget my upload" button. A file that cannot be used
gets one readable message (shown as text) under the uploaders and changes nothing.

The pure half (:func:`with_image`, :func:`with_mask`, :func:`with_logits`, :func:`case_of`,
:func:`describe`) never touches Streamlit and is unit-tested.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import streamlit as st

from app import safe_text
from lovasz_core.lab.uploads import (
    MAX_BYTES,
    MAX_CLASSES,
    UploadedImage,
    UploadedLogits,
    UploadedMask,
    UploadError,
    check_same_size,
    read_image,
    read_logits,
    read_mask,
    resize_nearest,
)
from lovasz_core.lab.views.your_data import paint
from lovasz_core.lab.void import VOID

__all__ = [
    "STORE_SIDE",
    "UploadStore",
    "UploadedCase",
    "case_of",
    "current_store",
    "describe",
    "edited_mask",
    "forget",
    "logits_controls",
    "paint_pixels",
    "paint_steps",
    "reset_paint",
    "undo_paint",
    "upload_controls",
    "use_painting_everywhere",
    "with_image",
    "with_logits",
    "with_mask",
    "with_painted_mask",
]

STORE_SIDE = 512  # arrays are kept at most this many pixels a side; pages shrink them further
STORE_KEY = "_uploads_store"
USE_KEY = "_uploads_use"  # the "Use my upload" choice, remembered across pages
NONCE_KEY = "_uploads_nonce"  # part of the uploaders' keys: a new value gives empty uploaders
MESSAGE_KEY = "_uploads_message"  # {page: the last rejected file's message}
EDITS_KEY = "_uploads_edits"  # {source: [painted masks, oldest first]}
MAX_EDITS = 50


# ------------------------------------------------------------------------------------ pure half
@dataclass(frozen=True, eq=False)
class UploadStore:
    """What the user uploaded: each part parsed at most :data:`STORE_SIDE` pixels a side.

    ``generation`` grows with every change, so that what a page derived from an upload (a
    painted mask) can tell a new upload from the old one.
    """

    image: UploadedImage | None = None
    mask: UploadedMask | None = None
    logits: UploadedLogits | None = None
    generation: int = 0


@dataclass(frozen=True, eq=False)
class UploadedCase:
    """An upload ready for a page, at most ``max_side`` pixels a side (nearest neighbour).

    Attributes:
        mask: ``[H, W]`` int64 class indices, 255 = void.
        num_classes: C: the logits' channels when logits were uploaded, else the mask's largest
            class + 1 (at least 2).
        void_pixels: how many pixels of ``mask`` are void.
        image: ``[H, W]`` or ``[H, W, 3]`` float32 in [0, 1], or ``None``.
        logits: ``[C, H, W]`` float32, or ``None``.
        names: ``{"image" | "mask" | "logits": file name}`` of the parts uploaded.
        original_shape: ``(H, W)`` as uploaded.
        source: a key that changes whenever the upload or the size changes.
    """

    mask: np.ndarray
    num_classes: int
    void_pixels: int
    image: np.ndarray | None
    logits: np.ndarray | None
    names: dict[str, str]
    original_shape: tuple[int, int]
    source: str

    @property
    def shape(self) -> tuple[int, int]:
        """``(H, W)`` after resizing."""
        return (int(self.mask.shape[0]), int(self.mask.shape[1]))

    @property
    def resized(self) -> bool:
        """Whether the upload was shrunk to fit the page."""
        return self.shape != self.original_shape


def _fit_logits(logits: UploadedLogits, mask: UploadedMask) -> None:
    """Raise :class:`UploadError` unless ``logits`` can be the prediction of ``mask``."""
    if logits.original_shape != mask.original_shape:
        (lh, lw), (mh, mw) = logits.original_shape, mask.original_shape
        raise UploadError(
            f"{logits.name} is {lh}×{lw} pixels but {mask.name} is {mh}×{mw}: logits and mask must "
            "have the same size."
        )
    if logits.num_classes < mask.num_classes:
        raise UploadError(
            f"{logits.name} has C = {logits.num_classes} classes but {mask.name} has class values up "
            f"to {mask.num_classes - 1}: the logits need one channel per class, at least "
            f"{mask.num_classes}."
        )


FORGET_HINT = " To start again with other files, press “Forget my upload” first."


def _agree(check: Callable[[], None]) -> None:
    """Run a check between a new file and the stored ones; its message says how to start over."""
    try:
        check()
    except UploadError as error:
        raise UploadError(f"{error}{FORGET_HINT}") from error


def with_image(store: UploadStore, data: bytes, filename: str) -> UploadStore:
    """``store`` with a new image; :class:`UploadError` if unreadable or not the mask's size."""
    image = read_image(data, filename, max_side=STORE_SIDE)
    mask = store.mask
    if mask is not None:
        _agree(lambda: check_same_size(image, mask))
    return replace(store, image=image, generation=store.generation + 1)


def with_mask(store: UploadStore, data: bytes, filename: str) -> UploadStore:
    """``store`` with a new mask; :class:`UploadError` if unusable or not fitting the image or logits."""
    mask = read_mask(data, filename, max_side=STORE_SIDE, ignore_index=VOID)
    image, logits = store.image, store.logits
    if image is not None:
        _agree(lambda: check_same_size(image, mask))
    if logits is not None:
        _agree(lambda: _fit_logits(logits, mask))
    return replace(store, mask=mask, generation=store.generation + 1)


def with_logits(store: UploadStore, data: bytes, filename: str) -> UploadStore:
    """``store`` with new logits; :class:`UploadError` if unusable or not fitting the mask."""
    logits = read_logits(data, filename, max_side=STORE_SIDE)
    mask = store.mask
    if mask is not None:
        _agree(lambda: _fit_logits(logits, mask))
    return replace(store, logits=logits, generation=store.generation + 1)


def _enlarge_nearest(array: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """``[h, w]`` → ``[H, W]`` (H ≥ h, W ≥ w) by nearest neighbour: pixel (i, j) takes
    ``array[i·h // H, j·w // W]``, so class values stay exact."""
    rows = np.arange(shape[0]) * array.shape[0] // shape[0]
    cols = np.arange(shape[1]) * array.shape[1] // shape[1]
    return array[rows][:, cols]


def with_painted_mask(store: UploadStore, base: np.ndarray, painted: np.ndarray) -> UploadStore:
    """``store`` with the strokes of ``painted`` applied to its mask, for every page.

    ``base`` ``[h, w]`` is a page's shrunk copy of the stored mask and ``painted`` the same after
    painting (class indices or 255). The pixels that differ are enlarged back to the stored size by
    nearest neighbour and overwrite the stored mask there; elsewhere it keeps its full detail, and
    it still fits the image and the logits. The file name gets " (painted)"; the classes stay
    those of the upload.

    Raises:
        ValueError: no mask is stored, or ``base``/``painted`` are not equal-shape 2-D arrays of
        known labels no larger than the stored mask.
    """
    mask = store.mask
    if mask is None:
        raise ValueError("`store` has no mask to paint on")
    painted, base = np.asarray(painted), np.asarray(base)
    if painted.ndim != 2 or not np.issubdtype(painted.dtype, np.integer):
        raise ValueError(f"`painted` must be a 2-D integer array [H, W], got {painted.dtype} {painted.shape}")
    if base.shape != painted.shape:
        raise ValueError(f"`base` must have the shape of `painted` {painted.shape}, got {base.shape}")
    allowed = np.append(np.arange(mask.num_classes), VOID)
    if not np.isin(painted, allowed).all():
        raise ValueError(f"`painted` may hold classes 0–{mask.num_classes - 1} and {VOID}, got other values")
    if painted.shape[0] > mask.shape[0] or painted.shape[1] > mask.shape[1]:
        raise ValueError(f"`painted` {painted.shape} is larger than the stored mask {mask.shape}")
    changed = _enlarge_nearest(painted != base, mask.shape)
    full = np.where(changed, _enlarge_nearest(painted.astype(np.int64), mask.shape), mask.mask)
    name = mask.name if mask.name.endswith(" (painted)") else f"{mask.name} (painted)"
    new_mask = replace(mask, name=name, mask=full, void_pixels=int((full == VOID).sum()))
    return replace(store, mask=new_mask, generation=store.generation + 1)


READERS: dict[str, Callable[[UploadStore, bytes, str], UploadStore]] = {
    "image": with_image,
    "mask": with_mask,
    "logits": with_logits,
}


def case_of(store: UploadStore, max_side: int) -> UploadedCase | None:
    """The stored upload shrunk to ``max_side`` pixels a side, or ``None`` while no mask is stored."""
    mask = store.mask
    if mask is None:
        return None
    labels = resize_nearest(np.asarray(mask.mask, dtype=np.int64), max_side).copy()
    image = None if store.image is None else resize_nearest(store.image.image, max_side).copy()
    logits = None
    if store.logits is not None:
        channels_last = store.logits.logits.numpy().transpose(1, 2, 0)
        logits = np.ascontiguousarray(resize_nearest(channels_last, max_side).transpose(2, 0, 1))
    names = {
        kind: part.name
        for kind, part in (("image", store.image), ("mask", mask), ("logits", store.logits))
        if part is not None
    }
    return UploadedCase(
        mask=labels,
        num_classes=store.logits.num_classes if store.logits is not None else mask.num_classes,
        void_pixels=int((labels == VOID).sum()),
        image=image,
        logits=logits,
        names=names,
        original_shape=mask.original_shape,
        source=f"upload:{store.generation}:{labels.shape[0]}x{labels.shape[1]}",
    )


def describe(store: UploadStore) -> list[str]:
    """One line per stored part, e.g. ``"Mask: cells.png, 300×200, 3 classes, 120 void pixels"``.

    File names are returned as they are: escape them before putting them into Markdown.
    """
    lines = []
    if store.image is not None:
        h, w = store.image.original_shape
        lines.append(f"Image: {store.image.name}, {h}×{w}")
    if store.mask is not None:
        h, w = store.mask.original_shape
        lines.append(
            f"Mask: {store.mask.name}, {h}×{w}, {store.mask.num_classes} classes, "
            f"{int((store.mask.mask == VOID).sum()):,} void pixels"
        )
    if store.logits is not None:
        h, w = store.logits.original_shape
        lines.append(f"Logits: {store.logits.name}, C = {store.logits.num_classes}, {h}×{w}")
    return lines


# ------------------------------------------------------------------------------------ session
def current_store() -> UploadStore:
    """The session's :class:`UploadStore` (an empty one before any upload)."""
    store = st.session_state.get(STORE_KEY)
    return store if isinstance(store, UploadStore) else UploadStore()


LINK_NOTE = (
    "Your uploaded files stay in this browser session: a link never carries them, so it opens "
    "the page's built-in scene with these settings."
)


def link_note() -> str | None:
    """What a link to this view leaves out while a mask is stored (the upload), else ``None``."""
    return LINK_NOTE if current_store().mask is not None else None


def _messages() -> dict[str, str]:
    messages: dict[str, str] = st.session_state.setdefault(MESSAGE_KEY, {})
    return messages


def _on_upload(page: str, kind: str, widget_key: str) -> None:
    """A file was added to (or removed from) an uploader: parse it into the store, or say why not."""
    uploaded = st.session_state.get(widget_key)
    if uploaded is None:  # the user removed the file from the uploader: the stored arrays stay
        return
    name = str(getattr(uploaded, "name", "the file"))
    try:
        store = READERS[kind](current_store(), uploaded.getvalue(), name)
    except UploadError as error:
        _messages()[page] = str(error)
        return
    except Exception as error:  # a decoder's own failure: still one message, never a traceback
        _messages()[page] = f"{name} could not be read ({type(error).__name__}: {error})."
        return
    st.session_state[STORE_KEY] = store
    _messages().pop(page, None)
    st.session_state[USE_KEY] = True
    st.session_state.pop(f"{USE_KEY}_{page}", None)


def forget() -> None:
    """Drop every upload of the session (and what was painted on it); empty the uploaders."""
    st.session_state[STORE_KEY] = UploadStore(generation=current_store().generation + 1)
    st.session_state[MESSAGE_KEY] = {}
    st.session_state[NONCE_KEY] = int(st.session_state.get(NONCE_KEY, 0)) + 1
    st.session_state[USE_KEY] = True
    edits = st.session_state.get(EDITS_KEY, {})
    for source in [s for s in edits if s.startswith("upload:")]:
        del edits[source]


def _remember_use(widget_key: str) -> None:
    st.session_state[USE_KEY] = bool(st.session_state.get(widget_key, True))


def upload_controls(
    page: str, max_side: int, *, logits: bool = False, container: Any = None
) -> UploadedCase | None:
    """The "Your data" block of a page's sidebar; returns the upload to use, or ``None``.

    Args:
        page: the page's registered name (messages are kept per page).
        max_side: the page's size limit: the returned arrays are at most this many pixels a side.
        logits: also offer an uploader for a model's logits ``[C, H, W]`` (see :func:`logits_controls`).
        container: where to draw (default ``st.sidebar``).

    Returns:
        ``None`` when no mask is stored or "Use my upload" is off; else an :class:`UploadedCase`.
    """
    where = container if container is not None else st.sidebar
    nonce = int(st.session_state.get(NONCE_KEY, 0))
    where.subheader("Your data")
    where.caption(
        f"Files stay in this browser session and are never saved. At most {MAX_BYTES // 2**20} MB "
        f"and 512² pixels each; shown at most {max_side} pixels a side."
    )
    uploaders = [
        ("image", "Image (PNG or JPEG, optional)", ["png", "jpg", "jpeg"]),
        ("mask", f"Mask: PNG or .npy of class indices 0–{MAX_CLASSES - 1}, 255 = void", ["png", "npy"]),
    ]
    if logits:
        uploaders.append(("logits", "Logits [C, H, W] of your model (.npy or .pt)", ["npy", "pt"]))
    for kind, label, types in uploaders:
        widget_key = f"_upload_{kind}_{nonce}"
        where.file_uploader(
            label,
            type=types,
            key=widget_key,
            on_change=_on_upload,
            args=(page, kind, widget_key),
            max_upload_size=MAX_BYTES // 2**20,
        )
    message = _messages().get(page)
    if message:
        where.error(safe_text.literal(message, limit=600), icon=":material/error:")
    store = current_store()
    lines = describe(store)
    if lines:
        where.caption("Stored in this session: " + "; ".join(safe_text.literal(line) for line in lines) + ".")
    if store.mask is None:
        if store.image is not None or store.logits is not None:
            where.info("Now upload the mask of this data.", icon=":material/upload:")
        if lines:
            where.button("Forget my upload", key=f"_upload_forget_{page}", on_click=forget)
        return None
    widget_key = f"{USE_KEY}_{page}"
    if widget_key not in st.session_state:
        st.session_state[widget_key] = bool(st.session_state.get(USE_KEY, True))
    use = where.toggle(
        "Use my upload",
        key=widget_key,
        on_change=_remember_use,
        args=(widget_key,),
        help="Off: the page's own example; your upload stays stored for later and for the other pages.",
    )
    where.button(
        "Forget my upload",
        key=f"_upload_forget_{page}",
        on_click=forget,
        icon=":material/delete:",
        help="Drop the uploaded files from this session on every page.",
    )
    return case_of(store, max_side) if use else None


def logits_controls(page: str, max_side: int, container: Any = None) -> UploadedCase | None:
    """:func:`upload_controls` with a third uploader for a model's logits ``[C, H, W]`` and the mask
    they predict: ``case.logits`` is ``[C, H, W]`` float32 when they were uploaded, else ``None``."""
    return upload_controls(page, max_side, logits=True, container=container)


# ------------------------------------------------------------------------------------ painting
def _edits() -> dict[str, list[np.ndarray]]:
    edits: dict[str, list[np.ndarray]] = st.session_state.setdefault(EDITS_KEY, {})
    return edits


def edited_mask(source: str, base: np.ndarray) -> np.ndarray:
    """The mask painted on ``base`` (``source`` names it, e.g. ``UploadedCase.source``), or ``base``."""
    history = _edits().get(source)
    if history and history[-1].shape == base.shape:
        return history[-1]
    return base


def paint_steps(source: str) -> int:
    """How many paint strokes can be undone."""
    return len(_edits().get(source, []))


def paint_pixels(source: str, base: np.ndarray, indices: list[int], value: int) -> None:
    """Paint the pixels at flat ``indices`` of the current mask with ``value`` (class or 255)."""
    if not indices:
        return
    history = _edits().setdefault(source, [])
    history.append(paint(edited_mask(source, base), indices, value))
    del history[:-MAX_EDITS]


def undo_paint(source: str) -> None:
    """Take back the last stroke."""
    history = _edits().get(source)
    if history:
        history.pop()


def reset_paint(source: str) -> None:
    """Back to the unpainted mask."""
    _edits().pop(source, None)


def use_painting_everywhere(source: str, base: np.ndarray) -> None:
    """Make the mask painted on ``base`` the stored upload's mask, for every page (a new
    generation: this page's strokes start again from it)."""
    painted = edited_mask(source, base)
    st.session_state[STORE_KEY] = with_painted_mask(current_store(), base, painted)
    _edits().pop(source, None)
