"""Relays X-Ray API calls from the collector to moto on 127.0.0.1.

rotel's X-Ray exporter labels its plain JSON body `Content-Encoding: gzip`,
which moto then fails to decompress (HTTP 500). The relay drops that header
and forwards everything else unchanged.

usage: xray_relay.py LISTEN_PORT MOTO_ENDPOINT
"""
import http.server
import sys
import urllib.error
import urllib.request

PORT = int(sys.argv[1])
UPSTREAM = sys.argv[2].rstrip("/")


class Relay(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        headers = {
            k: v
            for k, v in self.headers.items()
            if k.lower() not in ("content-encoding", "content-length", "host", "connection")
        }
        request = urllib.request.Request(UPSTREAM + self.path, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                status, payload = response.status, response.read()
        except urllib.error.HTTPError as error:
            status, payload = error.code, error.read()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):
        pass


http.server.ThreadingHTTPServer(("127.0.0.1", PORT), Relay).serve_forever()
