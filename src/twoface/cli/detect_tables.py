"""The tables ``eval detector`` and ``eval cross-method`` print."""

from __future__ import annotations

from rich.table import Table

from twoface.cli.console import out


def _auc_cell(block: dict | None, level: str = "frame", ci: bool = False) -> str:
    if not block or not block.get(level) or block[level].get("auc") is None:
        return "–"
    b = block[level]
    lo_hi = b.get("auc_ci") if ci else None
    return f"{b['auc']:.3f}" + (f" ({lo_hi[0]:.2f}–{lo_hi[1]:.2f})" if lo_hi else "")


def print_cross_method(result: dict) -> None:
    """Frame AUC per left-out method: unseen (test split, all splits, per CRF, video level)
    beside seen."""
    t = Table(title=f"{result['model']}: frame AUC of each method when unseen, against the "
              f"test split's {result['test_real_videos']} real videos")
    crfs = " / ".join(result["rows"][0]["unseen_all"]["per_crf"])
    for col in ("left out", "fake videos\ntest / all", "unseen\ntest split",
                "unseen, all splits\n(95 % interval)", f"CRF {crfs}\n(all splits)",
                "video AUC\n(all splits)", "seen\ntest split"):
        t.add_column(col)
    for row in result["rows"]:
        every, test = row["unseen_all"], row["unseen_test"]
        crf = "/".join(f"{b['frame']['auc']:.2f}" if b["frame"].get("auc") is not None
                       else "–" for b in every["per_crf"].values())
        t.add_row(row["left_out"],
                  f"{test['fake_videos'] if test else 0} / {every['fake_videos']}",
                  _auc_cell(test), _auc_cell(every, ci=True),
                  crf, _auc_cell(every, "video"),
                  "real faces\nonly" if result["real_only"] else
                  _auc_cell(row["in_domain_test"]))
    out.print(t)


def _fmt(block: dict | None) -> str:
    if not block or block.get("auc") is None:
        return "n/a (needs both classes)"
    ci = block.get("auc_ci")
    return (f"AUC {block['auc']:.3f}" + (f" [{ci[0]:.3f}, {ci[1]:.3f}]" if ci else "")
            + f"  AP {block['ap']:.3f}  "
            f"EER {block['eer']:.3f}  TPR@1%FPR {block['tpr_at_1pct_fpr']:.3f}  "
            f"(n={block['n']}, fake {block['n_fake']})")


def print_metrics(result: dict) -> None:
    """``eval detector``'s numbers: a dataset split's, or the ``detect`` pipeline's on media."""
    if "all" in result:
        for level in ("frame", "video"):
            out.print(f"{level:5s} all      {_fmt(result['all'][level])}")
        for name, block in {**result["per_method"], **{f"crf {k}": v for k, v in
                                                       result["per_crf"].items()}}.items():
            out.print(f"video {name:8s} {_fmt(block['video'])}")
        return
    out.print(f"frame    {_fmt(result['frame'])}")
    out.print(f"video    {_fmt(result['video'])}")
    for name, block in result["per_method"].items():
        out.print(f"video {name:8s} {_fmt(block)}")
    if result["video_fpr_at_threshold"] is not None:
        out.print(f"real videos called fake: {result['video_fpr_at_threshold']:.1%}")
