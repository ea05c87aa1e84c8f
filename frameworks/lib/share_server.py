#!/usr/bin/env python3
"""Serves the files of one directory to requests carrying the cluster secret.

Usage: share_server.py ADDRESS PORT DIRECTORY SECRET_FILE

The master of a cloud cluster uses it to hand values such as a join token to its slaves. It
binds the cluster-internal address only; every request must send `X-Disco-Secret` equal to the
secret in SECRET_FILE (compared in constant time); names are plain file names, never paths.
"""
import hmac
import http.server
import os
import sys


def main():
    address, port, directory, secret_file = sys.argv[1:5]
    with open(secret_file, "rb") as f:
        secret = f.read().strip()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            given = self.headers.get("X-Disco-Secret", "").encode()
            name = self.path.lstrip("/")
            if not hmac.compare_digest(given, secret):
                self.send_error(403)
                return
            if not name or "/" in name or name.startswith("."):
                self.send_error(404)
                return
            try:
                with open(os.path.join(directory, name), "rb") as f:
                    body = f.read()
            except OSError:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    http.server.ThreadingHTTPServer((address, int(port)), Handler).serve_forever()


if __name__ == "__main__":
    main()
