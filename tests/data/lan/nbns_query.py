#!/usr/bin/env python3
"""A NetBIOS name query (RFC 1002 section 4.2.12) as Windows broadcasts it, from Python's
standard library (Debian's nmblookup comes with samba-common-bin, ~30 MB of Samba: not worth a
test dependency). Usage: nbns_query.py BROADCAST NAME [SCOPE]: sends one broadcast query for
NAME<00> (first-level encoded, RFC 1001 section 14.1; SCOPE appended as labels), waits at most
2 s for one answer and prints "ANSWER <ip> <address in the NB record>", or "NO ANSWER".
"""

import socket
import struct
import sys


def encode(name, scope):
    raw = name.upper().ljust(15)[:15].encode("ascii") + b"\x00"
    label = bytes(c for b in raw for c in (0x41 + (b >> 4), 0x41 + (b & 0x0F)))
    out = bytes([32]) + label
    for part in scope.split(".") if scope else []:
        out += bytes([len(part)]) + part.encode("ascii")
    return out + b"\x00"


def main():
    dest, name = sys.argv[1], sys.argv[2]
    scope = sys.argv[3] if len(sys.argv) > 3 else ""
    # Broadcast, recursion desired (flags 0x0110), one question of type NB, class IN.
    query = struct.pack("!HHHHHH", 0x4E42, 0x0110, 1, 0, 0, 0) + encode(name, scope) + struct.pack("!HH", 0x20, 1)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
    s.settimeout(2.0)
    s.sendto(query, (dest, 137))
    try:
        reply, (src, _) = s.recvfrom(4096)
    except socket.timeout:
        print("NO ANSWER")
        return
    print("ANSWER %s %s" % (src, socket.inet_ntoa(reply[-4:])))


if __name__ == "__main__":
    main()
