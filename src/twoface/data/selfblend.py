"""Self-blended images (SBI, Shiohara & Yamasaki, CVPR 2022): fakes made from one real face.

A face is blended with a slightly altered copy of *itself*. Identity and expression are the
same, so the only evidence left is what every face swap leaves too: a blending boundary, a
small colour and sharpness mismatch inside it and a slight misregistration. A detector
trained to find those (with nothing but real faces as input) generalises to manipulation
methods it never saw, which is what the recipe is for.

Per image, with the randomness drawn from one ``numpy.random.Generator``:

1. **mask**: the landmark hull (brows lifted by a random amount to take in the forehead),
   its vertices jittered, eroded or dilated, Gaussian-blurred, scaled by a blend ratio;
2. **source**: a copy of the face with colour jitter (per-channel gain and offset, contrast,
   saturation) and frequency jitter (blur, sharpening or down-and-up resampling), sometimes
   locally misshaped by a smooth random displacement field (features a little out of place,
   as a generator draws them), shifted and scaled a little;
3. **blend**: ``mask · source + (1 − mask) · face``.

Where the returned mask is 0 the output equals the input exactly. Each image takes about a
millisecond at 128 px, so blends are made on the fly while training.

A blend has a seam to find; a face a generator drew whole has none. So, half of the time, the
fake is instead the face replaced, wholly or through a landmark mask, by its own re-rendering
through a small autoencoder trained on the same real faces (:func:`rerender_blend`,
:mod:`twoface.models.rerender`): still no fake made by any real generator is seen. Some real
faces are first :func:`soften`-ed, so that softness alone never marks the fake class.

Training (:mod:`twoface.train.detector`) follows the paper in two more ways, because a few
hundred real faces are otherwise memorised rather than learnt from: every real face is
augmented first (:func:`augment_face`: pose, colour, resolution) and shown *both* as itself and
as its own blend in the same batch, so that the blend is the only difference between the two
classes; then each image of either class goes through a JPEG round trip of random quality
(:func:`jpeg`), so that blending boundaries are learnt as they look after compression.
"""

from __future__ import annotations

import cv2
import numpy as np

from twoface.faces.mask import hull_points


def blend_mask(landmarks: np.ndarray, shape: tuple[int, int], rng: np.random.Generator
               ) -> np.ndarray:
    """A random soft face mask ``(H, W)`` float32 in [0, 1] from 68 landmarks (crop px)."""
    h, w = shape
    pts = hull_points(landmarks, brow_raise=float(rng.uniform(0.0, 0.3))).astype(np.float64)
    face = float(np.ptp(pts, axis=0).max())
    hull = cv2.convexHull(pts.astype(np.float32)).reshape(-1, 2).astype(np.float64)
    hull += rng.normal(0.0, 0.02 * face, hull.shape)  # a less regular outline
    mask: np.ndarray = np.zeros((h, w), np.uint8)
    cv2.fillPoly(mask, [np.round(hull).astype(np.int32)], 255, lineType=cv2.LINE_AA)
    k = int(rng.integers(0, max(2, round(0.06 * face))))
    if k > 0:
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * k + 1, 2 * k + 1))
        mask = (cv2.erode if rng.random() < 0.5 else cv2.dilate)(mask, kernel)
    soft: np.ndarray = mask.astype(np.float32) / 255.0
    sigma = float(rng.uniform(0.02, 0.12)) * face
    soft = cv2.GaussianBlur(soft, (0, 0), sigmaX=max(sigma, 0.5))
    peak = float(soft.max())
    if peak <= 0:
        return soft
    soft = soft / peak
    soft[soft < 0.01] = 0.0  # exact zeros outside (a step of at most ~1 grey level)
    ratio = 1.0 if rng.random() < 0.5 else float(rng.uniform(0.4, 1.0))
    return (soft * ratio).astype(np.float32)


def misshape(x: np.ndarray, rng: np.random.Generator, most: float = 0.03) -> np.ndarray:
    """``x`` (float32) resampled through a smooth random displacement field whose largest
    shift is between a quarter of and ``most`` × the image side: features slightly out of
    place, as a generator draws them."""
    h, w = x.shape[:2]
    amp = float(rng.uniform(0.25, 1.0)) * most * w
    smooth = float(rng.uniform(0.06, 0.12)) * w
    field = [cv2.GaussianBlur(rng.normal(0, 1, (h, w)).astype(np.float32), (0, 0), smooth)
             for _ in range(2)]
    field = [f * (amp / max(float(np.abs(f).max()), 1e-6)) for f in field]
    gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    return cv2.remap(x, gx + field[0], gy + field[1], cv2.INTER_LINEAR,
                     borderMode=cv2.BORDER_REFLECT101)


