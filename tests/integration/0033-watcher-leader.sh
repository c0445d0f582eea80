#!/usr/bin/env bash
# 0033-watcher-leader.sh - two watcher replicas for one cluster: exactly one holds the
# coordination.k8s.io Lease and publishes (one event per change, heartbeats from one identity, the
# standby's /readyz is 503); SIGKILL the leader and the standby takes over within the lease
# duration, without republishing what the first one published; SIGTERM releases the Lease so a
# standby takes over at once.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib-watcher.sh"

C=it33
DUR=4
LEASE=(-X watcher.lease.duration=${DUR}s -X watcher.lease.renew-deadline=3s
	-X watcher.lease.retry-period=500ms -X watcher.heartbeat-interval=1s)
start_kafka
start_cluster || { not_ok "a cluster to watch"; finish; exit 1; }
ok "cluster ($BACKEND) up"
node_create node-1
vm_create l0

lease_json() {
	if [ "$BACKEND" = sim ]; then
		$K get lease -n default wukong-watcher-$C -o json
	else
		curl -sf --cacert "$T/api/ca.crt" -H "Authorization: Bearer $API_TOKEN" \
			"$API_URL/apis/coordination.k8s.io/v1/namespaces/default/leases/wukong-watcher-$C"
	fi
}
holder() { lease_json | jq -r .spec.holderIdentity; }
jqt() { jq -e "$@" >/dev/null; }

start_watcher wa $C -X watcher.lease.identity=wt-a "${LEASE[@]}"
PA=$W_PID
check "replica a ready" wait_for 30 is_ready wa
start_watcher wb $C -X watcher.lease.identity=wt-b "${LEASE[@]}"
PB=$W_PID
sleep 2
check "the Lease names replica a" test "$(holder)" = wt-a
lease_json >"$T/lease.json"
check "leaseDurationSeconds=$DUR, MicroTime renewTime, acquireTime set" jqt \
	".spec.leaseDurationSeconds == $DUR and (.spec.renewTime | test(\"\\\\.[0-9]{6}Z$\")) and (.spec.acquireTime | length > 0)" \
	"$T/lease.json"
check "standby b is not ready (503)" sh -c "! curl -sf http://$(cat "$T/wb.addr")/readyz"
check "standby b's leader gauge is 0" test "$(metric wb wukong_watcher_leader)" = 0
check "leader a's leader gauge is 1" test "$(metric wa wukong_watcher_leader)" = 1

vm_create l1
check "l1 published" wait_for 10 has_event $C/default/l1 virtualmachine.added
sleep 1
check "l1 published once (one publisher)" test "$(count_of $C/default/l1 virtualmachine.added)" -eq 1
dump
check "heartbeats come from replica a only" sh -c "\"$EV\" \"$T/events.json\" bodies $C |
	jq -r 'select(.change==\"heartbeat\") | .identity' | sort -u | tr -d '\n' | grep -qx wt-a"

