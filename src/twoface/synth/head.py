"""Geometry of the synthetic head (private to :mod:`twoface.synth`).

The head is a *radial height field*: around a vertical axis through the middle of the skull,
the surface lies at distance ``R(θ, y)`` from the axis. ``θ`` is the azimuth (0 straight ahead,
positive toward the subject's left, which is image right in a frontal view) and ``y`` the height
in millimetres (down positive, 0 on the line through the eye corners). Head frame: ``x`` toward
image right, ``y`` down, ``z`` toward the camera, so a surface texel is
``(R sin θ, y, R cos θ)``.

Every map the renderer needs (radius, albedo, labels, ...) lives on one ``(y, θ)`` texel grid.
Features are *designed* in frontal millimetres (what an orthographic frontal camera sees) and
carried onto the grid through ``xmap`` (each texel's frontal x), so the 68 ground-truth points
and the painted features share one set of numbers and cannot drift apart. The grid itself
(its constants, the texel labels, the design canvas) is :mod:`twoface.synth.grid`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import cv2
import numpy as np

from twoface.synth.grid import (
    CLOTH,
    CRES,
    CX0,
    CY0,
    DTH,
    DY,
    FACE,
    HAIR,
    NY,
    SKIN,
    TH0,
    THETA,
    Y0,
    YS,
    canvas_grid,
    smoothstep,
)
from twoface.synth.hair import add_hair

if TYPE_CHECKING:
    from twoface.synth.identity import Identity


@dataclass(frozen=True)
class Design:
    """An identity's measurements in frontal millimetres, shared by geometry, paint and warps."""

    points: np.ndarray  # (68, 2): the iBUG points; the jaw entries are outline *targets*
    eye_x: float  # |x| of each eye's centre
    eye_half: float  # half the eye-corner width
    iris_r: float
    mouth_y: float  # the line where the lips meet
    mouth_half: float  # half-width at the inner lip corners
    nose_tip_y: float
    subnasal_y: float
    chin_y: float


