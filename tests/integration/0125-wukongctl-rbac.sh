#!/usr/bin/env bash
# 0125-wukongctl-rbac.sh - `wukongctl up --rbac`: the demo stack with the install bundle applied to
# the simulator and every service under its own ServiceAccount token (tools/wukongctl/ctl_rbac.c,
# docs/wukongctl.md): a kubeconfig per API-using service holding a token that is not the admin's,
# a live migration through wukongctl succeeds, each identity shows in the simulator's record, and
# nothing was refused.
. "$(dirname "$0")/../lib.sh"
W="$BIN/wukongctl"
export WUKONG_DIR="$T/stack"
trap '"$W" down >/dev/null 2>&1; cleanup' EXIT
check "wukongctl up --rbac starts the stack" bash -c "'$W' up --rbac >'$T/up.log' 2>&1" || tail -5 "$T/up.log"
ADMIN=$(cat "$WUKONG_DIR/token")
for s in watcher migrator cloner progress status; do
	check "kubeconfig.$s holds wukong-$s's own token, namespace wukong" bash -c "
		[ -s '$WUKONG_DIR/kubeconfig.$s' ] && ! grep -q '$ADMIN' '$WUKONG_DIR/kubeconfig.$s' &&
		grep -q 'namespace: wukong' '$WUKONG_DIR/kubeconfig.$s'"
done
check "the audit logger gets no API credentials" test ! -e "$WUKONG_DIR/kubeconfig.audit"
K="kubectl --kubeconfig $WUKONG_DIR/kubeconfig"
wait_for 30 bash -c "[ \"\$($K get vmi -n default web-1-vm -o jsonpath='{.status.phase}' 2>/dev/null)\" = Running ]"
SRC=$($K get vmi -n default web-1-vm -o jsonpath='{.status.nodeName}')
for n in node-1 node-2 node-3 node-4; do [ "$n" != "$SRC" ] && TGT=$n && break; done
check "wukongctl migrate web-1 to $TGT succeeds under the bundle's RBAC" \
	bash -c "'$W' migrate default/web-1 --to '$TGT' --timeout 90s >'$T/mig.out' 2>&1" || tail -5 "$T/mig.out"
check "the VMI runs on $TGT" [ "$($K get vmi -n default web-1-vm -o jsonpath='{.status.nodeName}')" = "$TGT" ]
for s in watcher migrator progress; do
	check "the record shows wukong-$s's requests" grep -q "^system:serviceaccount:wukong:wukong-$s	" "$WUKONG_DIR/rbac-used.tsv"
done
check "nothing was refused" bash -c "! grep -P '\tdenied$' '$WUKONG_DIR/rbac-used.tsv'"
"$W" down >/dev/null 2>&1
finish
