"""Run an iterator on its own thread, a bounded number of items ahead of its consumer.

The REST sources chain two of these: one thread walks an API's pages (waiting on the server),
another parses them (pyarrow's JSON reader releases the GIL), while dlt's thread shapes and
writes the pages before. Items still come out strictly in order; an exception raised by the
iterator is raised to the consumer where its next item would have been, after every item
before it.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from typing import TypeVar

T = TypeVar("T")
_END = object()


def ahead(items: Iterator[T], depth: int, name: str) -> Iterator[T]:
    """Yield ``items``, produced on a thread called ``name`` up to ``depth`` items early.

    A consumer that stops early (closes this generator, or is garbage collected) stops the
    producer after the item it is making, and the producer closes ``items`` on its own thread,
    so chained stages stop one after the other.
    """
    handed: queue.Queue[tuple[bool, object]] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def hand_over(ok: bool, item: object) -> bool:
        """Queue one item for the consumer; False once the consumer has gone."""
        while not stop.is_set():
            try:
                handed.put((ok, item), timeout=0.1)  # woken at once when the consumer takes one
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not hand_over(True, item):
                    return
        except BaseException as exc:  # raised to the consumer
            hand_over(False, exc)
            return
        finally:
            close = getattr(items, "close", None)
            if close is not None:
                close()
        hand_over(True, _END)

    threading.Thread(target=produce, name=name, daemon=True).start()
    try:
        while True:
            ok, item = handed.get()
            if not ok:
                raise item  # type: ignore[misc]
            if item is _END:
                return
            yield item  # type: ignore[misc]
    finally:
        stop.set()
