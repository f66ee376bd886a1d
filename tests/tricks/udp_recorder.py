#!/usr/bin/env python3
"""The receiving application of tests/ip_evasion.rs: a UDP socket bound to ADDR:PORT that writes
the query name of every DNS datagram the kernel delivers to OUT, one per line, as it arrives
(stdlib only). It prints "ready" once bound and runs until killed.

Usage: udp_recorder.py ADDR PORT OUT
"""
import socket
import sys


def qname(msg):
    labels, at = [], 12
    while at < len(msg) and msg[at] != 0:
        n = msg[at]
        labels.append(msg[at + 1:at + 1 + n].decode("ascii", "replace"))
        at += 1 + n
    return ".".join(labels)


def main():
    addr, port, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    family = socket.AF_INET6 if ":" in addr else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_DGRAM)
    sock.bind((addr, port))
    print("ready", flush=True)
    with open(out, "a") as f:
        while True:
            data, _ = sock.recvfrom(65535)
            f.write(qname(data) + "\n")
            f.flush()


if __name__ == "__main__":
    main()
