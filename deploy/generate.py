#!/usr/bin/env python3
"""generate.py - writes the kustomize install bundle under deploy/ from the one table below.

    python3 deploy/generate.py            # rewrite deploy/base and deploy/overlays/*
    python3 deploy/generate.py --check    # exit 1 if a file differs (tests/integration/0120-deploy-bundle.sh)

Everything per service lives in SERVICES: its Kafka inputs/outputs and group (the KafkaUser ACLs),
its API calls (the RBAC rules: read from the code and confirmed by the simulator's record of the
verbs each identity used, tests/integration/0121-rbac-migration.sh, 0123-rbac-clone-status.sh), its resources (docs/deploy.md
says where each figure comes from). Edit here, run, commit both.
"""
import json, os, sys, yaml

ROOT = os.path.dirname(os.path.abspath(__file__))
NS = "wukong"
IMAGE = "ghcr.io/novasphere/wukong:0.1.0"  # built from Containerfile; override with kustomize images:
PORT = 9090
PRIORITY = "wukong-critical"
PREFIX = "wukong"        # topics.prefix
CLUSTER = "local"        # cluster.id; set per cluster in the ConfigMaps (overlay patch)
KAFKA_CLUSTER = "wukong"  # strimzi.io/cluster of the KafkaTopics/KafkaUsers
BOOTSTRAP = "wukong-kafka-bootstrap.kafka.svc:9092"
AUDIT_KEY_SECRET = "wukong-audit-key"  # key "key": 32-256 random bytes (docs/audit.md "Keys")
AUDIT_KEY_DIR = "/etc/wukong/audit-key"

# Tenants (docs/security.md "Onboarding a tenant"): each submits on its own topic
# wukong.requests.t.<tenant>, which only its KafkaUser wukong-tenant-<tenant> may write, and is
# authorized as this Kubernetes identity by a SubjectAccessReview per submission. One example;
# replace with your own (a DNS-1123 label of at most 40 bytes each).
TENANTS = {
    "example": {"user": "system:serviceaccount:example:wukong-submitter"},
}
TENANT_TOPIC = "requests.t."   # authz.tenant-topic-prefix
ID_KEY_SECRET = "wukong-id-key"  # the executors' HMAC key for audit ids (docs/security.md)

KV = "kubevirt.io"
R_ALL_READ = ["get", "list", "watch"]

