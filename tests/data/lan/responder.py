#!/usr/bin/env python3
"""A LAN name responder for tests/wild/lan_discovery.rs and pcaps/make-captures.sh (standard
library only): answers every mDNS (UDP 5353, group 224.0.0.251), LLMNR (UDP 5355, group
224.0.0.252) and NetBIOS name service (UDP 137, broadcast) query it receives with an A (or NB)
record for its own address, unicast to the asker, and logs one line per message it received or
sent, so that the test counts what the receiver really got:

    RECV <proto> <src ip> <src port> <name>
    SENT <proto> <dst ip> <dst port> <name>

NetBIOS names are logged decoded (RFC 1001 section 14.1: each nibble of the 16-byte name is a
letter 'A'+n), with their scope labels after a dot. Usage: responder.py ADDRESS [SECONDS]; it
prints "responder ready" once every socket listens, and stops after SECONDS (default 60).
"""

import select
import socket
import struct
import sys
import time

MDNS_GROUP, LLMNR_GROUP = "224.0.0.251", "224.0.0.252"
# Linux's IP_PKTINFO (<linux/in.h>); Python's socket module does not name it.
IP_PKTINFO = getattr(socket, "IP_PKTINFO", 8)


def read_name(msg, pos):
    """Labels from pos (queries carry no compression); returns (labels, next position)."""
    labels = []
    for _ in range(128):
        n = msg[pos]
        pos += 1
        if n == 0:
            return labels, pos
        if n >= 0xC0:
            raise ValueError("compressed name in a question")
        labels.append(msg[pos:pos + n])
        pos += n
    raise ValueError("name too long")


def netbios_decode(label):
    raw = bytes(((label[i] - 0x41) << 4) | (label[i + 1] - 0x41) for i in range(0, 32, 2))
    return raw[:15].decode("ascii", "replace").rstrip(" ") + "<%02x>" % raw[15]


def answer(proto, msg, own):
    """(logged name, reply bytes) for a query, or None for anything else."""
    if len(msg) < 12:
        return None
    ident, flags, qd = struct.unpack("!HHH", msg[:6])
    if flags & 0x8000 or qd != 1:
        return None
    labels, end = read_name(msg, 12)
    question = msg[12:end + 4]
    addr = socket.inet_aton(own)
    if proto == "nbns":
        if not labels or len(labels[0]) != 32:
            return None
        name = ".".join([netbios_decode(labels[0])] + [l.decode("ascii", "replace") for l in labels[1:]])
        # Positive name query response (RFC 1002 section 4.2.13): R, AA, RD; one NB record.
        head = struct.pack("!HHHHHH", ident, 0x8500, 0, 1, 0, 0)
        record = msg[12:end] + struct.pack("!HHIH", 0x20, 1, 300000, 6) + b"\x00\x00" + addr
        return name, head + record
    name = ".".join(l.decode("ascii", "replace") for l in labels)
    # mDNS legacy unicast (RFC 6762 section 6.7): the ID and question echoed, TTL at most 10;
    # LLMNR (RFC 4795 section 2.1.1): QR set, the question echoed.
    flags = 0x8400 if proto == "mdns" else 0x8000
    head = struct.pack("!HHHHHH", ident, flags, 1, 1, 0, 0)
    record = b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 10, 4) + addr
    return name, head + question + record


def main():
    own = sys.argv[1]
    lifetime = float(sys.argv[2]) if len(sys.argv) > 2 else 60.0
    socks = {}
    for proto, port, group in (("mdns", 5353, MDNS_GROUP), ("llmnr", 5355, LLMNR_GROUP), ("nbns", 137, None)):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("", port))
        if group:
            mreq = socket.inet_aton(group) + socket.inet_aton(own)
            s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, mreq)
        socks[s] = proto
    print("responder ready", flush=True)
    deadline = time.monotonic() + lifetime
    while time.monotonic() < deadline:
        ready, _, _ = select.select(list(socks), [], [], 0.2)
        for s in ready:
            msg, (src, sport) = s.recvfrom(4096)
            proto = socks[s]
            try:
                reply = answer(proto, msg, own)
            except (ValueError, IndexError):
                reply = None
            name = reply[0] if reply else "-"
            print("RECV %s %s %d %s" % (proto, src, sport, name), flush=True)
            if reply:
                # From its own address, whatever else the host has (IP_PKTINFO's ipi_spec_dst).
                info = struct.pack("=I4s4s", 0, socket.inet_aton(own), bytes(4))
                s.sendmsg([reply[1]], [(socket.IPPROTO_IP, IP_PKTINFO, info)], 0, (src, sport))
                print("SENT %s %s %d %s" % (proto, src, sport, name), flush=True)


if __name__ == "__main__":
    main()
