#!/usr/bin/env python3
"""A TCP server that records the exact bytes each client sent and the server_name in them.

The receiver decides: the test compares what egress-ids logged with what this server got. For
each connection it reads until the first TLS record is complete (or the client stops, or 5 s
pass), then closes and appends to the log:
    GOT <peer> <hex of every byte read>
    SNI <peer> <hex of the first host_name's bytes>      (or `SNI <peer> none`)
The ClientHello is walked by hand with bounds checks (struct only), as RFC 8446 lays it out.

Usage: recording_server.py ADDRESS PORT CONNECTIONS
Prints `server ready` once listening; exits after CONNECTIONS connections.
"""
import socket
import struct
import sys


def first_record(sock):
    data = b""
    while True:
        if len(data) >= 5:
            length = struct.unpack("!H", data[3:5])[0]
            if len(data) >= 5 + length:
                return data
        try:
            chunk = sock.recv(4096)
        except socket.timeout:
            return data
        if not chunk:
            return data
        data += chunk


class Reader:
    def __init__(self, data):
        self.data, self.pos = data, 0

    def take(self, n):
        if self.pos + n > len(self.data):
            raise ValueError("short")
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out

    def int(self, n):
        return int.from_bytes(self.take(n), "big")

    def vec(self, n):
        return self.take(self.int(n))


def server_name(record):
    """The first host_name of the ClientHello in one handshake record, or None."""
    try:
        r = Reader(record)
        if r.int(1) != 22:
            return None
        r.take(4)  # version, length
        if r.int(1) != 1:
            return None
        hello = Reader(r.take(r.int(3)))
        hello.take(2 + 32)
        hello.vec(1)  # session id
        hello.vec(2)  # cipher suites
        hello.vec(1)  # compression
        exts = Reader(hello.vec(2))
        while exts.pos < len(exts.data):
            kind, body = exts.int(2), exts.vec(2)
            if kind != 0:
                continue
            names = Reader(Reader(body).vec(2))
            while names.pos < len(names.data):
                name_type, name = names.int(1), names.vec(2)
                if name_type == 0:
                    return name
    except ValueError:
        return None
    return None


def main():
    address, port, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((address, port))
    listener.listen(8)
    listener.settimeout(60)
    print("server ready", flush=True)
    for _ in range(count):
        conn, peer = listener.accept()
        with conn:
            conn.settimeout(5)
            data = first_record(conn)
        who = "%s:%d" % peer
        name = server_name(data)
        print("GOT %s %s" % (who, data.hex()), flush=True)
        print("SNI %s %s" % (who, name.hex() if name is not None else "none"), flush=True)


if __name__ == "__main__":
    main()