def design(idn: Identity) -> Design:
    """Place the 68 points (and the measurements behind them) for one identity.

    Proportions follow adult anthropometry and the layout of the iBUG 300-W mean face: jaw
    0/16 at eye level on the face outline, brows 14–24 mm above the eye line, nose tip 37 mm
    and mouth 70 mm below it, chin 123 mm below it, outer eye corners ~89 mm apart.
    """
    fw, fl = idn.face_width, idn.face_length
    p = np.zeros((68, 2))

    def vy(y: np.ndarray | float) -> np.ndarray:
        y = np.asarray(y, dtype=float)
        return np.where(y > 0, y * fl, y * (1.0 + 0.4 * (fl - 1.0)))

    # Jaw (outline targets), from ear level on the image left round to the chin.
    jy = np.array([0, 20, 40, 59, 77, 92, 105, 115.5, 119.5])
    jx = np.array([74, 73.5, 71, 67, 59, 47.5, 33, 16.5, 0.0])
    jaw_gain = np.array([0, 0, 0.2, 0.6, 1, 0.9, 0.5, 0.2, 0])
    chin_gain = np.array([0, 0, 0, 0, 0, 0.2, 0.6, 0.9, 1])
    jx = jx * fw * (1 + (idn.jaw_width - 1) * jaw_gain) * (1 + (idn.chin_width - 1) * chin_gain)
    jyv = vy(jy) + np.array([0, 0, 0, 0, 0, 0.3, 0.6, 0.9, 1]) * (idn.chin_length - 1) * 20
    p[0:9] = np.stack([-jx, jyv], 1)
    p[9:17] = np.stack([jx[7::-1], jyv[7::-1]], 1)

    # Eyes: right eye (image left) 36..41 from its outer corner, the left eye mirrored.
    ex, eh = 31.5 * idn.eye_spacing * fw, 12.8 * idn.eye_size
    oh = idn.eye_size
    right = np.array([
        [-ex - eh, -0.6], [-ex - eh + 0.62 * eh, -5.0 * oh], [-ex + 0.36 * eh, -5.0 * oh],
        [-ex + eh, 0.7], [-ex + 0.32 * eh, 3.3 * oh], [-ex - eh + 0.60 * eh, 3.3 * oh]])
    p[36:42] = right
    p[42:48] = right[[3, 2, 1, 0, 5, 4]] * [-1, 1]

    # Brows 17..21 (image left, outer to inner), 22..26 mirrored.
    arch = (idn.brow_arch - 0.5) * 6.0 * np.array([0, 0.6, 1, 0.7, 0.2])
    bx = -ex + np.array([-27.5, -18.4, -6.2, 6.5, 18.6]) * fw
    by = np.array([-13.8, -21.3, -23.3, -21.3, -16.5]) - arch
    p[17:22] = np.stack([bx, vy(by)], 1)
    p[22:27] = np.stack([-bx[::-1], vy(by[::-1])], 1)

    # Nose: bridge 27..30 down the midline, nostril base 31..35.
    nl, nw = idn.nose_length * fl, idn.nose_width
    p[27:31] = [[0.0, -2], [0, -2 + 13.5 * nl], [0, -2 + 26.5 * nl], [0, -2 + 39 * nl]]
    base = [[-14 * nw, 46], [-7.5 * nw, 49], [0.0, 51], [7.5 * nw, 49], [14 * nw, 46]]
    p[31:36] = [[x, -2 + (y + 2) * nl] for x, y in base]

    # Mouth: outer 48..59 clockwise from the image-left corner, inner 60..67.
    ym, mw, lt = 70.0 * fl, 27.0 * idn.mouth_width * fw, idn.lip_thickness
    p[48:60] = [
        [-mw, ym - 0.5], [-0.64 * mw, ym - 4.8 * lt], [-0.26 * mw, ym - 7.0 * lt],
        [0, ym - 5.6 * lt],
        [0.26 * mw, ym - 7.0 * lt], [0.64 * mw, ym - 4.8 * lt], [mw, ym - 0.5],
        [0.66 * mw, ym + 7.2 * lt], [0.31 * mw, ym + 9.8 * lt], [0, ym + 10.3 * lt],
        [-0.31 * mw, ym + 9.8 * lt], [-0.66 * mw, ym + 7.2 * lt]]
    hw = 0.87 * mw
    p[60:68] = [[-hw, ym], [-0.3 * mw, ym], [0, ym], [0.3 * mw, ym], [hw, ym],
                [0.3 * mw, ym], [0, ym], [-0.3 * mw, ym]]
    return Design(points=p.astype(np.float32), eye_x=ex, eye_half=eh, iris_r=5.7 * idn.eye_size,
                  mouth_y=ym, mouth_half=hw, nose_tip_y=float(p[30, 1]),
                  subnasal_y=float(p[33, 1]), chin_y=float(p[8, 1]))


def _superellipse(s: np.ndarray, c: np.ndarray, a: np.ndarray, d: np.ndarray,
                  n: float) -> np.ndarray:
    """Polar radius of ``|x/a|^n + |z/d|^n = 1`` at direction ``(s, c) = (sin θ, cos θ)``."""
    return 1.0 / ((np.abs(s) / a) ** n + (np.abs(c) / d) ** n) ** (1.0 / n)


