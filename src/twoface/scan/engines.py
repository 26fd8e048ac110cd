"""Where the checks run: in this process, in a local process pool, or on a Ray cluster.

Every engine is a generator of finished rows, in the order they finish; the caller writes
them (one writer, so exactly-once is decided in one place). At most a couple of files per
worker are in flight at any time, which bounds what an interrupt can lose.

A worker that dies (killed, out of memory, a decoder crash) takes its files in flight with
it: they are handed out again, and a file that was in flight in :data:`MAX_TRIES` crashes
becomes a row with an error instead of crashing workers forever.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import threading
import time
from collections.abc import Generator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import replace
from typing import Any

from twoface.errors import TwofaceError
from twoface.scan.rows import Checker, Item, ScanConfig, empty_row, rss_mb

MAX_TRIES = 2
_AHEAD = 2  # files queued per worker: keeps workers busy, keeps the loss on a kill small
CRASHED = "the worker checking this file died (killed, out of memory or a decoder crash)"

# The models of this worker process. A process pool can hand state to its tasks only
# through the module its initializer ran in; this is that state, set once per worker.
_WORKER: Checker | None = None


def _init_worker(config: ScanConfig) -> None:
    global _WORKER
    _orphan_watch(os.getppid())
    _WORKER = Checker(config)


def _orphan_watch(parent: int) -> None:
    """Exit when the scan that started this worker is gone (``kill -9`` of the scan): a
    pool worker blocked on its next task would otherwise live on, holding its models."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch, daemon=True, name="orphan-watch").start()


def _check(item: Item) -> dict[str, Any]:
    assert _WORKER is not None, "the pool's initializer loads the models first"
    return _WORKER.check(item)


Rows = Generator[dict[str, Any], None, None]


def run_inline(items: list[Item], config: ScanConfig) -> Rows:
    """Check ``items`` one after another in this process (``--workers 1``)."""
    if not items:
        return  # nothing to do: do not load the models
    checker = Checker(config)
    for item in items:
        yield checker.check(item)


def run_pool(items: list[Item], config: ScanConfig, workers: int) -> Rows:
    """Check ``items`` in ``workers`` spawned processes, each loading the models once."""
    todo = list(reversed(items))  # popped from the end: first listed, first checked
    tries: dict[str, int] = {}
    # spawn, not fork: a forked copy of a parent that has touched torch's thread pool or
    # PyAV can deadlock, and spawn behaves the same on every platform.
    ctx = mp.get_context("spawn")
    while todo:
        pool = ProcessPoolExecutor(workers, mp_context=ctx, initializer=_init_worker,
                                   initargs=(config,))
        flying: dict[Future[dict[str, Any]], Item] = {}
        rows = 0
        try:
            while todo or flying:
                while todo and len(flying) < workers * _AHEAD:
                    item = todo.pop()
                    flying[pool.submit(_check, item)] = item
                finished, _ = wait(flying, return_when=FIRST_COMPLETED)
                for fut in finished:
                    row = fut.result()  # raises BrokenProcessPool while still in flying
                    del flying[fut]
                    rows += 1
                    yield row
        except BrokenProcessPool:
            if rows == 0 and tries and max(tries.values()) >= 1:
                # Twice broken before a single row: the workers cannot start (their models
                # fail to load), which is no fault of the files.
                raise TwofaceError(None, "the scan's worker processes fail to start; run "
                                   "with --workers 1 to see why") from None
            # Every file in flight is suspect; hand each out again, up to MAX_TRIES crashes.
            for item in flying.values():
                tries[item.key] = tries.get(item.key, 0) + 1
                if tries[item.key] >= MAX_TRIES:
                    yield crashed_row(item)
                else:
                    todo.append(item)
        finally:
            pool.shutdown(wait=False, cancel_futures=True)


def crashed_row(item: Item) -> dict[str, Any]:
    row = empty_row(item)
    row.update(error=CRASHED, rss_mb=rss_mb())
    return row


