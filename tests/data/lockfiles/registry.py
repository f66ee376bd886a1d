#!/usr/bin/env python3
"""A minimal npm registry for make-npm-lockfiles.sh (stdlib only): serves each tarball in
DIR (made by `npm pack`) and the packument of each package name, on 127.0.0.1; writes the
port it listens on to DIR/port."""
import base64, hashlib, http.server, json, os, sys, tarfile, urllib.parse

root = sys.argv[1]
packuments = {}
for f in sorted(os.listdir(root)):
    if not f.endswith(".tgz"):
        continue
    data = open(os.path.join(root, f), "rb").read()
    with tarfile.open(os.path.join(root, f)) as t:
        manifest = json.load(t.extractfile("package/package.json"))
    name, version = manifest["name"], manifest["version"]
    p = packuments.setdefault(name, {"name": name, "versions": {}, "dist-tags": {}})
    manifest["dist"] = {
        "tarball": "http://127.0.0.1:%d/-/" + f,
        "shasum": hashlib.sha1(data).hexdigest(),
        "integrity": "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode(),
    }
    p["versions"][version] = manifest
    p["dist-tags"]["latest"] = version


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        path = urllib.parse.unquote(self.path.split("?")[0]).lstrip("/")
        port = self.server.server_address[1]
        if path.startswith("-/"):
            body = open(os.path.join(root, os.path.basename(path)), "rb").read()
            kind = "application/octet-stream"
        elif path in packuments:
            text = json.dumps(packuments[path]).replace("%d", str(port))
            body, kind = text.encode(), "application/json"
        else:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
open(os.path.join(root, "port"), "w").write(str(server.server_address[1]))
server.serve_forever()
