"""A raw-socket TCP client (standard library only) that does the handshake itself and sends a
ClientHello with one server name in the bytes the Linux receiver keeps and another in bytes it
drops. It sends and reads whole Ethernet frames on IFACE (AF_PACKET, CAP_NET_RAW) from SRC, an
address configured nowhere, so no kernel answers for it (no reset from our side).

usage: rawclient.py IFACE SRC_MAC DST_MAC SRC DST PORT TRICK KEPT_SNI DROPPED_SNI

TRICK:
  syn       the dropped hello rides on the SYN (no Fast Open cookie: the SYN-ACK does not
            acknowledge it); the kept one follows the handshake
  paws      the dropped hello carries a timestamp older than the last one the server accepted
  checksum  the dropped hello has a wrong TCP checksum; the kept one follows
  ooo       out of order: the dropped hello's tail (one byte short) is queued, then the kept
            hello's whole tail with the same start, then the common head fills the hole
Prints what it did; exits 0 once the server acknowledged the whole hello.
"""
import os
import random
import socket
import struct
import sys
import time

from hello import client_hello

ETH_P_IP = 0x0800
FIN, SYN, RST, PSH, ACK = 0x01, 0x02, 0x04, 0x08, 0x10

iface, src_mac, dst_mac, src, dst, port, trick, kept_sni, dropped_sni = sys.argv[1:10]
port = int(port)
mac = lambda m: bytes(int(x, 16) for x in m.split(":"))
SRC_MAC, DST_MAC = mac(src_mac), mac(dst_mac)
SRC, DST = socket.inet_aton(src), socket.inet_aton(dst)
SPORT = random.randint(40000, 60000)


def csum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def frame(seq, ack, flags, payload=b"", ts=None, bad_checksum=False, mss=False):
    opts = b""
    if mss:
        opts += struct.pack("!BBH", 2, 4, 1460)
    if ts is not None:
        opts += b"\x01\x01" + struct.pack("!BBII", 8, 10, ts[0], ts[1])
    while len(opts) % 4:
        opts += b"\x01"
    off = (20 + len(opts)) // 4
    tcp = struct.pack("!HHIIBBHHH", SPORT, port, seq, ack, off << 4, flags, 64240, 0, 0) + opts
    pseudo = SRC + DST + struct.pack("!BBH", 0, 6, len(tcp) + len(payload))
    c = csum(pseudo + tcp + payload)
    if bad_checksum:
        c ^= 0x5A5A
    tcp = tcp[:16] + struct.pack("!H", c) + tcp[18:]
    total = 20 + len(tcp) + len(payload)
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, total, random.randint(0, 65535), 0x4000, 64, 6, 0, SRC, DST)
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    return DST_MAC + SRC_MAC + struct.pack("!H", ETH_P_IP) + ip + tcp + payload


sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_IP))
sock.bind((iface, 0))
sock.settimeout(0.2)


def send(*args, **kw):
    sock.send(frame(*args, **kw))
    time.sleep(0.05)


def replies(until: float):
    """TCP segments from the server to us: (seq, ack, flags, tsval)."""
    while time.monotonic() < until:
        try:
            f = sock.recv(65535)
        except socket.timeout:
            continue
        ip = f[14:]
        if len(ip) < 40 or ip[9] != 6 or ip[12:16] != DST or ip[16:20] != SRC:
            continue
        tcp = ip[(ip[0] & 15) * 4 :]
        sp, dp, seq, ack, off, flags = struct.unpack("!HHIIBB", tcp[:14])
        if sp != port or dp != SPORT:
            continue
        tsval, opts = None, tcp[20 : (off >> 4) * 4]
        i = 0
        while i < len(opts):
            if opts[i] == 0:
                break
            if opts[i] == 1:
                i += 1
                continue
            if i + 1 >= len(opts) or opts[i + 1] < 2:
                break
            if opts[i] == 8 and opts[i + 1] == 10:
                tsval = struct.unpack("!I", opts[i + 2 : i + 6])[0]
            i += opts[i + 1]
        yield seq, ack, flags, tsval


kept, dropped = client_hello(kept_sni), client_hello(dropped_sni)
assert len(kept) == len(dropped)
isn = random.randint(1 << 20, 1 << 30)
ts = random.randint(1 << 20, 1 << 30)
syn_payload = dropped if trick == "syn" else b""
send(isn, 0, SYN, syn_payload, ts=(ts, 0), mss=True)
server = None
for seq, ack, flags, tsval in replies(time.monotonic() + 5):
    if flags & SYN and flags & ACK:
        server = (seq, ack, tsval or 0)
        break
if server is None:
    sys.exit("no SYN-ACK")
srv_isn, srv_ack, srv_ts = server
print(f"SYN-ACK acknowledges {srv_ack - isn - 1} bytes of the SYN's {len(syn_payload)}")
rcv = srv_isn + 1
seq = isn + 1
send(seq, rcv, ACK, ts=(ts + 1, srv_ts))

if trick == "syn":
    send(seq, rcv, PSH | ACK, kept, ts=(ts + 2, srv_ts))
elif trick == "paws":
    send(seq, rcv, PSH | ACK, dropped, ts=(ts - 100000, srv_ts))
    send(seq, rcv, PSH | ACK, kept, ts=(ts + 2, srv_ts))
elif trick == "checksum":
    send(seq, rcv, PSH | ACK, dropped, ts=(ts + 2, srv_ts), bad_checksum=True)
    send(seq, rcv, PSH | ACK, kept, ts=(ts + 3, srv_ts))
elif trick == "ooo":
    k = 10
    assert kept[:k] == dropped[:k]
    send(seq + k, rcv, PSH | ACK, dropped[k:-1], ts=(ts + 2, srv_ts))
    send(seq + k, rcv, PSH | ACK, kept[k:], ts=(ts + 3, srv_ts))
    send(seq, rcv, PSH | ACK, kept[:k], ts=(ts + 4, srv_ts))
else:
    sys.exit(f"unknown trick {trick}")

end = seq + len(kept)
acked = False
for _, ack, flags, _ in replies(time.monotonic() + 5):
    if flags & ACK and ack == end & 0xFFFFFFFF:
        acked = True
        break
send(end, rcv, RST | ACK, ts=(ts + 5, srv_ts))
print(f"{trick}: server acknowledged the hello: {acked}")
sys.exit(0 if acked else 1)
