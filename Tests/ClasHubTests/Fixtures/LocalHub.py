"""A tiny hub for HubDownloadTests, on 127.0.0.1 only, serving {repo}/resolve/{revision}/{file} like huggingface.co.

Usage: python3 LocalHub.py CONFIG.json. Prints "PORT <n>" once listening. CONFIG: {"log": path, "lifetime": seconds,
"files": {"/owner/name/resolve/main/file": {"path": local file, "mode": mode}}}. Modes: lfs (302 to /cdn/<sha256>
with X-Linked-Etag and X-Linked-Size, as the hub answers for LFS files), plain (200, ETag = SHA-256), nohash
(200, ETag = a git blob hash), nohead (HEAD answers 405, GET as nohash), 404, 503, truncate-once (lfs, but the first body stops halfway), badsum (lfs with a
wrong X-Linked-Etag). Range requests (bytes=N-) get 206. Every request is appended to the log. The server stops by
itself after `lifetime` seconds or 1000 requests.
"""
import hashlib
import http.server
import json
import sys
import time

config = json.load(open(sys.argv[1]))
files = config["files"]
truncated = set()
handled = [0]


def log(line):
    with open(config["log"], "a") as f:
        f.write(line + "\n")


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"

    def log_message(self, *args):
        pass

    def do_HEAD(self):
        self.answer(body=False)

    def do_GET(self):
        self.answer(body=True)

    def answer(self, body):
        handled[0] += 1
        log(f"{self.command} {self.path} {self.headers.get('Range', '-')}")
        if self.path.startswith("/cdn/"):
            return self.cdn(self.path[len("/cdn/"):], body)
        spec = files.get(self.path)
        if spec is None or spec["mode"] == "404":
            return self.simple(404, b"Entry not found")
        if spec["mode"] == "503":
            return self.simple(503, b"Service Unavailable")
        if spec["mode"] == "nohead" and not body:
            return self.simple(405, b"")
        data = open(spec["path"], "rb").read()
        sha = hashlib.sha256(data).hexdigest()
        if spec["mode"] in ("lfs", "truncate-once", "badsum"):
            linked = sha if spec["mode"] != "badsum" else hashlib.sha256(b"other").hexdigest()
            self.send_response(302)
            self.send_header("Location", f"/cdn/{self.path.strip('/').replace('/', '~')}")
            self.send_header("X-Linked-Etag", f'"{linked}"')
            self.send_header("X-Linked-Size", str(len(data)))
            self.send_header("ETag", '"0123456789abcdef0123456789abcdef01234567"')
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        etag = sha if spec["mode"] == "plain" else hashlib.sha1(data).hexdigest()
        self.send_bytes(data, body, etag=f'W/"{etag}"')

    def cdn(self, key, body):
        path = "/" + key.replace("~", "/")
        spec = files.get(path)
        if spec is None:
            return self.simple(404, b"no such object")
        data = open(spec["path"], "rb").read()
        cut = spec["mode"] == "truncate-once" and body and path not in truncated
        if cut:
            truncated.add(path)
        self.send_bytes(data, body, etag='"d41d8cd98f00b204e9800998ecf8427e"', cut=cut)

    def send_bytes(self, data, body, etag, cut=False):
        start = 0
        rng = self.headers.get("Range")
        if rng and rng.startswith("bytes=") and rng.endswith("-"):
            start = int(rng[len("bytes="):-1])
            if start >= len(data):
                return self.simple(416, b"")
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            self.send_response(200)
        part = data[start:]
        self.send_header("Content-Length", str(len(part)))
        self.send_header("ETag", etag)
        self.end_headers()
        if body:
            self.wfile.write(part[: len(part) // 2] if cut else part)
            self.wfile.flush()

    def simple(self, status, text):
        self.send_response(status)
        self.send_header("Content-Length", str(len(text)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(text)


server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
server.timeout = 0.25
print(f"PORT {server.server_address[1]}", flush=True)
deadline = time.time() + float(config.get("lifetime", 120))
while time.time() < deadline and handled[0] < 1000:
    server.handle_request()
server.server_close()
