#!/usr/bin/env bash
# 0003-k8s-client.sh - the core Kubernetes client against a scripted HTTPS API server:
# CRUD and Status classes, hostile names, 409 retry, 429 Retry-After, 401 token rotation, paged
# lists with an expired continue token, watch drop/resume, BOOKMARK, 410 relist, malformed and
# oversized watch lines, and TLS verification against a wrong CA.
. "$(dirname "$0")/../lib.sh"

PROBE="$TBIN/k8s_probe"
SERVER="$ROOT/tests/helpers/fake_apiserver.py"
WK=demo.example.com/v1/wukongs
[ -x "$PROBE" ] || { not_ok "k8s_probe is built ($PROBE)"; finish; exit 1; }

# --- certificates: a CA, a server certificate for 127.0.0.1, and an unrelated CA ---
gen_ca() { openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj "/CN=$1" -keyout "$T/$1.key" -out "$T/$1.crt" 2>/dev/null; }
gen_ca ca && gen_ca wrong-ca
openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" -keyout "$T/server.key" -out "$T/server.csr" 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1\n' >"$T/san.ext"
openssl x509 -req -in "$T/server.csr" -CA "$T/ca.crt" -CAkey "$T/ca.key" -CAcreateserial -days 1 \
	-extfile "$T/san.ext" -out "$T/server.crt" 2>/dev/null
check "certificates generated" test -s "$T/server.crt"

echo "tok-1-abcdef" >"$T/server-tokens"
echo "tok-1-abcdef" >"$T/client-token"
# a client certificate for the client-certificate-data test
openssl req -newkey rsa:2048 -nodes -subj "/CN=probe-client" -keyout "$T/client.key" -out "$T/client.csr" 2>/dev/null
openssl x509 -req -in "$T/client.csr" -CA "$T/ca.crt" -CAkey "$T/ca.key" -CAcreateserial -days 1 \
	-out "$T/client.crt" 2>/dev/null
start_bg apiserver /usr/bin/python3 "$SERVER" --port-file "$T/port" --log "$T/requests.log" \
	--cert "$T/server.crt" --key "$T/server.key" --token-file "$T/server-tokens" --bookmark-interval 0.5 \
	--client-ca "$T/ca.crt"
wait_for 20 test -s "$T/port" || { not_ok "fake apiserver started"; finish; exit 1; }
PORT=$(cat "$T/port")
URL="https://127.0.0.1:$PORT"

kubeconfig() { # FILE CLUSTER-LINES...
	local f=$1
	shift
	{
		echo "apiVersion: v1"
		echo "kind: Config"
		echo "current-context: fake"
		echo "clusters:"
		echo "- name: fake"
		echo "  cluster:"
		echo "    server: $URL"
		for l in "$@"; do echo "    $l"; done
		echo "contexts:"
		echo "- name: fake"
		echo "  context: {cluster: fake, user: tester, namespace: default}"
		echo "users:"
		echo "- name: tester"
		echo "  user:"
		echo "    tokenFile: client-token"
	} >"$f"
}
kubeconfig "$T/kubeconfig" "certificate-authority-data: $(base64 -w0 "$T/ca.crt")"
kubeconfig "$T/kubeconfig-wrong" "certificate-authority: wrong-ca.crt"
kubeconfig "$T/kubeconfig-insecure" "insecure-skip-tls-verify: true"
{
	echo "apiVersion: v1"
	echo "current-context: cert"
	echo "clusters: [{name: c, cluster: {server: '$URL', certificate-authority: ca.crt}}]"
	echo "contexts: [{name: cert, context: {cluster: c, user: u}}]"
	echo "users:"
	echo "- name: u"
	echo "  user:"
	echo "    client-certificate-data: $(base64 -w0 "$T/client.crt")"
	echo "    client-key-data: $(base64 -w0 "$T/client.key")"
} >"$T/kubeconfig-cert"

