#!/usr/bin/python3
"""fake_apiserver.py - a scriptable Kubernetes API server for the C client's integration tests.

Serves HTTPS (or HTTP without --cert) on 127.0.0.1, port 0, and writes the port to --port-file.
Any resource path works (/api/v1/..., /apis/<g>/<v>/..., namespaced or not): objects are kept in
memory with one global resourceVersion counter and an event log for watches (k8s-api.md §2-6).

Authentication: with --token-file, every request must carry "Authorization: Bearer <t>" where t is
a line of that file, re-read on every request (so a test can rotate it); otherwise 401 Status.
With --client-ca, a client certificate signed by that CA authenticates too (logged as cert:<CN>).

Fault injection, POST /_control (no auth) with a JSON object:
  {"faults": [{"method": "GET", "path": "substring", "code": 429, "reason": "TooManyRequests",
               "retry_after": "1", "count": 1}]}       next matching requests fail like that
  {"watch_drop_after": N}    the watch stream that sends the Nth event from now is cut right
                             after it (no final chunk)
  {"compact": true}          resourceVersions older than the current one are "too old" (410)
  {"expire_continue": true}  the next request carrying continue= gets 410 Expired
  {"inject": ["line", ...]}  raw lines written into the open watch streams, or the next one
  {"bookmarks": false}       stop sending BOOKMARK events (--bookmark-interval)
  {"stall_watches": true}    the watch streams open now go silent for good (a half-open
                             connection: no events, no bookmarks, no final chunk); new ones work
  {"clear": true}            forget the remaining faults
Every request is logged to --log as one JSON object per line: method, path, query, auth, code and
the User-Agent, Accept, Expect and Content-Type headers.
"""
import argparse
import base64
import copy
import json
import os
import select
import socket
import ssl
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

LOCK = threading.Condition()
STATE = {
    "rv": 100,
    "min_rv": 0,
    "store": {},  # (gv, plural) -> {(ns, name): obj}
    "events": [],  # (rv, gv, plural, ns, type, obj)
    "faults": [],
    "watch_drop_after": None,
    "expire_continue": False,
    "inject": [],  # (seq, line)
    "inject_seq": 0,
    "inject_delivered": 0,  # injected lines up to this seq were written to some stream
    "bookmarks": True,
    "stall_gen": 0,  # streams started before the last stall_watches stay silent
}
ARGS = None


def status(code, reason, message, details=None):
    s = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
         "message": message, "reason": reason, "code": code}
    if details:
        s["details"] = details
    return s


def parse_path(path):
    """-> (gv, plural, ns, name, sub) or None."""
    parts = [p for p in path.split("/") if p]
    if len(parts) >= 2 and parts[0] == "api":
        gv, rest = parts[1], parts[2:]
    elif len(parts) >= 3 and parts[0] == "apis":
        gv, rest = parts[1] + "/" + parts[2], parts[3:]
    else:
        return None
    ns = None
    if len(rest) >= 3 and rest[0] == "namespaces":
        ns, rest = rest[1], rest[2:]
    if not rest or len(rest) > 3:
        return None
    return gv, rest[0], ns, rest[1] if len(rest) > 1 else None, rest[2] if len(rest) > 2 else None


def next_rv():
    STATE["rv"] += 1
    return STATE["rv"]


def record(gv, plural, ns, etype, obj):
    STATE["events"].append((int(obj["metadata"]["resourceVersion"]), gv, plural, ns, etype,
                            copy.deepcopy(obj)))
    LOCK.notify_all()


def label_match(obj, sel):
    labels = obj.get("metadata", {}).get("labels") or {}
    for req in filter(None, sel.split(",")):
        if "!=" in req:
            k, v = req.split("!=", 1)
            if labels.get(k) == v:
                return False
        elif "=" in req:
            k, v = req.split("=", 1)
            if labels.get(k.rstrip("=")) != v:
                return False
        elif labels.get(req) is None:
            return False
    return True


def field_match(obj, sel):
    md = obj.get("metadata", {})
    for req in filter(None, sel.split(",")):
        k, v = req.split("=", 1)
        k = k.rstrip("!=")
        if {"metadata.name": md.get("name"), "metadata.namespace": md.get("namespace")}.get(k) != v:
            return False
    return True


def merge_patch(target, patch):
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    if not isinstance(target, dict):
        target = {}
    out = dict(target)
    for k, v in patch.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = merge_patch(out.get(k), v)
    return out


def pointer(doc, ptr):
    toks = [t.replace("~1", "/").replace("~0", "~") for t in ptr.split("/")[1:]]
    parent = doc
    for t in toks[:-1]:
        parent = parent[int(t)] if isinstance(parent, list) else parent[t]
    return parent, toks[-1]


