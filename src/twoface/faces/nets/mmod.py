"""dlib's CNN face detector (``mmod_human_face_detector``) in PyTorch.

dlib declares it (``tools/python/src/cnn_face_detector.cpp``, bottom to top)::

    input_rgb_image_pyramid<pyramid_down<6>>   the image and its 5/6, 25/36, ... downscales
                                               tiled into one (N,3,Ht,Wt) image, (rgb-avg)/256
    3 x (con 5x5 /2, affine, relu)             16, 32, 32 channels, no padding
    3 x (con 5x5, affine, relu)                45 channels, padding 2
    con 1 9x9                                  padding 4: the (N,1,h,w) score map
    loss_mmod                                  scores > threshold -> 80x80 windows -> NMS

A score at (r, c) is a window centred on input pixel (8c+14, 8r+14) (each strided 5x5 conv
maps p to 2p+2); dlib maps that window back through the pyramid level whose tile is nearest
to its centre, rounds it to integer pixels, sorts by score and keeps every box that does not
overlap an already kept one by the ``overlaps_nms`` test stored in the file. ``upsample``
first enlarges the image with ``pyramid_up`` (pyramid_down<2>'s geometry, bilinear) like
``dlib.cnn_face_detection_model_v1(...)(img, upsample)``, and maps the boxes back down.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from twoface.errors import TwofaceError
from twoface.faces.nets.dat import DlibNet, read_dat, weights_path
from twoface.faces.nets.embedder import Affine, check_architecture, conv_from_dlib

FILE_NAME = "mmod_human_face_detector.dat"
PYRAMID_N = 6  # pyramid_down<6>: each level is 5/6 of the one before
Box = tuple[int, int, int, int, float]  # left, top, right, bottom (inclusive, dlib), score
Rect = tuple[int, int, int, int]  # left, top, right, bottom, inclusive


def pyramid_rects(nr: int, nc: int, padding: int, outer_padding: int
                  ) -> tuple[list[Rect], int, int]:
    """Where dlib's ``create_tiled_pyramid`` puts each level: (rects, tiled rows, tiled cols).

    Levels shrink by ``floor(5/6·size)`` until fewer than 5 rows remain; they stack down the
    left column until the rest fit beside the first image, then go back up the right side.
    """
    sizes = [(nr, nc)]
    while True:
        nr, nc = math.floor(nr * (PYRAMID_N - 1.0) / PYRAMID_N), math.floor(
            nc * (PYRAMID_N - 1.0) / PYRAMID_N)
        if nr * nc == 0 or nr < 5:
            break
        sizes.append((nr, nc))
    total = sum(h + padding for h, _ in sizes) - 2 * padding
    (first_h, first_w), height, prev_w = sizes[0], 0, 0
    for h, w in sizes:
        if w <= first_w - prev_w - padding and (height - first_h) * 2 >= total - first_h:
            break
        height += h + padding
        prev_w = w
    height -= padding
    width = sizes[0][1]
    rects: list[Rect] = []
    y = outer_padding
    while y < height + outer_padding and len(rects) < len(sizes):
        h, w = sizes[len(rects)]
        rects.append((outer_padding, y, outer_padding + w - 1, y + h - 1))
        y += h + padding
    y -= padding
    while len(rects) < len(sizes):
        h, w = sizes[len(rects)]
        right, bottom = outer_padding + width - 1, y - 1
        rect = (right - w + 1, bottom - h + 1, right, bottom)
        first = rects[0]
        if (rect[0] <= first[2] and rect[2] >= first[0]
                and rect[1] <= first[3] and rect[3] >= first[1]):
            break  # it would overlap the full-size image
        rects.append(rect)
        y -= h + padding
    return rects, height + 2 * outer_padding, width + 2 * outer_padding


def tile_pyramid(x: torch.Tensor, rects: list[Rect], size: tuple[int, int]) -> torch.Tensor:
    """(N,3,H,W) normalised images -> (N,3,Ht,Wt) tiled pyramid, zeros between the tiles.

    Like dlib's input layer, each level is a bilinear resize (corners aligned) of the level
    before it, done on the normalised values.
    """
    out = x.new_zeros((x.shape[0], x.shape[1], *size))
    level = x
    for left, top, right, bottom in rects:
        if level.shape[2:] != (bottom - top + 1, right - left + 1):
            level = F.interpolate(level, size=(bottom - top + 1, right - left + 1),
                                  mode="bilinear", align_corners=True)
        out[:, :, top:bottom + 1, left:right + 1] = level
    return out


def pyramid_up(image: np.ndarray) -> np.ndarray:
    """dlib's ``pyramid_up(img, pyramid_down<2>)``: (H,W,3) uint8 -> (2H+1, 2W+2, 3) uint8.

    The size is pyramid_down<2>'s ``rect_up`` of the image rectangle, the pixels dlib's RGB
    bilinear ``resize_image`` (corners aligned), reproduced bit for bit: it walks the columns
    four at a time in float32 (positions accumulated, weights and sum in float32, truncated),
    and the columns left over in float64.
    """
    h, w = image.shape[:2]
    up_h, up_w = math.floor((h - 1 + 0.75) * 2 + 0.5) + 1, math.floor((w - 1 + 1.25) * 2 + 0.5) + 1
    xs, ys = (w - 1) / max(up_w - 1, 1), (h - 1) / max(up_h - 1, 1)
    y = np.add.accumulate(np.r_[-ys, np.full(up_h, ys)])[1:]  # dlib adds y_scale row by row
    top = np.floor(y).astype(np.int64)
    bottom = np.minimum(top + 1, h - 1)
    tb = y - top
    src = image.astype(np.float32)
    out = np.empty((up_h, up_w, 3), np.uint8)
    # Four-wide float32 lanes start at -4·xs + (0..3)·xs and advance by 4·xs per group.
    lanes = np.vstack([(-4 * xs + np.arange(4) * xs).astype(np.float32)[None],
                       np.full((up_w // 4 + 1, 4), np.float32(4 * xs))])
    x = np.add.accumulate(lanes, axis=0, dtype=np.float32)[1:]
    left = x.astype(np.int32)
    groups = int(np.argmax(left[:, 3] + 1 >= w)) if (left[:, 3] + 1 >= w).any() else len(x)
    n = 4 * groups
    lx = left[:groups].reshape(-1)
    lr = x[:groups].reshape(-1) - lx.astype(np.float32)
    tb32, inv_tb = tb.astype(np.float32)[:, None, None], (1 - tb).astype(np.float32)[:, None, None]
    lr, inv_lr = lr[None, :, None], (np.float32(1) - lr)[None, :, None]
    v = (((inv_tb * inv_lr) * src[top][:, lx] + (inv_tb * lr) * src[top][:, lx + 1])
         + (tb32 * inv_lr) * src[bottom][:, lx]) + (tb32 * lr) * src[bottom][:, lx + 1]
    out[:, :n] = v.astype(np.int32)
    if n < up_w:  # the remaining columns, in double precision
        xt = np.add.accumulate(np.r_[-xs + n * xs, np.full(up_w - n, xs)])[1:]
        lt = np.floor(xt).astype(np.int64)
        rt, f = np.minimum(lt + 1, w - 1), (xt - lt)[None, :, None]
        d, t = image.astype(np.float64), tb[:, None, None]
        v = (1 - t) * ((1 - f) * d[top][:, lt] + f * d[top][:, rt]) + t * (
            (1 - f) * d[bottom][:, lt] + f * d[bottom][:, rt])
        out[:, n:] = v.astype(np.int32)
    return out


def _overlaps(a: Rect, b: Rect, iou: float, covered: float) -> bool:
    """dlib's ``test_box_overlap``: intersection over the *bounding box* of both, or over
    either box, above its threshold (inclusive integer rectangles)."""
    iw = min(a[2], b[2]) - max(a[0], b[0]) + 1
    ih = min(a[3], b[3]) - max(a[1], b[1]) + 1
    if iw <= 0 or ih <= 0:
        return False
    inner = float(iw * ih)
    outer = (max(a[2], b[2]) - min(a[0], b[0]) + 1) * (max(a[3], b[3]) - min(a[1], b[1]) + 1)
    area_a = (a[2] - a[0] + 1) * (a[3] - a[1] + 1)
    area_b = (b[2] - b[0] + 1) * (b[3] - b[1] + 1)
    return inner / outer > iou or inner / area_a > covered or inner / area_b > covered


class MMODDetector(nn.Module):
    """The detector's network and the constants of its input and loss layers.

    ``forward(x)``: (N,3,Ht,Wt) tiled, normalised pyramid (see :meth:`prepare`) -> (N,1,h,w)
    score map. :func:`detect_faces_batch` turns score maps into boxes.
    """

    avg_rgb: torch.Tensor

    def __init__(self, net: DlibNet) -> None:
        super().__init__()
        if net.loss != "loss_mmod" or net.input != "input_rgb_image_pyramid":
            raise TwofaceError(net.path, f"is a dlib {net.loss} network over {net.input}, "
                                         "not the mmod face detector")
        opts = net.loss_options
        if opts["bbr"] or len(opts["windows"]) != 1:
            raise TwofaceError(net.path, "mmod detector with bounding box regression or "
                                         "several windows: not the face detector read here")
        kinds = ["con", "affine", "relu"] * 6 + ["con"]
        check_architecture(net, kinds, [2] * 18, "the mmod face detector")
        self.register_buffer("avg_rgb", torch.tensor(net.input_options["avg_rgb"],
                                                     dtype=torch.float32).view(1, 3, 1, 1))
        body: list[nn.Module] = []
        for layer in net.layers:
            if layer.kind == "con":
                body.append(conv_from_dlib(layer))
            elif layer.kind == "affine":
                body.append(Affine(**layer.arrays))
            else:
                body.append(nn.ReLU())
        self.body = nn.Sequential(*body)
        self.padding = int(net.input_options["padding"])
        self.outer_padding = int(net.input_options["outer_padding"])
        self.window = tuple(opts["windows"][0])  # (width, height)
        self.nms = (float(opts["nms_iou"]), float(opts["nms_covered"]))
        # Score map (r, c) -> input pixel scale*(c, r) + offset, composing dlib's
        # map_output_to_input (p*stride - padding + size//2) from the top layer down.
        scale, offset = 1, 0
        for conv in reversed([m for m in body if isinstance(m, nn.Conv2d)]):
            pad = conv.padding[0]
            assert isinstance(pad, int)  # dlib's convolutions give explicit pads
            offset = offset * conv.stride[0] + conv.kernel_size[0] // 2 - pad
            scale *= conv.stride[0]
        self.scale, self.offset = scale, offset

    def prepare(self, images: torch.Tensor) -> tuple[torch.Tensor, list[Rect]]:
        """(N,H,W,3) uint8 RGB -> ((N,3,Ht,Wt) tiled normalised pyramid, the level rects)."""
        h, w = images.shape[1:3]
        rects, nr, nc = pyramid_rects(h, w, self.padding, self.outer_padding)
        x = (images.permute(0, 3, 1, 2).to(torch.float32) - self.avg_rgb) / 256
        return tile_pyramid(x, rects, (nr, nc)), rects

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)

    def boxes(self, scores: np.ndarray, rects: list[Rect], adjust_threshold: float = 0.0
              ) -> list[Box]:
        """(h,w) score map of one image -> boxes in the tiled image's source image, after NMS.

        Follows dlib's ``loss_mmod_::to_label``: every score above ``adjust_threshold`` is an
        80x80 window, mapped to the image through the nearest pyramid level, rounded to
        integer pixels, sorted by score, and greedily suppressed.
        """
        rr, cc = np.nonzero(scores > adjust_threshold)
        order = np.argsort(-scores[rr, cc], kind="stable")
        half_w, half_h = (self.window[0] - 1) / 2, (self.window[1] - 1) / 2
        kept: list[Box] = []
        for i in order:
            x, y = self.scale * int(cc[i]) + self.offset, self.scale * int(rr[i]) + self.offset
            level = _nearest_rect(rects, x, y)
            ox, oy = rects[level][0], rects[level][1]
            corners = [x - half_w - ox, y - half_h - oy, x + half_w - ox, y + half_h - oy]
            for _ in range(level):  # pyramid_down<6>::point_up, once per level
                corners = [v * (PYRAMID_N / (PYRAMID_N - 1.0)) + 0.3 for v in corners]
            rect = tuple(math.floor(v + 0.5) for v in corners)
            if any(_overlaps(k[:4], rect, *self.nms) for k in kept):
                continue
            kept.append((*rect, float(scores[rr[i], cc[i]])))
        return kept


def _nearest_rect(rects: list[Rect], x: int, y: int) -> int:
    """dlib's ``nearest_rect``: the first rect holding (x, y), else the closest one."""
    best, best_d = 0, math.inf
    for i, (left, top, right, bottom) in enumerate(rects):
        dx = max(left - x, 0, x - right)
        dy = max(top - y, 0, y - bottom)
        if dx == 0 and dy == 0:
            return i
        d = math.hypot(dx, dy)
        if d < best_d:
            best, best_d = i, d
    return best