def jitter_source(image: np.ndarray, rng: np.random.Generator, *, min_scale: float = 0.5,
                  max_blur: float = 1.2, warp: float = 0.0, warp_max: float = 0.03
                  ) -> np.ndarray:
    """The altered copy: colour, frequency and geometry jitter; ``(H, W, 3)`` float32 0..255.

    ``min_scale`` is the smallest resampling factor and ``max_blur`` the largest blur sigma
    (px) of the frequency jitter: lower / higher teach the blur of low-resolution generators
    (a 64 px decoder pasted into a large face) as well as subtle seams. ``warp`` is the chance
    of a smooth local displacement of up to ``warp_max`` × the side."""
    h, w = image.shape[:2]
    x: np.ndarray = image.astype(np.float32)
    # Colour: per-channel gain and offset, contrast about the mean, saturation.
    x = x * rng.uniform(0.85, 1.15, 3).astype(np.float32) + rng.uniform(-20, 20, 3).astype(
        np.float32)
    mean = x.mean(axis=(0, 1), keepdims=True)
    x = (x - mean) * float(rng.uniform(0.85, 1.15)) + mean
    grey = x.mean(axis=2, keepdims=True)
    x = grey + (x - grey) * float(rng.uniform(0.8, 1.2))
    # Frequency: soften, sharpen, resample through a smaller size, or (one time in four)
    # nothing, so that a colour seam alone is also taught as a fake.
    choice = int(rng.integers(0, 4))
    if choice == 0:
        x = cv2.GaussianBlur(x, (0, 0), sigmaX=float(rng.uniform(0.4, max_blur)))
    elif choice == 1:
        blur = cv2.GaussianBlur(x, (0, 0), sigmaX=1.0)
        x = x + float(rng.uniform(0.3, 1.0)) * (x - blur)
    elif choice == 2:
        f = float(rng.uniform(min_scale, 0.9))
        small = cv2.resize(x, (max(2, round(w * f)), max(2, round(h * f))),
                           interpolation=cv2.INTER_AREA)
        x = cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
    if warp > 0 and rng.random() < warp:
        x = misshape(x, rng, warp_max)
    # Geometry: a small shift and scale about the centre.
    s = float(rng.uniform(0.95, 1.05))
    tx, ty = rng.uniform(-0.03, 0.03, 2) * np.array([w, h])
    m = np.array([[s, 0, (1 - s) * w / 2 + tx], [0, s, (1 - s) * h / 2 + ty]], np.float64)
    x = cv2.warpAffine(x, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT101)
    return np.clip(x, 0, 255)


def self_blend(image: np.ndarray, landmarks: np.ndarray, rng: np.random.Generator, *,
               min_scale: float = 0.5, max_blur: float = 1.2, warp: float = 0.0,
               warp_max: float = 0.03) -> tuple[np.ndarray, np.ndarray]:
    """One self-blended fake from a real aligned face.

    ``image``: ``(H, W, 3)`` uint8 RGB; ``landmarks``: ``(68, 2)`` in the image's pixels.
    Returns ``(fake (H, W, 3) uint8, mask (H, W) float32 in [0, 1])``.
    """
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError("image must be H×W×3 uint8")
    marks = np.asarray(landmarks, np.float64)
    if marks.shape != (68, 2):
        raise ValueError(f"landmarks must be 68×2, got {marks.shape}")
    mask = blend_mask(marks, image.shape[:2], rng)
    source = jitter_source(image, rng, min_scale=min_scale, max_blur=max_blur, warp=warp,
                           warp_max=warp_max)
    m = mask[:, :, None]
    out = source * m + image.astype(np.float32) * (1 - m)
    out = np.clip(np.round(out), 0, 255).astype(np.uint8)
    out[mask == 0] = image[mask == 0]
    return out, mask


def rerender_blend(image: np.ndarray, landmarks: np.ndarray, source: np.ndarray,
                   rng: np.random.Generator, whole: float = 0.33) -> np.ndarray:
    """A fake from a real face and ``source``, the same face re-drawn by a decoder
    (:mod:`twoface.models.rerender`; ``(H, W, 3)`` float 0..255 at the image's size).

    ``whole`` of the time the re-rendering replaces the whole crop (a face a generator drew
    entire); otherwise it is blended in through a random landmark mask, half of those at full
    strength out to the mask's edge (a pasted face) and half with the mask's soft falloff.
    Returns ``(H, W, 3)`` uint8."""
    if rng.random() < whole:
        mask = np.ones(image.shape[:2], np.float32)
    else:
        mask = blend_mask(np.asarray(landmarks, np.float64), image.shape[:2], rng)
        if rng.random() < 0.5:
            mask = (mask > 0).astype(np.float32)
    m = mask[:, :, None]
    out = source.astype(np.float32) * m + image.astype(np.float32) * (1 - m)
    return np.clip(np.round(out), 0, 255).astype(np.uint8)