# micro_ms MICROTIME: an RFC 3339 MicroTime as milliseconds since the epoch (both replicas write
# their own wall clock into the Lease; they run on this machine, so one clock).
micro_ms() { python3 -c 'import sys,datetime
t=datetime.datetime.strptime(sys.argv[1],"%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc)
print(int(t.timestamp()*1000))' "$1"; }
# The machine's own delay, measured in this run: a renews every retry period (500 ms); how much
# later than that its renewTimes actually follow each other is what this machine adds to any
# step of the election (a loaded CI box adds more). Sample the Lease for 3 s before the kill.
RETRY_MS=500
prev=
maxgap=0
: >"$T/renews"
end=$((SECONDS + 3))
while [ $SECONDS -lt $end ]; do
	r=$(lease_json | jq -r .spec.renewTime)
	if [ -n "$r" ] && [ "$r" != "$prev" ]; then
		echo "$r" >>"$T/renews"
		prev=$r
	fi
	sleep 0.1
done
prevms=
while read -r r; do
	ms=$(micro_ms "$r")
	[ -n "$prevms" ] && [ $((ms - prevms)) -gt "$maxgap" ] && maxgap=$((ms - prevms))
	prevms=$ms
done <"$T/renews"
# a gap of several periods means the sampler (kubectl) missed renews: still an upper bound on
# the delay, so the bound below only loosens; a gap below one period cannot be a delay
delay=$((maxgap > RETRY_MS ? maxgap - RETRY_MS : 0))
diag "renews sampled: $(wc -l <"$T/renews"), largest gap ${maxgap} ms: machine delay ${delay} ms per step"

# --- the leader dies ---
kill -KILL "$PA"
t0=$(date +%s%N)
# a's last renewTime: a is dead, so what the Lease holds now is its last write
last_renew=$(lease_json | jq -r .spec.renewTime)
holder_is() { [ "$(holder)" = "$1" ]; }
check "replica b acquires the Lease" wait_for $((DUR + 10)) holder_is wt-b
dt=$((($(date +%s%N) - t0) / 1000000))
diag "kill to b holding the Lease: ${dt} ms"
lease_json >"$T/lease-b.json"
acq=$(jq -r .spec.acquireTime "$T/lease-b.json")
gap=$(($(micro_ms "$acq") - $(micro_ms "$last_renew")))
# client-go's rule: b may take over only once it has seen no change for a whole lease duration.
# It observes a's last renew at its next try (within one retry period) and tries again every
# retry period with client-go's jitter (factor 1.2, so at most 600 ms apart), so b's acquireTime
# follows a's last renewTime by at least the duration and at most the duration plus two jittered
# retry periods; each of b's two steps (the observation and the take-over try, a GET and a PUT)
# may run late by the delay this machine showed above, plus a request's round trip.
bound=$((DUR * 1000 + 2 * RETRY_MS * 12 / 10 + 2 * delay + 200))
check "b did not take over before a's lease expired (${gap} ms after a's last renew, lease ${DUR} s)" \
	test "$gap" -ge $((DUR * 1000))
check "b took over within the lease duration plus two jittered retry periods and this run's delay (${gap} ms, bound ${bound} ms)" \
	test "$gap" -le "$bound"
check "replica b ready (read back, listed)" wait_for 10 is_ready wb
dt=$((($(date +%s%N) - t0) / 1000000))
diag "kill to /readyz of the new leader: ${dt} ms"
check "leaseTransitions counted" jqt '.spec.leaseTransitions >= 1' <(lease_json)
vm_create l2
check "l2 published by b" wait_for 10 has_event $C/default/l2 virtualmachine.added
check "l0 not republished by the new leader" test "$(count_of $C/default/l0 virtualmachine.added)" -eq 1
check "l1 not republished by the new leader" test "$(count_of $C/default/l1 virtualmachine.added)" -eq 1
heartbeat_from() { dump && "$EV" "$T/events.json" bodies $C |
	jq -r 'select(.change=="heartbeat") | .identity' | grep -qx "$1"; }
check "heartbeats now from b" wait_for 5 heartbeat_from wt-b

# --- a clean stop hands over at once ---
start_watcher wa2 $C -X watcher.lease.identity=wt-a "${LEASE[@]}"
sleep 2
check "a's new replica waits as standby" sh -c "! curl -sf http://$(cat "$T/wa2.addr")/readyz"
kill -TERM "$PB"
t0=$(date +%s%N)
check "replica a takes over after b's SIGTERM" wait_for 10 is_ready wa2
dt=$((($(date +%s%N) - t0) / 1000000))
check "released lease taken over quickly (${dt} ms, lease duration ${DUR} s)" test "$dt" -lt $((DUR * 1000))
check "b logged the release" grep -q "released" "$T/wb.log"
check "no ce_id published twice" no_dupes $C
check "every body validates against the schema" schema_ok $C
finish
