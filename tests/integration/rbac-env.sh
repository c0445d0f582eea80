#!/usr/bin/env bash
# rbac-env.sh - sourced by the 012x RBAC suites (after lib.sh): run other integration suites with
# WUKONG_RBAC=1 (every service under its own ServiceAccount token, deploy/base's RBAC enforced by
# the simulator, tests/rbac-wrap.sh) and check the simulator's record of what each identity did
# against the grants.

# rbac_run_suites "NNNN ..." RECORD [BUNDLE]: one check per suite; RECORD collects the verbs used.
# When tests/run.sh already ran a suite under WUKONG_RBAC=1 in this pass (its record and exit
# status under $WUKONG_RBAC_RECORDS, see tests/integration/rbac-suites.txt), that run is the proof
# and its record is used; otherwise (a proof run alone, or a modified BUNDLE) the suite runs here.
rbac_run_suites() {
	local s f r
	for s in $1; do
		f=$(ls "$ROOT"/tests/integration/$s-*.sh)
		r=${WUKONG_RBAC_RECORDS:-}
		if [ -z "${3:-}" ] && [ -n "$r" ] && [ -f "$r/$s.rc" ] && [ -f "$r/$s.tsv" ]; then
			check "$(basename "$f" .sh) passed with every service under its own token (WUKONG_RBAC=1, run by tests/run.sh: $r/$s.rc)" \
				test "$(cat "$r/$s.rc")" = 0
			cat "$r/$s.tsv" >>"$2"
			continue
		fi
		check "$(basename "$f" .sh) passes with every service under its own token (WUKONG_RBAC=1)" \
			bash -c "env -u _WK_RBAC_WRAPPED WUKONG_RBAC=1 WUKONG_RBAC_RECORD='$2' ${3:+WUKONG_RBAC_BUNDLE='$3'} bash '$f' >'$T/$s.log' 2>&1" ||
			grep '^not ok' "$T/$s.log" | head -5
	done
}

# rbac_check_grants "svc ..." RECORD: no request of those services refused, and every rule
# deploy/base grants them was used (a diag line per rule: used / UNUSED).
rbac_check_grants() {
	kubectl kustomize "$ROOT/deploy/base" >"$T/base.yaml"
	check "the record names $1" bash -c "for s in $1; do grep -q \"^system:serviceaccount:wukong:wukong-\$s	\" '$2' || { echo \"no record for \$s\"; exit 1; }; done"
	# only the services' own identities: a suite may show a test user being refused (0067: CDI's
	# datavolumes/source check)
	check "no request of $1 was refused" bash -c "! grep -P '^system:serviceaccount:wukong:wukong-($(echo $1 | tr ' ' '|'))\t.*\tdenied$' '$2'"
	check "every rule the bundle grants $1 was used (no unused grant)" python3 - "$T/base.yaml" "$2" "$1" <<'PY'
import sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
want = {"wukong-" + s for s in sys.argv[3].split()}
used = set()
for line in open(sys.argv[2]):
    f = line.rstrip("\n").split("\t")
    if len(f) == 6 and f[5] == "allowed":
        user, verb, group, res, ns = f[:5]
        used.add((user.split(":")[-1], "" if group == "core" else group, res, verb, ns))
# Granted for a code path no suite reaches; each names where the call is.
ALLOWED_UNUSED = {
    ("wukong-cloner", "kubevirt.io", "virtualmachines", "delete"):
        "consumers/cloner/cl_actions.c cl_cleanup and the orphan relist delete a target VM the "
        "clone made when the clone fails after the target exists",
    ("wukong-migrator", "cdi.kubevirt.io", "datavolumes", "delete"):
        "consumers/migrator/ctx/mig_volumes.c mig_volumes_delete deletes an old disk's owning "
        "DataVolume after a cold move copied it, or the copies of a failed cold move; 0086's old "
        "disks are bare claims and its moves succeed",
    ("wukong-migrator", "authorization.k8s.io", "subjectaccessreviews", "create"):
        "core/wk_authz_io.c asks a SubjectAccessReview for each tenant submission; the suites "
        "run here submit on trusted topics (tenants: 0126-authz-hostile-tenant.sh)",
    ("wukong-cloner", "authorization.k8s.io", "subjectaccessreviews", "create"):
        "core/wk_authz_io.c asks a SubjectAccessReview for each tenant clone submission; the "
        "suites run here submit on trusted topics (tenants: 0126-authz-hostile-tenant.sh)",
    ("wukong-cloner", "cdi.kubevirt.io", "datavolumes", "delete"):
        "consumers/cloner/cl_actions.c cl_cleanup deletes a per-volume clone's DataVolumes when the "
        "clone fails or is cancelled after they exist; 0067/0068 clones succeed",
    ("wukong-cloner", "", "persistentvolumeclaims", "delete"):
        "consumers/cloner/cl_actions.c drop_unused_restored_claims / the target fix-up: a whole-VM "
        "clone with a disk selection, a route selections no longer take (they go per volume, "
        "cl_volumes.c); kept until that code is removed (session note)",
    ("wukong-cloner", "", "persistentvolumeclaims", "list"):
        "consumers/cloner/cl_actions.c drop_unused_restored_claims (as above)",
    ("wukong-cloner", "snapshot.kubevirt.io", "virtualmachinesnapshotcontents", "get"):
        "consumers/cloner/cl_actions.c snapshot_vm_copy: the patches of a whole-VM clone with a disk "
        "selection (as above)",
    ("wukong-provisioner", "cdi.kubevirt.io", "datavolumes", "delete"):
        "consumers/provisioner/pv_service.c deletes the DataVolume of a disk removed from the "
        "Wukong's spec; 0091 removes none",
}
roles = {(d["kind"], d["metadata"].get("namespace"), d["metadata"]["name"]): d
         for d in docs if d["kind"] in ("Role", "ClusterRole")}
unused, lines = [], []
for b in docs:
    if b["kind"] not in ("RoleBinding", "ClusterRoleBinding"):
        continue
    ns = b["metadata"].get("namespace")
    role = roles[(b["roleRef"]["kind"], ns if b["roleRef"]["kind"] == "Role" else None, b["roleRef"]["name"])]
    for s in b["subjects"]:
        sa = s["name"]
        if sa not in want:
            continue
        for r in role["rules"]:
            for g in r["apiGroups"]:
                for res in r["resources"]:
                    for v in r["verbs"]:
                        hit = [u for u in used if u[:4] == (sa, g, res, v) and (ns is None or u[4] == ns)]
                        l = "%-16s %-7s %-24s %-34s %s" % (sa, v, g or "core", res, "used" if hit else "UNUSED")
                        if not hit and (sa, g, res, v) in ALLOWED_UNUSED:
                            l += " (allowed: " + ALLOWED_UNUSED[(sa, g, res, v)] + ")"
                        elif not hit:
                            unused.append((sa, v, g, res))
                        lines.append(l)
for l in sorted(lines):
    print("# " + l)
if unused:
    print("# unused grants: %s" % unused)
    sys.exit(1)
PY
}
