#!/usr/bin/env bash
# 0052-progress-discovery.sh - issue 16 item 8: wukong-progress finds virt-handler's metrics
# endpoints as on a real cluster - the kubevirt-prometheus-metrics Service's EndpointSlices
# (discovery.k8s.io/v1, served here by tests/helpers/fake_apiserver.py) - keeps only virt-handler
# pods, scrapes them over HTTPS verified against a KubeVirt CA file with the certificate's DNS name
# (the certificate has no IP address, as upstream's), concurrently on its own thread: a node that
# never answers costs one timeout per round and never stalls /healthz; a wrong CA fails the scrape.
. "$(dirname "$0")/../lib.sh"

API="$ROOT/tests/helpers/fake_apiserver.py"
VH="$ROOT/tests/helpers/tls_metrics_server.py"
# certificates: the API server's (IP 127.0.0.1), KubeVirt's CA and virt-handler's (DNS names only)
gen_ca() { openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj "/CN=$1" -keyout "$T/$1.key" -out "$T/$1.crt" 2>/dev/null; }
gen_ca api-ca && gen_ca kubevirt-ca && gen_ca other-ca
openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" -keyout "$T/api.key" -out "$T/api.csr" 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1\n' >"$T/api.ext"
openssl x509 -req -in "$T/api.csr" -CA "$T/api-ca.crt" -CAkey "$T/api-ca.key" -CAcreateserial -days 1 \
	-extfile "$T/api.ext" -out "$T/api.crt" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -subj "/CN=kubevirt.io:system:node:virt-handler" -keyout "$T/vh.key" \
	-out "$T/vh.csr" 2>/dev/null
printf 'subjectAltName=DNS:virt-handler,DNS:virt-handler.kubevirt,DNS:virt-handler.kubevirt.svc,DNS:virt-handler.kubevirt.svc.cluster.local\n' >"$T/vh.ext"
openssl x509 -req -in "$T/vh.csr" -CA "$T/kubevirt-ca.crt" -CAkey "$T/kubevirt-ca.key" -CAcreateserial \
	-days 1 -extfile "$T/vh.ext" -out "$T/vh.crt" 2>/dev/null
check "certificates generated (virt-handler's without IP SANs)" bash -c "! openssl x509 -in '$T/vh.crt' -noout -text | grep -q 'IP Address'"

echo "api-token-0052" >"$T/tokens"
start_bg api /usr/bin/python3 "$API" --port-file "$T/api.port" --log "$T/api-requests.log" \
	--cert "$T/api.crt" --key "$T/api.key" --token-file "$T/tokens"
start_bg vh1 /usr/bin/python3 "$VH" --cert "$T/vh.crt" --key "$T/vh.key" --port-file "$T/vh1.port" --log "$T/vh1-req.log"
start_bg vh2 /usr/bin/python3 "$VH" --cert "$T/vh.crt" --key "$T/vh.key" --port-file "$T/vh2.port" --log "$T/vh2-req.log" --hang
wait_for 20 test -s "$T/api.port" && wait_for 20 test -s "$T/vh1.port" && wait_for 20 test -s "$T/vh2.port" ||
	{ not_ok "helpers started"; finish; exit 1; }