probe() { "$PROBE" -k "$T/kubeconfig" "$@" 2>>"$T/probe.err"; }
control() { curl -sf --cacert "$T/ca.crt" -X POST -d "$1" "$URL/_control" >/dev/null; }
count_log() { # METHOD PATH-REGEX [JQ-FILTER]
	jq -c "select(.method==\"$1\" and (.path|test(\"$2\")) ${3:+and ($3)})" "$T/requests.log" | wc -l
}
watch_from() { # RV: a watch request with that resourceVersion was made
	test "$(count_log GET '/wukongs$' ".query.watch == \"1\" and .query.resourceVersion == \"$1\"")" -ge 1
}
relists_at_least() { test "$(grep -c '^RELIST_END' "$T/watch.log")" -ge "$1"; }
last_relist() { # the objects of the last complete relist
	awk '/^RELIST_BEGIN/{buf="";on=1} on{buf=buf $0 "\n"} /^RELIST_END/{on=0;last=buf} END{printf "%s", last}' "$T/watch.log"
}
expect_line() { # DESCRIPTION FILE REGEX
	if grep -qE "$3" "$2"; then ok "$1"; else not_ok "$1"; diag "got: $(head -c 600 "$2")"; fi
}

# --- CRUD and Status classes ---
probe create $WK default '{"apiVersion":"demo.example.com/v1","kind":"Wukong","metadata":{"name":"wk1","resourceVersion":"5"},"spec":{"cpu":1}}' >"$T/out" || true
expect_line "create returns 201 (client strips resourceVersion)" "$T/out" '^OK 201 .*"name":"wk1"'
probe create $WK default '{"apiVersion":"demo.example.com/v1","kind":"Wukong","metadata":{"name":"wk1"}}' >"$T/out" || true
expect_line "second create is AlreadyExists 409" "$T/out" '^ERR AlreadyExists 409 AlreadyExists'
probe get $WK default wk1 >"$T/out" || true
expect_line "get returns the object" "$T/out" '^OK 200 .*"cpu":1'
get_headers() { jq -r 'select(.method=="GET") | "\(.accept) \(.ua)"' "$T/requests.log" | sort -u; }
check "requests carry Accept: application/json and User-Agent wukong/<version>" \
	test "$(get_headers | grep -cvxE 'application/json wukong/[0-9][^ ]*')" -eq 0 -a "$(get_headers | wc -l)" -ge 1
check "writes carry no Expect header and a JSON content type" \
	test "$(jq -r 'select(.method=="POST" and (.path|test("wukongs$"))) | "\(.expect) \(.ctype)"' "$T/requests.log" | sort -u)" = "null application/json"
probe get $WK default nope >"$T/out" || true
expect_line "get of a missing object is NotFound 404 with the Status message" "$T/out" \
	'^ERR NotFound 404 NotFound .*wukongs "nope" not found'
RV=$(probe get $WK default wk1 | sed -n 's/.*"resourceVersion":"\([0-9]*\)".*/\1/p')
probe replace $WK default wk1 '{"apiVersion":"demo.example.com/v1","kind":"Wukong","metadata":{"name":"wk1","namespace":"default","resourceVersion":"1"},"spec":{"cpu":2}}' >"$T/out" || true
expect_line "PUT with a stale resourceVersion is Conflict 409 (not AlreadyExists)" "$T/out" '^ERR Conflict 409 Conflict'
probe replace $WK default wk1 "{\"apiVersion\":\"demo.example.com/v1\",\"kind\":\"Wukong\",\"metadata\":{\"name\":\"wk1\",\"namespace\":\"default\",\"resourceVersion\":\"$RV\"},\"spec\":{\"cpu\":2}}" >"$T/out" || true
expect_line "PUT with the current resourceVersion succeeds" "$T/out" '^OK 200 .*"cpu":2'
probe patch $WK default wk1 merge '{"status":{"phase":"Running","observedGeneration":2}}' status >"$T/out" || true
expect_line "merge-patch on /status" "$T/out" '^OK 200 .*"phase":"Running"'
check "status patch went to the /status subresource with merge-patch" \
	test "$(count_log PATCH '/wukongs/wk1/status$')" -eq 1
