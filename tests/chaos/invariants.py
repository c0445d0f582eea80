#!/usr/bin/env python3
"""invariants.py SCRATCH AUDIT_DIR - the invariant table of a chaos run (tests/chaos/chaos.sh).

Reads what chaos.sh collected in SCRATCH (requests.txt, status.jsonl, audit-headers.txt, dlq.txt,
final-*.json, uids.txt, rss.txt, verify.out, bad.count) and the audit log's segments; prints one
row per invariant (what was counted, what is due, ok/FAIL) and exits 1 when any row fails."""
import collections, glob, json, os, statistics, sys

D, AUD = sys.argv[1], sys.argv[2]
FINAL_PHASES = {"Succeeded", "Failed", "Cancelled", "Rejected"}
rows, failed = [], False


def row(name, value, due, ok):
    """ok None: not measured (n/a), neither a pass nor a failure"""
    global failed
    rows.append((name, str(value), due, "n/a" if ok is None else "ok" if ok else "FAIL"))
    failed |= ok is False


def jsonl(path):
    out = []
    if not os.path.exists(path):
        return out
    for line in open(path, errors="replace"):
        try:
            out.append(json.loads(line))
        except ValueError:
            pass
    return out


def items(kind):
    try:
        return json.load(open(os.path.join(D, "final-%s.json" % kind))).get("items") or []
    except (OSError, ValueError):
        return []


reqs = [l.split() for l in open(os.path.join(D, "requests.txt"))]
migs = [r for r in reqs if r[0] == "migrate"]
clones = [r for r in reqs if r[0] == "clone"]
drains = [r for r in reqs if r[0] == "drain"]
status = jsonl(os.path.join(D, "status.jsonl"))
records = []
for seg in sorted(glob.glob(os.path.join(AUD, "audit-*.log"))):
    records += jsonl(seg)
events = [r for r in records if r.get("kind") == "event"]

# ---- every request: exactly one final outcome in the audit log and on its status ----
# A request's final record: the executor's last word on it (steps before are info, pending or
# the success of a step: migration.preflight, migration.vmim-created).
FINAL_ACTIONS = (".succeeded", ".failed", ".cancelled", ".request-refused", ".superseded",
                 ".queue-timeout", ".deadline")


def final_record(r):
    a = r.get("action") or ""
    return (a.startswith(("migration.", "clone.")) and
            (a.endswith(FINAL_ACTIONS) or r.get("outcome") in ("rejected", "cancelled")))


final_audit = collections.defaultdict(list)
for r in events:
    if final_record(r) and (r.get("request") or {}).get("id"):
        final_audit[r["request"]["id"]].append((r.get("actor"), r.get("action"), r.get("outcome")))
mig_phases = collections.defaultdict(list)
clone_phases, clone_req = collections.defaultdict(list), {}
for d in status:
    st = d.get("status") or {}
    ms, cs = st.get("migrationStatus"), st.get("cloneStatus")
    if d.get("source") == "wukong-migrator" and ms and ms.get("requestId"):
        mig_phases[ms["requestId"]].append(ms.get("phase"))
    if d.get("source") == "wukong-cloner" and cs:
        clone_phases[d.get("name")].append(cs.get("phase"))
        if cs.get("requestId"):
            clone_req[d.get("name")] = cs["requestId"]


def one_final(ids, what):
    none = [i for i in ids if not final_audit.get(i)]
    many = [i for i in ids if len({o for _, _, o in final_audit.get(i, [])}) > 1 or
            len(final_audit.get(i, [])) > 1]
    row("%s: one final outcome in the audit log" % what,
        "%d of %d (none %d, several %d)" % (len(ids) - len(none) - len(many), len(ids), len(none),
                                             len(many)),
        "all", not none and not many)
    for i in (none + many)[:5]:
        print("#   %s %s: %s" % (what, i, final_audit.get(i)))