# Resources: tests/bench/deploy-footprint.sh at 1,000 and 10,000 VMs (docs/deploy.md, "Resources"):
# memory requests at the 10,000-VM resident set rounded up, limits about twice that; CPU requests
# above the measured averages (6-21 millicores) to leave room for relist bursts.
# rules: (apiGroup, resources, verbs[, scope]) where scope "ns" puts the rule into a Role in NS.
SERVICES = {
    "watcher": dict(
        kind="Deployment", replicas=2, lease=True,
        cpu="50m", mem="64Mi", cpu_lim="1", mem_lim="256Mi",
        consumes=[], group=None, rebuild_group="wukong-watcher-rebuild-",
        produces=["events", "clusters"],
        rules=[
            ("vm.novasphere.dev", ["wukongs"], ["list", "watch"]),
            # the registry heartbeat: KubeVirt's version and gates (docs/multicluster.md)
            (KV, ["kubevirts"], ["list"]),
            (KV, ["virtualmachines", "virtualmachineinstances", "virtualmachineinstancemigrations"], ["list", "watch"]),
            ("snapshot.kubevirt.io", ["virtualmachinesnapshots"], ["list", "watch"]),
            ("clone.kubevirt.io", ["virtualmachineclones"], ["list", "watch"]),
            ("migrations.kubevirt.io", ["migrationpolicies"], ["list", "watch"]),
            ("", ["nodes"], ["list", "watch"]),
            ("metrics.k8s.io", ["nodes"], ["list"]),
            ("coordination.k8s.io", ["leases"], ["get", "create", "update"], "ns"),
        ],
        egress_extra=[]),
    "status": dict(
        kind="Deployment", replicas=2, lease=True,
        cpu="50m", mem="32Mi", cpu_lim="1", mem_lim="256Mi",
        consumes=["status"], group="wukong-status", produces=["dlq"],
        rules=[
            ("vm.novasphere.dev", ["wukongs"], ["get", "list"]),
            ("vm.novasphere.dev", ["wukongs/status"], ["patch"]),
            ("coordination.k8s.io", ["leases"], ["get", "create", "update"], "ns"),
        ],
        egress_extra=[]),
    "migrator": dict(
        kind="Deployment", replicas=2, lease=True,
        cpu="100m", mem="384Mi", cpu_lim="1", mem_lim="768Mi",
        # the router reads wukong.requests (migrator.shared-requests: false below)
        consumes=["events", "requests." + CLUSTER], group="wukong-migrator-" + CLUSTER,
        produces=["status", "audit", "progress", "dlq"],
        rules=[
            ("vm.novasphere.dev", ["wukongs"], ["get", "list"]),
            (KV, ["virtualmachines"], ["get", "list", "patch"]),
            (KV, ["virtualmachineinstances"], ["get", "list"]),
            (KV, ["virtualmachineinstancemigrations"], ["get", "list", "create", "delete"]),
            (KV, ["kubevirts"], ["list"]),
            ("migrations.kubevirt.io", ["migrationpolicies"], ["list", "create", "delete"]),
            ("", ["nodes"], ["get", "list"]),
            ("", ["namespaces"], ["get"]),
            ("", ["persistentvolumeclaims"], ["get", "delete"]),
            ("", ["persistentvolumes"], ["get"]),
            ("storage.k8s.io", ["storageclasses"], ["get"]),
            # a cold move copies node-local disks: CDI clone DataVolumes in the VM's own
            # namespace (a same-namespace clone needs no datavolumes/source grant:
            # authorize_utils.go CanUserClonePVC)
            ("cdi.kubevirt.io", ["datavolumes"], ["get", "list", "create", "delete"]),
            ("", ["events"], ["create"]),
            ("coordination.k8s.io", ["leases"], ["get", "create", "update"], "ns"),
            # who may ask: a SubjectAccessReview per tenant submission (core/wk_authz_io.c)
            ("authorization.k8s.io", ["subjectaccessreviews"], ["create"]),
        ],
        egress_extra=[], authz=True),
    "cloner": dict(
        kind="Deployment", replicas=2, lease=True,
        cpu="50m", mem="96Mi", cpu_lim="1", mem_lim="256Mi",
        consumes=["events", "requests." + CLUSTER], group="wukong-cloner",
        produces=["status", "audit", "progress", "dlq"],
        rules=[
            ("vm.novasphere.dev", ["wukongs"], ["get", "list", "create"]),
            (KV, ["virtualmachines"], ["get", "create", "update", "patch", "delete"]),
            (KV, ["virtualmachineinstances"], ["get"]),
            (KV, ["kubevirts"], ["list"]),
            ("snapshot.kubevirt.io", ["virtualmachinesnapshots"], ["get", "list", "create", "delete"]),
            # the per-volume route (a disk selection, another namespace): a VolumeSnapshot of
            # each kept claim, a DataVolume cloned from it; CDI's webhook checks create on
            # datavolumes/source in the source namespace for a cross-namespace clone
            # (docs/cloner.md: narrow it with RoleBindings per source namespace)
            ("snapshot.storage.k8s.io", ["volumesnapshots"], ["get", "create", "delete"]),
            ("cdi.kubevirt.io", ["datavolumes"], ["get", "create", "delete"]),
            ("cdi.kubevirt.io", ["datavolumes/source"], ["create"]),
            ("snapshot.kubevirt.io", ["virtualmachinesnapshotcontents"], ["get"]),
            ("clone.kubevirt.io", ["virtualmachineclones"], ["get", "list", "create", "delete"]),
            ("", ["persistentvolumeclaims"], ["get", "list", "delete"]),
            ("", ["events"], ["create"]),
            ("coordination.k8s.io", ["leases"], ["get", "create", "update"], "ns"),
            ("authorization.k8s.io", ["subjectaccessreviews"], ["create"]),
        ],
        egress_extra=[], authz=True),
    "progress": dict(
        kind="Deployment", replicas=2, lease=True,
        cpu="100m", mem="320Mi", cpu_lim="1", mem_lim="640Mi",
        consumes=["events", "progress"], group="wukong-progress", produces=["progress", "status", "dlq"],
        rules=[
            ("vm.novasphere.dev", ["wukongs"], ["list"]),
            (KV, ["virtualmachineinstances", "virtualmachineinstancemigrations"], ["list"]),
            (KV, ["kubevirts"], ["list"]),
            ("", ["nodes"], ["list"]),
            # KubeVirt's metrics endpoints (kubevirt-prometheus-metrics, namespace kubevirt); a
            # Role there would be narrower: left as a ClusterRole rule for now (docs/deploy.md)
            ("discovery.k8s.io", ["endpointslices"], ["list"]),
            ("coordination.k8s.io", ["leases"], ["get", "create", "update"], "ns"),
        ],
        egress_extra=["virt-handler"]),
    # Merged after the footprint measurement: its figures are the cloner's, an estimate (docs).
    "provisioner": dict(
        kind="Deployment", replicas=2, lease=True,
        cpu="50m", mem="96Mi", cpu_lim="1", mem_lim="256Mi",
        consumes=["events"], group="wukong-provisioner", produces=["status", "dlq"],
        rules=[
            ("vm.novasphere.dev", ["wukongs"], ["get", "list"]),
            (KV, ["virtualmachines"], ["get", "create", "patch", "delete"]),
            (KV, ["virtualmachineinstances"], ["get"]),
            (KV, ["kubevirts"], ["list"]),
            ("cdi.kubevirt.io", ["datavolumes"], ["get", "delete"]),
            ("storage.k8s.io", ["storageclasses"], ["list"]),
            ("", ["events"], ["create"]),
            ("coordination.k8s.io", ["leases"], ["get", "create", "update"], "ns"),
        ],
        egress_extra=[]),
    # The multi-cluster router (docs/multicluster.md): Kafka only, no API server. Two replicas in
    # one consumer group: Kafka gives each partition to one of them, no Lease needed.
    "router": dict(
        kind="Deployment", replicas=2, lease=False,
        cpu="50m", mem="64Mi", cpu_lim="1", mem_lim="256Mi",
        consumes=["requests"], group="wukong-router",
        # group-less readers: the registry, and the audit log for fan-out results
        reads=[("clusters", "wukong-cluster-registry-reader"), ("audit", "wukong-router-audit-reader")],
        produces=["requests.", "audit", "progress", "dlq"],
        rules=[],
        egress_extra=[], no_apiserver=True),
    # The read-only web console (docs/console.md): no API server, no consumer group. Each replica
    # reads the four topics itself (assign(), nothing committed), so both hold the whole view and
    # the Service may send a browser to either; its HTTP port serves the page and /metrics.
    "console": dict(
        kind="Deployment", replicas=2, lease=False,
        cpu="50m", mem="128Mi", cpu_lim="1", mem_lim="512Mi",
        consumes=[], group=None, views=["events", "status", "progress", "audit"],
        view_group="wukong-console-tail",
        produces=[],
        rules=[],
        egress_extra=[], no_apiserver=True, service=True),
    # Two full copies, not a Lease: each replica is its own consumer group (its pod name,
    # wukong-audit-0/1) and writes the whole log on its own volume, so losing one loses nothing
    # (docs/reliability.md). The key Secret wukong-audit-key is created by the operator (docs/deploy.md).
    "audit": dict(
        kind="StatefulSet", replicas=2, lease=False,
        cpu="50m", mem="32Mi", cpu_lim="1", mem_lim="128Mi",
        consumes=["audit", "dlq"], group=None, group_prefix="wukong-audit-", produces=["dlq"],
        rules=[],
        egress_extra=[], no_apiserver=True),
}