URL="https://127.0.0.1:$(cat "$T/api.port")"
cat >"$T/kubeconfig" <<YAML
apiVersion: v1
current-context: x
clusters: [{name: c, cluster: {server: '$URL', certificate-authority: api-ca.crt}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
users: [{name: u, user: {token: api-token-0052}}]
YAML
post() { curl -sf --cacert "$T/api-ca.crt" -H "Authorization: Bearer api-token-0052" -H 'Content-Type: application/json' -X POST -d "$2" "$URL$1" >/dev/null; }
# one slice per port (a cluster has one port, 8443; here each stand-in listens on its own)
slice() { # NAME PORT ENDPOINTS-JSON
	post /apis/discovery.k8s.io/v1/namespaces/kubevirt/endpointslices \
		"{\"apiVersion\":\"discovery.k8s.io/v1\",\"kind\":\"EndpointSlice\",\"metadata\":{\"name\":\"$1\",\"namespace\":\"kubevirt\",\"labels\":{\"kubernetes.io/service-name\":\"kubevirt-prometheus-metrics\"}},\"addressType\":\"IPv4\",\"ports\":[{\"name\":\"metrics\",\"port\":$2,\"protocol\":\"TCP\"}],\"endpoints\":$3}"
}
check "EndpointSlice of the fast virt-handler (and a virt-controller endpoint to skip)" slice kpm-a "$(cat "$T/vh1.port")" \
	'[{"addresses":["127.0.0.1"],"conditions":{"ready":true},"nodeName":"node-1","targetRef":{"kind":"Pod","name":"virt-handler-aaaaa","namespace":"kubevirt"}},{"addresses":["127.0.0.1"],"conditions":{"ready":true},"targetRef":{"kind":"Pod","name":"virt-controller-bbbbb-ccccc","namespace":"kubevirt"}}]'
check "EndpointSlice of a virt-handler that never answers" slice kpm-b "$(cat "$T/vh2.port")" \
	'[{"addresses":["127.0.0.1"],"conditions":{"ready":true},"nodeName":"node-2","targetRef":{"kind":"Pod","name":"virt-handler-ddddd","namespace":"kubevirt"}}]'
check "a slice of another Service is not read" post /apis/discovery.k8s.io/v1/namespaces/kubevirt/endpointslices \
	'{"apiVersion":"discovery.k8s.io/v1","kind":"EndpointSlice","metadata":{"name":"other","namespace":"kubevirt","labels":{"kubernetes.io/service-name":"virt-api"}},"addressType":"IPv4","ports":[{"name":"metrics","port":1}],"endpoints":[{"addresses":["127.0.0.1"],"targetRef":{"kind":"Pod","name":"virt-handler-zzzzz"}}]}'

start_kafka
pg() { # NAME CA-FILE
	start_bg "$1" "$BIN/wukong-progress" -X kafka.bootstrap.servers="$BOOTSTRAP" -X kube.config="$T/kubeconfig" \
		-X cluster.id=local -X consumer.group="pg-$$-$1" -X http.addr-file="$T/$1.addr" -X progress.relist=false \
		-X progress.kubevirt-namespace=kubevirt -X progress.metrics-ca-file="$2" \
		-X progress.scrape-interval=500ms -X progress.scrape-timeout=1s -X progress.discovery-interval=2s
	wait_for 20 test -s "$T/$1.addr"
}
metric() { curl -sf --max-time 2 "http://$(cat "$T/$1.addr")/metrics" | grep -E "^$2" | head -1 | awk '{print $NF}'; }
pg pg1 "$T/kubevirt-ca.crt"
check "wukong-progress up" test -s "$T/pg1.addr"
check "two virt-handler endpoints discovered (virt-controller and the other Service skipped)" \
	wait_for 20 bash -c "[ \"\$(curl -sf http://$(cat "$T/pg1.addr")/metrics | grep '^wukong_progress_scrape_targets ' | awk '{print \$NF}')\" = 2 ]"
check "the fast endpoint is scraped over HTTPS, verified (ok scrapes)" \
	wait_for 20 bash -c "v=\$(curl -sf http://$(cat "$T/pg1.addr")/metrics | grep 'wukong_progress_scrapes_total{result=\"ok\"}' | awk '{print \$NF}'); [ \"\${v%.*}\" -ge 2 ] 2>/dev/null"
check "... under the certificate's name (Host and SNI virt-handler.kubevirt.svc, not the IP)" \
	grep -q "GET /metrics host=virt-handler.kubevirt.svc:$(cat "$T/vh1.port") sni=virt-handler.kubevirt.svc" "$T/vh1-req.log"
check "the endpoint that never answers counts as errors" \
	wait_for 20 bash -c "v=\$(curl -sf http://$(cat "$T/pg1.addr")/metrics | grep 'wukong_progress_scrapes_total{result=\"error\"}' | awk '{print \$NF}'); [ \"\${v%.*}\" -ge 2 ] 2>/dev/null"
slow=0
for i in $(seq 20); do
	curl -sf --max-time 0.3 "http://$(cat "$T/pg1.addr")/healthz" >/dev/null || slow=$((slow + 1))
	sleep 0.1
done
check "/healthz answers within 300 ms throughout (the hanging node never stalls the loop): $slow slow of 20" [ "$slow" -eq 0 ]
n1=$(grep -c 'GET /metrics' "$T/vh1-req.log")
sleep 2
n2=$(grep -c 'GET /metrics' "$T/vh1-req.log")
check "the fast node keeps being scraped every round while the other hangs ($n1 -> $n2)" [ "$n2" -gt "$n1" ]
check "the API server saw the EndpointSlice list with the Service's label selector" \
	grep -q 'kubernetes.io/service-name=kubevirt-prometheus-metrics' "$T/api-requests.log"

# a wrong CA: the scrape fails (never silently unverified)
pg pg2 "$T/other-ca.crt"
sleep 3
v=$(metric pg2 'wukong_progress_scrapes_total\{result="ok"\}')
check "with a CA that did not sign virt-handler's certificate no scrape succeeds (ok=${v:-0})" bash -c "[ -z '$v' ] || [ '${v%.*}' = 0 ]"
check "... and it says why" grep -q "scrape 'https://virt-handler.kubevirt.svc" "$T/pg2.log"
finish
