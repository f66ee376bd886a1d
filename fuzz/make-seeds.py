#!/usr/bin/env python3
"""make-seeds.py OUTDIR PCAP...

Seeds the fuzz targets' corpora (OUTDIR/<target>/) from real captures: pcaps/,
tests/data/suricata-verify/ and ../shared/corpus/pcaps. For engine_frames one input per capture,
its first 256 frames in the target's framing (a link-type byte, then 2-byte length prefixes);
for decode_frame the same with its extra port byte, 64 frames cut to 600 bytes; for dns_message
every UDP/TCP port-53 payload; for tls_client_hello every TCP payload that starts a TLS handshake
record; for http_heads every TCP payload that starts with an HTTP method or version; for
quic_initials, per capture, its UDP payloads that start with a QUIC long header, framed with
their side; for socks_handshake every TCP payload that starts with a SOCKS4 request, a SOCKS5
greeting or reply; for h2_frames each TCP flow's client bytes from the HTTP/2 preface on (direction byte 0) and the
server's bytes after a `101` or once the client sent the preface (direction byte 1).
(tcp_reassembly builds its segments from the fuzzer's bytes, a format no capture has; and
daemon_config takes TOML: its seed is contrib/egress-ids.toml; lockfile takes the committed
lockfiles of tests/data/lockfiles.) Python's standard library only;
reads classic pcap (either byte order, us or ns) and pcapng (SHB, IDB, EPB, SPB). Files are named
by content hash, so reruns and overlaps add nothing twice.

Usage, from the repository root:
  python3 fuzz/make-seeds.py fuzz/corpus pcaps/*.pcap tests/data/suricata-verify/*.pcap \
      ../shared/corpus/pcaps/*
"""
import hashlib
import os
import struct
import sys

ENGINE_LINKTYPES = [0, 1, 101, 108, 113, 228, 229, 276]
METHODS = (b"GET ", b"POST ", b"PUT ", b"HEAD ", b"DELETE ", b"OPTIONS ", b"CONNECT ",
           b"PATCH ", b"TRACE ", b"HTTP/1.")


def frames(path):
    """(linktype, frame bytes) of every packet in the capture at path."""
    data = open(path, "rb").read()
    if len(data) < 24:
        return
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        e = "<" if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
        linktype = struct.unpack(e + "I", data[20:24])[0] & 0xFFFF
        at = 24
        while at + 16 <= len(data):
            caplen = struct.unpack(e + "I", data[at + 8:at + 12])[0]
            yield linktype, data[at + 16:at + 16 + caplen]
            at += 16 + caplen
    elif magic == b"\x0a\x0d\x0d\x0a":
        e = "<" if data[8:12] == b"\x4d\x3c\x2b\x1a" else ">"
        links = []
        at = 0
        while at + 12 <= len(data):
            btype, blen = struct.unpack(e + "II", data[at:at + 8])
            if blen < 12:
                return
            body = data[at + 8:at + blen - 4]
            if btype == 0x0A0D0D0A:
                links = []
            elif btype == 1:
                links.append(struct.unpack(e + "H", body[:2])[0])
            elif btype == 6 and len(body) >= 20:
                ifc, _, _, caplen = struct.unpack(e + "IIII", body[:16])
                if ifc < len(links):
                    yield links[ifc], body[20:20 + caplen]
            elif btype == 3 and links:
                yield links[0], body[4:]
            at += blen


def transport(linktype, frame):
    """(proto, src port, dst port, payload) of an IPv4/IPv6 TCP/UDP frame, else None."""
    if linktype == 1:
        if len(frame) < 14:
            return None
        et, ip = struct.unpack(">H", frame[12:14])[0], frame[14:]
        while et == 0x8100 and len(ip) >= 4:
            et, ip = struct.unpack(">H", ip[2:4])[0], ip[4:]
    elif linktype == 113 and len(frame) >= 16:
        et, ip = struct.unpack(">H", frame[14:16])[0], frame[16:]
    elif linktype == 276 and len(frame) >= 20:
        et, ip = struct.unpack(">H", frame[0:2])[0], frame[20:]
    elif linktype in (101, 228, 229, 12):
        et, ip = (0x86DD if frame[:1] and frame[0] >> 4 == 6 else 0x0800), frame
    elif linktype in (0, 108) and len(frame) >= 4:
        et, ip = (0x86DD if frame[4:5] and frame[4] >> 4 == 6 else 0x0800), frame[4:]
    else:
        return None
    if et == 0x0800 and len(ip) >= 20:
        ihl = (ip[0] & 15) * 4
        total = struct.unpack(">H", ip[2:4])[0]
        if struct.unpack(">H", ip[6:8])[0] & 0x3FFF:
            return None  # a fragment
        proto, l4 = ip[9], ip[ihl:max(total, ihl)]
    elif et == 0x86DD and len(ip) >= 40:
        proto, l4 = ip[6], ip[40:40 + struct.unpack(">H", ip[4:6])[0]]
    else:
        return None
    if proto == 6 and len(l4) >= 20:
        off = (l4[12] >> 4) * 4
        return "tcp", struct.unpack(">H", l4[0:2])[0], struct.unpack(">H", l4[2:4])[0], l4[off:]
    if proto == 17 and len(l4) >= 8:
        return "udp", struct.unpack(">H", l4[0:2])[0], struct.unpack(">H", l4[2:4])[0], l4[8:]
    return None


