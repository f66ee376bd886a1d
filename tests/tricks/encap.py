#!/usr/bin/env python3
"""Re-encapsulates every frame of an Ethernet pcap as a mirror session or tunnel would deliver
it, for the encapsulations this machine's kernel cannot make (no GENEVE, GRE, ERSPAN or MPLS
routing built in); tests/tunnels.rs replays the result and expects the alerts of the original
capture. Stdlib only. The outer packets all go from the mirror source 10.1.0.2 to the collector
10.1.0.1, as a mirror sends them.

Usage: encap.py MODE IN.pcap OUT.pcap
MODE: geneve-eth (GENEVE with an option, inner Ethernet, VNI 77), geneve-ip (GENEVE with raw
inner IP, as GCP's packet mirroring sends it), gre-ip (GRE with key 7, raw inner IP),
erspan2 (ERSPAN type II, session 12), erspan3 (ERSPAN type III with the platform subheader,
session 13), mpls (two labels, raw inner IP), pppoe (session 0x2d), vxlan-in-gre (VXLAN VNI 5
inside GRE, two tunnels deep), vxlan-cut (VXLAN whose inner frame is cut to 96 bytes while
the outer packet is whole, as AWS VPC Traffic Mirroring's PacketLength cuts it).
"""
import struct
import sys
from wire import checksum

SRC, DST = bytes([10, 1, 0, 2]), bytes([10, 1, 0, 1])
MACS = bytes.fromhex("020000000001020000000002")


def ipv4(proto, payload, ident=[0]):
    ident[0] = (ident[0] + 1) & 0xFFFF
    h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), ident[0], 0, 64, proto, 0,
                    SRC, DST)
    return h[:10] + struct.pack("!H", checksum(h)) + h[12:] + payload


def ether(ether_type, payload):
    return MACS + struct.pack("!H", ether_type) + payload


def udp(sport, dport, payload):
    return struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload


def gre(proto, payload, key=None, seq=None):
    flags = (0x2000 if key is not None else 0) | (0x1000 if seq is not None else 0)
    h = struct.pack("!HH", flags, proto)
    if key is not None:
        h += struct.pack("!I", key)
    if seq is not None:
        h += struct.pack("!I", seq)
    return h + payload


def wrap(mode, frame, n):
    ip = frame[14:]
    if mode == "geneve-eth":
        option = struct.pack("!HBB", 0x0101, 0x01, 1) + b"\xaa\xbb\xcc\xdd"
        g = struct.pack("!BBHI", 2, 0, 0x6558, 77 << 8) + option
        return ether(0x0800, ipv4(17, udp(50000, 6081, g + frame)))
    if mode == "geneve-ip":
        proto = 0x86DD if ip[0] >> 4 == 6 else 0x0800
        g = struct.pack("!BBHI", 0, 0, proto, 77 << 8)
        return ether(0x0800, ipv4(17, udp(50000, 6081, g + ip)))
    if mode == "gre-ip":
        return ether(0x0800, ipv4(47, gre(0x0800, ip, key=7)))
    if mode == "erspan2":
        h = struct.pack("!HHI", 0x1000, 12, 0)
        return ether(0x0800, ipv4(47, gre(0x88BE, h + frame, seq=n)))
    if mode == "erspan3":
        h = struct.pack("!HHIHH", 0x2000, 13, 0, 0, 0x0001) + b"\0" * 8
        return ether(0x0800, ipv4(47, gre(0x22EB, h + frame, seq=n)))
    if mode == "mpls":
        labels = struct.pack("!II", (100 << 12) | 64, (200 << 12) | 0x100 | 64)
        return ether(0x8847, labels + ip)
    if mode == "pppoe":
        ppp = struct.pack("!H", 0x0021) + ip
        return ether(0x8864, struct.pack("!BBHH", 0x11, 0, 0x2D, len(ppp)) + ppp)
    if mode == "vxlan-cut":
        v = struct.pack("!II", 0x08000000, 9 << 8) + frame[:96]
        return ether(0x0800, ipv4(17, udp(50000, 4789, v)))
    if mode == "vxlan-in-gre":
        v = struct.pack("!II", 0x08000000, 5 << 8) + frame
        inner_outer = ether(0x0800, ipv4(17, udp(50001, 4789, v)))
        return ether(0x0800, ipv4(47, gre(0x6558, inner_outer)))
    raise SystemExit("unknown mode " + mode)


def main():
    mode, src, dst = sys.argv[1:4]
    data = open(src, "rb").read()
    assert data[:4] == b"\xd4\xc3\xb2\xa1", "little-endian microsecond pcap expected"
    assert struct.unpack("<I", data[20:24])[0] == 1, "Ethernet expected"
    out = bytearray(data[:16] + struct.pack("<II", 262144, 1))
    at, n = 24, 0
    while at + 16 <= len(data):
        sec, usec, incl, _orig = struct.unpack("<IIII", data[at:at + 16])
        frame = data[at + 16:at + 16 + incl]
        at += 16 + incl
        n += 1
        w = wrap(mode, frame, n)
        out += struct.pack("<IIII", sec, usec, len(w), len(w)) + w
    open(dst, "wb").write(bytes(out))


if __name__ == "__main__":
    main()