one_final([r[1] for r in migs], "migrations")
seen = [r for r in migs if r[1] in mig_phases]
notfinal = [r[1] for r in seen if mig_phases[r[1]][-1] not in FINAL_PHASES]
conflict = [r[1] for r in seen if len({p for p in mig_phases[r[1]] if p in FINAL_PHASES}) > 1]
row("migrations: last status final, one final phase", "%d of %d with a migrationStatus "
    "(not final %d, two finals %d)" % (len(seen) - len(notfinal) - len(conflict), len(seen),
                                        len(notfinal), len(conflict)),
    "all", not notfinal and not conflict)
# The Wukong shows its latest request: the last migrationStatus the migrator sent for a Wukong names
# the request that appeared last (a restart must not re-report an older one over it).
first_seen, last_named = {}, {}
for d in status:
    ms = (d.get("status") or {}).get("migrationStatus")
    if d.get("source") == "wukong-migrator" and ms and ms.get("requestId"):
        first_seen.setdefault((d.get("name"), ms["requestId"]), len(first_seen))
        last_named[d.get("name")] = ms["requestId"]
stale = []
for name, rid in last_named.items():
    latest = max((k for k in first_seen if k[0] == name), key=lambda k: first_seen[k])[1]
    if rid != latest:
        stale.append((name, rid, latest))
row("Wukongs whose last migrationStatus names their latest request",
    "%d of %d" % (len(last_named) - len(stale), len(last_named)), "all", not stale)
for x in stale[:5]:
    print("#   %s shows %s, latest %s" % x)
kinds = collections.Counter(r[3] for r in migs)
outc = collections.Counter(final_audit[r[1]][-1][2] for r in migs if final_audit.get(r[1]))
print("# migrations: %s; outcomes %s" % (dict(kinds), dict(outc)))
cl_ids = [clone_req.get(r[1]) for r in clones]
row("clones: last status final", "%d of %d" % (
    sum(1 for r in clones if clone_phases.get(r[1]) and clone_phases[r[1]][-1] in FINAL_PHASES),
    len(clones)), "all",
    all(clone_phases.get(r[1]) and clone_phases[r[1]][-1] in FINAL_PHASES for r in clones))
print("# clones: %s" % dict(collections.Counter(
    (clone_phases.get(r[1]) or ["none"])[-1] for r in clones)))
one_final([i for i in cl_ids if i] + [None] * sum(1 for i in cl_ids if not i), "clones")
drain_done = collections.Counter((r.get("request") or {}).get("id") for r in events
                                 if r.get("action") == "drain.completed")
row("drains: completed once", "%d of %d" % (sum(1 for r in drains if drain_done[r[1]] == 1),
                                          len(drains)), "all",
    all(drain_done[r[1]] == 1 for r in drains))

# ---- no duplicates: one uid per object name over the run; one VMIM per request ----
uids = collections.defaultdict(set)
if os.path.exists(os.path.join(D, "uids.txt")):
    for line in open(os.path.join(D, "uids.txt")):
        f = line.split()
        if len(f) == 3:
            uids[(f[0], f[1])].add(f[2])
for kind in ("vmim", "vmsnapshot", "vmclone", "datavolume"):
    for o in items(kind):
        uids[(kind, "%s/%s" % (o["metadata"].get("namespace"), o["metadata"]["name"]))].add(
            o["metadata"].get("uid"))
per_req = collections.Counter(((o["metadata"].get("labels") or {})
                               .get("vm.novasphere.dev/request-id")) for o in items("vmim"))
dup_vmim = sum(1 for k, n in per_req.items() if k and n > 1) + sum(
    1 for (k, _), u in uids.items() if k == "vmim" and len(u) > 1)
row("duplicate VMIMs", dup_vmim, "0", dup_vmim == 0)
for kind, label in (("vmsnapshot", "snapshots"), ("vmclone", "clones"),
                    ("datavolume", "DataVolumes")):
    dup = [n for (k, n), u in uids.items() if k == kind and len(u) > 1]
    row("duplicate %s (a name created twice)" % label, len(dup), "0", not dup)
    for n in dup[:5]:
        print("#   %s %s: uids %s" % (kind, n, sorted(uids[(kind, n)])))

# ---- no orphaned temporaries ----
failed_clones = {r[1] for r in clones if (clone_phases.get(r[1]) or [""])[-1] == "Failed"}
orphan_vms = [o["metadata"]["name"] for o in items("vm")
              if (o["metadata"].get("labels") or {}).get("vm.novasphere.dev/wukong") in failed_clones
              or o["metadata"]["name"] in {c + "-vm" for c in failed_clones}]
