"""Motion clips and source crops on real media from the shared folder (skipped without it)."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def test_clip_of_a_real_video_holds_the_face_in_one_steady_box(shared_faces: Path,
                                                               tmp_path: Path) -> None:
    from twoface.data.clips import make_clip
    from twoface.faces.detect import detect
    from twoface.faces.dlib_models import DlibModels
    from twoface.media import iter_frames

    video = shared_faces / "liveportrait" / "driving" / "d0.mp4"
    models = DlibModels()
    meta = make_clip(video, tmp_path / "d0", size=64, every=8, models=models,
                     samples=12)
    assert meta["frames"] == len(list((tmp_path / "d0" / "frames").glob("*.png"))) == 10
    x0, y0, side = meta["box"]
    for fr in iter_frames(video, every=26):  # the face stays inside the one box
        box = detect(fr.image, models)[0][0]
        assert x0 - 1 <= box.x0 and box.x1 <= x0 + side + 1
        assert y0 - 1 <= box.y0 and box.y1 <= y0 + side + 1
        assert box.width > 0.3 * side  # loose, but still mostly face


def test_a_painting_gets_a_loose_square_around_its_face(shared_faces: Path) -> None:
    from twoface.data.clips import image_box
    from twoface.faces.dlib_models import DlibModels
    from twoface.media import read_image

    image = read_image(shared_faces / "liveportrait" / "source" / "s9.jpg")
    box = image_box(image, DlibModels())
    assert box is not None
    x0, y0, side = box
    h, w = image.shape[:2]
    assert x0 >= 0 and y0 >= 0 and x0 + side <= w and y0 + side <= h
    assert 0.2 * w < side < w and np.isfinite(side)