def run_ray(items: list[Item], config: ScanConfig, address: str, workers: int | None,
            service: bool | None = None) -> Rows:
    """Check ``items`` on Ray actors, each loading the face models once.

    ``address``: ``local`` starts a Ray instance on this machine (loopback only); ``auto``
    joins the cluster this machine belongs to; anything else is a cluster address. Each
    worker actor takes one CPU. ``service`` (default: when the cluster has GPUs and
    ``config.device`` is cuda): the workers only decode and find faces, and one detector
    service per GPU scores the faces of all of them in batches
    (:mod:`twoface.scan.ray_detector`). A killed actor is restarted by Ray and its call
    retried once.
    """
    try:
        import ray
    except ImportError:
        raise TwofaceError(None, "--ray needs Ray: pip install 'twoface[ray]'") from None
    started = not ray.is_initialized()
    if started:
        if address == "local":
            ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False,
                     configure_logging=False, _node_ip_address="127.0.0.1")
        else:
            ray.init(address=address, log_to_driver=False, configure_logging=False)
    try:
        yield from _ray_rows(ray, items, config, workers, service)
    finally:
        if started:
            ray.shutdown()


def _ray_rows(ray: Any, items: list[Item], config: ScanConfig, workers: int | None,
              service: bool | None) -> Rows:
    from twoface.scan.ray_detector import DetectorService

    resources = ray.cluster_resources()
    cuda = config.device.startswith("cuda")
    gpus = int(resources.get("GPU", 0)) if cuda else 0
    if cuda and not gpus:
        raise TwofaceError(None, "--device cuda: this Ray cluster has no GPUs")
    n = workers or max(1, int(resources.get("CPU", 1)))
    services = []
    if "detect" in config.checks and (service or (service is None and gpus)):
        # No CPU reserved: the service waits on the GPU (or, without one, works between
        # the workers' requests), and a CPU slot held idle would cost a worker.
        service_cls = ray.remote(num_cpus=0, num_gpus=1 if gpus else 0,
                                 max_restarts=MAX_TRIES,
                                 max_task_retries=MAX_TRIES - 1)(DetectorService)
        services = [service_cls.remote(config.detector, "cuda" if gpus else "cpu")
                    for _ in range(max(1, gpus))]
        config = replace(config, device="cpu")  # the workers keep no detector of their own
    elif gpus:  # Ray sets CUDA_VISIBLE_DEVICES per actor: its share is always cuda:0
        config = replace(config, device="cuda")
    per_gpu = min(1.0, gpus / n) if gpus and not services else 0.0
    actor_cls = ray.remote(num_cpus=1, num_gpus=per_gpu, max_restarts=MAX_TRIES,
                           max_task_retries=MAX_TRIES - 1)(RayWorker)
    actors = [actor_cls.remote(config, services[i % len(services)] if services else None)
              for i in range(n)]
    todo = list(reversed(items))
    flying: dict[Any, tuple[Any, Item]] = {}
    idle = actors * _AHEAD
    while todo or flying:
        while todo and idle:
            actor, item = idle.pop(), todo.pop()
            flying[actor.check.remote(item)] = (actor, item)
        ready, _ = ray.wait(list(flying), num_returns=1)
        for ref in ready:
            actor, item = flying.pop(ref)
            idle.append(actor)
            try:
                yield ray.get(ref)
            except ray.exceptions.RayActorError:
                yield crashed_row(item)


class RayWorker:
    """A Ray actor holding one :class:`Checker` (decorated with ``ray.remote`` at run time,
    so that importing this module does not need Ray). With a detector ``service`` its
    Checker scores faces there instead of on a detector of its own."""

    def __init__(self, config: ScanConfig, service: Any = None) -> None:
        detector = None
        if service is not None:
            from twoface.models.detectors import load_detector
            from twoface.scan.ray_detector import RemoteDetector

            detector = RemoteDetector(service, load_detector(config.detector, "cpu"))
        self.checker = Checker(config, detector)

    def check(self, item: Item) -> dict[str, Any]:
        return self.checker.check(item)
