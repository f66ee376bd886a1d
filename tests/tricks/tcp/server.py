"""A plain TCP server (the receiver that decides): accepts one connection on ADDR PORT and
appends every byte the kernel delivers to OUT, until the peer closes or resets, or TIMEOUT
seconds pass. Writes READY to stdout once listening.

usage: server.py ADDR PORT OUT [CONNECTIONS] [TIMEOUT]
Each of CONNECTIONS connections (default 1) goes to OUT.N (N from 1).
"""
import socket
import sys
import time

addr, port, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
connections = int(sys.argv[4]) if len(sys.argv) > 4 else 1
timeout = float(sys.argv[5]) if len(sys.argv) > 5 else 10.0

lst = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
lst.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
lst.bind((addr, port))
lst.listen(8)
lst.settimeout(timeout)
print("READY", flush=True)
deadline = time.monotonic() + timeout
for n in range(1, connections + 1):
    conn, _ = lst.accept()
    conn.settimeout(max(0.1, deadline - time.monotonic()))
    with open(f"{out}.{n}", "wb") as f:
        while True:
            try:
                data = conn.recv(65536)
            except (ConnectionResetError, socket.timeout):
                break
            if not data:
                break
            f.write(data)
            f.flush()
    conn.close()