keep = {o["metadata"]["name"] for o in items("wukong")
        if ((o.get("spec") or {}).get("cloneSource") or {}).get("keepSnapshot")}
snaps = [o["metadata"]["name"] for o in items("vmsnapshot")
         if (o["metadata"].get("labels") or {}).get("vm.novasphere.dev/wukong") not in keep]
mps = [o["metadata"]["name"] for o in items("migrationpolicies")]
row("orphaned temporaries (snapshots, MigrationPolicies, target VMs of failed clones)",
    "%d, %d, %d" % (len(snaps), len(mps), len(orphan_vms)), "0, 0, 0",
    not snaps and not mps and not orphan_vms)

# ---- the audit log ----
v = open(os.path.join(D, "verify.out")).read()
row("audit chain verifies (keyed)", v.strip().splitlines()[0][:70] if v.strip() else "?", "ok",
    "rc=0" in v and v.startswith("ok"))
ids = set()
for line in open(os.path.join(D, "audit-headers.txt"), errors="replace"):
    for h in line.strip().split(","):
        if h.startswith("ce_id="):
            ids.add(h[6:])
dlq = [l.split(" ", 1) for l in open(os.path.join(D, "dlq.txt"), errors="replace") if l.strip()]
dead_records = [r for r in records if r.get("kind") == "rejected-submission"]
invalid = [r for r in records if r.get("kind") == "invalid-event"]
gaps = [r for r in records if r.get("kind") == "input-gap"]
row("audit records = outputs (events; dead letters)",
    "%d = %d; %d = %d" % (len(events), len(ids), len(dead_records), len(dlq)),
    "equal", len(events) == len(ids) and len(dead_records) == len(dlq))
row("invalid-event and input-gap records", "%d, %d" % (len(invalid), len(gaps)), "0, 0",
    not invalid and not gaps)

# ---- dead letters only for bad input, one each ----
nbad = int(open(os.path.join(D, "bad.count")).read())
keys = collections.Counter(k for k, *_ in dlq)
other = [k for k in keys if not k.startswith("local/default/bad-")]
row("dead letters: one per hostile submission, none else",
    "%d for %d bad (%d keys twice, %d other)" % (len(dlq), nbad,
                                                 sum(1 for n in keys.values() if n > 1),
                                                 len(other)),
    "%d, 0, 0" % nbad, len(dlq) == nbad and not other and all(n == 1 for n in keys.values()))

# ---- memory: RSS of each service flat between the first and the last quarter ----
samples = collections.defaultdict(list)
tmax = 0
if os.path.exists(os.path.join(D, "rss.txt")):
    for line in open(os.path.join(D, "rss.txt")):
        f = line.split()
        if len(f) == 5:
            t, s, _, age, rss = int(f[0]), f[1], f[2], int(f[3]), int(f[4])
            tmax = max(tmax, t)
            if age >= 30:  # warmed up: a process just restarted after a kill is still growing
                samples[s].append((t, rss))
for s in sorted(samples):
    first = [r for t, r in samples[s] if t <= tmax / 4]
    last = [r for t, r in samples[s] if t >= tmax * 3 / 4]
    if not first or not last:
        row("RSS %s first/last quarter" % s, "too few warm samples", "+-10%", None)
        continue
    a, b = statistics.median(first), statistics.median(last)
    ratio = b / a if a else 1.0
    row("RSS %s first/last quarter (median KiB)" % s, "%d -> %d (%+.0f%%)" % (a, b, (ratio - 1) * 100),
        "+-10%", abs(ratio - 1) <= 0.10)

w = max(len(r[0]) for r in rows)
print("%-*s  %-34s  %-10s  %s" % (w, "invariant", "measured", "due", "result"))
for r in rows:
    print("%-*s  %-34s  %-10s  %s" % (w, r[0], r[1], r[2], r[3]))
print("chaos invariants: %s" % ("FAIL" if failed else "all hold"))
sys.exit(1 if failed else 0)
