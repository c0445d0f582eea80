#!/usr/bin/env bash
# tests/valgrind-services.sh [SERVICE...] - the long-running services under valgrind
# (--leak-check=full, definite and indirect leaks and invalid reads/writes are errors) against the
# embedded broker and the simulator: wukong-watcher, -status, -audit, -progress, -migrator and
# -cloner (and -console, with an event stream open) run side by side while a migration (kubectl patch spec.migration), a Kafka migrate
# request and a node drain flow through them, then each gets SIGTERM. TAP output like the integration tests; one
# valgrind log per service is kept in the scratch dir on failure. Not part of `make test` (slow);
# run by hand: B=build-x tests/valgrind-services.sh [watcher status ...].
# Suppressions for one-time library allocations: tests/valgrind.supp.
. "$(dirname "$0")/lib.sh"

SERVICES=("$@")
[ ${#SERVICES[@]} -gt 0 ] || SERVICES=(watcher status audit progress migrator cloner console)
SUPP="$ROOT/tests/valgrind.supp"
VG=(valgrind --leak-check=full --show-leak-kinds=definite,indirect
	--errors-for-leak-kinds=definite,indirect --error-exitcode=99 --num-callers=40
	--suppressions="$SUPP")
command -v valgrind >/dev/null || { echo "1..0 # SKIP valgrind is not installed"; exit 0; }

cat >"$T/scenario.yaml" <<'YAML'
seed: 5
linkBandwidth: 1Gi
storageClasses:
  - {name: shared-rwx, accessMode: RWX, snapshot: true}
nodes:
  - {name: node-a, cpu: 8, memory: 32Gi}
  - {name: node-b, cpu: 8, memory: 32Gi}
vms:
  - {name: web-1, cpu: 1, memory: 1Gi, dirtyRate: 4Mi, disks: [{name: system, size: 10Gi, storageClass: shared-rwx}]}
  - {name: web-2, cpu: 1, memory: 1Gi, dirtyRate: 4Mi, disks: [{name: system, size: 10Gi, storageClass: shared-rwx}]}
YAML

start_kafka 1
start_bg sim "$BIN/wukong-sim" --dir "$T/sim" --scenario "$T/scenario.yaml" --time-factor 10
wait_for 30 test -s "$T/sim/kubeconfig" || { not_ok "wukong-sim started"; finish; exit 1; }
K="timeout 20 kubectl --kubeconfig $T/sim/kubeconfig"
G="vg-$$-$RANDOM"
COMMON=(-X kafka.bootstrap.servers="$BOOTSTRAP" -X kafka.session.timeout.ms=6000
	-X kube.config="$T/sim/kubeconfig" -X cluster.id=local)

declare -A PID
for s in "${SERVICES[@]}"; do
	extra=()
	case $s in
	watcher) extra=(-X watcher.lease.enabled=false) ;;
	status) extra=(-X status.lease.enabled=false) ;;
	audit) extra=(-X audit.dir="$T/audit") ;;
	progress) extra=($(progress_metrics_args "$T/sim")
		-X progress.scrape-interval=500ms -X progress.status-interval=500ms) ;;
	migrator) extra=(-X migrator.poll-interval=500ms -X migrator.resync-interval=2s) ;;
	cloner) extra=(-X cloner.poll-interval=500ms -X cloner.resync-interval=2s) ;;
	console) extra=(-X console.from-beginning=true) ;;
	esac
	start_bg "$s" "${VG[@]}" --log-file="$T/vg-$s.txt" "$BIN/wukong-$s" "${COMMON[@]}" \
		-X consumer.group="$G-$s" -X http.addr-file="$T/$s.addr" "${extra[@]}"
	PID[$s]=$LAST_PID
done
for s in "${SERVICES[@]}"; do
	check "wukong-$s started under valgrind" wait_for 120 test -s "$T/$s.addr"
done

