#!/usr/bin/python3
"""tls_metrics_server.py - a stand-in for one virt-handler's metrics endpoint in the progress tests:
HTTPS with the given certificate (signed by a test "KubeVirt CA", DNS names only, as virt-handler's),
GET /metrics answers a few migration series in both name generations; --hang accepts connections
and never answers (a slow node). Writes the port to --port-file; logs each request's Host and SNI."""
import argparse
import socket
import ssl
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

BODY = (
    "# TYPE kubevirt_vmi_migration_data_processed_bytes gauge\n"
    'kubevirt_vmi_migration_data_processed_bytes{namespace="default",name="vm-a"} 1048576\n'
    'kubevirt_vmi_migration_data_total_bytes{namespace="default",name="vm-a"} 4194304\n'
    'kubevirt_vmi_migration_data_bytes_total{namespace="default",name="vm-b"} 4194304\n'
    'kubevirt_vmi_migration_memory_transfer_rate_bytes{namespace="default",name="vm-b"} 1000\n'
)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--hang", action="store_true")
    a = ap.parse_args()
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(a.cert, a.key)
    sni = {}

    def on_sni(sock, name, _ctx):
        sni["last"] = name

    ctx.sni_callback = on_sni
    log = open(a.log, "a", buffering=1)
    if a.hang:
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        s.listen(64)
        open(a.port_file, "w").write(str(s.getsockname()[1]))
        held = []
        while True:
            c, _ = s.accept()
            held.append(c)  # never answered
            log.write("accepted\n")

    class H(BaseHTTPRequestHandler):
        def do_GET(self):
            log.write("GET %s host=%s sni=%s\n" % (self.path, self.headers.get("Host"), sni.get("last")))
            body = BODY.encode()
            self.send_response(200 if self.path == "/metrics" else 404)
            self.send_header("Content-Type", "text/plain; version=0.0.4")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    open(a.port_file, "w").write(str(srv.server_address[1]))
    srv.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
