"""Run mitmproxy with the capture addon placed ahead of mitmproxy's own ``Save``.

``mitmdump -s`` loads scripts ahead of ``Save`` too, but an addon added to a ``DumpMaster``
afterwards would come after it, and then the flows ``Save`` writes on an error or at
shutdown would lack what the addon stores in those same hooks.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from dataclasses import dataclass, field

from mitmproxy import addons, master, options
from mitmproxy.addons import errorcheck, save

from .addon import SSECapture

__all__ = ["CaptureConfig", "build_master", "run_capture"]


@dataclass(frozen=True)
class CaptureConfig:
    listen_host: str = "127.0.0.1"
    listen_port: int = 8080
    modes: tuple[str, ...] = ("regular",)
    write: str = "capture.flow"
    filter: str | None = None
    max_bytes: int | None = None
    save_all: bool = False
    confdir: str | None = None
    sets: tuple[str, ...] = field(default=())
    """Further mitmproxy options as ``name=value``, like ``mitmdump --set``."""


def build_master(config: CaptureConfig) -> master.Master:
    opts = options.Options()
    m = master.Master(opts, with_termlog=True)
    chain = addons.default_addons()
    at = next(i for i, a in enumerate(chain) if isinstance(a, save.Save))
    chain.insert(at, SSECapture())
    m.addons.add(*chain)
    m.addons.add(errorcheck.ErrorCheck())
    updates: dict[str, object] = {
        "listen_host": config.listen_host,
        "listen_port": config.listen_port,
        "mode": list(config.modes),
        "save_stream_file": config.write,
        "sse_inspect_filter": config.filter,
        "sse_inspect_save_all": config.save_all,
    }
    if config.max_bytes is not None:
        updates["sse_inspect_max_bytes"] = config.max_bytes
    if config.confdir is not None:
        updates["confdir"] = config.confdir
    opts.update(**updates)
    if config.sets:
        opts.set(*config.sets)
    return m


def run_capture(config: CaptureConfig) -> None:
    """Serve until SIGINT or SIGTERM; then stop cleanly, with every flow written.

    Raises ``exceptions.OptionsError`` for bad options, before anything listens.
    """

    async def main() -> None:
        # As mitmdump does: everything reaches the terminal log, which filters by
        # termlog_verbosity; chatty libraries only from warnings up.
        logging.getLogger().setLevel(logging.DEBUG)
        for name in ("tornado", "asyncio", "hpack", "quic"):
            logging.getLogger(name).setLevel(logging.WARNING)
        m = build_master(config)
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, m.shutdown)
        await m.run()

    asyncio.run(main())
