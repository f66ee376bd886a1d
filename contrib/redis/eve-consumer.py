#!/usr/bin/env python3
"""Reads the EVE lines egress-ids (or Suricata) writes into Redis and prints them, one per line,
oldest first: pipe them into jq, a file that Filebeat or Vector already ships, or your own code.

Python's standard library only (socket, ssl): nothing to install on the collector.

  eve-consumer.py --url redis://127.0.0.1:6379 --mode list --key egress-ids
  eve-consumer.py --url rediss://reader:PASSWORD@redis.example:6380/0 --cacert ca.pem --mode stream
  eve-consumer.py --url unix:///run/redis/redis.sock --mode channel --key egress-ids | jq .alert

--mode is the sensor's mode: list (or lpush: BRPOP takes the oldest), rpush (BLPOP), channel
(or publish: SUBSCRIBE, lines published while nobody listens are gone), stream (or xadd: XREAD from
--from, the field `eve` of each entry). A list is consumed (each line goes to one consumer); a
stream is read, not consumed (every consumer sees every entry; Redis trims it to the sensor's
MAXLEN). --count N stops after N lines.
"""

import argparse
import socket
import ssl
import sys
import urllib.parse


class Redis:
    """One RESP2 connection: commands out, replies in."""

    def __init__(self, url, cacert=None, timeout=None):
        u = urllib.parse.urlsplit(url)
        if u.scheme == "unix":
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.connect(u.path)
        elif u.scheme in ("redis", "rediss"):
            sock = socket.create_connection((u.hostname or "127.0.0.1", u.port or 6379))
            if u.scheme == "rediss":
                context = ssl.create_default_context(cafile=cacert)
                sock = context.wrap_socket(sock, server_hostname=u.hostname)
        else:
            sys.exit(f"eve-consumer: unsupported URL scheme {u.scheme}://")
        sock.settimeout(timeout)
        self.reader = sock.makefile("rb")
        self.sock = sock
        password = urllib.parse.unquote(u.password) if u.password else None
        user = urllib.parse.unquote(u.username) if u.username else None
        if password is not None:
            self.call("AUTH", *([user] if user else []), password)
        db = (u.path or "/").strip("/") if u.scheme != "unix" else ""
        if db and db != "0":
            self.call("SELECT", db)

    def send(self, *args):
        out = [b"*%d\r\n" % len(args)]
        for arg in args:
            data = arg if isinstance(arg, bytes) else str(arg).encode()
            out.append(b"$%d\r\n%s\r\n" % (len(data), data))
        self.sock.sendall(b"".join(out))

    def reply(self):
        line = self.reader.readline()
        if not line:
            raise ConnectionError("the server closed the connection")
        kind, rest = line[:1], line[1:-2]
        if kind == b"+":
            return rest
        if kind == b"-":
            raise RuntimeError(rest.decode(errors="replace"))
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            return None if n < 0 else self.reader.read(n + 2)[:-2]
        if kind == b"*":
            n = int(rest)
            return None if n < 0 else [self.reply() for _ in range(n)]
        raise RuntimeError(f"not a RESP2 reply: {line!r}")

    def call(self, *args):
        self.send(*args)
        return self.reply()


def lines(redis, mode, key, start):
    """Every EVE line, oldest first, as bytes."""
    if mode in ("list", "lpush", "rpush"):
        pop = "BLPOP" if mode == "rpush" else "BRPOP"
        while True:
            _key, value = redis.call(pop, key, 0)
            yield value
    elif mode in ("channel", "publish"):
        redis.call("SUBSCRIBE", key)
        while True:
            kind, _channel, value = redis.reply()
            if kind == b"message":
                yield value
    elif mode in ("stream", "xadd"):
        last = start
        while True:
            reply = redis.call("XREAD", "COUNT", 100, "BLOCK", 0, "STREAMS", key, last)
            for _stream, entries in reply or []:
                for entry_id, fields in entries:
                    last = entry_id
                    values = dict(zip(fields[::2], fields[1::2]))
                    yield values[b"eve"]
    else:
        sys.exit(f"eve-consumer: unknown mode {mode}")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--url", default="redis://127.0.0.1:6379")
    p.add_argument("--cacert", help="PEM file of the CA of a rediss:// server (a private CA)")
    p.add_argument("--mode", default="list")
    p.add_argument("--key", default="egress-ids")
    p.add_argument("--from", dest="start", default="0",
                   help="stream: the entry id to read after (0: from the oldest, $: only new)")
    p.add_argument("--count", type=int, default=0, help="stop after this many lines")
    a = p.parse_args()
    redis = Redis(a.url, a.cacert)
    out = sys.stdout.buffer
    for n, line in enumerate(lines(redis, a.mode, a.key, a.start), 1):
        out.write(line + b"\n")
        out.flush()
        if n == a.count:
            break


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        pass
