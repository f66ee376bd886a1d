#!/usr/bin/env python3
"""Raw AF_PACKET client for tests/ip_evasion.rs: sends UDP DNS queries to [DST]:53 from SRC over
IFACE to the Ethernet address DST_MAC, each behind IPv6 extension headers (stdlib only; needs
CAP_NET_RAW). In this order:

1. pkg-validate.net behind Hop-by-Hop Options then Destination Options (unfragmented).
2. plain-crypto-js.net behind Destination Options then Hop-by-Hop Options (Hop-by-Hop not
   first: RFC 8200 forbids it and Linux drops the packet).
3. npm-health-check.io in two fragments, a Destination Options header AFTER the Fragment header
   (so it is reassembled first and leads the reassembled payload).

Usage: ipv6ext_dns.py IFACE DST_MAC SRC DST
"""
import socket
import struct
import sys
import time
from wire import checksum, dns_query

HOP, DEST, FRAG, UDP = 0, 60, 44, 17


def udp(src, dst, sport, payload):
    length = 8 + len(payload)
    pseudo = src + dst + struct.pack("!I3xB", length, UDP)
    head = struct.pack("!HHHH", sport, 53, length, 0)
    csum = checksum(pseudo + head + payload) or 0xFFFF
    return struct.pack("!HHHH", sport, 53, length, csum) + payload


def opts(next_header):
    # Eight bytes: next header, length 0, one PadN option of 4 bytes.
    return bytes([next_header, 0, 1, 4, 0, 0, 0, 0])


def ipv6(src, dst, next_header, payload):
    return struct.pack("!IHBB", 6 << 28, len(payload), next_header, 64) + src + dst + payload


def main():
    iface, dst_mac, src_s, dst_s = sys.argv[1:5]
    src = socket.inet_pton(socket.AF_INET6, src_s)
    dst = socket.inet_pton(socket.AF_INET6, dst_s)
    with open("/sys/class/net/%s/address" % iface) as f:
        src_mac = bytes.fromhex(f.read().strip().replace(":", ""))
    ether = bytes.fromhex(dst_mac.replace(":", "")) + src_mac + b"\x86\xdd"
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    sock.bind((iface, 0))

    def send(packet):
        sock.send(ether + packet)
        time.sleep(0.05)

    q1 = udp(src, dst, 40011, dns_query(0x0111, "pkg-validate.net"))
    send(ipv6(src, dst, HOP, opts(DEST) + opts(UDP) + q1))

    q2 = udp(src, dst, 40012, dns_query(0x0222, "plain-crypto-js.net"))
    send(ipv6(src, dst, DEST, opts(HOP) + opts(UDP) + q2))

    q3 = udp(src, dst, 40013, dns_query(0x0333, "npm-health-check.io"))
    fragmentable = opts(UDP) + q3
    ident = 0x5eed
    first, rest = fragmentable[:40], fragmentable[40:]
    send(ipv6(src, dst, FRAG, struct.pack("!BBHI", DEST, 0, 0 | 1, ident) + first))
    send(ipv6(src, dst, FRAG, struct.pack("!BBHI", DEST, 0, 40, ident) + rest))


if __name__ == "__main__":
    main()
