"""Small asyncio helpers the transfers share: worker threads that finish before a
cancellation goes on, and the real error of a failed task group."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


async def settled(fn: Callable[..., T], *args: Any) -> T:
    """`fn` in a worker thread; when the caller is cancelled, wait for the thread to end
    before the cancellation goes on, so that the undo steps see everything it did."""
    work = asyncio.ensure_future(asyncio.to_thread(fn, *args))
    try:
        return await asyncio.shield(work)
    except asyncio.CancelledError:
        with contextlib.suppress(BaseException):
            await work
        raise


def first_error(group: BaseExceptionGroup) -> BaseException:
    """The error that made a task group fail, not the cancellations it caused."""
    for exc in group.exceptions:
        if isinstance(exc, BaseExceptionGroup):
            return first_error(exc)
        if not isinstance(exc, asyncio.CancelledError):
            return exc
    return group.exceptions[0]
