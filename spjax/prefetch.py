"""Input that is ready before the step needs it: `DevicePrefetch` turns a stream of host
items into device arrays on a background thread, a few items ahead of the consumer.

The one step-driving pattern of spjax's training loops (the SP-VLM trainer, decoder
pretraining, the audit's attacker fitting): draw the next batch from a `DevicePrefetch`,
dispatch the jitted step, and read results back only where they are needed (log steps, a
validation, the end of an epoch), so neither the host nor the device waits for the other.
"""

from __future__ import annotations

import queue
import threading
import time

_POLL_S = 0.001


class _End:
    """Marks the end of a `DevicePrefetch` stream (or carries the producer's error)."""

    def __init__(self, error: BaseException | None = None):
        self.error = error


class DevicePrefetch:
    """`put(item)` of every item of `items`, computed on a background thread up to `depth`
    items ahead of the consumer (for training: host batches → device arrays, so the copy
    overlaps the previous steps). A producer error is raised in the consumer.

    `wait_s` (and `waits`, per item) is the time the consumer waited for an item. Steps are
    dispatched asynchronously, so the host usually runs ahead of the device and waits while
    the device is still busy: `get(device_busy=...)` counts only the part of a wait in which
    `device_busy()` was false, i.e. the time the device itself waited for input."""

    def __init__(self, items, put, depth: int = 2):
        if depth < 1:
            raise ValueError(f"depth: expected >= 1, got {depth}")
        self.wait_s = 0.0
        self.waits: list[float] = []
        self._queue: queue.Queue = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._produce, args=(items, put), name="spjax-prefetch", daemon=True
        )
        self._thread.start()

    def _offer(self, item) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _produce(self, items, put) -> None:
        try:
            for item in items:
                if not self._offer(put(item)):
                    return
            self._offer(_End())
        except BaseException as err:  # handed to the consumer, which raises it
            self._offer(_End(err))

    def __iter__(self):
        return self

    def __next__(self):
        return self.get()

    def get(self, device_busy=None):
        """The next item (StopIteration at the end). With `device_busy` (a callable: is the
        last dispatched step still running?) only the idle part of the wait is counted."""
        t0 = time.perf_counter()
        idle_since = t0 if device_busy is None or not device_busy() else None
        while True:
            try:
                # While the device is busy, look again every millisecond; once it is idle it
                # stays idle (nothing new is dispatched while we wait), so just block.
                item = self._queue.get(timeout=None if idle_since is not None else _POLL_S)
                break
            except queue.Empty:
                if not device_busy():
                    idle_since = time.perf_counter()
        waited = 0.0 if idle_since is None else time.perf_counter() - idle_since
        self.wait_s += waited
        self.waits.append(waited)
        if isinstance(item, _End):
            self._queue.put(item)  # every later call ends too
            if item.error is not None:
                raise item.error
            raise StopIteration
        return item

    def close(self) -> None:
        """Stop the producer (it may be blocked on a full queue) and drop what it made."""
        self._stop.set()
        while self._thread.is_alive():
            try:
                self._queue.get(timeout=0.1)
            except queue.Empty:
                pass
        self._thread.join()


def device_batches(items, depth: int = 2) -> DevicePrefetch:
    """`jax.device_put` of every item (a pytree of host arrays), `depth` items ahead; the
    arrays are placed as jit would place host arrays, so the step compiles and computes
    exactly as it would on the host items."""
    import jax

    return DevicePrefetch(items, jax.device_put, depth)
