"""Serving an aiohttp app from a thread of the test process, so that an estibad in
another process can reach it; stopping cancels whatever handler still hangs."""

from __future__ import annotations

import asyncio
import threading

from aiohttp import web


class ServedApp:
    def __init__(self, app: web.Application, port: int) -> None:
        self.app = app
        self.port = port
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        ready = threading.Event()

        def serve() -> None:
            loop = self._loop = asyncio.new_event_loop()
            runner = web.AppRunner(self.app, handle_signals=False)
            loop.run_until_complete(runner.setup())
            self._site = web.TCPSite(runner, "127.0.0.1", self.port)
            loop.run_until_complete(self._site.start())
            ready.set()
            loop.run_forever()
            loop.close()

        self._thread = threading.Thread(target=serve, daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise AssertionError("the test server did not start")

    def stop(self) -> None:
        async def shutdown() -> None:
            await self._site.stop()  # the port refuses connections from now on
            for task in asyncio.all_tasks():
                if task is not asyncio.current_task():
                    task.cancel()
            await asyncio.sleep(0.05)
            asyncio.get_running_loop().stop()

        if self._loop is not None and self._thread is not None:
            asyncio.run_coroutine_threadsafe(shutdown(), self._loop)
            self._thread.join(10)