def h2_streams(packets):
    """Per TCP flow and direction, the HTTP/2 bytes (in capture order, retransmissions not
    removed), each prefixed with its direction byte: the client's from the preface on, the
    server's once the client sent the preface or after its `101 Switching Protocols`."""
    flows = {}
    for lt, frame in packets:
        t = transport(lt, frame)
        if not t or t[0] != "tcp" or not t[3]:
            continue
        _, sport, dport, payload = t
        key = (min(sport, dport), max(sport, dport))
        f = flows.setdefault(key, {"client": None, "c": b"", "s": b"", "on": False})
        if f["client"] is None:
            f["client"] = sport
        if sport == f["client"]:
            if not f["on"] and payload.startswith(b"PRI * HTTP/2.0"):
                f["on"] = True
            if f["on"]:
                f["c"] += payload
        elif f["on"]:
            f["s"] += payload
        elif payload.startswith(b"HTTP/1.1 101"):
            f["on"] = True
            f["s"] += payload[payload.find(b"\r\n\r\n") + 4:]
    for f in flows.values():
        if f["c"]:
            yield b"\x00" + f["c"][:65536]
        if f["s"]:
            yield b"\x01" + f["s"][:65536]


def save(outdir, target, data):
    if not data:
        return 0
    d = os.path.join(outdir, target)
    os.makedirs(d, exist_ok=True)
    p = os.path.join(d, hashlib.sha1(data).hexdigest())
    if os.path.exists(p):
        return 0
    with open(p, "wb") as f:
        f.write(data)
    return 1


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    outdir = sys.argv[1]
    counts = {}
    for path in sys.argv[2:]:
        # capture_stream: the file itself (its first 64 KiB), read 61 bytes at a time.
        with open(path, "rb") as f:
            counts["capture_stream"] = counts.get("capture_stream", 0) + save(
                outdir, "capture_stream", b"\x3c" + f.read(65536))
        packets = list(frames(path))
        if not packets:
            continue
        linktype = packets[0][0]
        if linktype in ENGINE_LINKTYPES:
            seed = bytes([ENGINE_LINKTYPES.index(linktype)])
            for _, frame in packets[:256]:
                seed += struct.pack(">H", min(len(frame), 65535)) + frame[:65535]
            counts["engine_frames"] = counts.get("engine_frames", 0) + save(
                outdir, "engine_frames", seed)
            seed = bytes([ENGINE_LINKTYPES.index(linktype), 0])
            for _, frame in packets[:64]:
                seed += struct.pack(">H", min(len(frame), 600)) + frame[:600]
            counts["decode_frame"] = counts.get("decode_frame", 0) + save(
                outdir, "decode_frame", seed)
        # quic_initials (mode 0): the capture's UDP payloads that start with a long header, in
        # order, each framed as [side, length]; the side is 0 for the first payload's sender.
        quic_seed, client = b"\x00", None
        for lt, frame in packets:
            t = transport(lt, frame)
            if t and t[0] == "udp" and t[3] and t[3][0] & 0xc0 == 0xc0 and len(quic_seed) < 60000:
                client = client or t[1]
                side = 0 if t[1] == client else 1
                quic_seed += bytes([side]) + struct.pack(">H", len(t[3])) + t[3]
        if len(quic_seed) > 1:
            counts["quic_initials"] = counts.get("quic_initials", 0) + save(
                outdir, "quic_initials", quic_seed)
        for lt, frame in packets:
            t = transport(lt, frame)
            if not t or not t[3]:
                continue
            proto, sport, dport, payload = t
            found = []
            if 53 in (sport, dport):
                found.append("dns_message")
            if proto == "tcp" and payload[0] == 0x16:
                found.append("tls_client_hello")
            if proto == "tcp" and payload.startswith(METHODS):
                found.append("http_heads")
            if proto == "tcp" and payload[:2] in (b"\x04\x01", b"\x05\x01", b"\x05\x02",
                                                 b"\x05\x00", b"\x00\x5a"):
                found.append("socks_handshake")
            for target in found:
                counts[target] = counts.get(target, 0) + save(outdir, target, payload)
        for seed in h2_streams(packets):
            counts["h2_frames"] = counts.get("h2_frames", 0) + save(outdir, "h2_frames", seed)
    toml = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "contrib", "egress-ids.toml")
    if os.path.exists(toml):
        counts["daemon_config"] = save(outdir, "daemon_config", open(toml, "rb").read())
    # lockfile: the committed lockfiles (tests/data/lockfiles), cut to 16 KiB, behind the byte
    # that picks their parser (0 npm, 1 yarn 1, 2 yarn berry, 3 pnpm).
    lockfiles = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "data", "lockfiles")
    for dirpath, _, files in sorted(os.walk(lockfiles)):
        for name in sorted(files):
            text = open(os.path.join(dirpath, name), "rb").read()
            pick = {"package-lock.json": 0, "pnpm-lock.yaml": 3}.get(name)
            if name == "yarn.lock":
                pick = 2 if b"__metadata:" in text else 1
            if pick is not None:
                counts["lockfile"] = counts.get("lockfile", 0) + save(
                    outdir, "lockfile", bytes([pick]) + text[:16384])
    for target, n in sorted(counts.items()):
        print(f"{target}: {n} new seeds")


if __name__ == "__main__":
    main()
