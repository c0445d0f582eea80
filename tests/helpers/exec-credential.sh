#!/bin/sh
# exec-credential.sh TOKEN-FILE [COUNT-FILE [TTL-SECONDS]] - a kubeconfig exec credential plugin for
# the tests (what aws eks get-token, gke-gcloud-auth-plugin or kubelogin are on a real cluster):
# prints a client.authentication.k8s.io ExecCredential (the apiVersion the client asked for in
# KUBERNETES_EXEC_INFO) whose token is TOKEN-FILE's content, with an expirationTimestamp TTL
# seconds ahead when given; appends a line to COUNT-FILE on every run.
tok=$(cat "$1") || exit 1
[ -n "$2" ] && echo run >>"$2"
exp=
[ -n "$3" ] && exp=",\"expirationTimestamp\":\"$(date -u -d "+$3 sec" +%Y-%m-%dT%H:%M:%SZ)\""
api=$(printf '%s' "$KUBERNETES_EXEC_INFO" | sed -n 's/.*"apiVersion":"\([^"]*\)".*/\1/p')
printf '{"kind":"ExecCredential","apiVersion":"%s","status":{"token":"%s"%s}}\n' \
	"${api:-client.authentication.k8s.io/v1}" "$tok" "$exp"
