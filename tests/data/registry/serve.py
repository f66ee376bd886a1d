#!/usr/bin/env python3
"""A minimal npm registry over cleartext HTTP, as an internal mirror (Verdaccio, Nexus) serves
one: package metadata at /NAME, /@SCOPE%2fNAME or /@SCOPE/NAME, tarballs at
/NAME/-/BARE-VERSION.tgz. It serves the tarballs `npm pack` made in --dir (their package.json
gives name, version and dependencies) and logs, flushed, one line per request it answered:

    REQ <path as sent> <metadata|tarball|other> <package or -> <status>

so that a test knows which packages the registry really served (the receiver decides).
Standard library only. Prints "registry ready" when it listens. `--port 0` takes a free port;
`--port-file FILE` receives the port it listens on (tests/data/lockfiles/make-npm-lockfiles.sh).
"""
import argparse
import base64
import hashlib
import json
import os
import sys
import tarfile
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def load(directory, base):
    """Packuments by name and tarball bytes by URL path, from every *.tgz in directory."""
    packuments, tarballs = {}, {}
    for entry in sorted(os.listdir(directory)):
        if not entry.endswith(".tgz"):
            continue
        data = open(os.path.join(directory, entry), "rb").read()
        with tarfile.open(os.path.join(directory, entry)) as tar:
            manifest = json.load(tar.extractfile("package/package.json"))
        name, version = manifest["name"], manifest["version"]
        bare = name.split("/")[-1]
        path = f"/{name}/-/{bare}-{version}.tgz"
        tarballs[path] = (name, data)
        integrity = "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()
        doc = packuments.setdefault(
            name, {"name": name, "dist-tags": {}, "versions": {}}
        )
        doc["dist-tags"]["latest"] = version
        doc["versions"][version] = {
            "name": name,
            "version": version,
            **({"license": manifest["license"]} if "license" in manifest else {}),
            "dependencies": manifest.get("dependencies", {}),
            "dist": {
                "tarball": base + path,
                "shasum": hashlib.sha1(data).hexdigest(),
                "integrity": integrity,
            },
        }
    return packuments, tarballs


class Registry(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def answer(self, status, body, kind, package, content_type):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        print(f"REQ {self.path} {kind} {package or '-'} {status}", flush=True)

    def do_GET(self):
        path = urllib.parse.urlsplit(self.path).path
        if path in self.server.tarballs:
            name, data = self.server.tarballs[path]
            return self.answer(200, data, "tarball", name, "application/octet-stream")
        name = urllib.parse.unquote(path[1:])
        if name in self.server.packuments:
            body = json.dumps(self.server.packuments[name]).encode()
            return self.answer(200, body, "metadata", name, "application/json")
        body = json.dumps({"error": "Not found"}).encode()
        return self.answer(404, body, "other", None, "application/json")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--dir", required=True)
    parser.add_argument("--host", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--port-file")
    args = parser.parse_args()
    server = ThreadingHTTPServer((args.host, args.port), Registry)
    port = server.server_address[1]
    base = f"http://{args.host}:{port}"
    server.packuments, server.tarballs = load(args.dir, base)
    if args.port_file:
        with open(args.port_file, "w") as f:
            f.write(f"{port}\n")
    print(f"registry ready: {len(server.packuments)} packages on {base}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