HEADER = "# GENERATED by deploy/generate.py; edit the table there, not this file.\n"


def name(svc):
    return "wukong-" + svc


def labels(svc):
    return {"app.kubernetes.io/name": name(svc), "app.kubernetes.io/part-of": "wukong",
            "app.kubernetes.io/component": svc}


def sel(svc):
    return {"app.kubernetes.io/name": name(svc)}


def config_yaml(svc, s):
    c = {
        "cluster.id": CLUSTER,
        "topics.prefix": PREFIX,
        "kafka.bootstrap.servers": BOOTSTRAP,
        "http.listen": "0.0.0.0:%d" % PORT,
        "log.level": "info",
    }
    if s["lease"]:
        c[svc + ".lease.enabled"] = True
        c[svc + ".lease.namespace"] = NS
    if svc == "audit":
        c["audit.dir"] = "/var/lib/wukong/audit"
        c["audit.key-file"] = AUDIT_KEY_DIR + "/key"
    if svc in ("migrator", "cloner"):
        c[svc + ".shared-requests"] = False  # the router routes wukong.requests
    if svc == "router" and TENANTS:
        c["router.tenant-topics"] = True  # the router reads every wukong.requests.t.<tenant>
    if s.get("authz"):
        # Tenants submit on their own topics; the router forwards them to
        # wukong.requests.<cluster> (which only it may write) naming the entry topic in
        # ce_wktopic, the identity the executors take (docs/security.md). The shared topics are
        # not trusted.
        c["authz.router"] = True
        c["authz.trusted-topics"] = False
        c["authz.tenant-topic-prefix"] = TENANT_TOPIC
        for t, spec in TENANTS.items():
            c["authz.tenants.%s.user" % t] = spec["user"]
            if spec.get("groups"):
                c["authz.tenants.%s.groups" % t] = spec["groups"]
        c["security.id-key-file"] = "/etc/wukong/id-key/key"
    if svc == "console":
        c["console.lookback"] = "24h"
    if svc == "progress":
        c["progress.metrics-urls"] = ""  # fill with each virt-handler's https://<pod-ip>:8443/metrics (docs/deploy.md)
    return yaml.safe_dump(c, sort_keys=True)