probe patch $WK default wk1 json '[{"op":"test","path":"/spec/cpu","value":2},{"op":"replace","path":"/spec/cpu","value":3}]' >"$T/out" || true
expect_line "json-patch with a passing test op" "$T/out" '^OK 200 .*"cpu":3'
probe patch $WK default wk1 json '[{"op":"test","path":"/spec/cpu","value":99}]' >"$T/out" || true
expect_line "json-patch with a failing test op is Invalid 422" "$T/out" '^ERR Invalid 422 Invalid'
probe patch $WK default wk1 strategic '{"spec":{"cpu":4}}' >"$T/out" || true
expect_line "strategic merge patch on a CR is UnsupportedMediaType 415" "$T/out" '^ERR UnsupportedMediaType 415'

# --- hostile names never reach the server ---
before=$(wc -l <"$T/requests.log")
probe get $WK default '../../api/v1/secrets' >"$T/out" || true
probe get $WK '../kube-system' wk1 >>"$T/out" || true
probe delete $WK default 'wk1/status' >>"$T/out" || true
probe get cluster:v1/nodes - 'a%2F..' >>"$T/out" || true
check "hostile names and namespaces are refused locally" test "$(grep -c '^ERR Refused 0 - attempts=0' "$T/out")" -eq 4
check "no request was made for them" test "$(wc -l <"$T/requests.log")" -eq "$before"
check "nothing about secrets reached the server" bash -c "! grep -q secrets '$T/requests.log'"

# --- read-modify-write retried on 409 Conflict ---
control '{"faults":[{"method":"PUT","path":"/wukongs/wk1","code":409,"reason":"Conflict","count":1}]}'
probe update $WK default wk1 owner probe >"$T/out" || true
expect_line "update succeeds after one injected Conflict" "$T/out" '^OK 200 .*"owner":"probe"'
expect_line "the object was re-read and mutated twice" "$T/out" '^UPDATE mutations=2'

# --- 429 with Retry-After, 503 with Retry-After on a write ---
control '{"faults":[{"method":"GET","path":"/wukongs/wk1","code":429,"reason":"TooManyRequests","retry_after":"1","count":2}]}'
t0=$(date +%s%N)
probe get $WK default wk1 >"$T/out" || true
t1=$(date +%s%N)
expect_line "get succeeds after two 429s" "$T/out" '^OK 200'
check "Retry-After: 1 was honoured twice (>= 2 s)" test $(((t1 - t0) / 1000000)) -ge 2000
control '{"faults":[{"method":"PATCH","path":"/wukongs/wk1","code":503,"reason":"ServiceUnavailable","retry_after":"1","count":1}]}'
probe patch $WK default wk1 merge '{"metadata":{"labels":{"a":"b"}}}' >"$T/out" || true
expect_line "PATCH is retried after a 503 carrying Retry-After" "$T/out" '^OK 200 .*"a":"b"'
control '{"faults":[{"method":"PATCH","path":"/wukongs/wk1","code":500,"reason":"InternalError","count":1}]}'
probe patch $WK default wk1 merge '{"metadata":{"labels":{"a":"c"}}}' >"$T/out" || true
expect_line "PATCH is not retried after a plain 500 (it may have applied)" "$T/out" '^ERR ServerError 500 InternalError attempts=1'
control '{"faults":[{"method":"GET","path":"/wukongs/wk1","code":429,"count":20}]}'
probe -r 2 get $WK default wk1 >"$T/out" || true
expect_line "429 retries are bounded" "$T/out" '^ERR TooManyRequests 429 .* attempts=3'
control '{"clear":true}'

# --- 401: the token file is re-read once and the request retried ---
cat >"$T/script" <<EOF
get $WK default wk1
wait-file $T/rotated
get $WK default wk1
EOF
start_bg probe401 "$PROBE" -k "$T/kubeconfig" script "$T/script"
P401=$LAST_PID
wait_for 10 grep -q '^OK' "$T/probe401.log"
echo "tok-2-ghijkl" >"$T/server-tokens"
echo "tok-2-ghijkl" >"$T/client-token.new" && mv "$T/client-token.new" "$T/client-token"
touch "$T/rotated"
wait "$P401"
check "both gets succeed across a token rotation" test "$(grep -c '^OK 200' "$T/probe401.log")" -eq 2
check "the server saw a 401 and then a success" \
	test "$(jq -r 'select(.path=="/apis/demo.example.com/v1/namespaces/default/wukongs/wk1" and .method=="GET") | .code' "$T/requests.log" | tail -2 | tr '\n' ' ')" = "401 200 "
