#!/usr/bin/env python3
"""A TLS 1.2 client that sends a ClientHello with the server_name bytes it is given, verbatim.

No mainstream client sends a NUL or other junk in server_name (OpenSSL, curl and Node.js refuse
or cut the name), so this one writes the ClientHello itself with the standard library only
(struct, socket): a real TCP connection, a hello a real server can answer (ECDHE with P-256 or
X25519, AES-GCM, ECDSA or RSA signatures), and the name's bytes exactly as given.

Usage: junk_hello_client.py HOST PORT NAME_HEX [NAME_HEX ...]
HOST is an address or a name (resolved once, A only). One connection per name. For each it prints one line:
    NAME <hex> REPLY <what the server answered>
where the answer is `server_hello`, `alert <level> <description>` (RFC 8446 numbers),
`closed` or `timeout`. Exits 0 when every connection was made.
"""
import os
import socket
import struct
import sys


def u8(b):
    return struct.pack("!B", b)


def u16(n):
    return struct.pack("!H", n)


def vec16(data):
    return u16(len(data)) + data


def extension(kind, body):
    return u16(kind) + vec16(body)


def client_hello(name):
    server_name = extension(0, vec16(u8(0) + vec16(name)))
    groups = extension(10, vec16(u16(0x001D) + u16(0x0017)))  # x25519, secp256r1
    point_formats = extension(11, u8(1) + u8(0))
    sig_algs = extension(13, vec16(b"".join(u16(s) for s in (0x0403, 0x0804, 0x0401))))
    ems = extension(23, b"")
    reneg = extension(0xFF01, u8(0))
    exts = server_name + groups + point_formats + sig_algs + ems + reneg
    ciphers = b"".join(u16(c) for c in (0xC02B, 0xC02F, 0xC02C, 0xC030))
    body = (
        u16(0x0303)
        + os.urandom(32)
        + u8(0)  # no session id
        + vec16(ciphers)
        + u8(1) + u8(0)  # null compression
        + vec16(exts)
    )
    msg = u8(1) + struct.pack("!I", len(body))[1:] + body
    return u8(22) + u16(0x0301) + vec16(msg)


def read_exact(sock, n):
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            return None
        data += chunk
    return data


def reply(sock):
    try:
        head = read_exact(sock, 5)
        if head is None:
            return "closed"
        kind, _, length = struct.unpack("!BHH", head)
        body = read_exact(sock, min(length, 2)) or b""
    except socket.timeout:
        return "timeout"
    except ConnectionResetError:
        return "closed"
    if kind == 21 and len(body) == 2:
        return "alert %d %d" % (body[0], body[1])
    if kind == 22 and body[:1] == b"\x02":
        return "server_hello"
    return "record %d" % kind


def main():
    host, port = sys.argv[1], int(sys.argv[2])
    # A name is resolved once, IPv4 only (one A query), as a client that then connects would.
    address = socket.getaddrinfo(host, port, socket.AF_INET, socket.SOCK_STREAM)[0][4]
    for name_hex in sys.argv[3:]:
        name = bytes.fromhex(name_hex)
        with socket.create_connection(address, timeout=5) as sock:
            sock.sendall(client_hello(name))
            answer = reply(sock)
        print("NAME %s REPLY %s" % (name_hex, answer), flush=True)


if __name__ == "__main__":
    main()
