#!/usr/bin/env bash
# rbac-wrap.sh REAL_BINARY ARGS... - start a service under its own ServiceAccount token
# (tests/lib.sh, WUKONG_RBAC=1). The admin kubeconfig comes from `-X kube.config=FILE` (or
# WUKONG_KUBE_CONFIG); the first service started against it applies deploy/base there (the
# ServiceAccounts and their Roles/ClusterRoles/bindings); each service gets a TokenRequest token
# for wukong-<svc> in namespace wukong and a kubeconfig of its own beside the admin's
# (WUKONG_RBAC_BUNDLE=DIR: apply that kustomization instead, e.g. one with a rule removed). A service
# started without a kubeconfig (no API use) runs as it is.
set -u
real=$1
shift
svc=$(basename "$real")
kc=${WUKONG_KUBE_CONFIG:-}
for a in "$@"; do
	case $a in kube.config=*) kc=${a#kube.config=} ;; esac
done
[ -n "$kc" ] && [ -f "$kc" ] || exec "$real" "$@"
K="kubectl --kubeconfig $kc"
(
	flock 9
	if [ ! -e "$kc.rbac-applied" ]; then
		$K apply -k "${WUKONG_RBAC_BUNDLE:-$_WK_ROOT/deploy/base}" >"$kc.rbac-apply.log" 2>&1 || {
			echo "rbac-wrap: kubectl apply -k deploy/base failed (see $kc.rbac-apply.log)" >&2
			exit 1
		}
		touch "$kc.rbac-applied"
	fi
) 9>"$kc.rbac-lock" || exit 1
skc="$kc.$svc"
if [ ! -s "$skc" ]; then
	tok=$($K create token "$svc" -n wukong --duration=48h) || {
		echo "rbac-wrap: no token for $svc" >&2
		exit 1
	}
	cp "$kc" "$skc.tmp"
	kubectl --kubeconfig "$skc.tmp" config set-credentials wukong-sim --token="$tok" >/dev/null
	kubectl --kubeconfig "$skc.tmp" config set-context --current --namespace=wukong >/dev/null
	mv "$skc.tmp" "$skc"
fi
# As deployed (deploy/base's ConfigMaps): the Leases live in namespace wukong, where the Roles grant
# them, whatever namespace the test chose.
case $svc in
wukong-watcher) exec "$real" "$@" -X kube.config="$skc" -X watcher.lease.namespace=wukong ;;
wukong-status) exec "$real" "$@" -X kube.config="$skc" -X status.lease.namespace=wukong ;;
# As deployed, the executors are active/standby on their Lease (core/wk_service.c): one instance
# acquires it at once, so a suite runs as before and the Lease Role's verbs are exercised. The
# identity is stable, as a pod name is for a container restarted in its pod: an instance started
# after a kill -9 renews the Lease at once instead of waiting out the dead one's 15 s. (Two
# instances of one executor for one cluster would share it: no suite run under RBAC does that.)
wukong-migrator | wukong-cloner | wukong-progress | wukong-provisioner)
	l=${svc#wukong-}
	exec "$real" "$@" -X kube.config="$skc" -X "$l.lease.enabled=true" -X "$l.lease.namespace=wukong" \
		-X "$l.lease.identity=$svc-rbac" ;;
esac
exec "$real" "$@" -X kube.config="$skc"