def load_detector(device: str | torch.device = "cpu", path: str | Path | None = None
                  ) -> MMODDetector:
    """A fresh, frozen :class:`MMODDetector` on ``device``; ``path`` is the ``.dat`` file or
    its folder (default: the file shipped in ``face_recognition_models``)."""
    model = MMODDetector(read_dat(weights_path(FILE_NAME, path)))
    return model.eval().requires_grad_(False).to(device)


def _rect_down(box: Box, levels: int) -> Box:
    """pyramid_down<2>::rect_down, ``levels`` times, rounded like dlib's rectangle."""
    left, top, right, bottom = (float(v) for v in box[:4])
    for _ in range(levels):
        left, right = left / 2 - 1.25, right / 2 - 1.25
        top, bottom = top / 2 - 0.75, bottom / 2 - 0.75
    x0, y0, x1, y1 = (math.floor(v + 0.5) for v in (left, top, right, bottom))
    return (x0, y0, x1, y1, box[4])


@torch.no_grad()
def detect_faces_batch(images: np.ndarray | list[np.ndarray], upsample: int = 0,
                       device: str | torch.device = "cpu", detector: MMODDetector | None = None,
                       adjust_threshold: float = 0.0, batch_size: int = 4) -> list[list[Box]]:
    """Faces in each of N equally sized (H,W,3) uint8 RGB images (e.g. video frames).

    Returns per image a list of (left, top, right, bottom, score) as dlib's
    ``cnn_face_detection_model_v1(...)(img, upsample)`` gives them: integer, inclusive
    corners, sorted by score; boxes scoring above ``adjust_threshold`` are kept (dlib's
    default 0; lower finds more, less certain faces). The network runs on ``batch_size``
    images at a time.
    """
    frames = [np.asarray(im) for im in images]
    if not frames:
        return []
    shape = frames[0].shape
    if any(f.shape != shape or f.dtype != np.uint8 for f in frames) or len(shape) != 3 \
            or shape[2] != 3:
        raise TwofaceError(None, "detect_faces_batch needs equally sized H x W x 3 uint8 RGB "
                                 f"images; got {[f.shape for f in frames[:3]]}...")
    model = detector if detector is not None else load_detector(device)
    dev = next(model.parameters()).device
    results: list[list[Box]] = []
    for start in range(0, len(frames), batch_size):
        chunk = frames[start:start + batch_size]
        for _ in range(upsample):
            chunk = [pyramid_up(f) for f in chunk]
        x, rects = model.prepare(torch.from_numpy(np.stack(chunk)).to(dev))
        x = x.to(next(model.parameters()).dtype)
        scores = model(x)[:, 0].float().cpu().numpy()
        for s in scores:
            boxes = model.boxes(s, rects, adjust_threshold)
            results.append([_rect_down(b, upsample) for b in boxes])
    return results


def detect_faces(image: np.ndarray, upsample: int = 0, device: str | torch.device = "cpu",
                 detector: MMODDetector | None = None, adjust_threshold: float = 0.0
                 ) -> list[Box]:
    """Faces in one (H,W,3) uint8 RGB image: [(left, top, right, bottom, score)], as dlib's
    ``cnn_face_detection_model_v1(...)(img, upsample)``."""
    return detect_faces_batch([image], upsample, device, detector, adjust_threshold)[0]
