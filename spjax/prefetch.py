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


class _End:
    """Marks the end of a `DevicePrefetch` stream (or carries the producer's error)."""

    def __init__(self, error: BaseException | None = None):
        self.error = error


class DevicePrefetch:
    """`put(item)` of every item of `items`, computed on a background thread up to `depth`
    items ahead of the consumer (for training: host batches → device arrays, so the copy
    overlaps the previous steps). `wait_s` is the time the consumer spent waiting for an
    item: an upper bound on the time the device waited for input (the device may still have
    been busy with steps already dispatched). A producer error is raised in the consumer."""

    def __init__(self, items, put, depth: int = 2):
        if depth < 1:
            raise ValueError(f"depth: expected >= 1, got {depth}")
        self.wait_s = 0.0
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
        t0 = time.perf_counter()
        item = self._queue.get()
        self.wait_s += time.perf_counter() - t0
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
