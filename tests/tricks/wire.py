"""What the trick scripts in this folder share: the Internet checksum (RFC 1071) and a DNS
query as a stub resolver sends it. Stdlib only; the scripts import it from their own folder."""
import struct


def checksum(data):
    """The 16-bit one's-complement checksum of `data` (IPv4 header, UDP, TCP)."""
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def dns_query(qid, name):
    """A DNS query for `name` A IN, recursion desired, with transaction id `qid`."""
    header = struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    qname = b"".join(bytes([len(l)]) + l.encode() for l in name.split(".")) + b"\0"
    return header + qname + struct.pack("!HH", 1, 1)