check "the token never appears in the client's logs" bash -c "! grep -q 'tok-[12]' '$T/probe401.log' '$T/probe.err'"

# --- an exec credential plugin (issue 16): run at start, re-run on a 401, token never logged ---
echo "tok-2-ghijkl" >"$T/exec-token"
{
	echo "apiVersion: v1"
	echo "current-context: x"
	echo "clusters: [{name: c, cluster: {server: '$URL', certificate-authority: ca.crt}}]"
	echo "contexts: [{name: x, context: {cluster: c, user: u}}]"
	echo "users:"
	echo "- name: u"
	echo "  user:"
	echo "    exec:"
	echo "      apiVersion: client.authentication.k8s.io/v1"
	echo "      command: $ROOT/tests/helpers/exec-credential.sh"
	echo "      args: ['$T/exec-token', '$T/exec-count']"
	echo "      interactiveMode: Never"
} >"$T/kubeconfig-exec"
cat >"$T/script" <<EOF
get $WK default wk1
wait-file $T/rotated2
get $WK default wk1
EOF
control '{"clear":true}'
start_bg probeexec "$PROBE" -k "$T/kubeconfig-exec" script "$T/script"
PEX=$LAST_PID
wait_for 10 grep -q '^OK' "$T/probeexec.log"
check "exec plugin: authenticated with the plugin's token" grep -q '^OK 200' "$T/probeexec.log"
echo "tok-3-mnopqr" >"$T/server-tokens"
echo "tok-3-mnopqr" >"$T/exec-token"
touch "$T/rotated2"
wait "$PEX"
check "exec plugin: both gets succeed across a rotation (401 re-runs the plugin)" \
	test "$(grep -c '^OK 200' "$T/probeexec.log")" -eq 2
check "exec plugin: the server saw a 401 and then a success" \
	test "$(jq -r 'select(.path=="/apis/demo.example.com/v1/namespaces/default/wukongs/wk1" and .method=="GET") | .code' "$T/requests.log" | tail -2 | tr '\n' ' ')" = "401 200 "
check "exec plugin: ran twice (start, 401), not per request" test "$(wc -l <"$T/exec-count")" -eq 2
check "exec plugin: the token never appears in the client's logs" bash -c "! grep -q 'tok-[23]' '$T/probeexec.log' '$T/probe.err'"
echo "tok-2-ghijkl" >"$T/server-tokens" # the token-file client of the tests below

# --- paged list, and a continue token that expires half way ---
for i in 2 3 4 5 6 7 8; do
	probe create $WK default "{\"apiVersion\":\"demo.example.com/v1\",\"kind\":\"Wukong\",\"metadata\":{\"name\":\"wk$i\",\"labels\":{\"n\":\"$i\"}}}" >/dev/null
done
probe list $WK default limit=3 >"$T/out" || true
expect_line "list follows continue over 3 pages" "$T/out" '^LIST items=8 pages=3 '
check "the list has every object once" test "$(grep -c '^ITEM wk' "$T/out")" -eq 8
check "continue tokens were sent" test "$(count_log GET '/wukongs$' '.query.continue != null')" -ge 2
control '{"expire_continue":true}'
probe list $WK default limit=3 >"$T/out" || true
expect_line "an expired continue token restarts the list, which completes" "$T/out" '^LIST items=8 '
check "the server answered 410 to the stale continue" test "$(count_log GET '/wukongs$' '.code == 410')" -eq 1
probe list $WK - label=n=5 >"$T/out" || true
expect_line "all-namespaces list with a label selector" "$T/out" '^LIST items=1 .*'

