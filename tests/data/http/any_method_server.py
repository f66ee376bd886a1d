#!/usr/bin/env python3
"""An HTTP/1.1 server (Python's http.server) that answers every method with 200 and logs, flushed,
one line per request it read: `REQ <method> <path> <Host> <User-Agent>`, so that a test knows
what the receiver got. Prints "server ready" when it listens. Standard library only."""
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class AnyMethod(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def answer(self):
        length = int(self.headers.get("Content-Length") or 0)
        if 0 < length < 65536:
            self.rfile.read(length)
        host = self.headers.get("Host", "-")
        agent = self.headers.get("User-Agent", "-")
        print(f"REQ {self.command} {self.path} {host} {agent}", flush=True)
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.send_header("Connection", "close")
        self.end_headers()

    def __getattr__(self, name):
        # http.server dispatches to do_<METHOD>: every method gets the same answer.
        if name.startswith("do_"):
            return self.answer
        raise AttributeError(name)


def main():
    host, port = sys.argv[1], int(sys.argv[2])
    server = ThreadingHTTPServer((host, port), AnyMethod)
    print(f"server ready on {host}:{port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
