#!/usr/bin/env python3
"""Raw-socket client for tests/ip_evasion.rs: sends UDP DNS queries to DST:53 from SRC in
hand-made IPv4 fragments (stdlib only; needs CAP_NET_RAW). Three datagrams, in this order:

1. id 0x1111, query for pkg-validate.net: [0,24) MF, then [16,40) MF whose bytes 16..24
   conflict with the first copy (it starts inside the received run and ends past it: Linux drops
   the whole datagram), then the rest as the last fragment (it opens a new datagram that never
   completes).
2. id 0x2222, query for npm-health-check.io: [0,32) MF, then [16,32) MF with another name's bytes
   (wholly inside the received run: a duplicate, dropped; the first copy wins), then the rest.
3. id 0x3333, query for plain-crypto-js.net, honestly: [0,24) MF, then the rest.

Usage: ipfrag_dns.py SRC DST
"""
import socket
import struct
import sys
import time
from wire import checksum, dns_query


def udp(sport, dport, payload):
    # Checksum 0: none (allowed for UDP over IPv4), so conflicting copies need no recomputing.
    return struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload


def fragment(src, dst, ident, offset, more, data):
    flags = (0x2000 if more else 0) | (offset // 8)
    header = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(data), ident, flags, 64, 17, 0,
                         socket.inet_aton(src), socket.inet_aton(dst))
    header = header[:10] + struct.pack("!H", checksum(header)) + header[12:]
    return header + data


def main():
    src, dst = sys.argv[1], sys.argv[2]
    sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    sock.setsockopt(socket.IPPROTO_IP, socket.IP_HDRINCL, 1)

    def send(ident, offset, more, data):
        sock.sendto(fragment(src, dst, ident, offset, more, data), (dst, 0))
        time.sleep(0.05)

    d1 = udp(40001, 53, dns_query(0x0101, "pkg-validate.net"))
    conflict = bytearray(d1[16:40])
    conflict[0:8] = b"\xff" * 8
    send(0x1111, 0, True, d1[0:24])
    send(0x1111, 16, True, bytes(conflict))
    send(0x1111, 24, False, d1[24:])

    d2 = udp(40002, 53, dns_query(0x0202, "npm-health-check.io"))
    other = udp(40002, 53, dns_query(0x0202, "npm-hxxxxx-check.io"))
    assert len(other) == len(d2)
    send(0x2222, 0, True, d2[0:32])
    send(0x2222, 16, True, other[16:32])
    send(0x2222, 32, False, d2[32:])

    d3 = udp(40003, 53, dns_query(0x0303, "plain-crypto-js.net"))
    send(0x3333, 0, True, d3[0:24])
    send(0x3333, 24, False, d3[24:])


if __name__ == "__main__":
    main()