def container(svc, s):
    env = [{"name": "WUKONG_CONFIG", "value": "/etc/wukong/config.yaml"}]
    if s["lease"]:
        env.append({"name": "WUKONG_%s_LEASE_IDENTITY" % svc.upper(),
                    "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}})
    mounts = [{"name": "config", "mountPath": "/etc/wukong", "readOnly": True},
              {"name": "secret", "mountPath": "/etc/wukong/secret", "readOnly": True},
              {"name": "tmp", "mountPath": "/tmp"}]
    if svc == "audit":
        mounts.append({"name": "data", "mountPath": "/var/lib/wukong/audit"})
        mounts.append({"name": "audit-key", "mountPath": AUDIT_KEY_DIR, "readOnly": True})
    if s.get("group_prefix"):
        # one consumer group per replica: its pod name (StatefulSet: stable across restarts)
        env.append({"name": "WUKONG_CONSUMER_GROUP",
                    "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}})
    if s.get("authz"):
        mounts.append({"name": "id-key", "mountPath": "/etc/wukong/id-key", "readOnly": True})
    probe = lambda path, delay, period, fail: {
        "httpGet": {"path": path, "port": "metrics"}, "initialDelaySeconds": delay,
        "periodSeconds": period, "timeoutSeconds": 2, "failureThreshold": fail}
    return {
        "name": svc,
        "image": IMAGE,
        "imagePullPolicy": "IfNotPresent",
        "command": ["/usr/local/bin/" + name(svc)],
        "env": env,
        "envFrom": [{"secretRef": {"name": name(svc), "optional": True}}],
        "ports": [{"name": "metrics", "containerPort": PORT, "protocol": "TCP"}],
        "livenessProbe": probe("/healthz", 10, 10, 6),
        # A Lease standby answers 503 on /readyz by design; as the pod's readiness that would
        # block every rolling update (the new pod starts as a standby), so the Lease-elected
        # services' readiness is liveness. No Service routes to them; /readyz stays in metrics.
        "readinessProbe": probe("/healthz" if s["lease"] else "/readyz", 2, 5, 3),
        "resources": {"requests": {"cpu": s["cpu"], "memory": s["mem"]},
                      "limits": {"cpu": s["cpu_lim"], "memory": s["mem_lim"]}},
        "securityContext": {
            "allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
            "runAsNonRoot": True, "capabilities": {"drop": ["ALL"]},
            "seccompProfile": {"type": "RuntimeDefault"}},
        "volumeMounts": mounts,
    }


def pod_spec(svc, s):
    spec = {
        "serviceAccountName": name(svc),
        "automountServiceAccountToken": not s.get("no_apiserver", False),
        "priorityClassName": PRIORITY,
        "securityContext": {"runAsNonRoot": True, "runAsUser": 65532, "runAsGroup": 65532,
                            "fsGroup": 65532, "seccompProfile": {"type": "RuntimeDefault"}},
        "terminationGracePeriodSeconds": 30,
        # Infra nodes: the drains these services run must never evict them (docs/deploy.md).
        "affinity": {"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [{
            "weight": 100, "preference": {"matchExpressions": [{
                "key": "node-role.kubernetes.io/infra", "operator": "Exists"}]}}]}},
        "tolerations": [{"key": "node-role.kubernetes.io/infra", "operator": "Exists",
                         "effect": "NoSchedule"}],
        "topologySpreadConstraints": [{
            "maxSkew": 1, "topologyKey": "kubernetes.io/hostname",
            "whenUnsatisfiable": "ScheduleAnyway", "labelSelector": {"matchLabels": sel(svc)}}],
        "containers": [container(svc, s)],
        "volumes": [{"name": "config", "configMap": {"name": name(svc)}},
                    {"name": "secret", "secret": {"secretName": name(svc), "optional": True}},
                    {"name": "tmp", "emptyDir": {"sizeLimit": "16Mi"}}],
    }
    if svc == "audit":
        # not optional: without the key the chain would be unkeyed (forgeable); the pod waits
        # in ContainerCreating until the operator creates the Secret (docs/deploy.md)
        spec["volumes"].append({"name": "audit-key", "secret": {
            "secretName": AUDIT_KEY_SECRET, "defaultMode": 0o440}})
    if s.get("authz"):
        # created at install time, never in git (docs/deploy.md): the pod waits for it
        spec["volumes"].append({"name": "id-key", "secret": {"secretName": ID_KEY_SECRET}})
    return spec


def workload(svc, s):
    tmpl = {"metadata": {"labels": labels(svc)}, "spec": pod_spec(svc, s)}
    meta = {"name": name(svc), "namespace": NS, "labels": labels(svc)}
    if s["kind"] == "StatefulSet":
        return {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": meta, "spec": {
            "serviceName": name(svc), "replicas": s["replicas"], "selector": {"matchLabels": sel(svc)},
            "podManagementPolicy": "OrderedReady",
            "updateStrategy": {"type": "RollingUpdate"},
            "template": tmpl,
            "volumeClaimTemplates": [{"metadata": {"name": "data"}, "spec": {
                "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "10Gi"}}}}]}}
    strategy = {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}}
    if s["replicas"] == 1:
        # one consumer per group at a time: the old pod leaves before the new one joins
        strategy = {"type": "Recreate"}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta, "spec": {
        "replicas": s["replicas"], "selector": {"matchLabels": sel(svc)},
        "strategy": strategy, "template": tmpl}}


def rbac(svc, s):
    out = []
    cluster_rules, ns_rules = [], []
    for r in s["rules"]:
        rule = {"apiGroups": [r[0]], "resources": r[1], "verbs": r[2]}
        (ns_rules if len(r) > 3 and r[3] == "ns" else cluster_rules).append(rule)
    subj = [{"kind": "ServiceAccount", "name": name(svc), "namespace": NS}]
    if cluster_rules:
        out.append({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
                    "metadata": {"name": name(svc), "labels": labels(svc)}, "rules": cluster_rules})
        out.append({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
                    "metadata": {"name": name(svc), "labels": labels(svc)},
                    "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                                "name": name(svc)}, "subjects": subj})
    if ns_rules:
        out.append({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
                    "metadata": {"name": name(svc), "namespace": NS, "labels": labels(svc)},
                    "rules": ns_rules})
        out.append({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
                    "metadata": {"name": name(svc), "namespace": NS, "labels": labels(svc)},
                    "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role",
                                "name": name(svc)}, "subjects": subj})
    return out


def netpol(svc, s):
    egress = [
        # DNS
        {"to": [{"namespaceSelector": {}, "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}],
         "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]},
        # Kafka brokers (Strimzi pods in the kafka namespace)
        {"to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kafka"}},
                 "podSelector": {"matchLabels": {"strimzi.io/kind": "Kafka"}}}],
         "ports": [{"protocol": "TCP", "port": 9092}, {"protocol": "TCP", "port": 9093}]},
    ]
    if not s.get("no_apiserver"):
        # The API server is not a pod selector can name; its endpoints' port (6443) is the usual.
        egress.append({"ports": [{"protocol": "TCP", "port": 6443}, {"protocol": "TCP", "port": 443}]})
    if "virt-handler" in s["egress_extra"]:
        egress.append({"to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kubevirt"}},
                               "podSelector": {"matchLabels": {"kubevirt.io": "virt-handler"}}}],
                       "ports": [{"protocol": "TCP", "port": 8443}]})
    sources = [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}]
    if s.get("service"):
        # the console's browsers arrive through whatever namespace carries this label (an
        # ingress controller's, an operator's jump pod); kubectl port-forward needs none
        sources.append({"namespaceSelector": {"matchLabels": {"wukong.novasphere.dev/console-access": "true"}}})
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": name(svc), "namespace": NS, "labels": labels(svc)},
            "spec": {"podSelector": {"matchLabels": sel(svc)}, "policyTypes": ["Ingress", "Egress"],
                     "ingress": [{"from": sources,
                         "ports": [{"protocol": "TCP", "port": PORT}]}],
                     "egress": egress}}