def _bumps(idn: Identity, dz: Design) -> np.ndarray:
    """Forward relief (mm) of the facial features over the skull, on the design canvas."""
    X, Y = canvas_grid()
    D = np.zeros_like(X)

    def g(cx: float, cy: float, sx: float, sy: float) -> np.ndarray:
        return np.exp(-((X - cx) / sx) ** 2 - ((Y - cy) / sy) ** 2)

    pts, ym, mw = dz.points, dz.mouth_y, dz.mouth_half / 0.87
    # Brow ridge and the sockets it overhangs; eyeballs and lids bulge inside the sockets.
    D += 3.5 * np.exp(-((Y + 14) / 7) ** 2 - (X / 58) ** 4)
    for s in (-1.0, 1.0):
        D -= 8.0 * g(s * dz.eye_x, -1.0, 17, 12)
        D += 5.5 * g(s * dz.eye_x, 0.5, 11 * idn.eye_size, 7.0 * idn.eye_size)
        D += 5.0 * g(s * 40 * idn.face_width, 24, 15, 14)  # cheekbones
        D -= 3.0 * g(s * 62 * idn.face_width, -25, 12, 18)  # temples
        D -= 2.5 * g(s * (mw + 1), ym, 3.5, 3.5)  # mouth corners
    # Nose: a bridge rising from the nasion to the tip, the tip, the alae; max() leaves the
    # creases between them, the blur rounds them.
    y_n, y_t, y_s = float(pts[27, 1]), dz.nose_tip_y, dz.subnasal_y
    u = np.clip((Y - y_n) / (y_t - y_n), 0, 1)
    bridge = (2.5 + 18 * u ** 1.4) * np.exp(-(np.abs(X) / (5.5 + 3.5 * u)) ** 2.2)
    bridge *= smoothstep(y_n - 12, y_n, Y) * smoothstep(y_t + 4, y_t - 2, Y)
    tip = 27.0 * g(0, y_t, 7.5 * idn.nose_width, 7.0)
    ala_x, ala_y = abs(float(pts[31, 0])) - 1.0, y_s - 7.0
    alae = sum(12.0 * g(s * ala_x, ala_y, 6.5, 5.5) for s in (-1.0, 1.0))
    nose = np.maximum(np.maximum(bridge, tip), alae)
    D += cv2.GaussianBlur(nose, (0, 0), 1.0 / CRES)
    # Mouth region: the muzzle, philtrum, lips, the groove where they meet.
    D += 4.0 * g(0, ym - 4, 26, 20)
    D -= 1.2 * np.exp(-(X / 3.0) ** 2) * smoothstep(y_s, y_s + 3, Y) * smoothstep(ym - 4, ym - 7, Y)
    width = np.sqrt(np.clip(1 - (X / mw) ** 2, 0, 1))
    lt = idn.lip_thickness
    D += 2.5 * lt * np.exp(-((Y - (ym - 3.2 * lt)) / (3.0 * lt)) ** 2) * width
    D += 3.5 * lt * np.exp(-((Y - (ym + 5.0 * lt)) / (4.0 * lt)) ** 2) * width
    D -= 1.5 * np.exp(-((Y - ym) / 1.0) ** 2) * width ** 0.3
    # Below the mouth: the mentolabial groove and the chin.
    cy = dz.chin_y
    D -= 2.5 * g(0, ym + 21 * idn.face_length, 18, 5)
    D += 6.0 * idn.chin_length * g(0, cy - 15, 15 * idn.chin_width, 10)
    # Nasolabial folds: shallow grooves from beside the alae to beyond the mouth corners.
    fold = np.zeros(X.shape, np.uint8)
    for s in (-1.0, 1.0):
        t = np.linspace(0, 1, 20)[:, None]
        p0, p1, p2 = (np.array([s * (ala_x + 3), ala_y]), np.array([s * (mw + 5), ym - 10]),
                      np.array([s * (mw + 6), ym + 12]))
        curve = (1 - t) ** 2 * p0 + 2 * t * (1 - t) * p1 + t ** 2 * p2  # bulging outward
        px = np.round((curve - [CX0, CY0]) / CRES * 16).astype(np.int32)
        cv2.polylines(fold, [px], False, 255, 1, cv2.LINE_AA, 4)
    groove = cv2.GaussianBlur(fold.astype(np.float32), (0, 0), 3.0 / CRES)
    D -= 1.1 * groove / max(float(groove.max()), 1e-6)
    return D.astype(np.float32)


def canvas_to_texels(canvas: np.ndarray, xmap: np.ndarray, rows: slice = slice(None),
                     cols: slice = slice(None), border: float = 0.0,
                     origin: tuple[float, float] = (CX0, CY0), res: float = CRES) -> np.ndarray:
    """Carry a frontal canvas onto (a window of) the texel grid.

    ``xmap`` gives each texel's frontal x; the canvas pixel ``(i, j)`` sits at frontal
    ``(origin[0] + j * res, origin[1] + i * res)`` mm.
    """
    mx = (xmap[rows, cols] - origin[0]) / res
    my = np.broadcast_to(((YS[rows] - origin[1]) / res)[:, None], mx.shape).astype(np.float32)
    return cv2.remap(canvas, mx.astype(np.float32), my, cv2.INTER_LINEAR,
                     borderMode=cv2.BORDER_CONSTANT, borderValue=border)


