#!/usr/bin/python3
"""watcher_events.py - read a `kcat -C -J` dump of wukong.events and answer questions about it,
for the watcher's integration tests (tests/integration/003*-watcher-*.sh).

  watcher_events.py DUMP types KEY           ce_type suffixes ("<kind>.<change>") of KEY, in order
  watcher_events.py DUMP count KEY TYPE      how many events of that suffix KEY has
  watcher_events.py DUMP bodies [CLUSTER]    every body of CLUSTER (JSON Lines, for schema-validate)
  watcher_events.py DUMP check CLUSTER       CloudEvents headers of CLUSTER's events are complete
                                             and consistent (source, type, subject, id pattern,
                                             partition key = message key); exit 1 with reasons
  watcher_events.py DUMP dupes CLUSTER       object events whose ce_id appears more than once
  watcher_events.py DUMP ids CLUSTER         ce_ids of CLUSTER's object events, one per line
  watcher_events.py DUMP total CLUSTER TYPE  how many events of that suffix CLUSTER has
  watcher_events.py DUMP has KEY TYPE PYEXPR an event of KEY with that suffix whose body b makes
                                             PYEXPR true, e.g. 'b["spec"]["unschedulable"]'

Order is only meaningful per key: a key lives on one partition, and kcat prints each partition in
offset order.
"""
import json
import re
import sys

PREFIX = "dev.novasphere.wukong."


def load(path):
    out = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line.startswith("{"):
                continue
            m = json.loads(line)
            h = m.get("headers") or []
            m["h"] = dict(zip(h[0::2], h[1::2]))
            m["names"] = h[0::2]
            out.append(m)
    out.sort(key=lambda m: (m["partition"], m["offset"]))
    return out


def short(m):
    return m["h"].get("ce_type", "")[len(PREFIX):]


def of_cluster(msgs, cluster):
    return [m for m in msgs if m["h"].get("ce_source") == "/clusters/" + cluster]


def check(msgs, cluster):
    bad = []
    obj_id = re.compile(r"^%s\.[^.]+\..+\.(added|modified|deleted)$" % re.escape(cluster))
    for m in of_cluster(msgs, cluster):
        h, where = m["h"], "p%d@%d" % (m["partition"], m["offset"])
        for n in ("ce_specversion", "ce_id", "ce_source", "ce_type", "ce_time", "ce_subject",
                  "ce_partitionkey", "content-type"):
            if n not in h:
                bad.append("%s: no header %s" % (where, n))
        if len(m["names"]) != len(set(m["names"])):
            bad.append("%s: a header appears twice" % where)
        if h.get("ce_specversion") != "1.0" or h.get("content-type") != "application/json":
            bad.append("%s: specversion/content-type" % where)
        if h.get("ce_partitionkey") != m.get("key"):
            bad.append("%s: ce_partitionkey != key" % where)
        if not (m.get("key") or "").startswith(cluster + "/"):
            bad.append("%s: key %r not of the cluster" % (where, m.get("key")))
        if not re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$", h.get("ce_time", "")):
            bad.append("%s: ce_time %r" % (where, h.get("ce_time")))
        t = short(m)
        body = json.loads(m["payload"])
        if t.endswith((".added", ".modified", ".deleted")):
            if not obj_id.match(h.get("ce_id", "")):
                bad.append("%s: ce_id %r" % (where, h.get("ce_id")))
            if h.get("ce_wkuid") != body.get("uid"):
                bad.append("%s: ce_wkuid != body uid" % where)
            if not t.endswith(".deleted") and not re.match(r"^[0-9a-f]{16}$", h.get("ce_wkfp", "")):
                bad.append("%s: ce_wkfp %r" % (where, h.get("ce_wkfp")))
            ns = body.get("namespace")
            subj = "%s/%s/%s" % (body["kind"], ns, body["name"]) if ns else \
                "%s/%s" % (body["kind"], body["name"])
            if h.get("ce_subject") != subj:
                bad.append("%s: ce_subject %r != %r" % (where, h.get("ce_subject"), subj))
            if body.get("change") != t.rsplit(".", 1)[1]:
                bad.append("%s: body change %r vs type %s" % (where, body.get("change"), t))
            if body.get("vm") and not m["key"].endswith("/" + body["vm"]):
                bad.append("%s: key %s does not end with vm %s" % (where, m["key"], body["vm"]))
        elif t.endswith(".synced"):
            if m["key"] != cluster + "/cluster" or body.get("change") != "synced":
                bad.append("%s: synced marker key/body" % where)
        elif t == "cluster.heartbeat":
            if m["key"] != cluster + "/cluster" or body.get("change") != "heartbeat":
                bad.append("%s: heartbeat key/body" % where)
        else:
            bad.append("%s: unknown ce_type %r" % (where, h.get("ce_type")))
    return bad


def main():
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    msgs = load(sys.argv[1])
    cmd, args = sys.argv[2], sys.argv[3:]
    if cmd == "types":
        for m in msgs:
            if m.get("key") == args[0]:
                print(short(m))
    elif cmd == "count":
        print(sum(1 for m in msgs if m.get("key") == args[0] and short(m) == args[1]))
    elif cmd == "total":
        print(sum(1 for m in of_cluster(msgs, args[0]) if short(m) == args[1]))
    elif cmd == "bodies":
        for m in (of_cluster(msgs, args[0]) if args else msgs):
            print(m["payload"])
    elif cmd == "check":
        bad = check(msgs, args[0])
        for b in bad[:20]:
            print(b)
        return 1 if bad else 0
    elif cmd in ("dupes", "ids"):
        seen = {}
        for m in of_cluster(msgs, args[0]):
            if short(m).endswith((".added", ".modified", ".deleted")):
                seen[m["h"]["ce_id"]] = seen.get(m["h"]["ce_id"], 0) + 1
        for i, n in seen.items():
            if cmd == "ids" or n > 1:
                print(i)
    elif cmd == "has":
        key, typ, expr = args
        for m in msgs:
            if m.get("key") == key and short(m) == typ:
                b = json.loads(m["payload"])
                try:
                    if eval(expr, {}, {"b": b}):  # test-controlled expression
                        return 0
                except (KeyError, TypeError, IndexError):
                    pass
        return 1
    else:
        print("unknown command %r" % cmd, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
