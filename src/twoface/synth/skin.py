"""Paint for the synthetic head: skin, hair, brows, lips, eyes, clothes and backgrounds.

Private to :mod:`twoface.synth`. Colours are sRGB in 0..1 (the renderer linearises
them before lighting). Features are drawn with OpenCV on frontal-millimetre canvases at the
designed landmark positions and carried onto the texel grid (see :mod:`._head`).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import cv2
import numpy as np
from numpy.typing import ArrayLike

from twoface.synth.grid import (
    CH,
    CLOTH,
    CRES,
    CW,
    CX0,
    CY0,
    HAIR,
    NT,
    NY,
    THETA,
    YS,
    canvas_grid,
    smoothstep,
    value_noise,
)
from twoface.synth.head import Design, Shape, canvas_to_texels

if TYPE_CHECKING:
    from twoface.synth.identity import Identity


def _to_canvas(pts: ArrayLike, origin: tuple[float, float], res: float) -> np.ndarray:
    """Frontal mm → fixed-point (4 fractional bits) canvas pixels, for anti-aliased drawing."""
    return np.round((np.asarray(pts) - origin) / res * 16).astype(np.int32)


def _catmull(points: np.ndarray, n: int = 24) -> np.ndarray:
    """A Catmull-Rom curve through ``points`` (end tangents mirrored), ``n`` samples per span."""
    p = np.asarray(points, float)
    p = np.vstack([2 * p[0] - p[1], p, 2 * p[-1] - p[-2]])
    t = np.linspace(0, 1, n, endpoint=False)[:, None]
    out = []
    for i in range(1, len(p) - 2):
        p0, p1, p2, p3 = p[i - 1], p[i], p[i + 1], p[i + 2]
        out.append(0.5 * ((2 * p1) + (-p0 + p2) * t + (2 * p0 - 5 * p1 + 4 * p2 - p3) * t ** 2
                          + (-p0 + 3 * p1 - 3 * p2 + p3) * t ** 3))
    out.append(p[-2][None])
    return np.vstack(out)


def _over(dst_rgb: np.ndarray, dst_a: np.ndarray, rgb: np.ndarray | tuple, a: np.ndarray) -> None:
    """Composite a colour with coverage ``a`` over a premultiplied RGBA canvas, in place."""
    a3 = a[..., None]
    dst_rgb *= 1 - a3
    dst_rgb += a3 * np.asarray(rgb, np.float32)
    dst_a *= 1 - a
    dst_a += a


def _poly_mask(shape: tuple[int, int], polys: list[np.ndarray], origin: tuple[float, float],
               res: float, blur: float = 0.0) -> np.ndarray:
    """Anti-aliased coverage (0..1) of filled polygons given in frontal mm."""
    m = np.zeros(shape, np.uint8)
    cv2.fillPoly(m, [_to_canvas(p, origin, res) for p in polys], 255, cv2.LINE_AA, shift=4)
    out = m.astype(np.float32) / 255
    return cv2.GaussianBlur(out, (0, 0), blur / res) if blur > 0 else out


# The window of the grid the face's own paint can touch (fronts of the head, brow to chin).
_ROWS = slice(int((-100 - YS[0]) / (YS[1] - YS[0])), int((150 - YS[0]) / (YS[1] - YS[0])))
_COLS = slice(int(np.searchsorted(THETA, -math.radians(88))),
              int(np.searchsorted(THETA, math.radians(88))))


def paint_neutral(idn: Identity, dz: Design, shape: Shape,
                  rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Albedo with specular strength ``(NY, NT, 4)`` and specular exponent ``(NY, NT)`` of
    the expressionless head; the eyes are painted per render (they blink)."""
    skin = np.asarray(idn.skin_color, np.float32)
    mottle = value_noise(rng, (NY, NT), 30)[..., None] * np.array([0.035, 0.045, 0.05], np.float32)
    pores = cv2.GaussianBlur(rng.standard_normal((NY, NT)).astype(np.float32), (0, 0), 0.7)
    alb = skin * (1 + mottle) * (1 + 0.05 * pores[..., None])
    th, y = THETA[None, :], YS[:, None]
    ears = (np.abs(th) > math.radians(88)) * (np.abs(th) < math.radians(110)) * (y > -10) * (y < 60)
    redden = np.array([0.0, 0.10, 0.09], np.float32)
    alb *= 1 - redden * 0.8 * ears[..., None]

    # Face-only paint, on the front window: tints, stubble, then lips, nostrils and brows.
    win = (_ROWS, _COLS)
    x, y, th = shape.xmap[win], YS[_ROWS, None], THETA[None, _COLS]

    def g(cx: float, cy: float, sx: float, sy: float) -> np.ndarray:
        return np.exp(-((x - cx) / sx) ** 2 - ((y - cy) / sy) ** 2)[..., None]

    tint = 1 - redden * 0.8 * g(0, dz.nose_tip_y, 9, 8)
    for s in (-1.0, 1.0):
        tint *= 1 - redden * g(s * 42, 30, 16, 14)  # cheeks
        under_eye, lid_crease = g(s * dz.eye_x, 7.5, 11, 4.0), g(s * dz.eye_x, -8.5, 12, 3.0)
        tint *= 1 - np.array([0.07, 0.10, 0.06], np.float32) * under_eye
        tint *= 1 - np.array([0.05, 0.08, 0.05], np.float32) * lid_crease
    face = alb[win]
    face *= tint
    if idn.stubble > 0:
        # Stubble: upper lip, chin, jaw and lower cheeks, up to a line from the mouth's
        # corners to the sideburns; fine dark dots, greyish-blue through the skin.
        sub = dz.subnasal_y
        top = np.interp(np.abs(x), [0, 18, 30, 45, 60, 75], [sub + 1, sub + 3, sub + 10, 50,
                                                               32, 8])
        jaw = shape.jaw_row[None, _COLS]
        beard = smoothstep(top, top + 8, y) * smoothstep(jaw + 25, jaw, y)
        lips = g(0, dz.mouth_y + 1, dz.mouth_half * 1.05, 6.5)[..., 0]
        dots = np.clip(0.55 + 0.6 * pores[win], 0, 1)
        beard = beard * (1 - lips) * dots
        face *= 1 - idn.stubble * 0.42 * beard[..., None] * np.array([1.0, 0.95, 0.88], np.float32)

    rgb = np.zeros((CH, CW, 3), np.float32)
    a = np.zeros((CH, CW), np.float32)
    _paint_mouth_nose(rgb, a, idn, dz)
    _paint_brows(rgb, a, idn, dz, rng)
    layer = canvas_to_texels(np.dstack([rgb, a]), shape.xmap, *win)
    layer *= (np.abs(th) < math.radians(85))[..., None]
    face *= 1 - layer[..., 3:]
    face += layer[..., :3]

    # Hair: strands run down the head (along the grid's columns), clumped.
    hair_rgb = np.asarray(idn.hair_color, np.float32)
    strands, clumps = shape.strands, shape.clumps
    shade = np.clip(0.85 + 0.22 * strands + 0.15 * clumps, 0.35, 1.5)[..., None]
    # Near the hairline single hairs thin out: coverage broken up by the strands.
    edge = shape.hair * (1 - shape.hair) * 4
    cover = np.clip(shape.hair + 0.45 * edge * strands, 0, 1)[..., None]
    alb = alb * (1 - cover) + hair_rgb * shade * cover
    cloth = (shape.label == CLOTH)[..., None]
    weave = 1 + 0.06 * value_noise(rng, (NY, NT), 3)[..., None]
    alb = np.where(cloth, np.asarray(idn.shirt_color, np.float32) * weave, alb)

    out = np.empty((NY, NT, 4), np.float32)
    out[..., :3] = np.clip(alb, 0, 1)
    out[..., 3] = 0.16
    sexp = np.full((NY, NT), 16.0, np.float32)
    tzone = np.clip(g(0, -35, 25, 25) + g(0, dz.nose_tip_y - 10, 8, 22), 0, 1)[..., 0]
    lips = layer[..., 3] * (y > 55)
    out[_ROWS, _COLS, 3] += 0.16 * tzone + 0.08 * lips
    sexp[win] += 10 * lips
    out[shape.label == HAIR, 3], sexp[shape.label == HAIR] = 0.12, 24.0
    out[shape.label == CLOTH, 3], sexp[shape.label == CLOTH] = 0.03, 4.0
    return out, sexp