@dataclass
class Shape:
    """The neutral geometry of one identity on the texel grid."""

    radius: np.ndarray  # (NY, NT) float32, mm from the axis
    xmap: np.ndarray  # (NY, NT) frontal x of each texel (the face region is what matters)
    label: np.ndarray  # (NY, NT) uint8: FACE, HAIR, SKIN or CLOTH
    hair: np.ndarray  # (NY, NT) float32 0..1 hair coverage (soft edges)
    jaw_row: np.ndarray  # (NT,) y of the lower jaw border per column
    ao: np.ndarray  # (NY, NT) occlusion prior (the neck under the jaw)
    strands: np.ndarray  # (NY, NT) hair strand noise, unit variance
    clumps: np.ndarray  # (NY, NT) coarser hair clump noise, unit variance


def build_shape(idn: Identity, dz: Design, rng: np.random.Generator) -> Shape:
    """Skull, face relief, neck and shoulders, ears and hair volume for one identity."""
    fw, fl = idn.face_width, idn.face_length
    th, y = THETA[None, :], YS[:, None]
    s, c = np.sin(th), np.cos(th)
    yl = np.where(y > 0, y / fl, y)  # lower-face rows read the profiles at neutral length
    # Cross-section: half-width a, front depth f, back depth b, all in mm.
    # (The temples are a little narrower than the cheekbones: the face outline starts at
    # eye level, as the iBUG jaw does.)
    a = np.interp(yl, [-40, -28, -15, 0, 15, 30, 45, 60, 80, 100, 240],
                  [75, 71.5, 71.5, 74, 74.5, 73, 70.5, 67, 61, 57, 55]) * fw
    jaw = 1 + (idn.jaw_width - 1) * smoothstep(30, 80, yl)
    a = a * jaw
    f = np.interp(yl, [-40, -25, -12, 0, 15, 35, 50, 65, 80, 95, 110, 125, 240],
                  [91, 94, 95, 91, 88, 87, 89, 92, 91, 87, 88, 86, 80])
    b = np.interp(yl, [-40, 0, 20, 40, 240], [104, 102, 98, 92, 80])
    dome = np.sqrt(np.clip(1 - ((y + 40) / (75 * (1 + 0.4 * (fl - 1)))) ** 2, 0, 1))
    dome = np.where(y < -40, dome, 1.0)
    depth = np.where(c >= 0, f, b)
    skull = _superellipse(s, c, a * dome + 1e-3, depth * dome + 1e-3, 2.15)

    # The lower jaw border: in front it follows the designed outline (chin to jaw angle),
    # behind the jaw angle it climbs to the ear and the nape.
    row95 = round((95 * fl - Y0) / DY)
    xcol = np.abs(skull[row95] * np.sin(THETA))
    p = dz.points
    peak = int(np.argmax(np.where(np.abs(THETA) < math.pi / 2, xcol, 0) * (THETA > 0)))
    th_peak = float(THETA[peak])
    # A superellipse from the chin to the jaw angle: flat under the chin, rounding up to
    # the angle, close to the iBUG mean outline (points 4..12).
    yc, yg, xg = float(p[8, 1]) + 5.0, float(p[12, 1]), float(p[12, 0])
    q = np.clip(xcol / xg, 0, 1) ** 1.5
    yj = yc - (yc - yg) * (1 - (1 - q) ** (1 / 1.5))
    y_peak = float(yj[peak])
    # Behind the angle the ramus rises steeply to below the ear, then the skull's base.
    behind = smoothstep(th_peak, th_peak + math.radians(16), np.abs(THETA))
    yj = np.where(np.abs(THETA) > th_peak, y_peak + (34 - y_peak) * behind, yj)
    h = (12.0 - 6.0 * np.clip(np.abs(THETA) / th_peak, 0, 1))[None, :]
    roll = np.sqrt(np.clip(1 - ((y - (yj[None, :] - h)) / h) ** 2, 0, 1))
    roll = np.where(y < yj[None, :] - h, 1.0, roll)
    face = skull * roll

    # Facial relief, added radially in front; one fixed-point pass puts each bump at the
    # frontal x where it will finally be seen.
    relief = _bumps(idn, dz)
    front = (1 - smoothstep(math.radians(55), math.radians(75), np.abs(th))) * (roll > 0.5)
    x0 = face * s
    d0 = canvas_to_texels(relief, x0)
    d1 = canvas_to_texels(relief, (face + d0 * front) * s)
    face = face + d1 * front * roll

    # Neck and shoulders: an ellipse behind the chin, widening into shoulders below.
    wn = 52 * fw + 125 * smoothstep(140, 215, y) ** 1.2
    cn = 54 + 18 * smoothstep(150, 225, y)
    zc = -18.0
    A = (s / wn) ** 2 + (c / cn) ** 2
    B = c * zc / cn ** 2
    C = (zc / cn) ** 2 - 1
    body = (B + np.sqrt(B * B - A * C)) / A
    k = 6.0  # smooth union: a soft crease under the chin
    hmix = np.clip(k - np.abs(face - body), 0, None) / k
    radius = np.maximum(face, body) + hmix * hmix * k / 4
    label = np.where(face >= body, FACE, SKIN).astype(np.uint8)
    collar = 165 + 15 * np.clip(c, 0, 1) ** 2
    label[(label == SKIN) & (y > collar)] = CLOTH

    # Ears (seen when the hair is short): flaps attached behind the face's side, rising
    # toward a rim at the back, with a hollow bowl. 62 mm tall, centred at ±98°.
    ear_th, ear_y = math.radians(98), 22 * fl
    u = (np.abs(th) - ear_th) * 80 / 14.0  # -1 at the front attachment, +1 at the rim
    v = (y - ear_y) / 31.0
    r = np.sqrt(u * u + v * v)
    lift = np.clip((u + 1) / 2, 0, 1) ** 1.3 * smoothstep(1.0, 0.88, r)
    ear = 17 * lift + 2.5 * smoothstep(0.55, 0.85, r) * lift - 5 * np.exp(-((u + 0.05) ** 2 + (
        v - 0.05) ** 2) / 0.12)
    ear = np.where(r < 1, np.maximum(ear, 0), 0)
    radius = np.maximum(radius, np.where(ear > 0, skull + ear, 0))

    xmap = (radius * s).astype(np.float32)

    radius, hair, strands, clumps = add_hair(idn, radius, label, xmap, rng)
    label[hair > 0.5] = HAIR
    # Everything behind the face's side edge is "other skin", never face.
    label[(label == FACE) & (np.abs(th) > math.radians(86)) & (y > -1e9)] = SKIN
    # Ambient light hardly reaches the neck under the jaw: a prior for the occlusion term.
    # (The underside of the jaw, the roll-under band, is half in that shade already.)
    below = np.clip((y - yj[None, :]) / 55.0, 0, 1)
    under = np.clip((y - (yj[None, :] - h)) / h, 0, 1)
    ao = np.where(np.abs(th) < math.radians(115), np.where(
        label != FACE, 0.5 + 0.5 * below * below * (3 - 2 * below), 1 - 0.4 * under), 1.0)
    return Shape(radius=radius.astype(np.float32), xmap=(radius * s).astype(np.float32),
                 label=label, hair=hair.astype(np.float32), jaw_row=yj.astype(np.float32),
                 ao=ao.astype(np.float32), strands=strands, clumps=clumps)


