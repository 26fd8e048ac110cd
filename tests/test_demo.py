"""``twoface demo`` end to end on built-in synthetic data (short videos)."""

from __future__ import annotations

from pathlib import Path

from twoface.data.faceset import Faceset
from twoface.demo import STAGES, run_demo


def test_demo_writes_a_report_with_every_stage(tmp_path: Path) -> None:
    report = run_demo(tmp_path / "demo", seconds=1.0, progress=False)
    page = report.read_text()
    assert report.name == "report.html"
    for name in ("alice", "bob"):
        fs = Faceset.load(tmp_path / "demo" / "facesets" / name)
        assert len(fs.faces) >= 0.9 * fs.sources[0].frames > 0
        assert f"<h3>{name}</h3>" in page
    assert page.count("data:image/png;base64,") >= 2
    # Everything the demo generated is marked; the re-encoded copy keeps only the watermark.
    # alice, bob, the swap, the animation, the reenactment, the one-shot swap (and more).
    assert page.count("<td>trusted</td><td>yes") >= 8  # with reenactments, one-shot swaps
    assert "eval reenact: expression gain" in page and "<td>warp</td>" in page
    assert "<td>untrusted" not in page and "<td>invalid" not in page
    # Detection: with their marks every demo file is a certain verdict.
    detect = page[page.index("Detection</h2>"):]
    assert detect.count(", certain</td>") >= 4
    assert "<td>absent</td><td>yes" in page
    for stage_name, _ in STAGES:
        assert stage_name in page  # the timings table lists every stage


def test_demo_model_export_keeps_the_ema_weights_in_half_precision(tmp_path: Path) -> None:
    """What ``make demo-models`` ships: a swap saved as its averaged weights alone, float16,
    drawing what the averaged model drew."""
    import torch
    from safetensors import safe_open

    from test_train import TINY, opts, tiny_batches
    from twoface.demo.pretrained import export
    from twoface.models import create, from_pretrained
    from twoface.train.loop import fit

    torch.manual_seed(0)
    model = create("swap", "light", **TINY, gan=False, ema_decay=0.9)
    fit(model, tiny_batches().batch, tmp_path / "run", opts(4))
    size = export(tmp_path / "run", tmp_path / "shipped", "swap")
    with safe_open(str(tmp_path / "shipped" / "model.safetensors"), "pt") as fh:
        keys = list(fh.keys())
        assert all(fh.get_tensor(k).dtype == torch.float16 for k in keys
                   if fh.get_tensor(k).is_floating_point())
    assert keys and not any(k.startswith("ema.") for k in keys)
    assert size < (tmp_path / "run" / "model.safetensors").stat().st_size / 3  # no EMA, half
    shipped = from_pretrained(tmp_path / "shipped", "swap").eval()
    x = torch.rand(2, 3, 64, 64)
    with torch.no_grad():
        want = model.eval()(x, "b")[0]  # outside training the EMA copy draws
        got = shipped(x, "b")[0]
    assert got.dtype == torch.float32 and (got - want).abs().max() < 0.02