def json_patch(doc, ops):
    doc = copy.deepcopy(doc)
    for op in ops:
        parent, key = pointer(doc, op["path"])
        if isinstance(parent, list):
            key = len(parent) if key == "-" else int(key)
        kind = op["op"]
        if kind == "test":
            if parent[key] != op["value"]:
                raise ValueError("test failed at " + op["path"])
        elif kind == "remove":
            del parent[key]
        elif kind == "add":
            if isinstance(parent, list):
                parent.insert(key, op["value"])
            else:
                parent[key] = op["value"]
        elif kind == "replace":
            parent[key] = op["value"]
        else:
            raise ValueError("unsupported op " + kind)
    return doc


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def log(self, code, auth):
        u = urlsplit(self.path)
        with open(ARGS.log, "a") as f:
            f.write(json.dumps({"t": time.time(), "method": self.command, "path": u.path,
                                "query": {k: v[0] for k, v in parse_qs(u.query).items()},
                                "auth": auth, "code": code,
                                "ua": self.headers.get("User-Agent"),
                                "accept": self.headers.get("Accept"),
                                "expect": self.headers.get("Expect"),
                                "ctype": self.headers.get("Content-Type")}) + "\n")

    def send_json(self, code, obj, auth, headers=None):
        body = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)
        self.log(code, auth)

    def client_cn(self):
        try:
            cert = self.connection.getpeercert() if ARGS.client_ca else None
        except (AttributeError, ValueError):
            cert = None
        for rdn in (cert or {}).get("subject", ()):
            for k, v in rdn:
                if k == "commonName":
                    return v
        return None

    def check_auth(self):
        cn = self.client_cn()
        if cn:
            return "cert:" + cn
        if not ARGS.token_file:
            return "none"
        with open(ARGS.token_file) as f:
            good = {line.strip() for line in f if line.strip()}
        h = self.headers.get("Authorization", "")
        return "ok" if h.startswith("Bearer ") and h[7:] in good else "bad"

    def read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def handle_any(self):
        u = urlsplit(self.path)
        q = {k: v[0] for k, v in parse_qs(u.query, keep_blank_values=True).items()}
        body = self.read_body()
        if u.path == "/_control":
            return self.control(json.loads(body or b"{}"))
        auth = self.check_auth()
        if auth == "bad":
            return self.send_json(401, status(401, "Unauthorized", "Unauthorized"), auth)
        with LOCK:
            for f in STATE["faults"]:
                if f.get("count", 1) > 0 and f.get("method", self.command) == self.command \
                        and f.get("path", "") in self.path:
                    f["count"] = f.get("count", 1) - 1
                    hdr = {"Retry-After": str(f["retry_after"])} if "retry_after" in f else {}
                    st = status(f["code"], f.get("reason", "Injected"), "injected fault")
                    return self.send_json(f["code"], st, auth, hdr)
        if u.path == "/version":
            return self.send_json(200, {"major": "1", "minor": "32", "gitVersion": "v1.32.0"}, auth)
        p = parse_path(u.path)
        if not p:
            return self.send_json(404, status(404, "NotFound",
                                              "the server could not find the requested resource"),
                                  auth)
        gv, plural, ns, name, sub = p
        if self.command == "GET" and name is None and q.get("watch") in ("1", "true", "True"):
            return self.watch(gv, plural, ns, q, auth)
        with LOCK:
            return self.crud(gv, plural, ns, name, sub, q, body, auth)

    def crud(self, gv, plural, ns, name, sub, q, body, auth):
        coll = STATE["store"].setdefault((gv, plural), {})
        what = "%s \"%s\"" % (plural, name)
        details = {"name": name, "kind": plural}
        if self.command == "GET" and name is None:
            if "continue" in q and STATE["expire_continue"]:
                STATE["expire_continue"] = False
                return self.send_json(410, status(410, "Expired", "The provided continue "
                                                  "parameter is too old"), auth)
            items = [o for (ons, _), o in sorted(coll.items())
                     if (ns is None or ons == ns)
                     and label_match(o, q.get("labelSelector", ""))
                     and field_match(o, q.get("fieldSelector", ""))]
            start, list_rv = 0, STATE["rv"]
            if q.get("continue"):
                tok = json.loads(base64.b64decode(q["continue"]))
                start, list_rv = tok["start"], tok["rv"]
            limit = int(q.get("limit") or 0)
            page = items[start:start + limit] if limit else items[start:]
            md = {"resourceVersion": str(list_rv)}
            if limit and start + limit < len(items):
                md["continue"] = base64.b64encode(json.dumps(
                    {"start": start + limit, "rv": list_rv}).encode()).decode()
                md["remainingItemCount"] = len(items) - start - limit
            return self.send_json(200, {"apiVersion": gv, "kind": "List", "metadata": md,
                                        "items": page}, auth)
        if self.command == "POST":
            obj = json.loads(body)
            obj.setdefault("metadata", {})
            md = obj["metadata"]
            if md.get("resourceVersion"):
                return self.send_json(500, status(500, "InternalError", "resourceVersion should "
                                                  "not be set on objects to be created"), auth)
            name = md.get("name")
            if ns:
                md["namespace"] = ns
            if (ns, name) in coll:
                return self.send_json(409, status(409, "AlreadyExists", "%s already exists" % what,
                                                  {"name": name, "kind": plural}), auth)
            md.update(uid=str(uuid.uuid4()), resourceVersion=str(next_rv()), generation=1,
                      creationTimestamp=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
            coll[(ns, name)] = obj
            record(gv, plural, ns, "ADDED", obj)
            return self.send_json(201, obj, auth)
        cur = coll.get((ns, name))
        if cur is None:
            return self.send_json(404, status(404, "NotFound", "%s not found" % what, details),
                                  auth)
        if self.command == "GET":
            return self.send_json(200, cur, auth)
        if self.command == "DELETE":
            opts = json.loads(body) if body else {}
            pre = opts.get("preconditions", {})
            if pre.get("resourceVersion") and pre["resourceVersion"] != \
                    cur["metadata"]["resourceVersion"]:
                return self.send_json(409, status(409, "Conflict", "precondition failed", details),
                                      auth)
            del coll[(ns, name)]
            gone = copy.deepcopy(cur)
            gone["metadata"]["resourceVersion"] = str(next_rv())
            record(gv, plural, ns, "DELETED", gone)
            return self.send_json(200, {"kind": "Status", "apiVersion": "v1", "metadata": {},
                                        "status": "Success", "details": details}, auth)
        conflict = status(409, "Conflict", "Operation cannot be fulfilled on %s: the object has "
                          "been modified; please apply your changes to the latest version and "
                          "try again" % what, details)
        if self.command == "PUT":
            new = json.loads(body)
            rv = new.get("metadata", {}).get("resourceVersion")
            if not rv:
                return self.send_json(422, status(422, "Invalid", "metadata.resourceVersion: "
                                                  "must be specified for an update"), auth)
            if rv != cur["metadata"]["resourceVersion"]:
                return self.send_json(409, conflict, auth)
        elif self.command == "PATCH":
            ctype = self.headers.get("Content-Type", "").split(";")[0]
            try:
                if ctype == "application/merge-patch+json":
                    patch = json.loads(body)
                    prv = (patch.get("metadata") or {}).get("resourceVersion")
                    if prv and prv != cur["metadata"]["resourceVersion"]:
                        return self.send_json(409, conflict, auth)
                    new = merge_patch(cur, patch)
                elif ctype == "application/json-patch+json":
                    new = json_patch(cur, json.loads(body))
                else:
                    return self.send_json(415, status(415, "UnsupportedMediaType", "the body of "
                                                      "the request was in an unknown format"), auth)
            except (ValueError, KeyError, IndexError, TypeError) as e:
                return self.send_json(422, status(422, "Invalid", str(e), details), auth)
        else:
            return self.send_json(405, status(405, "MethodNotAllowed", "no"), auth)
        if sub == "status":
            merged = copy.deepcopy(cur)
            merged["status"] = new.get("status")
            new = merged
        else:
            if "status" in cur:
                new["status"] = cur["status"]
            if new.get("spec") != cur.get("spec"):
                new["metadata"]["generation"] = cur["metadata"].get("generation", 1) + 1
        new["metadata"]["resourceVersion"] = str(next_rv())
        coll[(ns, name)] = new
        record(gv, plural, ns, "MODIFIED", new)
        return self.send_json(200, new, auth)

    def chunk(self, data):
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def watch(self, gv, plural, ns, q, auth):
        rv = q.get("resourceVersion", "")
        timeout = float(q.get("timeoutSeconds") or 30)
        bookmarks = q.get("allowWatchBookmarks") in ("true", "1", "True")
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.log(200, auth)
        self.close_connection = True

        def ev_line(etype, obj):
            return json.dumps({"type": etype, "object": obj}).encode() + b"\n"

        with LOCK:
            my_gen = STATE["stall_gen"]
            seen_inject = STATE["inject_delivered"]
            if rv and rv != "0" and int(rv) < STATE["min_rv"]:
                self.chunk(ev_line("ERROR", status(410, "Expired", "too old resource version: "
                                                   "%s (%d)" % (rv, STATE["min_rv"] - 1))))
                self.chunk(b"")
                return
            last = int(rv) if rv and rv != "0" else STATE["rv"]
            pending = []
            if not rv or rv == "0":
                pending = [("ADDED", o) for (ons, _), o in
                           sorted(STATE["store"].get((gv, plural), {}).items())
                           if ns is None or ons == ns]
        deadline = time.time() + timeout
        idle_since = time.time()
        try:
            while True:
                for etype, obj in pending:
                    if not label_match(obj, q.get("labelSelector", "")) or \
                            not field_match(obj, q.get("fieldSelector", "")):
                        continue
                    self.chunk(ev_line(etype, obj))
                    idle_since = time.time()
                    with LOCK:
                        left = STATE["watch_drop_after"]
                        if left is not None:
                            STATE["watch_drop_after"] = left - 1 if left > 1 else None
                    if left == 1:
                        # cut the connection: no terminating chunk, no close_notify
                        self.connection.shutdown(socket.SHUT_RDWR)
                        return
                pending = []
                if self.peer_gone():
                    return
                with LOCK:
                    if STATE["stall_gen"] > my_gen:
                        LOCK.wait(0.1)  # half-open: say nothing until the client goes
                        continue
                    for seq, line in STATE["inject"]:
                        if seq > seen_inject:
                            self.chunk(line.encode() + b"\n")
                            seen_inject = seq
                            STATE["inject_delivered"] = max(STATE["inject_delivered"], seq)
                    now = time.time()
                    if now >= deadline:
                        break
                    new = [e for e in STATE["events"] if e[0] > last and e[1] == gv and
                           e[2] == plural and (ns is None or e[3] == ns)]
                    if new:
                        pending = [(e[4], e[5]) for e in new]
                        last = new[-1][0]
                        continue
                    if bookmarks and STATE["bookmarks"] and ARGS.bookmark_interval and \
                            now - idle_since >= ARGS.bookmark_interval and \
                            (STATE["rv"] > last or ARGS.idle_bookmarks):
                        last = STATE["rv"]
                        self.chunk(ev_line("BOOKMARK", {"kind": "Bookmark", "apiVersion": gv,
                                                        "metadata": {"resourceVersion":
                                                                     str(last)}}))
                        idle_since = now
                    LOCK.wait(min(0.1, deadline - now))
            self.chunk(b"")
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, OSError):
            pass

    def peer_gone(self):
        """A watch client never sends anything: a readable socket means it has gone."""
        try:
            r, _, _ = select.select([self.connection], [], [], 0)
            if not r:
                return False
            # readable may be a TLS record without data: don't block on it
            self.connection.settimeout(0.05)
            try:
                return not self.connection.recv(1)
            finally:
                self.connection.settimeout(None)
        except socket.timeout:
            return False
        except (OSError, ValueError):
            return True

    def control(self, cmd):
        with LOCK:
            if cmd.get("clear"):
                STATE["faults"] = []
            STATE["faults"].extend(cmd.get("faults", []))
            if "bookmarks" in cmd:
                STATE["bookmarks"] = bool(cmd["bookmarks"])
            if cmd.get("stall_watches"):
                STATE["stall_gen"] += 1
            if "watch_drop_after" in cmd:
                STATE["watch_drop_after"] = cmd["watch_drop_after"]
            if cmd.get("compact"):
                STATE["min_rv"] = STATE["rv"] + 1
                next_rv()
            if cmd.get("expire_continue"):
                STATE["expire_continue"] = True
            for line in cmd.get("inject", []):
                STATE["inject_seq"] += 1
                STATE["inject"].append((STATE["inject_seq"], line))
            LOCK.notify_all()
            self.send_json(200, {"rv": STATE["rv"]}, "none")

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = handle_any


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def get_request(self):
        sock, addr = self.socket.accept()
        if ARGS.cert:
            # handshake in the handler thread so a failing client cannot stall the accept loop
            sock = CTX.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        return sock, addr

    def finish_request(self, request, client_address):
        if ARGS.cert:
            try:
                request.settimeout(10)
                request.do_handshake()
                request.settimeout(None)
            except (ssl.SSLError, OSError):
                return
        super().finish_request(request, client_address)


def main():
    global ARGS, CTX
    ap = argparse.ArgumentParser()
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--cert")
    ap.add_argument("--key")
    ap.add_argument("--token-file")
    ap.add_argument("--client-ca", help="accept client certificates signed by this CA")
    ap.add_argument("--bookmark-interval", type=float, default=0)
    # bookmarks on an idle stream even when nothing changed (as the API server's periodic ones)
    ap.add_argument("--idle-bookmarks", action="store_true")
    ARGS = ap.parse_args()
    if ARGS.cert:
        CTX = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        CTX.load_cert_chain(ARGS.cert, ARGS.key)
        if ARGS.client_ca:
            # client certificates are optional: tokens keep working
            CTX.load_verify_locations(ARGS.client_ca)
            CTX.verify_mode = ssl.CERT_OPTIONAL
    srv = Server(("127.0.0.1", 0), Handler)
    tmp = ARGS.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(srv.server_address[1]))
    os.rename(tmp, ARGS.port_file)
    try:
        srv.serve_forever(poll_interval=0.1)
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
