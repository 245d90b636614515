"""Record every Server-Sent Events stream with its chunk timing (sse-inspect's capture addon).

    mitmdump -s addons/sse_capture.py -w capture.flow
    sse-inspect analyze capture.flow

Event streams are forwarded chunk by chunk, unchanged and at once; see sse_inspect/capture/addon.py
for what is recorded and the options (--set sse_inspect_filter=..., sse_inspect_max_bytes=...,
sse_inspect_save_all=true).
"""

import sys
from pathlib import Path

try:
    from sse_inspect.capture.addon import SSECapture
except ImportError:  # run from a checkout without installing: use the package beside us
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from sse_inspect.capture.addon import SSECapture

addons = [SSECapture()]
