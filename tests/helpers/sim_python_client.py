#!/usr/bin/python3
"""sim_python_client.py - the official Kubernetes Python client (Debian python3-kubernetes) against
wukong-sim: lists, watches (a few events, with a timeout) and patches Wukongs, VirtualMachines and
VMIs (CustomObjectsApi) and Nodes (CoreV1Api: list_node, read_node, patch_node, watch), letting
the client deserialise every object. Prints one TAP-like line per step ("ok - ..." or
"not ok - ... : error"); exits 1 when any step failed.

Usage: sim_python_client.py KUBECONFIG NODE-NAME
"""
import sys
import traceback

from kubernetes import client, config, watch

failed = 0


def step(desc, fn):
    global failed
    try:
        r = fn()
        print("ok - %s%s" % (desc, (": %s" % r) if r not in (None, True) else ""))
    except Exception as e:  # any deserialisation or API error fails the step
        failed += 1
        print("not ok - %s: %s" % (desc, repr(e)[:400]))
        traceback.print_exc(limit=3, file=sys.stdout)


def main():
    kc, node = sys.argv[1], sys.argv[2]
    config.load_kube_config(config_file=kc)
    core = client.CoreV1Api()
    co = client.CustomObjectsApi()

    def list_nodes():
        nodes = core.list_node(_request_timeout=20)
        for n in nodes.items:
            i = n.status.node_info
            assert i.boot_id and i.machine_id and i.system_uuid, n.metadata.name
            assert n.status.daemon_endpoints.kubelet_endpoint.port == 10250
            for c in n.status.conditions:
                assert c.last_heartbeat_time and c.last_transition_time, c.type
        return "%d nodes" % len(nodes.items)

    step("CoreV1Api.list_node deserialises every Node", list_nodes)
    step("CoreV1Api.read_node", lambda: core.read_node(node, _request_timeout=20).metadata.name)
    step("CoreV1Api.patch_node (a label)",
         lambda: core.patch_node(node, {"metadata": {"labels": {"py-client": "yes"}}},
                                 _request_timeout=20).metadata.labels["py-client"])

    def watch_nodes():
        w = watch.Watch()
        n = 0
        for ev in w.stream(core.list_node, timeout_seconds=5, _request_timeout=20):
            assert ev["object"].metadata.name
            n += 1
            if n >= 3:
                w.stop()
        return "%d events" % n

    step("watch.Watch over list_node", watch_nodes)

    # Every other built-in kind the simulator serves, through the typed APIs (deserialised).
    disc = client.DiscoveryV1Api()
    coord = client.CoordinationV1Api()
    stor = client.StorageV1Api()
    for desc, fn in [
        ("CoreV1Api.list_namespace", core.list_namespace),
        ("CoreV1Api.list_event_for_all_namespaces", core.list_event_for_all_namespaces),
        ("CoreV1Api.list_persistent_volume_claim_for_all_namespaces",
         core.list_persistent_volume_claim_for_all_namespaces),
        ("CoreV1Api.list_service_for_all_namespaces", core.list_service_for_all_namespaces),
        ("DiscoveryV1Api.list_endpoint_slice_for_all_namespaces",
         disc.list_endpoint_slice_for_all_namespaces),
        ("CoordinationV1Api.list_lease_for_all_namespaces", coord.list_lease_for_all_namespaces),
        ("StorageV1Api.list_storage_class", stor.list_storage_class),
    ]:
        step(desc, lambda fn=fn: "%d items" % len(fn(_request_timeout=20).items))

    kinds = [
        ("vm.novasphere.dev", "v1alpha1", "wukongs"),
        ("kubevirt.io", "v1", "virtualmachines"),
        ("kubevirt.io", "v1", "virtualmachineinstances"),
    ]
    for g, v, plural in kinds:
        items = []

        def lst(g=g, v=v, plural=plural, items=items):
            r = co.list_namespaced_custom_object(g, v, "default", plural, _request_timeout=20)
            items.extend(r["items"])
            assert items, "no %s" % plural
            r = co.list_cluster_custom_object(g, v, plural, _request_timeout=20)
            return "%d %s" % (len(r["items"]), plural)

        step("CustomObjectsApi list %s" % plural, lst)

        def wat(g=g, v=v, plural=plural):
            w = watch.Watch()
            n = 0
            for ev in w.stream(co.list_namespaced_custom_object, g, v, "default", plural,
                               timeout_seconds=5, _request_timeout=20):
                assert ev["object"]["metadata"]["name"]
                n += 1
                if n >= 2:
                    w.stop()
            return "%d events" % n

        step("watch.Watch over %s" % plural, wat)

        def pat(g=g, v=v, plural=plural, items=items):
            name = items[0]["metadata"]["name"]
            r = co.patch_namespaced_custom_object(
                g, v, "default", plural, name,
                {"metadata": {"annotations": {"py-client": "patched"}}}, _request_timeout=20)
            assert r["metadata"]["annotations"]["py-client"] == "patched"
            return name

        step("CustomObjectsApi patch %s (merge patch)" % plural, pat)

    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