def _paint_mouth_nose(rgb: np.ndarray, a: np.ndarray, idn: Identity, dz: Design) -> None:
    """Lips (with the line where they meet) and nostrils on the design canvas, in place."""
    origin = (CX0, CY0)
    p = dz.points
    outer, lip = p[48:60], np.asarray(idn.lip_color, np.float32)
    upper = np.vstack([_catmull(outer[0:7], 10), _catmull(np.vstack([p[64], p[63], p[62],
                                                                      p[61], p[60]]), 10)])
    lower = np.vstack([_catmull(np.vstack([outer[6:12], outer[0]]), 10),
                       _catmull(np.vstack([p[60], p[67], p[66], p[65], p[64]]), 10)])
    X, Y = canvas_grid()
    lines = 1 + 0.08 * np.sin(X * 2.6 + 3 * np.sin(Y * 0.9))  # fine vertical lip lines
    _over(rgb, a, lip * 0.93 * lines[..., None], _poly_mask((CH, CW), [upper], origin, CRES, 0.35))
    _over(rgb, a, lip * lines[..., None], _poly_mask((CH, CW), [lower], origin, CRES, 0.35))
    # The line where the lips meet, darkest in the middle, running out to the corners.
    seam = _catmull(np.vstack([p[48], p[60], p[61], p[62], p[63], p[64], p[54]]), 12)
    sm = np.zeros((CH, CW), np.uint8)
    for i in range(len(seam) - 1):
        t = abs(i / (len(seam) - 2) - 0.5) * 2  # 0 in the middle, 1 at the corners
        cv2.line(sm, tuple(_to_canvas(seam[i], origin, CRES)),
                 tuple(_to_canvas(seam[i + 1], origin, CRES)), 255,
                 max(1, round((0.9 - 0.45 * t) / CRES)), cv2.LINE_AA, 4)
    _over(rgb, a, lip * 0.3, 0.85 * cv2.GaussianBlur(sm.astype(np.float32) / 255, (0, 0), 0.6))
    nw = abs(float(p[31, 0])) / 14.0
    skin = np.asarray(idn.skin_color, np.float32)
    for s in (-1.0, 1.0):
        m = np.zeros((CH, CW), np.uint8)
        c = _to_canvas([s * 6.0 * nw, dz.subnasal_y - 3.2], origin, CRES)
        axes = (int(3.4 * nw / CRES * 16), int(1.7 / CRES * 16))
        cv2.ellipse(m, tuple(c), axes, -s * 22, 0, 360, 255, -1, cv2.LINE_AA, 4)
        na = cv2.GaussianBlur(m.astype(np.float32) / 255, (0, 0), 0.5 / CRES)
        _over(rgb, a, skin * 0.22, 0.85 * na)
        # The alar crease: a soft shadow line round the outside of each nostril wing, from
        # above it down to where it meets the lip (iBUG 31/35 sit at its lower end).
        ang = np.radians(np.linspace(-110, 95, 24))
        cx, cy = s * (abs(float(p[31, 0])) - 4.5), float(p[31, 1]) - 5.0
        arc = np.stack([cx + s * 5.0 * nw * np.cos(ang), cy + 5.5 * np.sin(ang)], 1)
        cm = np.zeros((CH, CW), np.uint8)
        cv2.polylines(cm, [_to_canvas(arc, origin, CRES)], False, 255, 2, cv2.LINE_AA, 4)
        crease = cv2.GaussianBlur(cm.astype(np.float32) / 255, (0, 0), 0.5 / CRES)
        _over(rgb, a, skin * 0.45, 0.45 * np.clip(crease * 1.5, 0, 1))