# --- watch: list, events, drop and resume, bookmark, 410 relist, bad lines ---
start_bg watch "$PROBE" -k "$T/kubeconfig" watch $WK default timeout=60 stream-timeout=3
WPID=$LAST_PID
wait_for 10 grep -q '^RELIST_END' "$T/watch.log" || not_ok "watch listed"
check "the initial list delivered every object between RELIST markers" \
	test "$(sed -n '/^RELIST_BEGIN/,/^RELIST_END/p' "$T/watch.log" | grep -c '^EV ADDED')" -eq 8
control '{"watch_drop_after":2}'
probe create $WK default '{"apiVersion":"demo.example.com/v1","kind":"Wukong","metadata":{"name":"w-a"}}' >/dev/null
probe create $WK default '{"apiVersion":"demo.example.com/v1","kind":"Wukong","metadata":{"name":"w-b"}}' >/dev/null
probe create $WK default '{"apiVersion":"demo.example.com/v1","kind":"Wukong","metadata":{"name":"w-c"}}' >/dev/null
wait_for 15 grep -q 'EV ADDED default/w-c' "$T/watch.log"
check "events after a dropped stream all arrive, once each" \
	test "$(grep -cE 'EV ADDED default/w-[abc] ' "$T/watch.log")" -eq 3
RVB=$(sed -n 's/^EV ADDED default\/w-b rv=\([0-9]*\)$/\1/p' "$T/watch.log")
check "the client reconnected from the last resourceVersion it saw ($RVB)" watch_from "$RVB"
# a write to another resource moves the global resourceVersion; a BOOKMARK carries it
CMRV=$(probe create v1/configmaps default '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"cm1"}}' | sed -n 's/.*"resourceVersion":"\([0-9]*\)".*/\1/p')
wait_for 10 watch_from "$CMRV"
check "a BOOKMARK moved the watch to resourceVersion $CMRV" watch_from "$CMRV"
# garbage and unknown types are skipped, the stream goes on
control '{"inject":["this is not json","{\"type\":\"RENAMED\",\"object\":{}}"]}'
sleep 0.3
probe create $WK default '{"apiVersion":"demo.example.com/v1","kind":"Wukong","metadata":{"name":"w-d"}}' >/dev/null
wait_for 10 grep -q 'EV ADDED default/w-d' "$T/watch.log"
check "an event after two malformed lines is still delivered" grep -q 'EV ADDED default/w-d' "$T/watch.log"
# compaction: the next watch gets ERROR 410 and the client relists
probe delete $WK default w-a >/dev/null
wait_for 10 grep -q 'EV DELETED default/w-a' "$T/watch.log"
control '{"bookmarks":false,"compact":true}' # (a bookmark would carry the watch past the compaction)
wait_for 15 relists_at_least 2
check "ERROR 410 leads to a relist" relists_at_least 2
check "the relist has the live objects" bash -c "$(declare -f last_relist); T=$T; last_relist | grep -q 'EV ADDED default/w-b '"
check "the relist no longer has the deleted object" bash -c "$(declare -f last_relist); T=$T; ! last_relist | grep -q 'default/w-a '"
# an oversized line (1 MiB + 1) makes the client drop the stream and relist
big=$(head -c 1048577 /dev/zero | tr '\0' 'x')
printf '{"inject":["%s"]}' "$big" >"$T/big.json"
curl -sf --cacert "$T/ca.crt" -X POST --data-binary @"$T/big.json" "$URL/_control" >/dev/null
wait_for 15 relists_at_least 3
check "an oversized line leads to a relist" relists_at_least 3
kill -TERM "$WPID" 2>/dev/null
wait "$WPID" 2>/dev/null
grep -v '^EV\|^RELIST' "$T/watch.log" | head -5 | sed 's/^/# /'

# a shorter watch run to read its counters
start_bg watch2 "$PROBE" -k "$T/kubeconfig" watch $WK default timeout=6 stream-timeout=2
W2=$LAST_PID
wait_for 10 grep -q '^RELIST_END' "$T/watch2.log"
control '{"inject":["{\"type\":\"ADDED\"","garbage"]}'
sleep 0.5
probe create $WK default '{"apiVersion":"demo.example.com/v1","kind":"Wukong","metadata":{"name":"w-e"}}' >/dev/null
wait "$W2"
expect_line "watch counters: malformed lines counted" "$T/watch2.log" '^WATCH .* malformed=2 '
expect_line "watch counters: events and bookmarks" "$T/watch2.log" '^WATCH events=[0-9]+ relists=1 restarts=[1-9]'
expect_line "metrics: relists and malformed lines counted" "$T/watch2.log" '^METRICS relists=1 malformed_json=2$'

