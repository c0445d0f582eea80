#!/usr/bin/env bash
# status-bench.sh - wukong-status under a burst: VMS Wukongs (default 1,000) all change at once,
# ROUNDS times (default 3), against the simulator, with the API rate limited to QPS requests/s
# (default 100). Reports the time until every Wukong shows its latest status, against the ideal
# (API requests needed / QPS, and updates / QPS without coalescing), the coalescing ratio
# (messages per PATCH) and the request rate actually used. No time assertions: a benchmark.
# wukong-provisioner runs as in `make run` and the integration tests: it gives each Wukong its
# (stopped) VM and a status through this writer, which is let settle before the burst is measured.
#   usage: B=build tests/bench/status-bench.sh   (env VMS, ROUNDS, QPS, BURST to change the load)
. "$(dirname "$0")/../lib.sh"

VMS=${VMS:-1000}
ROUNDS=${ROUNDS:-3}
QPS=${QPS:-100}
BURST=${BURST:-$QPS}

start_kafka 1
mkdir -p "$T/sim"
start_bg sim "$BIN/wukong-sim" --dir "$T/sim" ${SIM_ARGS:-}
wait_for 30 test -s "$T/sim/kubeconfig" || { not_ok "wukong-sim started"; exit 1; }
K="kubectl --kubeconfig $T/sim/kubeconfig"
{
	echo "apiVersion: v1"
	echo "kind: List"
	echo "items:"
	for i in $(seq 0 $((VMS - 1))); do
		printf -- '- {apiVersion: vm.novasphere.dev/v1alpha1, kind: Wukong, metadata: {name: bench-%d, namespace: default}, spec: {cpu: 1, memory: 1Gi, running: false}}\n' "$i"
	done
} >"$T/wukongs.yaml"
$K apply --validate=false -f "$T/wukongs.yaml" >/dev/null || { not_ok "create $VMS Wukongs"; exit 1; }
ok "created $VMS Wukongs"

start_bg status "$BIN/wukong-status" -X kafka.bootstrap.servers="$BOOTSTRAP" \
	-X kafka.session.timeout.ms=6000 -X consumer.group="bench-$$-$RANDOM" \
	-X kube.config="$T/sim/kubeconfig" -X http.addr-file="$T/status.addr" \
	-X status.api-qps="$QPS" -X status.api-burst="$BURST"
wait_for 20 test -s "$T/status.addr" || { not_ok "wukong-status started"; exit 1; }
wait_for 30 grep -q assigned "$T/status.log" || { not_ok "wukong-status joined its group"; exit 1; }
metric() {
	curl -s "http://$(cat "$T/status.addr")/metrics" |
		awk -v m="$1" '$1 == m { print $2; f = 1 } END { if (!f) print 0 }'
}
start_provisioner "$T/sim/kubeconfig" "bench-$$" || exit 1
provisioned() {
	[ "$($K get wukongs -o jsonpath='{range .items[*]}{.metadata.name} {.status.phase}{"\n"}{end}' |
		awk '$1 ~ /^bench-/ && $2 == "Stopped"' | wc -l)" -eq "$VMS" ] &&
		[ "$(metric wukong_status_dirty_wukongs)" = 0 ]
}
wait_for 600 provisioned || { not_ok "wukong-provisioner gave every Wukong its VM and status"; exit 1; }
ok "wukong-provisioner gave every Wukong its VM and status"
sleep 2
req0=$(($(metric 'wukong_status_api_requests_total{verb="get"}') + $(metric 'wukong_status_api_requests_total{verb="patch"}')))
gets0=$(metric 'wukong_status_api_requests_total{verb="get"}')
patches0=$(metric 'wukong_status_api_requests_total{verb="patch"}')
msgs0=$(metric wukong_status_messages_applied_total)

total=$((VMS * ROUNDS))
t0=$(date +%s.%N)
"$TBIN/status_emit" -b "$BOOTSTRAP" --gen "$VMS" --rounds "$ROUNDS" --prefix bench --seq-base 1000 >/dev/null ||
	{ not_ok "produce $total updates"; exit 1; }
t1=$(date +%s.%N)
applied_all() {
	[ "$(($(metric wukong_status_messages_applied_total) - msgs0))" -ge "$total" ] &&
		[ "$(metric wukong_status_dirty_wukongs)" = 0 ]
}
wait_for 600 applied_all || { not_ok "all $total updates applied"; exit 1; }
t2=$(date +%s.%N)
ok "all $total updates applied"
done_n=$($K get wukongs -o jsonpath='{range .items[*]}{.metadata.name} {.status.migrationStatus.progress}{"\n"}{end}' |
	awk '$1 ~ /^bench-/ && $2 == 100' | wc -l)
check "every Wukong shows its latest status" test "$done_n" -eq "$VMS"

gets=$(($(metric 'wukong_status_api_requests_total{verb="get"}') - gets0))
patches=$(($(metric 'wukong_status_api_requests_total{verb="patch"}') - patches0))
msgs=$(($(metric wukong_status_messages_applied_total) - msgs0))
awk -v t0="$t0" -v t1="$t1" -v t2="$t2" -v q="$QPS" -v b="$BURST" -v m="$msgs" -v g="$gets" \
	-v p="$patches" -v n="$VMS" -v u="$total" 'BEGIN {
	el = t2 - t0; req = g + p
	printf "# vms=%d rounds=%d updates=%d api-qps=%d burst=%d\n", n, u / n, u, q, b
	printf "# produce: %.2f s; time to apply everything: %.2f s\n", t1 - t0, el
	printf "# API requests: %d (get %d, patch %d); messages applied: %d\n", req, g, p, m
	printf "# coalescing ratio (messages per patch): %.2f\n", p ? m / p : 0
	printf "# ideal with this many requests (requests/qps): %.2f s -> measured/ideal %.2f\n", req / q, el / (req / q)
	printf "# ideal without coalescing (updates/qps): %.2f s -> measured/ideal %.2f\n", u / q, el / (u / q)
	printf "# request rate used: %.1f/s (limit %d/s, burst %d)\n", req / el, q, b
}'
finish
