"""A TLS 1.2/1.3 ClientHello with one server name, built with the standard library only.

Two names of the same length give two hellos of the same length that differ only in the name's
bytes, so one can overlap the other segment for segment.
"""
import os
import struct


def client_hello(sni: str, random: bytes = b"\x42" * 32) -> bytes:
    name = sni.encode()
    server_name = struct.pack("!HBH", len(name) + 3, 0, len(name)) + name
    extensions = b"".join(
        struct.pack("!HH", kind, len(body)) + body
        for kind, body in [
            (0x0000, server_name),
            (0x000A, struct.pack("!HHH", 4, 0x001D, 0x0017)),  # groups: x25519, secp256r1
            (0x000D, struct.pack("!HHH", 4, 0x0403, 0x0804)),  # signature algorithms
            (0x002B, struct.pack("!BHH", 4, 0x0304, 0x0303)),  # versions: 1.3, 1.2
        ]
    )
    ciphers = struct.pack("!HHHH", 6, 0x1301, 0xC02F, 0x009C)
    body = (
        struct.pack("!H", 0x0303)
        + random
        + b"\x00"  # no session id
        + ciphers
        + b"\x01\x00"  # null compression
        + struct.pack("!H", len(extensions))
        + extensions
    )
    handshake = b"\x01" + struct.pack("!I", len(body))[1:] + body
    return b"\x16\x03\x01" + struct.pack("!H", len(handshake)) + handshake


if __name__ == "__main__":
    import sys

    os.write(1, client_hello(sys.argv[1]))