def dump_all(docs):
    return HEADER + "".join("---\n" + yaml.safe_dump(d, sort_keys=False) for d in docs)


def base_files():
    files = {}
    files["namespace.yaml"] = dump_all([
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS, "labels": {
            "app.kubernetes.io/part-of": "wukong",
            "pod-security.kubernetes.io/enforce": "restricted"}}},
        {"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass",
         "metadata": {"name": PRIORITY}, "value": 1000000, "globalDefault": False,
         "preemptionPolicy": "PreemptLowerPriority",
         "description": "Wukong's migration pipeline: drains depend on it, so it outranks tenant VMs."}])
    res = ["namespace.yaml", "crd.yaml"]
    for svc, s in SERVICES.items():
        docs = [{"apiVersion": "v1", "kind": "ServiceAccount",
                 "metadata": {"name": name(svc), "namespace": NS, "labels": labels(svc)},
                 "automountServiceAccountToken": False},
                {"apiVersion": "v1", "kind": "ConfigMap",
                 "metadata": {"name": name(svc), "namespace": NS, "labels": labels(svc)},
                 "data": {"config.yaml": config_yaml(svc, s)}},
                {"apiVersion": "v1", "kind": "Secret",
                 "metadata": {"name": name(svc), "namespace": NS, "labels": labels(svc)},
                 "type": "Opaque",
                 # env for the container (envFrom): WUKONG_KAFKA_SASL_PASSWORD and the like
                 "stringData": {}}]
        docs += rbac(svc, s)
        docs.append(netpol(svc, s))
        if s.get("service"):
            docs.append({"apiVersion": "v1", "kind": "Service",
                         "metadata": {"name": name(svc), "namespace": NS, "labels": labels(svc)},
                         "spec": {"type": "ClusterIP", "selector": sel(svc),
                                  "ports": [{"name": "http", "port": 80, "targetPort": "metrics"}]}})
        if s["kind"] == "StatefulSet":
            docs.append({"apiVersion": "v1", "kind": "Service",
                         "metadata": {"name": name(svc), "namespace": NS, "labels": labels(svc)},
                         "spec": {"clusterIP": "None", "selector": sel(svc),
                                  "ports": [{"name": "metrics", "port": PORT, "targetPort": "metrics"}]}})
        docs.append(workload(svc, s))
        files[svc + ".yaml"] = dump_all(docs)
        res.append(svc + ".yaml")
    files["kustomization.yaml"] = HEADER + yaml.safe_dump({
        "apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization",
        "resources": res}, sort_keys=False)
    return files


def acl(typ, nm, ops, pattern="literal"):
    return {"resource": {"type": typ, "name": nm, "patternType": pattern}, "operations": ops}


