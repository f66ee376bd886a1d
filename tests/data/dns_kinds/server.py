#!/usr/bin/env python3
"""A DNS server for tests/wild/dns_kinds.rs (stdlib only): UDP and TCP on ADDR:53.

It logs every message it read, one line each, before answering it (the receiver decides):
  MSG <udp|tcp> <id> <qname> <qtype> <types of the additional records, comma-separated or ->
and answers by question type:
  A          the address given for the name on the command line (NAME=ADDR ...)
  TKEY (249) a TKEY answer (RFC 2930, mode 3, a 96-byte token) and a TSIG additional
  64/65      an SVCB/HTTPS answer: priority 1, target ".", alpn h2, ipv4hint 203.0.113.40
  other      one record of the asked type with the 4 bytes de ad be ef
The response carries no TSIG of its own for the client's key (it has no key): dig says so.
"""
import socket
import struct
import sys
import threading


def read_name(msg, pos):
    """Name at pos (pointers followed); returns (text, position after its wire form)."""
    labels, end, steps = [], None, 0
    while steps < 128:
        steps += 1
        n = msg[pos]
        if n & 0xC0 == 0xC0:
            if end is None:
                end = pos + 2
            pos = ((n & 0x3F) << 8) | msg[pos + 1]
            continue
        if n == 0:
            return ".".join(labels), (end if end is not None else pos + 1)
        labels.append(msg[pos + 1:pos + 1 + n].decode("ascii", "replace"))
        pos += 1 + n
    raise ValueError("name loop")


def wire_name(text):
    out = b""
    for label in text.split("."):
        if label:
            out += bytes([len(label)]) + label.encode()
    return out + b"\0"


def record(rtype, rclass, ttl, rdata, owner=b"\xc0\x0c"):
    return owner + struct.pack(">HHIH", rtype, rclass, ttl, len(rdata)) + rdata


def answer(query, hosts):
    qid, flags, qd, an, ns, ar = struct.unpack(">6H", query[:12])
    qname, pos = read_name(query, 12)
    qtype, qclass = struct.unpack(">HH", query[pos:pos + 4])
    question_end = pos + 4
    adds, p = [], question_end
    for _ in range(an + ns + ar):
        _, p = read_name(query, p)
        rtype, _, _, rdlen = struct.unpack(">HHIH", query[p:p + 10])
        adds.append(str(rtype))
        p += 10 + rdlen
    answers, additionals = [], []
    if qtype == 1 and qname in hosts:
        answers.append(record(1, 1, 300, socket.inet_aton(hosts[qname])))
    elif qtype == 249:
        token = bytes((i * 7 + 3) & 0xFF for i in range(96))
        tkey = wire_name("gss-tsig") + struct.pack(">IIHHH", 1700000000, 1700086400, 3, 0, len(token))
        answers.append(record(249, 255, 0, tkey + token + b"\0\0"))
        tsig = wire_name("gss-tsig") + struct.pack(">HIHH", 0, 1700000000, 300, 28)
        tsig += b"\x5a" * 28 + struct.pack(">HHH", qid, 0, 0)
        additionals.append(record(250, 255, 0, tsig))
    elif qtype in (64, 65):
        params = struct.pack(">HH", 1, 3) + b"\x02h2" + struct.pack(">HH", 4, 4)
        params += socket.inet_aton("203.0.113.40")
        answers.append(record(qtype, 1, 300, struct.pack(">H", 1) + b"\0" + params))
    else:
        answers.append(record(qtype, 1, 300, b"\xde\xad\xbe\xef"))
    head = struct.pack(">6H", qid, 0x8400 | (flags & 0x0100), 1, len(answers), 0, len(additionals))
    log = "%d %s %d %s" % (qid, qname, qtype, ",".join(adds) or "-")
    return head + query[12:question_end] + b"".join(answers) + b"".join(additionals), log


def serve_udp(sock, hosts, lock):
    while True:
        data, peer = sock.recvfrom(65535)
        try:
            resp, log = answer(data, hosts)
        except (ValueError, IndexError, struct.error) as e:
            with lock:
                print("BAD udp", e, flush=True)
            continue
        with lock:
            print("MSG udp", log, flush=True)
        sock.sendto(resp, peer)


def read_exact(conn, n):
    data = b""
    while len(data) < n:
        chunk = conn.recv(n - len(data))
        if not chunk:
            return None
        data += chunk
    return data


def serve_tcp_conn(conn, hosts, lock):
    with conn:
        conn.settimeout(10)
        while True:
            head = read_exact(conn, 2)
            if head is None:
                return
            msg = read_exact(conn, struct.unpack(">H", head)[0])
            if msg is None:
                return
            resp, log = answer(msg, hosts)
            with lock:
                print("MSG tcp", log, flush=True)
            conn.sendall(struct.pack(">H", len(resp)) + resp)


def main():
    addr = sys.argv[1]
    hosts = dict(arg.split("=", 1) for arg in sys.argv[2:])
    lock = threading.Lock()
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind((addr, 53))
    tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    tcp.bind((addr, 53))
    tcp.listen(8)
    threading.Thread(target=serve_udp, args=(udp, hosts, lock), daemon=True).start()
    print("server ready", flush=True)
    while True:
        conn, _ = tcp.accept()
        threading.Thread(target=serve_tcp_conn, args=(conn, hosts, lock), daemon=True).start()


if __name__ == "__main__":
    main()
