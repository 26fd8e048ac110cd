"""Procedural human-like faces with exact ground truth, for tests and demos without data.

:func:`render` ray-casts a 3D head (skull, facial relief, eyes, brows, nose, lips, ears, hair,
neck and shoulders) lit by a key light with cast shadows, and returns the image together with
the 68 iBUG 300-W landmarks *where the renderer drew those features*, a face-skin mask and the
pose. Everything is deterministic in the identity and the seed.

Conventions (image coordinates as in :mod:`twoface.types`):

* **yaw > 0**: the subject turns to *their* left, so the face points to image right and the
  nose tip moves right of the face's centre.
* **pitch > 0**: the subject looks up (chin up), the nose moves up in the image.
* **roll > 0**: the head tilts clockwise in the image (top of the head toward image right).
* Rotation order: yaw about the neck's vertical axis, then pitch, then roll (in-plane).
* Landmarks follow iBUG 68: jaw 0–16 on the *visible* face outline from the image-left ear
  round the chin; brows 17–26, nose 27–35, eyes 36–47 (36 = outer corner of the image-left
  eye), lips 48–67. Points hidden by the head's own turn are still given (projected).
* ``mask`` is 255 on the face (skin inside the hairline, in front of the ears and above the
  jaw, eyes, brows and lips included), 0 on hair, ears, neck, clothes and background.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np

from twoface.synth import head as _head
from twoface.synth import motion as _motion
from twoface.synth import outline as _outline
from twoface.synth import raycast as _raycast
from twoface.synth import skin as _skin
from twoface.synth.head import FACE, Design, Shape
from twoface.synth.identity import Expression, Identity, Light
from twoface.types import Pose

_SS = 2  # supersampling factor (anti-aliasing)
_FACE_MM = 150.0  # jaw width (points 0–16) that spans half the image at scale 1
_PIVOT = np.array([0.0, 60.0, -20.0], np.float32)  # the head turns about the top of the neck


@dataclass(frozen=True)
class Render:
    """One rendered frame and its ground truth."""

    image: np.ndarray  # (size, size, 3) uint8 RGB
    landmarks: np.ndarray  # (68, 2) float32, image pixels
    mask: np.ndarray  # (size, size) uint8, 255 on the face
    pose: Pose
    expression: Expression = field(default_factory=Expression)


@dataclass
class _Head:
    """An identity's neutral maps, cached: design, shape, paint, the 68 points' texels."""

    dz: Design
    shape: Shape
    albedo: np.ndarray  # (NY, NT, 4): albedo and specular strength
    sexp: np.ndarray  # (NY, NT) specular exponent
    nrm: np.ndarray  # (NY, NT, 4): normals and ambient occlusion
    tex: np.ndarray  # (68, 2) neutral texel coordinates (jaw entries unused)
    jaw_tex: np.ndarray  # (21, 2) texel starts of the jaw search lines
    jaw_dirs: np.ndarray  # (21, 2) their outward directions, frontal


@lru_cache(maxsize=6)
def _neutral(idn: Identity) -> _Head:
    """Build (once per identity, cached) the expressionless head and its paint."""
    rng = np.random.default_rng([idn.seed, 7])
    dz = _head.design(idn)
    shape = _head.build_shape(idn, dz, rng)
    albedo, sexp = _skin.paint_neutral(idn, dz, shape, rng)
    nrm = np.dstack([_raycast.normals(shape.radius),
                     _raycast.occlusion(shape.radius) * shape.ao])
    # Jaw search lines: at the 17 designed outline points and two more up the temples on
    # each side (the outline is cut near eye level per view, see _outline), starting inside.
    jaw = dz.points[:17].astype(np.float64)
    tang = np.gradient(jaw, axis=0)
    out = np.stack([-tang[:, 1], tang[:, 0]], 1)  # tangent runs round anticlockwise in y-down
    out[0], out[16] = (-1, 0), (1, 0)
    out /= np.linalg.norm(out, axis=1, keepdims=True)
    top = [[jaw[0, 0], -24], [jaw[0, 0], -12]]
    line = np.vstack([top, jaw, np.array(top[::-1]) * [-1, 1]])
    dirs = np.vstack([[[-1, 0]] * 2, out, [[1, 0]] * 2])
    jaw_tex = _head.frontal_to_texel(shape.xmap, line - 22 * dirs)
    tex = _head.frontal_to_texel(shape.xmap, dz.points)
    return _Head(dz, shape, albedo, sexp, nrm, tex, jaw_tex, dirs.astype(np.float32))


@lru_cache(maxsize=32)
def _eyes(idn: Identity, blink: float, gaze: tuple[float, float]) -> tuple[np.ndarray, list]:
    """The eyes' texel points (iBUG 36..47) and paint layers at one blink and gaze (cached:
    in a video they change only now and then)."""
    head = _neutral(idn)
    eyes = head.dz.points[36:48].copy()
    for up, low in ((37, 41), (38, 40), (43, 47), (44, 46)):
        iu, il = up - 36, low - 36
        gap = eyes[il, 1] - eyes[iu, 1]
        eyes[iu, 1] += 0.94 * gap * blink  # the upper lid does the closing
        eyes[il, 1] -= 0.03 * gap * blink
    layers = _skin.eye_layers(head.shape.xmap, eyes, idn, head.dz, gaze)
    return _head.frontal_to_texel(head.shape.xmap, eyes), layers


def _posed_maps(identity: Identity, head: _Head, expression: Expression) -> tuple[np.ndarray, ...]:
    """The maps for one expression: ``(radius, label, albedo, specular exponent, normals,
    texels of the 68 points)``. The neutral maps are warped (copies), the blinking eyes
    painted on, and normals and occlusion recomputed where the warp moved the surface."""
    shape = head.shape
    radius, label = shape.radius.copy(), shape.label.copy()
    alb, sexp = head.albedo.copy(), head.sexp.copy()
    warp = _motion.Warp(smile=expression.smile, brow=expression.brow_raise,
                        drop=_motion.JAW_DROP * expression.mouth_open, dz=head.dz,
                        xmap=shape.xmap)
    _motion.apply(warp, radius, alb, sexp, label, shape.jaw_row)
    eyes, layers = _eyes(identity, round(expression.blink * 64) / 64,
                         tuple(round(g * 32) / 32 for g in expression.gaze))
    _skin.apply_eyes(alb, sexp, layers)
    tex = head.tex.copy()
    tex[36:48] = eyes
    tex[17:] = warp.forward(tex[17:], np.arange(17, 68), shape.jaw_row)
    nrm = head.nrm
    if expression.smile or expression.brow_raise or expression.mouth_open:
        nrm = nrm.copy()
        m = 24  # recompute normals and occlusion over the warped window, with a margin
        rows = slice(_motion.ROWS.start - m, _motion.ROWS.stop + m)
        cols = slice(_motion.COLS.start - m, _motion.COLS.stop + m)
        sub = radius[rows, cols]
        part = np.dstack([_raycast.normals(sub, cols.start),
                          _raycast.occlusion(sub) * shape.ao[rows, cols]])
        nrm[rows.start + m:rows.stop - m, cols.start + m:cols.stop - m] = part[m:-m, m:-m]
    return radius, label, alb, sexp, nrm, tex


@lru_cache(maxsize=1)
def _template() -> np.ndarray:
    pts = render(Identity(), Pose(0, 0, 0), size=512).landmarks.astype(np.float64)
    lo, hi = pts.min(0), pts.max(0)
    return ((pts - lo) / (hi - lo)).astype(np.float32)


def canonical_landmarks() -> np.ndarray:
    """The renderer's frontal 68-point template for the average identity, ``(68, 2)``,
    scaled into the unit square (min 0, max 1 on each axis)."""
    return _template().copy()


def _rotation(pose: Pose) -> np.ndarray:
    """Head-to-camera rotation for the conventions in the module docstring."""
    y, p, r = (math.radians(v) for v in (pose.yaw, pose.pitch, pose.roll))
    ry = np.array([[math.cos(y), 0, math.sin(y)], [0, 1, 0], [-math.sin(y), 0, math.cos(y)]])
    rx = np.array([[1, 0, 0], [0, math.cos(p), -math.sin(p)], [0, math.sin(p), math.cos(p)]])
    rz = np.array([[math.cos(r), -math.sin(r), 0], [math.sin(r), math.cos(r), 0], [0, 0, 1]])
    return (rz @ rx @ ry).astype(np.float32)


def render(identity: Identity, pose: Pose = Pose(0, 0, 0), expression: Expression | None = None,
           *, size: int = 256, light: Light | None = None, seed: int = 0, scale: float = 1.0,
           center: tuple[float, float] = (0.5, 0.5)) -> Render:
    """Render one face. ``scale`` 1 makes the face (jaw points 0–16) about half the image wide;
    ``center`` is where the frontal face's landmark box centre lands (fractions of the image).
    ``light=None`` draws a light from ``seed``, which also picks the background."""
    expression = expression or Expression()
    head = _neutral(identity)
    dz = head.dz
    rng = np.random.default_rng([seed, 11])
    light = light or Light.random(seed)

    radius, label, alb, sexp, nrm, tex = _posed_maps(identity, head, expression)

    # Camera: orthographic, pixels ↔ mm through k; the frontal landmark box centre → center.
    k = scale * 0.5 * size / _FACE_MM
    rot = _rotation(pose)
    box = dz.points
    c_mm = (box.min(0) + box.max(0)) / 2
    n = size * _SS
    g = (np.arange(n, dtype=np.float32) + 0.5) / _SS - 0.5
    X = (g - size * center[0]) / k + c_mm[0]
    Y = (g - size * center[1]) / k + c_mm[1]
    # Ray origins R^T (w - P) + P for w = (X, Y, 400): rows of R are R^T's columns.
    base = (np.array([0, 0, 400], np.float32) - _PIVOT) @ rot + _PIVOT
    o = (base + X[None, :, None] * rot[0] + Y[:, None, None] * rot[1]).astype(np.float32)
    d = -rot[2].astype(np.float32)
    caster = _raycast.Caster(radius)
    hit, pts = caster.cast_grid(o, d)

    hi = np.nonzero(hit)[0]
    p = pts[hi]
    col, row = _raycast.texel_of(p)
    a4 = _raycast.sample(alb, col, row)
    n4 = _raycast.sample(nrm, col, row)
    se = _raycast.sample(sexp, col, row)
    lab = _raycast.sample(label, col, row, cv2.INTER_NEAREST)
    normal = _raycast.mat3(n4[:, :3], rot.T)
    normal /= np.linalg.norm(normal, axis=1, keepdims=True) + 1e-6
    ldir = np.asarray(light.direction, np.float32)
    ldir = ldir / np.linalg.norm(ldir)
    vis = np.ones(len(hi), np.float32)
    if light.shadows:
        smap = _raycast.ShadowMap(caster, rot.T @ ldir, np.array([0, 20, 0], np.float32))
        vis = smap.visibility(p, n4[:, :3])
    colour = _raycast.shade(a4[:, :3], a4[:, 3], se, n4[:, 3], normal, lab, ldir,
                            light.ambient, light.temperature, vis)

    # Auto-exposure, as a camera would meter on the face: dark skin is not left murky.
    skin = colour[lab == FACE]
    lum = float(_raycast.dot3(skin, [0.2126, 0.7152, 0.0722]).mean()) if len(skin) else 0.25
    gain = float(np.clip((0.25 / max(lum, 1e-3)) ** 0.6, 0.8, 2.5))
    bg = cv2.resize(_skin.background(size, rng) ** 2.2, (n, n), interpolation=cv2.INTER_LINEAR)
    img = bg.reshape(-1, 3)
    img[hi] = colour * gain
    img = cv2.resize(img.reshape(n, n, 3), (size, size), interpolation=cv2.INTER_AREA)
    img = np.clip(img, 0, 1) ** (1 / 2.2)
    img = img + rng.standard_normal(img.shape, dtype=np.float32) / 255
    image = np.clip(img * 255 + 0.5, 0, 255).astype(np.uint8)
    face = np.zeros(n * n, np.float32)
    face[hi] = lab == FACE
    mask = cv2.resize(face.reshape(n, n), (size, size), interpolation=cv2.INTER_AREA)
    mask = np.where(mask >= 0.5, 255, 0).astype(np.uint8)

    def project(q: np.ndarray) -> np.ndarray:
        cam = (q - _PIVOT) @ rot.T + _PIVOT
        return np.stack([(cam[:, 0] - c_mm[0]) * k + size * center[0],
                         (cam[:, 1] - c_mm[1]) * k + size * center[1]], 1)

    lm = np.zeros((68, 2), np.float32)
    lm[17:] = project(_head.texel_points(radius, tex[17:]))
    lm[:17] = _outline.jaw_points(head.jaw_tex, head.jaw_dirs, radius, label, nrm, rot,
                                  project, lm[[36, 45]])
    return Render(image=image, landmarks=lm, mask=mask, pose=pose, expression=expression)


def render_sequence(identity: Identity, n_frames: int, *, fps: float = 25, size: int = 256,
                    seed: int = 0, yaw_amplitude: float = 25.0, pitch_amplitude: float = 6.0,
                    light: Light | None = None, scale: float = 1.0) -> list[Render]:
    """A talking head: turning smoothly left and right, nodding a little, the mouth opening
    and closing in syllables, blinking now and then. Deterministic in ``seed``."""
    rng = np.random.default_rng([seed, 21])
    light = light or Light.random(seed)
    t = np.arange(n_frames) / fps
    yaw_f, nod_f = rng.uniform(0.25, 0.4), rng.uniform(0.4, 0.7)
    ph = rng.uniform(0, 2 * np.pi, 4)
    blinks = np.cumsum(rng.uniform(1.5, 4.0, 64)) - rng.uniform(0, 1.5)
    frames = []
    for ti in t:
        yaw = yaw_amplitude * math.sin(2 * math.pi * yaw_f * ti + ph[0])
        pitch = pitch_amplitude * math.sin(2 * math.pi * nod_f * ti + ph[1])
        roll = 3.0 * math.sin(2 * math.pi * 0.2 * ti + ph[2])
        # Syllables at ~4 Hz, grouped into phrases with short pauses.
        phrase = max(0.0, math.sin(2 * math.pi * 0.35 * ti + ph[3])) ** 0.3
        mouth = phrase * max(0.0, math.sin(2 * math.pi * 4.2 * ti)) ** 1.5 * 0.7
        dt = np.min(np.abs(blinks - ti))
        blink = max(0.0, 1 - dt / 0.08)
        expr = Expression(mouth_open=mouth, smile=0.2 + 0.15 * math.sin(0.7 * ti + ph[2]),
                          brow_raise=0.3 * max(0.0, math.sin(1.3 * ti + ph[1])), blink=blink)
        frames.append(render(identity, Pose(yaw, pitch, roll), expr, size=size, light=light,
                             seed=seed, scale=scale))
    return frames


def write_talking_video(path: str | Path, identity: Identity, seconds: float = 2.0,
                        fps: float = 25, size: int = 256, seed: int = 0) -> list[Render]:
    """Write :func:`render_sequence` as an H.264 video; returns the frames' ground truth."""
    from twoface.media.video import VideoWriter

    frames = render_sequence(identity, round(seconds * fps), fps=fps, size=size, seed=seed)
    with VideoWriter(path, fps) as writer:
        for f in frames:
            writer.write(f.image)
    return frames


__all__ = ["Expression", "Identity", "Light", "Render", "canonical_landmarks", "render",
           "render_sequence", "write_talking_video"]