def strimzi_files():
    files, users_tls, users_scram = {}, [], []
    for svc, s in SERVICES.items():
        acls = []
        for t in s["consumes"]:
            acls.append(acl("topic", PREFIX + "." + t, ["Read", "Describe"]))
        if svc == "router" and TENANTS:
            # every tenant's request topic (router.tenant-topics)
            acls.append(acl("topic", PREFIX + "." + TENANT_TOPIC, ["Read", "Describe"], "prefix"))
        if s["group"]:
            acls.append(acl("group", s["group"], ["Read"]))
        if s.get("group_prefix"):
            acls.append(acl("group", s["group_prefix"], ["Read"], "prefix"))
        if s.get("rebuild_group"):
            # the watcher's read-back of wukong.events: assign() only, no commits
            acls.append(acl("topic", PREFIX + ".events", ["Read", "Describe"]))
            acls.append(acl("group", s["rebuild_group"], ["Read"], "prefix"))
        for t in s.get("views", []):
            # the console's group-less reads (assign() at the lookback window, nothing committed)
            acls.append(acl("topic", PREFIX + "." + t, ["Read", "Describe"]))
        if s.get("view_group"):
            acls.append(acl("group", s["view_group"], ["Read"]))
        for t, g in s.get("reads", []):
            # group-less readers (assign() only, nothing committed)
            acls.append(acl("topic", PREFIX + "." + t, ["Read", "Describe"]))
            acls.append(acl("group", g, ["Read"]))
        for t in s["produces"]:
            # "requests.": every wukong.requests.<cluster> (a prefix ACL)
            acls.append(acl("topic", PREFIX + "." + t, ["Write", "Describe"],
                            "prefix" if t.endswith(".") else "literal"))
            if t.endswith(".") and TENANT_TOPIC.startswith(t):
                # the prefix also covers the tenants' topics: a deny (Kafka checks denies
                # first) keeps the router from writing as a tenant (docs/security.md)
                d = acl("topic", PREFIX + "." + TENANT_TOPIC, ["Write"], "prefix")
                d["type"] = "deny"
                acls.append(d)
        for variant, lst in (("tls", users_tls), ("scram-sha-512", users_scram)):
            lst.append({"apiVersion": "kafka.strimzi.io/v1", "kind": "KafkaUser",
                        "metadata": {"name": name(svc), "namespace": NS,
                                     "labels": {"strimzi.io/cluster": KAFKA_CLUSTER}},
                        "spec": {"authentication": {"type": variant},
                                 "authorization": {"type": "simple", "acls": acls}}})
    # A tenant's principal may write its own request topic and nothing else (no Read, no group):
    # the executors take its identity from that topic (docs/security.md).
    for t in TENANTS:
        acls = [acl("topic", PREFIX + "." + TENANT_TOPIC + t, ["Write", "Describe"])]
        for variant, lst in (("tls", users_tls), ("scram-sha-512", users_scram)):
            lst.append({"apiVersion": "kafka.strimzi.io/v1", "kind": "KafkaUser",
                        "metadata": {"name": "wukong-tenant-" + t, "namespace": NS,
                                     "labels": {"strimzi.io/cluster": KAFKA_CLUSTER,
                                                "app.kubernetes.io/part-of": "wukong"}},
                        "spec": {"authentication": {"type": variant},
                                 "authorization": {"type": "simple", "acls": acls}}})
    # Write on each topic only for the services that produce it (and each tenant its own).
    for lst in (users_tls, users_scram):
        for u in lst:
            n = u["metadata"]["name"]
            writes = {a["resource"]["name"] for a in u["spec"]["authorization"]["acls"]
                      if "Write" in a["operations"] and a.get("type") != "deny"}
            if n.startswith("wukong-tenant-"):
                allowed = {PREFIX + "." + TENANT_TOPIC + n[len("wukong-tenant-"):]}
            else:
                allowed = {PREFIX + "." + t for t in SERVICES[n[len("wukong-"):]]["produces"]}
            assert writes == allowed, (n, writes, allowed)
    files["kafkausers-scram.yaml"] = dump_all(users_scram)
    files["kafkausers-tls.yaml"] = dump_all(users_tls)
    # Client settings per variant, merged into each service's ConfigMap by a patch.
    scram = {"kafka.bootstrap.servers": "%s-kafka-bootstrap.kafka.svc:9093" % KAFKA_CLUSTER,
             "kafka.security.protocol": "SASL_SSL", "kafka.sasl.mechanism": "SCRAM-SHA-512",
             "kafka.ssl.ca.location": "/etc/wukong/kafka-ca/ca.crt"}
    tls = {"kafka.bootstrap.servers": "%s-kafka-bootstrap.kafka.svc:9093" % KAFKA_CLUSTER,
           "kafka.security.protocol": "SSL",
           "kafka.ssl.ca.location": "/etc/wukong/kafka-ca/ca.crt",
           "kafka.ssl.certificate.location": "/etc/wukong/kafka-user/user.crt",
           "kafka.ssl.key.location": "/etc/wukong/kafka-user/user.key"}
    for variant, settings in (("scram", scram), ("tls", tls)):
        patches = []
        for svc, s in SERVICES.items():
            cfg = yaml.safe_load(config_yaml(svc, s))
            cfg.update(settings)
            if variant == "scram":
                cfg["kafka.sasl.username"] = name(svc)
            cm = {"apiVersion": "v1", "kind": "ConfigMap",
                  "metadata": {"name": name(svc), "namespace": NS},
                  "data": {"config.yaml": yaml.safe_dump(cfg, sort_keys=True)}}
            vols = [{"name": "kafka-ca", "secret": {"secretName": "%s-cluster-ca-cert" % KAFKA_CLUSTER}}]
            mounts = [{"name": "kafka-ca", "mountPath": "/etc/wukong/kafka-ca", "readOnly": True}]
            env = []
            if variant == "tls":
                vols.append({"name": "kafka-user", "secret": {"secretName": name(svc)}})
                mounts.append({"name": "kafka-user", "mountPath": "/etc/wukong/kafka-user", "readOnly": True})
            else:
                # Strimzi's User Operator writes the password into a Secret named after the user
                env.append({"name": "WUKONG_KAFKA_SASL_PASSWORD", "valueFrom": {"secretKeyRef": {
                    "name": name(svc), "key": "password"}}})
            ctr = {"name": svc, "volumeMounts": mounts}
            if env:
                ctr["env"] = env
            wl = {"apiVersion": "apps/v1", "kind": s["kind"],
                  "metadata": {"name": name(svc), "namespace": NS},
                  "spec": {"template": {"spec": {"volumes": vols, "containers": [ctr]}}}}
            patches += [cm, wl]
        files["patch-%s.yaml" % variant] = dump_all(patches)
    return files


