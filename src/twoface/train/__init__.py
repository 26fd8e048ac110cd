"""One generic training loop (:mod:`twoface.train.loop`) and per-model entry points."""