# Traffic: a migration through the API (spec.migration), one and a clone through Kafka, a node
# drain (dry run, then real), and a message that is dead-lettered.
req() { # req TYPE KEY JSON
	printf '%s\n' "$3" | kcat -b "$BOOTSTRAP" -P -t wukong.requests.local -k "$2" \
		-H ce_specversion=1.0 -H "ce_id=$RANDOM$RANDOM" -H ce_source=/tenants/test \
		-H "ce_type=dev.novasphere.wukong.request.$1.v1" -H content-type=application/json \
		2>>"$T/kcat.log"
}
wait_for 30 bash -c "[ \"\$($K get vmi web-1-vm -o jsonpath='{.status.phase}' 2>/dev/null)\" = Running ]"
if [[ " ${SERVICES[*]} " == *" console "* ]]; then
	# A browser's event stream open through the traffic, and the page's queries.
	CA=$(cat "$T/console.addr")
	wait_for 60 curl -sf -o /dev/null "http://$CA/readyz"
	start_bg console-stream curl -sN --max-time 600 "http://$CA/api/events"
	check "the console serves its page and a search under valgrind" bash -c \
		"curl -sf 'http://$CA/' | grep -q app.js && curl -sf 'http://$CA/api/audit?request=vg-4' | grep -q records"
fi
src=$($K get vmi web-1-vm -o jsonpath='{.status.nodeName}')
tgt=node-a
[ "$src" = node-a ] && tgt=node-b
$K patch wukong web-1 --type=merge -p "{\"spec\":{\"migration\":{\"targetNode\":\"$tgt\"}}}" \
	>/dev/null 2>&1
req migrate local/default/web-2-vm \
	'{"requestId":"vg-1","cluster":"local","namespace":"default","name":"web-2"}'
req clone local/default/web-2-vm '{"requestId":"vg-2","cluster":"local","namespace":"default","source":{"type":"vm","name":"web-2"},"targets":[{"name":"vgc1"}]}'
printf '%s\n' 'not json' | kcat -b "$BOOTSTRAP" -P -t wukong.requests.local -k x 2>>"$T/kcat.log"
if [[ " ${SERVICES[*]} " == *" watcher "* ]] && [[ " ${SERVICES[*]} " == *" migrator "* ]]; then
	check "the migration through spec.migration finished" wait_for 60 bash -c \
		"[ \"\$($K get vmi web-1-vm -o jsonpath='{.status.nodeName}')\" = $tgt ]"
fi
# An evacuation (planner, dry run, progress reports): drain the node web-1 went to.
req drain "local/node/$tgt" "{\"requestId\":\"vg-3\",\"cluster\":\"local\",\"node\":\"$tgt\",\"dryRun\":true}"
req drain "local/node/$tgt" "{\"requestId\":\"vg-4\",\"cluster\":\"local\",\"node\":\"$tgt\"}"
if [[ " ${SERVICES[*]} " == *" migrator "* ]]; then
	check "the drain moved every VM off $tgt" wait_for 90 bash -c \
		"[ -z \"\$($K get vmi -A -o jsonpath='{.items[?(@.status.nodeName==\"$tgt\")].metadata.name}')\" ]"
fi
sleep 5

for s in "${SERVICES[@]}"; do kill -TERM "${PID[$s]}" 2>/dev/null; done
for s in "${SERVICES[@]}"; do
	if wait_for 120 eval "! kill -0 ${PID[$s]}"; then
		wait "${PID[$s]}"
		rc=$?
	else
		rc=timeout
	fi
	summary=$(grep -E 'definitely lost|indirectly lost|Invalid (read|write)|ERROR SUMMARY' \
		"$T/vg-$s.txt" | sed 's/^==[0-9]*== //' | tr '\n' ';')
	if [ "$rc" = 0 ]; then
		ok "wukong-$s: no leak or memory error under valgrind ($summary)"
	else
		not_ok "wukong-$s: exit $rc under valgrind ($summary) - see $T/vg-$s.txt"
	fi
done
finish
