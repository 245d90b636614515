"""Record every Server-Sent Events stream with its chunk timing (sse-inspect's capture addon).

    mitmdump -s addons/sse_capture.py -w capture.flow
    sse-inspect analyze capture.flow

Event streams are forwarded chunk by chunk, unchanged and at once; see sse_inspect/capture/addon.py
for what is recorded and the options (--set sse_inspect_filter=..., sse_inspect_max_bytes=...,
sse_inspect_save_all=true).

The script also adds an "SSE" contentview, which mitmproxy picks for event-stream responses
(mitmdump --flow-detail 3, the console, mitmweb): the rebuilt answer, then every event with
its time from the request start. See sse_inspect/present/contentview.py. The view is imported
the first time mitmproxy asks it something, so loading the script loads neither the analysis
nor the dialects, and it is taken out again when mitmproxy unloads or reloads the script.
"""

import sys
from pathlib import Path

from mitmproxy import contentviews

try:
    from sse_inspect.capture.addon import SSECapture
except ImportError:  # run from a checkout without installing: use the package beside us
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from sse_inspect.capture.addon import SSECapture


def _view() -> contentviews.Contentview:
    from sse_inspect.present.contentview import sse_view

    return sse_view


class SSEView(contentviews.Contentview):
    """sse-inspect's SSE contentview, loaded on first use, and the addon that registers it
    while the script is loaded (mitmproxy calls ``done`` when it unloads or reloads it)."""

    name = "SSE"

    def render_priority(self, data: bytes, metadata: contentviews.Metadata) -> float:
        return _view().render_priority(data, metadata)

    def prettify(self, data: bytes, metadata: contentviews.Metadata) -> str:
        return _view().prettify(data, metadata)

    def load(self, loader: object) -> None:
        contentviews.add(self)

    def done(self) -> None:
        from sse_inspect.present.contentview import unregister  # light: no analysis

        unregister(self)


addons = [SSECapture(), SSEView()]