# Where the ground-truth brow points sit across the brow: 0 on its centre line, 1 on its upper
# edge. iBUG annotators follow the brow's upper part; dlib agrees best a little above centre.
BROW_OFFSET = 0.6


def _paint_brows(rgb: np.ndarray, a: np.ndarray, idn: Identity, dz: Design,
                 rng: np.random.Generator) -> None:
    """Brows on the design canvas, in place: a soft base and a few hundred short hairs, laid
    so that the ground-truth points 17..26 sit at ``BROW_OFFSET`` across the brow."""
    col = np.asarray(idn.brow_color, np.float32)
    origin = (CX0, CY0)
    for pts in (dz.points[17:22], dz.points[22:27][::-1]):
        # Sample the brow's line from the lateral end (u=0) to the medial end (u=1).
        curve = _catmull(pts, 12)
        seg = np.diff(curve, axis=0)
        arc = np.concatenate([[0], np.cumsum(np.hypot(seg[:, 0], seg[:, 1]))])
        arc /= arc[-1]
        thick = idn.brow_thickness * (2.6 + 3.4 * arc)  # half-thickness: heavier medially
        tang = np.gradient(curve, axis=0)
        tang /= np.linalg.norm(tang, axis=1, keepdims=True)
        norm = np.stack([tang[:, 1], -tang[:, 0]], 1)
        norm *= np.sign(norm[:, 1:2] + 1e-9) * -1  # pointing up (toward -y)
        centre = curve - norm * thick[:, None] * BROW_OFFSET
        top, bottom = centre + norm * thick[:, None], centre - norm * thick[:, None]
        base = _poly_mask((CH, CW), [np.vstack([top, bottom[::-1]])], origin, CRES, 0.9)
        _over(rgb, a, col, 0.45 * base)
        m = np.zeros((CH, CW), np.uint8)
        n_hairs = int(260 * idn.brow_thickness)
        u = rng.random(n_hairs)
        idx = np.clip((u * (len(curve) - 1)).astype(int), 0, len(curve) - 1)
        off = rng.uniform(-0.95, 0.95, n_hairs)
        root = centre[idx] + norm[idx] * (off * thick[idx])[:, None]
        # Hairs grow up and outward medially and lie along the brow laterally.
        lateral = np.sign(root[:, 0:1]) * np.array([[1.0, 0.0]], np.float32)
        up = np.array([[0.0, -1.0]], np.float32)
        w = arc[idx][:, None] ** 2
        direction = (1 - w) * (-tang[idx] * np.sign(tang[idx][:, :1] * lateral[:, :1]))
        direction = direction + w * (0.6 * up + 0.4 * lateral)
        direction = direction + 0.15 * rng.normal(size=(n_hairs, 2))
        direction /= np.linalg.norm(direction, axis=1, keepdims=True)
        length = rng.uniform(3.0, 5.5, n_hairs)[:, None]
        tip = root + direction * length
        for r0, t0 in zip(_to_canvas(root, origin, CRES), _to_canvas(tip, origin, CRES),
                          strict=True):
            cv2.line(m, tuple(r0), tuple(t0), 255, 1, cv2.LINE_AA, 4)
        strokes = cv2.GaussianBlur(m.astype(np.float32) / 255, (0, 0), 0.45)
        _over(rgb, a, col * 0.8, np.clip(strokes * 1.1, 0, 0.95))