ALERTS = [
    # (name, expr, for, severity, summary)
    ("WukongServiceDown", 'up{namespace="%s", pod=~"wukong-.*"} == 0' % NS, "5m", "critical",
     "A Wukong service's metrics endpoint has not answered for 5 minutes."),
    # max over replicas: a Lease standby answers 503 by design; no ready replica is the fault
    ("WukongNotReady", 'max by (namespace, container) ({__name__=~"wukong_.*_ready", namespace="%s"}) == 0' % NS,
     "10m", "warning", "No replica of a Wukong service has answered 200 on /readyz for 10 minutes."),
    ("WukongLoopStalled", 'time() - {__name__=~"wukong_.*_last_tick_timestamp_seconds", namespace="%s"} > 120' % NS,
     "2m", "critical", "A Wukong service's main loop has not turned for 2 minutes."),
    ("WukongNoLeader", " or ".join("sum by (namespace) (wukong_%s_leader) < 1" % s for s in
                                   ("watcher", "status", "migrator", "cloner", "progress", "provisioner")),
     "5m", "critical", "A Lease-elected Wukong service has no replica holding its Lease."),
    ("WukongDeadLetters", 'sum by (pod, reason) (increase({__name__=~"wukong_.*_dead_letters_total", namespace="%s"}[15m])) > 0' % NS,
     "0m", "warning", "Messages were dead-lettered in the last 15 minutes."),
    ("WukongMigrationsFailing", 'sum(increase(wukong_migrations_total{outcome="failed"}[30m])) > 3',
     "0m", "warning", "More than 3 migrations failed in 30 minutes."),
    ("WukongEvacuationStalled", 'wukong_progress_node_remaining_vms > 0 and delta(wukong_progress_node_remaining_vms[30m]) == 0',
     "0m", "warning", "A node being evacuated has not lost a VM in 30 minutes."),
    ("WukongConsumerLag", 'sum by (consumergroup) (kafka_consumergroup_lag{consumergroup=~"wukong-.*"}) > 1000',
     "10m", "warning", "A Wukong consumer group is more than 1000 messages behind for 10 minutes."),
    ("WukongAuditDurabilityLag", 'wukong_audit_last_seq - wukong_audit_durable_seq > 1000',
     "5m", "critical", "The audit log has more than 1000 records not yet fsync'd for 5 minutes."),
    ("WukongApiRetries", 'sum by (pod) (rate(wukong_k8s_request_retries_total{namespace="%s"}[10m])) > 1' % NS,
     "15m", "warning", "A Wukong service retries Kubernetes API requests more than once a second."),
]
RUNBOOK_BASE = "https://github.com/novasphere/wukong/blob/main/docs/runbooks/"


def dashboard():
    panels, y = [], 0

    def panel(title, exprs, unit="short", kind="timeseries", w=12):
        nonlocal y
        pid = len(panels) + 1
        x = 0 if (pid % 2) else 12
        if w == 24:
            x = 0
        panels.append({"id": pid, "type": kind, "title": title,
                       "datasource": {"type": "prometheus", "uid": "${datasource}"},
                       "gridPos": {"h": 8, "w": w, "x": x, "y": y},
                       "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
                       "targets": [{"refId": chr(65 + i), "expr": e, "legendFormat": l}
                                   for i, (e, l) in enumerate(exprs)]})
        if x == 12 or w == 24:
            y += 8
    panel("Operations running / queued", [
        ('wukong_progress_migrations{state="running"}', "running"),
        ('wukong_progress_migrations{state="queued"}', "queued"),
        ("wukong_migrator_queue_length", "migrator queue")])
    panel("Migrations by outcome (rate)", [
        ("sum by (outcome) (rate(wukong_migrations_total[5m]))", "{{outcome}}")], unit="ops")
    panel("Failed migrations (last hour)", [
        ("wukong_progress_migrations_failed_last_hour", "failed")])
    panel("Migration duration p50 / p95", [
        ("histogram_quantile(0.5, sum by (le) (rate(wukong_migration_duration_seconds_bucket[30m])))", "p50"),
        ("histogram_quantile(0.95, sum by (le) (rate(wukong_migration_duration_seconds_bucket[30m])))", "p95")],
        unit="s")
    panel("Evacuation: VMs left per node", [
        ("wukong_progress_node_remaining_vms", "{{node}}")])
    panel("Evacuation: bytes left / ETA per node", [
        ("wukong_progress_node_remaining_bytes", "{{node}} bytes"),
        ("wukong_progress_node_eta_seconds", "{{node}} eta s")], unit="bytes")
    panel("Per-VM convergence: data remaining (KubeVirt)", [
        ("kubevirt_vmi_migration_data_remaining_bytes", "{{namespace}}/{{name}}")], unit="bytes")
    panel("Per-VM convergence: transfer vs dirty rate (KubeVirt)", [
        ("kubevirt_vmi_migration_memory_transfer_rate_bytes", "{{namespace}}/{{name}} transfer"),
        ("kubevirt_vmi_migration_dirty_memory_rate_bytes", "{{namespace}}/{{name}} dirty")], unit="Bps")
    panel("Consumer lag per group (Strimzi Kafka Exporter)", [
        ('sum by (consumergroup) (kafka_consumergroup_lag{consumergroup=~"wukong-.*"})', "{{consumergroup}}")])
    panel("Dead letters by reason", [
        ('sum by (reason) (rate({__name__=~"wukong_.*_dead_letters_total"}[5m]))', "{{reason}}")], unit="ops")
    panel("Kubernetes API retries", [
        ("sum by (pod) (rate(wukong_k8s_request_retries_total[5m]))", "{{pod}}")], unit="ops")
    panel("Audit durability lag (records not yet fsync'd)", [
        ("wukong_audit_last_seq - wukong_audit_durable_seq", "{{pod}}")])
    panel("Resident memory per pod", [
        ('process_resident_memory_bytes{namespace="%s"}' % NS, "{{pod}}")], unit="bytes")
    panel("CPU per pod", [
        ('rate(process_cpu_seconds_total{namespace="%s"}[5m])' % NS, "{{pod}}")], unit="percentunit")
    return {"title": "Wukong migration pipeline", "uid": "wukong-pipeline", "schemaVersion": 39,
            "version": 1, "editable": True, "time": {"from": "now-6h", "to": "now"},
            "templating": {"list": [{"name": "datasource", "type": "datasource",
                                     "query": "prometheus", "current": {}}]},
            "panels": panels}