def soften(image: np.ndarray, rng: np.random.Generator, scale: tuple[float, float] = (0.3, 0.5)
           ) -> np.ndarray:
    """``image`` (uint8) through a much smaller size and back: a face filmed far away or
    upscaled from a small video. Shown as a *real* face so that softness alone, which every
    re-rendering has, is never what tells the classes apart."""
    h, w = image.shape[:2]
    f = float(rng.uniform(*scale))
    small = cv2.resize(image, (max(2, round(w * f)), max(2, round(h * f))),
                       interpolation=cv2.INTER_AREA)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)


def augment_face(image: np.ndarray, landmarks: np.ndarray, rng: np.random.Generator
                 ) -> tuple[np.ndarray, np.ndarray]:
    """A real face seen anew, before it is blended: ``(image uint8, landmarks)``.

    A small rotation, scale and shift (the landmarks follow); exposure, contrast, gamma,
    white balance and saturation; sometimes sensor noise, softening or sharpening; one time in
    three a pass through a smaller size (a face further from the camera). Both classes are
    made from its output, so none of this can tell them apart; it widens what an untouched
    face may look like, which a few hundred real faces otherwise teach too narrowly."""
    h, w = image.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2, h / 2), float(rng.uniform(-8, 8)),
                                float(rng.uniform(0.92, 1.08)))
    m[:, 2] += rng.uniform(-0.04, 0.04, 2) * np.array([w, h])
    x = cv2.warpAffine(image, m, (w, h), flags=cv2.INTER_LINEAR,
                       borderMode=cv2.BORDER_REFLECT101).astype(np.float32)
    marks = np.asarray(landmarks, np.float64) @ m[:, :2].T + m[:, 2]
    x = (x - 128.0) * float(rng.uniform(0.8, 1.2)) + 128.0 + float(rng.uniform(-20, 20))
    x = 255.0 * (np.clip(x, 0, 255) / 255.0) ** float(rng.uniform(0.8, 1.25))
    x = x * rng.uniform(0.9, 1.1, 3).astype(np.float32)  # white balance
    grey = x.mean(axis=2, keepdims=True)
    x = grey + (x - grey) * float(rng.uniform(0.6, 1.3))  # saturation
    # Camera and upload differences: sensor noise, softness or sharpening, lower resolution.
    if rng.random() < 0.3:
        x = x + rng.normal(0.0, float(rng.uniform(1.0, 5.0)), x.shape).astype(np.float32)
    look = rng.random()
    if look < 0.2:
        x = cv2.GaussianBlur(x, (0, 0), sigmaX=float(rng.uniform(0.3, 1.0)))
    elif look < 0.4:
        x = x + float(rng.uniform(0.2, 0.8)) * (x - cv2.GaussianBlur(x, (0, 0), sigmaX=1.0))
    if rng.random() < 1 / 3:
        f = float(rng.uniform(0.5, 0.9))
        small = cv2.resize(x, (round(w * f), round(h * f)), interpolation=cv2.INTER_AREA)
        x = cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
    return np.clip(np.round(x), 0, 255).astype(np.uint8), marks.astype(np.float32)


def jpeg(image: np.ndarray, rng: np.random.Generator, chance: float = 0.7,
         quality: tuple[int, int] = (35, 95)) -> np.ndarray:
    """``image`` (RGB uint8) through a JPEG round trip at a random quality, ``chance`` of the
    time; otherwise unchanged."""
    if rng.random() >= chance:
        return image
    ok, buf = cv2.imencode(".jpg", image[:, :, ::-1],
                           [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(*quality))])
    if not ok:
        return image
    decoded = cv2.imdecode(buf, cv2.IMREAD_COLOR)
    assert decoded is not None  # the JPEG just encoded
    return decoded[:, :, ::-1].copy()


def self_blend_batch(images: np.ndarray, landmarks: np.ndarray, rng: np.random.Generator
                     ) -> tuple[np.ndarray, np.ndarray]:
    """:func:`self_blend` over ``(N, H, W, 3)`` images and ``(N, 68, 2)`` landmarks."""
    outs, masks = zip(*(self_blend(im, lm, rng) for im, lm in zip(images, landmarks,
                                                                   strict=True)), strict=True)
    return np.stack(outs), np.stack(masks)