def frontal_to_texel(xmap: np.ndarray, pts: np.ndarray) -> np.ndarray:
    """Texel coordinates ``(col, row)`` of frontal-mm points on the front of the head.

    Within a row the frontal x of the face grows monotonically with θ, so each point is an
    interpolation along its (vertically interpolated) row.
    """
    lo = int(np.searchsorted(THETA, -math.radians(85)))
    hi = int(np.searchsorted(THETA, math.radians(85)))
    out = np.zeros((len(pts), 2), np.float32)
    for i, (x, y) in enumerate(np.asarray(pts, float)):
        r = float(np.clip((y - Y0) / DY, 0, NY - 1.001))
        r0 = int(r)
        row = xmap[r0, lo:hi] * (1 - (r - r0)) + xmap[r0 + 1, lo:hi] * (r - r0)
        row = np.maximum.accumulate(row)
        out[i] = lo + np.interp(x, row, np.arange(hi - lo)), r
    return out


def texel_points(radius: np.ndarray, tex: np.ndarray) -> np.ndarray:
    """3D head-frame points ``(N, 3)`` of texel coordinates ``(N, 2)`` on the surface."""
    col, row = tex[:, 0], tex[:, 1]
    rr = cv2.remap(radius, col.reshape(-1, 1).astype(np.float32),
                   row.reshape(-1, 1).astype(np.float32), cv2.INTER_LINEAR,
                   borderMode=cv2.BORDER_REPLICATE)[:, 0]
    th = TH0 + DTH * col
    return np.stack([rr * np.sin(th), Y0 + DY * row, rr * np.cos(th)], 1).astype(np.float32)