# a relist asked for from inside the callback, once during the list and once while streaming
"$PROBE" -k "$T/kubeconfig" watch $WK default timeout=3 stream-timeout=10 relist-after=1 >"$T/relist1.log" 2>&1 || true
check "a relist requested during the initial list runs a fresh list after it" \
	test "$(grep -c '^RELIST_END' "$T/relist1.log")" -eq 2
N=$(grep -c '^ITEM' <(probe list $WK default))
start_bg relist2 "$PROBE" -k "$T/kubeconfig" watch $WK default timeout=4 stream-timeout=10 relist-after=$((N + 1))
R2=$LAST_PID
wait_for 10 grep -q '^RELIST_END' "$T/relist2.log"
probe create $WK default '{"apiVersion":"demo.example.com/v1","kind":"Wukong","metadata":{"name":"w-f"}}' >/dev/null
wait "$R2"
check "the event that asked for it came from the stream" grep -q '^EV ADDED default/w-f' "$T/relist2.log"
check "a relist requested while streaming cuts the stream and lists again" \
	test "$(grep -c '^RELIST_END' "$T/relist2.log")" -eq 2 -a "$(grep -c '^RELIST_REQUESTED' "$T/relist2.log")" -eq 1

# --- response body cap ---
probe -m 2000 list $WK default >"$T/out" || true
expect_line "a list page past the body cap fails clearly" "$T/out" '^ERR TooBig 0 .*exceeds the 2000-byte cap'
probe -m 2000 get $WK default wk1 >"$T/out" || true
expect_line "a small object fits under the same cap" "$T/out" '^OK 200'

# --- in-cluster settings (service-account directory given instead of the default one) ---
mkdir -p "$T/sa"
cp "$T/ca.crt" "$T/sa/ca.crt"
cp "$T/client-token" "$T/sa/token"
echo default >"$T/sa/namespace"
KUBERNETES_SERVICE_HOST=127.0.0.1 KUBERNETES_SERVICE_PORT=$PORT "$PROBE" -i "$T/sa" get $WK default wk1 >"$T/out" 2>&1 || true
expect_line "in-cluster config (env + token + ca.crt) reaches the server" "$T/out" '^OK 200'

# --- TLS ---
"$PROBE" -k "$T/kubeconfig-cert" get $WK default wk1 >"$T/out" 2>&1 || true
expect_line "a client certificate from client-certificate-data/client-key-data authenticates" "$T/out" '^OK 200'
check "the server saw the client certificate's CN" \
	test "$(jq -r 'select(.auth|startswith("cert:")) | .auth' "$T/requests.log" | sort -u)" = "cert:probe-client"
check "the client key never appears in the client's output" bash -c "! grep -q 'PRIVATE KEY' '$T/out'"
before=$(count_log GET '/wukongs/wk1$')
"$PROBE" -k "$T/kubeconfig-wrong" get $WK default wk1 >"$T/out" 2>&1 || true
expect_line "a server certificate from another CA is refused" "$T/out" '^ERR Transport 0 .*(certificate|SSL)'
check "no request got through with the wrong CA" test "$(count_log GET '/wukongs/wk1$')" -eq "$before"
"$PROBE" -k "$T/kubeconfig-insecure" get $WK default wk1 >"$T/out" 2>"$T/insecure.err" || true
expect_line "insecure-skip-tls-verify: true connects anyway" "$T/out" '^OK 200'
expect_line "and warns about it" "$T/insecure.err" 'insecure-skip-tls-verify'

check "no sanitizer report from any client run" \
	bash -c "! grep -qE 'ERROR: AddressSanitizer|runtime error:' '$T'/*.log '$T'/*.err '$T'/out"
finish
