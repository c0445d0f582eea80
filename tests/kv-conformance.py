#!/usr/bin/python3
"""kv-conformance.py - check that every KubeVirt object a cluster serves conforms to the simulated
KubeVirt version's published API definitions: no field that version lacks, the right JSON types,
and upstream's names for phases and other enumerations.

The version is read from the KubeVirt CR (status.observedKubeVirtVersion of kubevirt/kubevirt, or
--version 1.5|1.6|1.9); the definitions are tools/sim/openapi/v1.<minor>.0.json (KubeVirt's
api/openapi-spec/swagger.json definitions, Apache-2.0; see tools/sim/openapi/README.md).
Every resource of kubevirt.io, migrations.kubevirt.io, snapshot.kubevirt.io and clone.kubevirt.io
the simulator serves is listed in every namespace.

Usage: kv-conformance.py --kubeconfig FILE [--openapi DIR] [--version 1.9]
       kv-conformance.py --self-test [--openapi DIR]
Prints one line per violation, then a summary line; exit status 1 on any violation.
Needs Debian's python3-kubernetes (only for reading the cluster).
"""
import argparse
import json
import os
import re
import sys

RESOURCES = [
    ("kubevirt.io", "v1", "virtualmachines", "v1.VirtualMachine"),
    ("kubevirt.io", "v1", "virtualmachineinstances", "v1.VirtualMachineInstance"),
    ("kubevirt.io", "v1", "virtualmachineinstancemigrations", "v1.VirtualMachineInstanceMigration"),
    ("kubevirt.io", "v1", "kubevirts", "v1.KubeVirt"),
    ("migrations.kubevirt.io", "v1alpha1", "migrationpolicies", "v1alpha1.MigrationPolicy"),
    ("snapshot.kubevirt.io", "v1beta1", "virtualmachinesnapshots", "v1beta1.VirtualMachineSnapshot"),
    ("snapshot.kubevirt.io", "v1beta1", "virtualmachinesnapshotcontents",
     "v1beta1.VirtualMachineSnapshotContent"),
    ("snapshot.kubevirt.io", "v1beta1", "virtualmachinerestores", "v1beta1.VirtualMachineRestore"),
    ("clone.kubevirt.io", "v1beta1", "virtualmachineclones", "v1beta1.VirtualMachineClone"),
]

# Upstream's enumerations (staging/src/kubevirt.io/api/{core/v1,snapshot/v1beta1,clone/v1beta1}/
# types.go at v1.5.0, v1.6.0, v1.9.0), by definition and field: minor -> allowed values.
_VMI = ["", "Pending", "Scheduling", "Scheduled", "Running", "Succeeded", "Failed", "Unknown"]
_VMIM = ["", "Pending", "Scheduling", "Scheduled", "PreparingTarget", "TargetReady", "Running",
         "Succeeded", "Failed"]
_PRINT = ["Stopped", "Provisioning", "Starting", "Running", "Paused", "Stopping", "Terminating",
          "CrashLoopBackOff", "Migrating", "Unknown", "ErrorUnschedulable", "ErrImagePull",
          "ImagePullBackOff", "ErrorPvcNotFound", "DataVolumeError", "WaitingForVolumeBinding"]
_IND = {5: ["Online", "NoGuestAgent", "GuestAgent"],
        6: ["Online", "NoGuestAgent", "GuestAgent", "QuiesceFailed"],
        9: ["Online", "NoGuestAgent", "GuestAgent", "QuiesceTimeout", "Paused", "PartialSnapshot"]}
