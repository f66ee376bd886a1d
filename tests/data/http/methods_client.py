#!/usr/bin/env python3
"""Sends one request per method given, each on its own connection, with Python's http.client,
as a UPnP or WebDAV client does: `methods_client.py HOST-NAME ADDRESS PORT USER-AGENT METHOD...`.
The Host header is HOST-NAME; the connection goes to ADDRESS (no DNS)."""
import http.client
import sys


def main():
    name, address, port, agent = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    for method in sys.argv[5:]:
        conn = http.client.HTTPConnection(address, port, timeout=10)
        headers = {"Host": name, "User-Agent": agent}
        if method == "SUBSCRIBE":
            headers.update({"CALLBACK": "<http://10.70.0.2:5000/cb>", "NT": "upnp:event"})
        path = "*" if method == "M-SEARCH" else "/upnp/event/" + method.lower()
        conn.request(method, path, headers=headers)
        status = conn.getresponse().status
        print(f"{method} {status}", flush=True)
        conn.close()


if __name__ == "__main__":
    main()
