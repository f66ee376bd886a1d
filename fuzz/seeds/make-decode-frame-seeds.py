#!/usr/bin/env python3
"""Writes the seed corpus of the decode_frame fuzz target (fuzz/seeds/decode_frame/) from the
first frames (cut to 600 bytes) of the project's captures: pcaps/*.pcap, tests/data/suricata-verify/*.pcap and, when
present, ../shared/corpus/pcaps/*.pcap. Each seed is the target's input format: a link-type
index, a port byte, then frames with 2-byte length prefixes. Stdlib only.

Usage (from the repository root): python3 fuzz/seeds/make-decode-frame-seeds.py
"""
import glob
import hashlib
import os
import struct

LINKTYPES = [0, 1, 101, 108, 113, 228, 229, 276]
FRAMES_PER_SEED = 6
SEEDS_PER_FILE = 1
MAX_FRAME = 600


def frames(path):
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 24:
        return None, []
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        endian = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        endian = ">"
    else:
        return None, []  # pcapng: not read here
    linktype = struct.unpack(endian + "I", data[20:24])[0]
    out, at = [], 24
    while at + 16 <= len(data):
        incl = struct.unpack(endian + "I", data[at + 8:at + 12])[0]
        out.append(data[at + 16:at + 16 + incl])
        at += 16 + incl
    return linktype, out


def main():
    out_dir = "fuzz/seeds/decode_frame"
    os.makedirs(out_dir, exist_ok=True)
    paths = sorted(glob.glob("pcaps/*.pcap") + glob.glob("tests/data/suricata-verify/*.pcap")
                   + glob.glob("../shared/corpus/pcaps/*.pcap"))
    written = 0
    for path in paths:
        linktype, fs = frames(path)
        if linktype not in LINKTYPES or not fs:
            continue
        for k in range(SEEDS_PER_FILE):
            chunk = fs[k * FRAMES_PER_SEED:(k + 1) * FRAMES_PER_SEED]
            if not chunk:
                break
            seed = bytes([LINKTYPES.index(linktype), 0])
            chunk = [f[:MAX_FRAME] for f in chunk]
            seed += b"".join(struct.pack(">H", len(f)) + f for f in chunk)
            name = hashlib.sha1(seed).hexdigest()[:16]
            with open(os.path.join(out_dir, name), "wb") as f:
                f.write(seed)
            written += 1
    print("%d seeds in %s" % (written, out_dir))


if __name__ == "__main__":
    main()
