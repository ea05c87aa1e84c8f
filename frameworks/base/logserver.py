#!/usr/bin/env python3
# disco's log server: PORT --bind ADDRESS --directory DIR, read-only. Paths are opened one
# component at a time from DIR with O_NOFOLLOW: no symlink is followed, no `..` accepted.
import argparse, html, io, os, stat, urllib.parse
from http.server import SimpleHTTPRequestHandler as Base, ThreadingHTTPServer


class LogHandler(Base):
    def send_head(self):
        path = urllib.parse.unquote(self.path.split("?", 1)[0].split("#", 1)[0])
        parts = [p for p in path.split("/") if p not in ("", ".")]
        fd = None
        try:
            if any(p == ".." or "\0" in p for p in parts):
                raise OSError
            fd = os.open(self.directory, os.O_RDONLY | os.O_DIRECTORY)
            for part in parts:
                inner = os.open(part, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=fd)
                os.close(fd)
                fd = inner
            mode = os.fstat(fd).st_mode
            if stat.S_ISDIR(mode) and not path.endswith("/"):
                self.send_response(301)
                self.send_header("Location", path + "/")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return None
            if stat.S_ISDIR(mode):
                listing = self.listing(fd, "/" + "".join(p + "/" for p in parts))
                body, ctype, size = io.BytesIO(listing), "text/html; charset=utf-8", len(listing)
            elif stat.S_ISREG(mode):
                body, ctype = os.fdopen(fd, "rb"), self.guess_type(parts[-1])
                size, fd = os.fstat(fd).st_size, None
            else:
                raise OSError
        except OSError:
            self.send_error(404, "File not found")
            return None
        finally:
            if fd is not None:
                os.close(fd)
        self.send_response(200)
        self.send_header("Content-type", ctype)
        self.send_header("Content-Length", str(size))
        self.end_headers()
        return body

    def listing(self, fd, shown):
        items = ""
        for name in sorted(os.listdir(fd)):
            try:
                mode = os.stat(name, dir_fd=fd, follow_symlinks=False).st_mode
            except OSError:
                continue
            if stat.S_ISDIR(mode) or stat.S_ISREG(mode):
                name += "/" if stat.S_ISDIR(mode) else ""
                items += f'<li><a href="{urllib.parse.quote(name)}">{html.escape(name)}</a></li>\n'
        title = html.escape(f"Directory listing for {shown}")
        return (f"<!DOCTYPE HTML>\n<html><head><meta charset=\"utf-8\"><title>{title}</title>"
                f"</head>\n<body><h1>{title}</h1><ul>\n{items}</ul></body></html>\n").encode()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("port", type=int)
    parser.add_argument("--bind", default="127.0.0.1")
    parser.add_argument("--directory", required=True)
    args = parser.parse_args()
    directory = os.path.abspath(args.directory)
    with ThreadingHTTPServer((args.bind, args.port),
                             lambda *a: LogHandler(*a, directory=directory)) as server:
        server.serve_forever()


if __name__ == "__main__":
    main()
