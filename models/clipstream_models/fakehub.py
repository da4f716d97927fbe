"""A Hugging Face Hub on 127.0.0.1 serving one checkpoint folder, for the tests of `model get` (CLI
and app): the hub's revision API, `resolve` answering 302 to a CDN path as huggingface.co does for
LFS files, and the CDN honouring `Range`, optionally slowly so a test can press Cancel mid-file.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.server
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

COMMIT = "0123456789abcdef0123456789abcdef01234567"


@dataclass
class Hub:
    url: str
    repo: str
    files: dict[str, bytes]
    seen: list[str] = field(default_factory=list)
    ranges: list[str | None] = field(default_factory=list)
    # Seconds to wait after each 64 KiB of a CDN body (0: as fast as possible).
    slow: float = 0.0


@contextlib.contextmanager
def serving(folder: Path, repo: str) -> Iterator[Hub]:
    files = {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}
    hub = Hub(url="", repo=repo, files=files)

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            hub.seen.append(self.path)
            if self.path.startswith(f"/api/models/{repo}/revision/"):
                siblings = []
                for name, data in hub.files.items():
                    entry = {"rfilename": name, "size": len(data)}
                    if name.endswith(".safetensors"):
                        entry["lfs"] = {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
                    siblings.append(entry)
                self.reply(200, json.dumps({"id": repo, "sha": COMMIT, "siblings": siblings}).encode())
            elif self.path.startswith(f"/{repo}/resolve/{COMMIT}/"):
                self.send_response(302)
                self.send_header("Location", "/cdn/" + self.path.rsplit("/", 1)[1])
                self.send_header("Content-Length", "0")
                self.end_headers()
            elif self.path.startswith("/cdn/") and self.path[5:] in hub.files:
                data = hub.files[self.path[5:]]
                hub.ranges.append(self.headers.get("Range"))
                start = int((self.headers.get("Range") or "bytes=0-")[6:].rstrip("-") or 0)
                self.reply(206 if start else 200, data[start:], start, len(data))
            else:
                self.reply(404, b'{"error": "Repository not found"}')

        def reply(self, code, body, start=0, total=0):
            self.send_response(code)
            if code == 206:
                self.send_header("Content-Range", f"bytes {start}-{total - 1}/{total}")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            with contextlib.suppress(ConnectionError):
                for at in range(0, len(body), 1 << 16):
                    self.wfile.write(body[at : at + (1 << 16)])
                    if hub.slow:
                        time.sleep(hub.slow)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    hub.url = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield hub
    finally:
        server.shutdown()
        server.server_close()