ENUMS = {
    ("v1.VirtualMachineInstanceStatus", "phase"):
        {5: _VMI, 6: _VMI + ["WaitingForSync"], 9: _VMI + ["WaitingForSync"]},
    ("v1.VirtualMachineInstanceMigrationStatus", "phase"):
        {5: _VMIM, 6: _VMIM + ["WaitingForSync", "Synchronizing"],
         9: _VMIM + ["WaitingForSync", "Synchronizing"]},
    ("v1.VirtualMachineStatus", "printableStatus"):
        {5: _PRINT, 6: _PRINT + ["WaitingForReceiver"], 9: _PRINT + ["WaitingForReceiver"]},
    ("v1.KubeVirtStatus", "phase"):
        {m: ["", "Deploying", "Deployed", "Deleting", "Deleted"] for m in (5, 6, 9)},
    ("v1beta1.VirtualMachineSnapshotStatus", "phase"):
        {m: ["", "InProgress", "Succeeded", "Failed", "Deleting", "Unknown"] for m in (5, 6, 9)},
    ("v1beta1.VirtualMachineSnapshotStatus", "indications[]"): _IND,
    ("v1beta1.SourceIndication", "indication"): _IND,
    ("v1beta1.VirtualMachineCloneStatus", "phase"):
        {m: ["", "SnapshotInProgress", "CreatingTargetVM", "RestoreInProgress", "Succeeded",
             "Failed", "Unknown"] for m in (5, 6, 9)},
    ("v1.VirtualMachineInstanceMigrationState", "abortStatus"):
        {m: ["", "Succeeded", "Failed", "Aborting"] for m in (5, 6, 9)},
    ("v1.VirtualMachineInstanceMigrationState", "mode"):
        {m: ["", "PreCopy", "PostCopy", "Paused"] for m in (5, 6, 9)},
}


def load_defs(openapi, minor):
    with open(os.path.join(openapi, "v1.%d.0.json" % minor)) as f:
        doc = json.load(f)
    return doc.get("definitions", doc)


def type_ok(t, v):
    if isinstance(t, list):
        return any(type_ok(x, v) for x in t)
    if t == "string":
        return isinstance(v, str)
    if t == "integer":
        return isinstance(v, int) and not isinstance(v, bool) or (
            isinstance(v, float) and v.is_integer())
    if t == "number":
        return isinstance(v, (int, float)) and not isinstance(v, bool)
    if t == "boolean":
        return isinstance(v, bool)
    if t == "object":
        return isinstance(v, dict)
    if t == "array":
        return isinstance(v, list)
    if t == "null":
        return v is None
    return True