def monitoring_files():
    files = {}
    pms = []
    for svc in SERVICES:
        pms.append({"apiVersion": "monitoring.coreos.com/v1", "kind": "PodMonitor",
                    "metadata": {"name": name(svc), "namespace": NS, "labels": labels(svc)},
                    "spec": {"selector": {"matchLabels": sel(svc)},
                             "podMetricsEndpoints": [{"port": "metrics", "path": "/metrics",
                                                      "interval": "30s"}]}})
    files["podmonitors.yaml"] = dump_all(pms)
    rules = []
    for n, expr, dur, sev, summ in ALERTS:
        r = {"alert": n, "expr": expr}
        if dur != "0m":
            r["for"] = dur
        r["labels"] = {"severity": sev}
        r["annotations"] = {"summary": summ, "runbook_url": RUNBOOK_BASE + n + ".md"}
        rules.append(r)
    files["prometheusrule.yaml"] = dump_all([{
        "apiVersion": "monitoring.coreos.com/v1", "kind": "PrometheusRule",
        "metadata": {"name": "wukong", "namespace": NS, "labels": {"app.kubernetes.io/part-of": "wukong"}},
        "spec": {"groups": [{"name": "wukong", "rules": rules}]}}])
    files["dashboard.json"] = json.dumps(dashboard(), indent=1) + "\n"
    files["kustomization.yaml"] = HEADER + yaml.safe_dump({
        "apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization",
        "resources": ["../../base", "podmonitors.yaml", "prometheusrule.yaml"],
        # Grafana's sidecar picks up ConfigMaps labelled grafana_dashboard=1
        "configMapGenerator": [{"name": "wukong-grafana-dashboard", "namespace": NS,
                                "files": ["dashboard.json"],
                                "options": {"labels": {"grafana_dashboard": "1"},
                                            "disableNameSuffixHash": True}}]}, sort_keys=False)
    return files


def main():
    check = "--check" in sys.argv
    out = {}
    # the Wukong CRD, copied: kustomize loads nothing from outside the kustomization's directory
    with open(os.path.join(ROOT, "crds", "wukong.yaml")) as f:
        out[os.path.join("base", "crd.yaml")] = f.read()
    for f, t in base_files().items():
        out[os.path.join("base", f)] = t
    st = strimzi_files()
    for variant, users in (("scram", "kafkausers-scram.yaml"), ("tls", "kafkausers-tls.yaml")):
        d = os.path.join("overlays", "strimzi-" + variant)
        out[os.path.join(d, "kafkausers.yaml")] = st[users]
        out[os.path.join(d, "patch.yaml")] = st["patch-%s.yaml" % variant]
        out[os.path.join(d, "kustomization.yaml")] = HEADER + yaml.safe_dump({
            "apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization",
            "resources": ["../strimzi", "kafkausers.yaml"],
            "patches": [{"path": "patch.yaml"}]}, sort_keys=False)
    # KafkaTopics and KafkaUsers live in the wukong namespace: the Kafka CR's entity operator
    # watches it (topicOperator/userOperator watchedNamespace: wukong, docs/deploy.md), so the
    # User Operator's Secrets land beside the pods that mount them.
    out[os.path.join("overlays", "strimzi", "kustomization.yaml")] = HEADER + yaml.safe_dump({
        "apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization",
        "namespace": NS,
        "resources": ["../../base", "kafka-topics.yaml", "tenant-topics.yaml"]}, sort_keys=False)
    # One request topic per tenant, configured as the shared request topic (deploy/topics.yaml).
    out[os.path.join("overlays", "strimzi", "tenant-topics.yaml")] = dump_all([
        {"apiVersion": "kafka.strimzi.io/v1", "kind": "KafkaTopic",
         "metadata": {"name": PREFIX + "." + TENANT_TOPIC + t, "namespace": NS,
                      "labels": {"strimzi.io/cluster": KAFKA_CLUSTER}},
         "spec": {"topicName": PREFIX + "." + TENANT_TOPIC + t, "partitions": 3, "replicas": 3,
                  "config": {"cleanup.policy": "delete", "retention.ms": 604800000,
                             "min.insync.replicas": 2, "max.message.bytes": 1114112}}}
        for t in TENANTS])
    for rel, text in monitoring_files().items():
        out[os.path.join("overlays", "monitoring", rel)] = text
    bad = 0
    for rel, text in sorted(out.items()):
        p = os.path.join(ROOT, rel)
        if check:
            try:
                cur = open(p).read()
            except OSError:
                cur = None
            if cur != text:
                print("differs: deploy/" + rel)
                bad = 1
            continue
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "w") as f:
            f.write(text)
    sys.exit(bad)


if __name__ == "__main__":
    main()