EyeLayer = tuple[slice, slice, np.ndarray, np.ndarray]


def eye_layers(xmap: np.ndarray, eyes: np.ndarray, idn: Identity, dz: Design,
               gaze: tuple[float, float]) -> list[EyeLayer]:
    """Both eyes (opening, sclera, iris, pupil, lashes, crease) as texel-window layers.

    ``eyes`` is the ``(12, 2)`` frontal-mm eye contour (iBUG 36..47) after blinking. Each
    layer is ``(rows, cols, premultiplied RGBA, eye-opening coverage)``.
    """
    res = 0.2
    layers = []
    for pts in (eyes[0:6], eyes[6:12][[3, 2, 1, 0, 5, 4]]):
        # pts in the order outer, upper-outer, upper-inner, inner, lower-inner, lower-outer.
        cx = float(pts[[0, 3], 0].mean())
        origin = (cx - 22.0, -17.0)
        h, w = int(32 / res), int(44 / res)
        # Lids leave the corners steeply (extra control points near each corner), so the
        # white reaches into the corners as in real eyes instead of tapering to a point.
        o, i_ = pts[0], pts[3]
        span = i_ - o
        up_o = o + 0.1 * span + [0, 0.55 * (pts[1, 1] - o[1])]
        up_i = i_ - 0.08 * span + [0, 0.45 * (pts[2, 1] - i_[1])]
        lo_i = i_ - 0.08 * span + [0, 0.5 * (pts[4, 1] - i_[1])]
        lo_o = o + 0.1 * span + [0, 0.55 * (pts[5, 1] - o[1])]
        upper = _catmull(np.vstack([o, up_o, pts[1], pts[2], up_i, i_]), 10)
        lower = _catmull(np.vstack([i_, lo_i, pts[4], pts[5], lo_o, o]), 10)
        open_m = _poly_mask((h, w), [np.vstack([upper, lower])], origin, res, 0.12)
        X, Y = np.meshgrid(origin[0] + res * np.arange(w), origin[1] + res * np.arange(h))
        rgb = np.zeros((h, w, 3), np.float32)
        a = np.zeros((h, w), np.float32)
        # Sclera, a little darker and pinker toward the corners.
        corner = np.clip(np.abs(X - cx) / (dz.eye_half + 1e-3), 0, 1) ** 2
        sclera = np.array([0.92, 0.89, 0.86], np.float32) * (1 - 0.22 * corner[..., None])
        sclera = sclera + corner[..., None] * np.array([0.04, -0.02, -0.02], np.float32)
        col = sclera
        # Iris and pupil, centred between the corners, slightly low (the upper lid covers more).
        ix = cx + gaze[0] * dz.eye_half * 0.35
        iy = float(pts[[0, 3], 1].mean()) + 0.6 + gaze[1] * 2.0
        r = np.hypot(X - ix, Y - iy)
        ang = np.arctan2(Y - iy, X - ix)
        iris_c = np.asarray(idn.iris_color, np.float32)
        fib = 1 + 0.18 * np.sin(ang * 23 + 2 * np.sin(ang * 7)) * np.sin(ang * 11 + 1.3)
        radial = (0.8 + 0.45 * smoothstep(dz.iris_r, 0.3 * dz.iris_r, r))
        iris = iris_c * (fib * radial)[..., None]
        limbus = smoothstep(0.78 * dz.iris_r, dz.iris_r, r)[..., None]
        iris = iris * (1 - 0.6 * limbus)
        in_iris = smoothstep(dz.iris_r + 0.15, dz.iris_r - 0.15, r)[..., None]
        col = col * (1 - in_iris) + iris * in_iris
        pupil = smoothstep(0.38 * dz.iris_r + 0.12, 0.38 * dz.iris_r - 0.12, r)[..., None]
        col = col * (1 - pupil) + np.array([0.02, 0.02, 0.02], np.float32) * pupil
        # The caruncle: pink at the inner corner.
        car = np.exp(-((X - pts[3, 0]) / 2.0) ** 2 - ((Y - pts[3, 1]) / 1.4) ** 2)[..., None]
        col = col * (1 - 0.8 * car) + 0.8 * car * np.array([0.80, 0.50, 0.48], np.float32)
        # The upper lid shades the top of the eyeball.
        top = np.interp(X, upper[::-1, 0] if upper[0, 0] > upper[-1, 0] else upper[:, 0],
                        upper[::-1, 1] if upper[0, 0] > upper[-1, 0] else upper[:, 1])
        col = col * (1 - 0.55 * smoothstep(top + 2.2, top, Y))[..., None]
        _over(rgb, a, col, open_m)
        # Crease above the lid, lashes along the upper margin, a fine lower margin.
        crease = upper + (np.array([0, -6.5], np.float32)
                          * np.sin(np.linspace(0.3, 2.85, len(upper)))[:, None])
        cm = np.zeros((h, w), np.uint8)
        cv2.polylines(cm, [_to_canvas(crease, origin, res)], False, 255, int(0.6 / res),
                      cv2.LINE_AA, 4)
        _over(rgb, a, np.array(idn.skin_color, np.float32) * 0.55,
              0.35 * cv2.GaussianBlur(cm.astype(np.float32) / 255, (0, 0), 0.8 / res))
        lm = np.zeros((h, w), np.uint8)
        t = np.linspace(0, 1, len(upper))
        outer_first = upper if abs(upper[0, 0] - pts[0, 0]) < 1e-3 else upper[::-1]
        wing = outer_first[0] + 1.2 * (outer_first[0] - outer_first[3]) / (
            np.linalg.norm(outer_first[0] - outer_first[3]) + 1e-6)
        outer_first = np.vstack([wing, outer_first])  # the lash line runs past the corner
        t = np.linspace(0, 1, len(outer_first))
        for i in range(len(outer_first) - 1):
            width = 0.55 + 0.65 * (1 - t[i]) ** 0.7  # thicker at the outer corner
            cv2.line(lm, tuple(_to_canvas(outer_first[i], origin, res)),
                     tuple(_to_canvas(outer_first[i + 1], origin, res)), 255,
                     max(1, int(width / res)), cv2.LINE_AA, 4)
        for i in range(1, len(outer_first), 2):  # individual lashes flicking up and out
            root = outer_first[i]
            d = np.array([np.sign(root[0] - cx) * 0.8, -1.0], np.float32)
            tip = root + d * (1.6 + 0.8 * (1 - t[i]))
            cv2.line(lm, tuple(_to_canvas(root, origin, res)), tuple(_to_canvas(tip, origin, res)),
                     255, max(1, int(0.25 / res)), cv2.LINE_AA, 4)
        _over(rgb, a, np.array([0.05, 0.04, 0.04], np.float32),
              cv2.GaussianBlur(lm.astype(np.float32) / 255, (0, 0), 0.15 / res) * 0.95)
        bm = np.zeros((h, w), np.uint8)
        cv2.polylines(bm, [_to_canvas(lower, origin, res)], False, 255, int(0.35 / res),
                      cv2.LINE_AA, 4)
        _over(rgb, a, np.array(idn.skin_color, np.float32) * 0.45,
              0.55 * cv2.GaussianBlur(bm.astype(np.float32) / 255, (0, 0), 0.15 / res))
        # Onto the texel window around this eye.
        cols = _cols_for(xmap, origin[0], origin[0] + w * res)
        rows = slice(int((origin[1] - YS[0]) / (YS[1] - YS[0])),
                     int((origin[1] + h * res - YS[0]) / (YS[1] - YS[0])) + 1)
        layer = canvas_to_texels(np.dstack([rgb, a]), xmap, rows, cols, origin=origin, res=res)
        om = canvas_to_texels(open_m, xmap, rows, cols, origin=origin, res=res)
        layers.append((rows, cols, layer, om))
    return layers


