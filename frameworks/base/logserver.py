#!/usr/bin/env python3
"""disco's deployment log server: serves one directory read-only over HTTP.

Only regular files and directories inside the directory are served. Every path is opened one
component at a time from the directory with O_NOFOLLOW, so a symbolic link (to /etc/passwd, to
a key) is never followed, not even one swapped in between a check and the open; `..` is refused.
Listings leave symbolic links out.

Usage: logserver.py PORT --bind ADDRESS --directory DIR
"""

import argparse
import html
import io
import os
import stat
import sys
import urllib.parse
from http import HTTPStatus
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer


class LogHandler(SimpleHTTPRequestHandler):
    """SimpleHTTPRequestHandler whose every open starts at the served directory."""

    def parts(self):
        """The request path's components, or None when one is `..` or holds a NUL."""
        path = urllib.parse.unquote(self.path.split("?", 1)[0].split("#", 1)[0])
        parts = [p for p in path.split("/") if p not in ("", ".")]
        if any(p == ".." or "\0" in p for p in parts):
            return None
        return parts

    def open_inside(self, parts):
        """An fd for the path below the served directory, never through a symbolic link."""
        fd = os.open(self.directory, os.O_RDONLY | os.O_DIRECTORY)
        try:
            for part in parts:
                inner = os.open(part, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=fd)
                os.close(fd)
                fd = inner
            return fd
        except OSError:
            os.close(fd)
            raise

    def send_head(self):
        parts = self.parts()
        if parts is None:
            self.send_error(HTTPStatus.NOT_FOUND, "File not found")
            return None
        try:
            fd = self.open_inside(parts)
        except OSError:
            self.send_error(HTTPStatus.NOT_FOUND, "File not found")
            return None
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            try:
                if not self.path.split("?", 1)[0].endswith("/"):
                    self.send_response(HTTPStatus.MOVED_PERMANENTLY)
                    self.send_header("Location", self.path.split("?", 1)[0] + "/")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return None
                return self.listing(fd, "/" + "".join(p + "/" for p in parts))
            finally:
                os.close(fd)
        if not stat.S_ISREG(info.st_mode):
            os.close(fd)
            self.send_error(HTTPStatus.NOT_FOUND, "File not found")
            return None
        f = os.fdopen(fd, "rb")
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-type", self.guess_type(parts[-1] if parts else ""))
        self.send_header("Content-Length", str(info.st_size))
        self.send_header("Last-Modified", self.date_time_string(int(info.st_mtime)))
        self.end_headers()
        return f

    def listing(self, fd, shown):
        """An HTML list of the regular files and directories in the directory `fd`."""
        names = []
        for name in sorted(os.listdir(fd)):
            try:
                mode = os.stat(name, dir_fd=fd, follow_symlinks=False).st_mode
            except OSError:
                continue
            if stat.S_ISDIR(mode):
                names.append(name + "/")
            elif stat.S_ISREG(mode):
                names.append(name)
        title = html.escape(f"Directory listing for {shown}")
        items = "".join(
            f'<li><a href="{urllib.parse.quote(n)}">{html.escape(n)}</a></li>\n' for n in names
        )
        body = (
            f"<!DOCTYPE HTML>\n<html>\n<head><meta charset=\"utf-8\"><title>{title}</title></head>\n"
            f"<body>\n<h1>{title}</h1>\n<hr>\n<ul>\n{items}</ul>\n<hr>\n</body>\n</html>\n"
        ).encode("utf-8")
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()

        return io.BytesIO(body)

    def do_POST(self):
        self.send_error(HTTPStatus.METHOD_NOT_ALLOWED, "Read-only")

    do_PUT = do_DELETE = do_POST


def main():
    parser = argparse.ArgumentParser(description="Serves a log directory read-only.")
    parser.add_argument("port", type=int)
    parser.add_argument("--bind", default="127.0.0.1")
    parser.add_argument("--directory", required=True)
    args = parser.parse_args()
    directory = os.path.abspath(args.directory)

    def handler(*a, **k):
        return LogHandler(*a, directory=directory, **k)

    with ThreadingHTTPServer((args.bind, args.port), handler) as server:
        server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