class Checker:
    def __init__(self, defs, minor):
        self.defs, self.minor, self.errors = defs, minor, []

    def err(self, where, path, msg):
        self.errors.append("%s: %s: %s" % (where, path or "<root>", msg))

    def resolve(self, s):
        name = None
        for _ in range(16):
            ref = s.get("$ref") if isinstance(s, dict) else None
            if not ref:
                return s, name
            name = ref.rsplit("/", 1)[-1]
            s = self.defs.get(name)
            if s is None:
                return None, name
        return None, name

    def check(self, where, schema, v, path, depth=0, defname=None):
        s, name = self.resolve(schema)
        defname = name or defname
        if s is None or depth > 64:
            return
        if v is None:
            return  # Go's nil pointers and omitted values: null is accepted by the decoder
        if s.get("x-kubernetes-preserve-unknown-fields"):
            return
        fmt = s.get("format")
        t = s.get("type")
        if fmt == "int-or-string":
            if not isinstance(v, (str, int)) or isinstance(v, bool):
                self.err(where, path, "must be an integer or a string, is %r" % (v,))
            return
        if t and not type_ok(t, v):
            self.err(where, path, "must be of type %s, is %s" % (t, type(v).__name__))
            return
        if "enum" in s and v not in s["enum"]:
            self.err(where, path, "value %r not in %s" % (v, s["enum"]))
        if fmt == "date-time" and isinstance(v, str) and v and not re.match(
                r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$", v):
            self.err(where, path, "not an RFC 3339 time: %r" % v)
        props, addl, items = s.get("properties"), s.get("additionalProperties"), s.get("items")
        if isinstance(v, dict):
            if props is None and addl is None:
                return
            for k, x in v.items():
                sub = "%s.%s" % (path, k) if path else k
                if props is not None and k in props:
                    ps = props[k]
                    if "$ref" in ps and ps["$ref"].endswith("meta.v1.ObjectMeta"):
                        continue
                    key = (defname, k)
                    if key in ENUMS and self.minor in ENUMS[key] and isinstance(x, str) \
                            and x not in ENUMS[key][self.minor]:
                        self.err(where, sub, "%r is not one of upstream's values %s"
                                 % (x, ENUMS[key][self.minor]))
                    key = (defname, k + "[]")
                    if key in ENUMS and isinstance(x, list):
                        for i, e in enumerate(x):
                            if e not in ENUMS[key][self.minor]:
                                self.err(where, "%s[%d]" % (sub, i),
                                         "%r is not one of upstream's values %s"
                                         % (e, ENUMS[key][self.minor]))
                    self.check(where, ps, x, sub, depth + 1, defname)
                elif isinstance(addl, dict):
                    self.check(where, addl, x, sub, depth + 1, defname)
                elif addl is not True:
                    self.err(where, sub, "field not in KubeVirt v1.%d's API" % self.minor)
        elif isinstance(v, list) and items is not None:
            for i, x in enumerate(v):
                self.check(where, items, x, "%s[%d]" % (path, i), depth + 1, defname)

    def check_object(self, where, defname, obj):
        s = self.defs.get(defname)
        if s is None:
            self.err(where, "", "no definition %s" % defname)
            return
        for k, x in obj.items():
            if k in ("apiVersion", "kind", "metadata"):
                continue
            if k not in s.get("properties", {}):
                self.err(where, k, "field not in KubeVirt v1.%d's API" % self.minor)
                continue
            self.check(where, s["properties"][k], x, k, 1, defname)


def minor_of(version):
    m = re.match(r"^v?1\.(\d+)(\.\d+)?", version or "")
    return int(m.group(1)) if m else None


def self_test(openapi):
    """The checker finds what it should (run by tests/integration/0017-sim-conformance.sh)."""
    c = Checker(load_defs(openapi, 5), 5)
    c.check_object("vmim", "v1.VirtualMachineInstanceMigration",
                   {"spec": {"vmiName": "a", "addedNodeSelector": {"x": "y"}},
                    "status": {"phase": "Migrating", "phaseTransitionTimestamps": "no"}})
    want = ["spec.addedNodeSelector: field not in", "status.phase: 'Migrating' is not one",
            "status.phaseTransitionTimestamps: must be of type array"]
    bad = [w for w in want if not any(w in e for e in c.errors)]
    c9 = Checker(load_defs(openapi, 9), 9)
    c9.check_object("vmim", "v1.VirtualMachineInstanceMigration",
                    {"spec": {"vmiName": "a", "addedNodeSelector": {"x": "y"}},
                     "status": {"phase": "Running"}})
    if c9.errors:
        bad.append("1.9 flagged a valid VMIM: %s" % c9.errors)
    c6 = Checker(load_defs(openapi, 6), 6)
    c6.check_object("snap", "v1beta1.VirtualMachineSnapshot",
                    {"status": {"indications": ["QuiesceTimeout"], "readyToUse": "yes"}})
    if len(c6.errors) != 2:
        bad.append("1.6 snapshot: %s" % c6.errors)
    for b in bad:
        print("self-test: missed: %s" % b)
    print("self-test: %s" % ("ok" if not bad else "FAILED"))
    return 1 if bad else 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kubeconfig")
    ap.add_argument("--openapi", default=os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "tools", "sim", "openapi"))
    ap.add_argument("--version")
    ap.add_argument("--self-test", action="store_true")
    a = ap.parse_args()
    if a.self_test:
        return self_test(a.openapi)
    from kubernetes import client, config
    config.load_kube_config(config_file=a.kubeconfig)
    co = client.CustomObjectsApi()
    minor = minor_of(a.version)
    if minor is None:
        kv = co.get_namespaced_custom_object("kubevirt.io", "v1", "kubevirt", "kubevirts",
                                             "kubevirt", _request_timeout=20)
        minor = minor_of(kv.get("status", {}).get("observedKubeVirtVersion"))
    if minor not in (5, 6, 9):
        print("cannot tell the KubeVirt version (observedKubeVirtVersion)")
        return 1
    c = Checker(load_defs(a.openapi, minor), minor)
    total = 0
    for g, v, plural, defname in RESOURCES:
        items = co.list_cluster_custom_object(g, v, plural, _request_timeout=30)["items"]
        for o in items:
            md = o.get("metadata", {})
            where = "%s %s/%s" % (plural, md.get("namespace", ""), md.get("name"))
            c.check_object(where, defname, o)
            total += 1
    for e in c.errors[:200]:
        print(e)
    print("%d KubeVirt objects checked against v1.%d.0, %d violations"
          % (total, minor, len(c.errors)))
    return 1 if c.errors else 0


if __name__ == "__main__":
    sys.exit(main())