def apply_eyes(alb: np.ndarray, sexp: np.ndarray, layers: list[EyeLayer]) -> None:
    """Composite :func:`eye_layers` onto albedo+specular ``(NY, NT, 4)`` and the specular
    exponent, in place: the eyes are wet, so their highlights are small and bright."""
    for rows, cols, layer, om in layers:
        sub = alb[rows, cols]
        sub[..., :3] *= 1 - layer[..., 3:]
        sub[..., :3] += layer[..., :3]
        sub[..., 3] = sub[..., 3] * (1 - om) + 0.9 * om
        sexp[rows, cols] = sexp[rows, cols] * (1 - om) + 120 * om


def _cols_for(xmap: np.ndarray, x0: float, x1: float) -> slice:
    """The texel columns whose frontal x (at eye level) falls within ``[x0, x1]``."""
    row = xmap[int((0 - YS[0]) / (YS[1] - YS[0]))]
    front = np.abs(THETA) < math.radians(85)
    idx = np.nonzero(front & (row >= x0) & (row <= x1))[0]
    return slice(int(idx[0]) - 2, int(idx[-1]) + 3)


def background(size: int, rng: np.random.Generator) -> np.ndarray:
    """A seeded backdrop ``(size, size, 3)`` in 0..1: plain, a soft gradient, or blotches."""
    kind = rng.integers(0, 3)
    base = rng.uniform(0.15, 0.85, 3).astype(np.float32)
    base = 0.6 * base + 0.4 * base.mean()  # muted, like a wall
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
    if kind == 0:
        img = np.broadcast_to(base, (size, size, 3)).copy()
    elif kind == 1:
        other = np.clip(base * rng.uniform(0.5, 1.4, 3), 0, 1)
        ang = rng.uniform(0, 2 * np.pi)
        t = np.clip(0.5 + (xx - 0.5) * np.cos(ang) + (yy - 0.5) * np.sin(ang), 0, 1)[..., None]
        img = base * (1 - t) + other * t
    else:
        small = rng.normal(0, 1, (5, 5, 3)).astype(np.float32)
        blot = cv2.resize(small, (size, size), interpolation=cv2.INTER_CUBIC)
        img = base * (1 + 0.18 * blot)
    vignette = 1 - 0.25 * ((xx - 0.5) ** 2 + (yy - 0.5) ** 2)
    return np.clip(img * vignette[..., None], 0, 1).astype(np.float32)


__all__ = ["apply_eyes", "background", "eye_layers", "paint_neutral"]
