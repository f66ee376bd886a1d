"""A real client (no raw socket): sends a ClientHello for SNI to ADDR PORT with one byte sent as
urgent data (MSG_OOB) in the middle of the server name, then closes.

usage: urgent.py ADDR PORT SNI
"""
import socket
import sys
import time

from hello import client_hello

addr, port, sni = sys.argv[1], int(sys.argv[2]), sys.argv[3]
hello = client_hello(sni)
cut = hello.index(sni.encode()) + len(sni) // 2
s = socket.create_connection((addr, port), timeout=5)
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
s.sendall(hello[:cut])
time.sleep(0.05)
s.send(b"X", socket.MSG_OOB)
time.sleep(0.05)
s.sendall(hello[cut:])
time.sleep(0.3)
s.close()
