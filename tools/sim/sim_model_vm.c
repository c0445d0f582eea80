/* sim_model_vm.c - KubeVirt's VM/VMI lifecycle (run strategy, scheduling, VMI status,
 * LiveMigratable, node failure) and the scenario's VMs, seeded as wukong-provisioner would have
 * made them before the simulation started. There is no Wukong operator here: a Wukong created
 * through the API gets its VM from wukong-provisioner (docs/provisioner.md). */
#include "sim_model_int.h"

#include "wk_quantity.h"

#define WK_LABEL "vm.novasphere.dev/wukong"
#define ANN_DIRTY "sim.novasphere.dev/dirty-rate"
#define ANN_AGENT "sim.novasphere.dev/guest-agent"
/* The stand-in sets an explicit CPU request on the template only when asked (scenario
 * `cpuRequest`); otherwise the launcher pod asks for vCPUs / cpuAllocationRatio. */
#define ANN_CPU_REQUEST "sim.novasphere.dev/cpu-request"
#define ANN_BRIDGE "kubevirt.io/allow-pod-bridge-network-live-migration"
#define MSG_IFACE                                                                                  \
	"cannot migrate VMI which does not use masquerade or a migratable plugin to connect to "   \
	"the pod network"

static uint64_t hash_seq(const char *s)
{
	uint64_t h = 1469598103934665603ULL;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

static char *vkey(const char *ns, const char *name)
{
	return wk_xasprintf("%s/%s", ns, name);
}

struct mvm *sim_vm_find(struct sim_model *m, const char *ns, const char *name)
{
	char key[600];
	snprintf(key, sizeof(key), "%s/%s", ns, name);
	return wk_map_get(&m->vms, key);
}

void sim_vm_timer(struct sim_model *m, struct mvm *vm, double at)
{
	vm->phase_at = at;
	if (vm->in_timers)
		return;
	vm->in_timers = true;
	vm->tprev = NULL;
	vm->tnext = m->timers;
	if (m->timers)
		m->timers->tprev = vm;
	m->timers = vm;
}

static void timer_off(struct sim_model *m, struct mvm *vm)
{
	if (!vm->in_timers)
		return;
	if (vm->tprev)
		vm->tprev->tnext = vm->tnext;
	else
		m->timers = vm->tnext;
	if (vm->tnext)
		vm->tnext->tprev = vm->tprev;
	vm->in_timers = false;
	vm->tnext = vm->tprev = NULL;
}

static void mac_for(struct sim_model *m, char *out, size_t n)
{
	uint64_t r = (uint64_t)(sim_rand(m) * 281474976710656.0);
	snprintf(out, n, "02:%02x:%02x:%02x:%02x:%02x", (unsigned)(r >> 32) & 0xff,
		 (unsigned)(r >> 24) & 0xff, (unsigned)(r >> 16) & 0xff, (unsigned)(r >> 8) & 0xff,
		 (unsigned)r & 0xff);
}

static void uuid_for(struct sim_model *m, char *out, size_t n)
{
	unsigned v[8];
	for (int i = 0; i < 8; i++)
		v[i] = (unsigned)(sim_rand(m) * 65536.0);
	snprintf(out, n, "%04x%04x-%04x-4%03x-a%03x-%04x%04x%04x", v[0], v[1], v[2], v[3] & 0xfff,
		 v[4] & 0xfff, v[5], v[6], v[7]);
}

/* ---- Wukong -> VirtualMachine template ---- */

static cJSON *owner_ref(const char *api, const char *kind, const char *name, const char *uid)
{
	cJSON *a = cJSON_CreateArray(), *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "apiVersion", api);
	cJSON_AddStringToObject(o, "kind", kind);
	cJSON_AddStringToObject(o, "name", name);
	cJSON_AddStringToObject(o, "uid", uid ? uid : "");
	cJSON_AddBoolToObject(o, "controller", true);
	cJSON_AddBoolToObject(o, "blockOwnerDeletion", true);
	cJSON_AddItemToArray(a, o);
	return a;
}

static cJSON *vm_template_from_wukong(struct sim_model *m, const cJSON *wk, const char *vmname)
{
	const cJSON *spec = wk_json_path(wk, "spec");
	const char *wkname = wk_json_str(wk, "metadata.name");
	cJSON *tpl = cJSON_CreateObject(), *meta, *labels, *ann, *ts, *dom, *dev, *disks, *ifaces,
	      *nets, *vols, *res;
	char q[64], mac[32], uuid[40];
	const cJSON *d, *n;

	meta = cJSON_AddObjectToObject(tpl, "metadata");
	labels = cJSON_AddObjectToObject(meta, "labels");
	/* The Wukong's labels reach the VMI, where MigrationPolicies select on them. */
	const cJSON *wl;
	cJSON_ArrayForEach(wl, wk_json_path(wk, "metadata.labels"))
	{
		if (cJSON_IsString(wl))
			cJSON_AddStringToObject(labels, wl->string, wl->valuestring);
	}
	cJSON_AddStringToObject(labels, "kubevirt.io/vm", vmname);
	cJSON_AddStringToObject(labels, WK_LABEL, wkname);
	ann = cJSON_AddObjectToObject(meta, "annotations");
	const cJSON *wann;
	cJSON_ArrayForEach(wann, wk_json_path(wk, "metadata.annotations"))
	{
		/* KubeVirt switches and the simulator's own knobs travel to the VMI. */
		if (cJSON_IsString(wann) && (!strncmp(wann->string, "kubevirt.io/", 12) ||
					     !strncmp(wann->string, "sim.novasphere.dev/", 19)))
			cJSON_AddStringToObject(ann, wann->string, wann->valuestring);
	}
	ts = cJSON_AddObjectToObject(tpl, "spec");
	dom = cJSON_AddObjectToObject(ts, "domain");
	const cJSON *cpu = wk_json_path(spec, "cpu");
	int64_t cores = cJSON_IsNumber(cpu) ? (int64_t)cpu->valuedouble : 1;
	if (cores < 1)
		cores = 1;
	cJSON *c = cJSON_AddObjectToObject(dom, "cpu");
	cJSON_AddNumberToObject(c, "cores", (double)cores);
	cJSON_AddNumberToObject(c, "sockets", 1);
	cJSON_AddNumberToObject(c, "threads", 1);
	int64_t mem = sim_jqty(wk_json_path(spec, "memory"));
	if (mem <= 0)
		mem = INT64_C(1) << 30;
	wk_quantity_format_bytes(mem, q, sizeof(q));
	cJSON_AddStringToObject(cJSON_AddObjectToObject(dom, "memory"), "guest", q);
	res = cJSON_AddObjectToObject(cJSON_AddObjectToObject(dom, "resources"), "requests");
	cJSON_AddStringToObject(res, "memory", q);
	const cJSON *creq = cJSON_GetObjectItemCaseSensitive(
	    wk_json_path(wk, "metadata.annotations"), ANN_CPU_REQUEST);
	if (cJSON_IsString(creq))
		cJSON_AddStringToObject(res, "cpu", creq->valuestring);
	uuid_for(m, uuid, sizeof(uuid));
	cJSON_AddStringToObject(cJSON_AddObjectToObject(dom, "firmware"), "serial", uuid);
	dev = cJSON_AddObjectToObject(dom, "devices");
	disks = cJSON_AddArrayToObject(dev, "disks");
	ifaces = cJSON_AddArrayToObject(dev, "interfaces");
	nets = cJSON_AddArrayToObject(ts, "networks");
	vols = cJSON_AddArrayToObject(ts, "volumes");
	cJSON_ArrayForEach(d, wk_json_path(spec, "disks"))
	{
		const char *dn = wk_json_str(d, "name");
		char claim[320];
		if (!dn)
			continue;
		cJSON *x = cJSON_CreateObject();
		cJSON_AddStringToObject(x, "name", dn);
		cJSON_AddStringToObject(cJSON_AddObjectToObject(x, "disk"), "bus", "virtio");
		cJSON_AddItemToArray(disks, x);
		snprintf(claim, sizeof(claim), "%s-%s", wkname, dn);
		x = cJSON_CreateObject();
		cJSON_AddStringToObject(x, "name", dn);
		cJSON_AddStringToObject(cJSON_AddObjectToObject(x, "persistentVolumeClaim"),
					"claimName", claim);
		cJSON_AddItemToArray(vols, x);
	}
	const cJSON *wnets = wk_json_path(spec, "networks");
	if (!cJSON_GetArraySize(wnets)) {
		mac_for(m, mac, sizeof(mac));
		cJSON *x = cJSON_CreateObject();
		cJSON_AddStringToObject(x, "name", "default");
		cJSON_AddObjectToObject(x, "masquerade");
		cJSON_AddStringToObject(x, "macAddress", mac);
		cJSON_AddItemToArray(ifaces, x);
		x = cJSON_CreateObject();
		cJSON_AddStringToObject(x, "name", "default");
		cJSON_AddObjectToObject(x, "pod");
		cJSON_AddItemToArray(nets, x);
	}
	cJSON_ArrayForEach(n, wnets)
	{
		const char *nn = wk_json_str(n, "name") ? wk_json_str(n, "name") : "default";
		const char *type = wk_json_str(n, "type") ? wk_json_str(n, "type") : "pod";
		const char *binding =
		    wk_json_str(n, "binding") ? wk_json_str(n, "binding") : "masquerade";
		mac_for(m, mac, sizeof(mac));
		cJSON *x = cJSON_CreateObject();
		cJSON_AddStringToObject(x, "name", nn);
		cJSON_AddObjectToObject(x, !strcmp(binding, "bridge") ? "bridge" : "masquerade");
		cJSON_AddStringToObject(x, "macAddress", mac);
		cJSON_AddItemToArray(ifaces, x);
		x = cJSON_CreateObject();
		cJSON_AddStringToObject(x, "name", nn);
		if (!strcmp(type, "multus"))
			cJSON_AddStringToObject(
			    cJSON_AddObjectToObject(x, "multus"), "networkName",
			    wk_json_str(n, "networkName") ? wk_json_str(n, "networkName") : nn);
		else
			cJSON_AddObjectToObject(x, "pod");
		cJSON_AddItemToArray(nets, x);
	}
	const cJSON *sel = wk_json_path(spec, "nodeSelector");
	if (cJSON_IsObject(sel) && cJSON_GetArraySize(sel))
		cJSON_AddItemToObject(ts, "nodeSelector", cJSON_Duplicate(sel, 1));
	cJSON_AddStringToObject(ts, "evictionStrategy", "LiveMigrateIfPossible");
	cJSON_AddNumberToObject(ts, "terminationGracePeriodSeconds", 30);
	return tpl;
}

static bool wk_running(const cJSON *wk)
{
	const cJSON *r = wk_json_path(wk, "spec.running");
	return !cJSON_IsFalse(r);
}

static void create_pvcs(struct sim_model *m, const cJSON *wk, const char *ns)
{
	const char *wkname = wk_json_str(wk, "metadata.name"),
		   *uid = wk_json_str(wk, "metadata.uid");
	const cJSON *d;
	cJSON_ArrayForEach(d, wk_json_path(wk, "spec.disks"))
	{
		const char *dn = wk_json_str(d, "name"), *cls = wk_json_str(d, "storageClassName"),
			   *am = wk_json_str(d, "accessMode");
		const struct sim_sc_class *c;
		char name[320], size[64];
		if (!dn)
			continue;
		if (!cls)
			cls = m->sc->default_class;
		c = sim_scenario_class(m->sc, cls);
		if (!am)
			am = !c || c->rwx ? "ReadWriteMany" : "ReadWriteOnce";
		int64_t sz = sim_jqty(wk_json_path(d, "size"));
		wk_quantity_format_bytes(sz > 0 ? sz : INT64_C(10) << 30, size, sizeof(size));
		snprintf(name, sizeof(name), "%s-%s", wkname, dn);
		cJSON *p = cJSON_CreateObject(), *meta, *spec;
		cJSON_AddStringToObject(p, "apiVersion", "v1");
		cJSON_AddStringToObject(p, "kind", "PersistentVolumeClaim");
		meta = cJSON_AddObjectToObject(p, "metadata");
		cJSON_AddStringToObject(meta, "name", name);
		cJSON_AddStringToObject(meta, "namespace", ns);
		cJSON_AddStringToObject(cJSON_AddObjectToObject(meta, "labels"), WK_LABEL, wkname);
		cJSON_AddItemToObject(
		    meta, "ownerReferences",
		    owner_ref("vm.novasphere.dev/v1alpha1", "Wukong", wkname, uid));
		spec = cJSON_AddObjectToObject(p, "spec");
		cJSON_AddItemToObject(spec, "accessModes", cJSON_CreateStringArray(&am, 1));
		cJSON_AddStringToObject(
		    cJSON_AddObjectToObject(cJSON_AddObjectToObject(spec, "resources"), "requests"),
		    "storage", size);
		cJSON_AddStringToObject(spec, "storageClassName", cls);
		cJSON_AddStringToObject(spec, "volumeMode", "Block");
		/* the PersistentVolume controller binds it (sim_model_storage.c) */
		sim_pvc_create(m, ns, p);
	}
}

static void create_vm_for(struct sim_model *m, const cJSON *wk, const char *ns, const char *vmname)
{
	const char *wkname = wk_json_str(wk, "metadata.name");
	cJSON *vm = cJSON_CreateObject(), *meta, *spec;
	/* Seeded VMs are what wukong-provisioner made before the simulation started: its label
	 * and generation mark, so it carries on with them. */
	bool prov = true;

	cJSON_AddStringToObject(vm, "apiVersion", "kubevirt.io/v1");
	cJSON_AddStringToObject(vm, "kind", "VirtualMachine");
	meta = cJSON_AddObjectToObject(vm, "metadata");
	cJSON_AddStringToObject(meta, "name", vmname);
	cJSON_AddStringToObject(meta, "namespace", ns);
	cJSON *labels = cJSON_AddObjectToObject(meta, "labels");
	cJSON_AddStringToObject(labels, WK_LABEL, wkname);
	if (prov) {
		cJSON_AddStringToObject(labels, "vm.novasphere.dev/provisioner",
					"wukong-provisioner");
		cJSON_AddStringToObject(cJSON_AddObjectToObject(meta, "annotations"),
					"vm.novasphere.dev/provisioned-generation", "1");
	}
	cJSON_AddItemToObject(meta, "ownerReferences",
			      owner_ref("vm.novasphere.dev/v1alpha1", "Wukong", wkname,
					wk_json_str(wk, "metadata.uid")));
	spec = cJSON_AddObjectToObject(vm, "spec");
	cJSON_AddStringToObject(spec, "runStrategy", wk_running(wk) ? "Always" : "Halted");
	cJSON_AddItemToObject(spec, "template", vm_template_from_wukong(m, wk, vmname));
	sim_create(m, m->r_vm, ns, vm);
}

/* ---- VirtualMachine -> VMI ---- */

static const cJSON *ann_of(const cJSON *meta, const char *key)
{
	return cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetObjectItemCaseSensitive(meta, "annotations"), key);
}

/* The VM's run strategy: Always/RerunOnFailure/Once run; Halted stops; Manual keeps the
 * current state; the deprecated spec.running is honoured when runStrategy is absent. */
static bool vm_wants_running(const cJSON *vm, bool current)
{
	const char *rs = wk_json_str(vm, "spec.runStrategy");
	const cJSON *r = wk_json_path(vm, "spec.running");
	if (rs) {
		if (!strcmp(rs, "Halted"))
			return false;
		if (!strcmp(rs, "Manual"))
			return current;
		return true;
	}
	return cJSON_IsTrue(r);
}

/* LiveMigratable as virt-handler computes it: the pod-network interface first, then the
 * storage; the first reason found wins. */
static void compute_migratable(struct sim_model *m, struct mvm *vm, const cJSON *vmi)
{
	const cJSON *net, *iface, *vol;
	const cJSON *tspec = wk_json_path(vmi, "spec");
	bool allow_bridge = ann_of(wk_json_path(vmi, "metadata"), ANN_BRIDGE) != NULL;

	vm->migratable = true;
	vm->reason[0] = vm->message[0] = 0;
	cJSON_ArrayForEach(net, wk_json_path(tspec, "networks"))
	{
		if (!wk_json_path(net, "pod"))
			continue;
		cJSON_ArrayForEach(iface, wk_json_path(tspec, "domain.devices.interfaces"))
		{
			const char *in = wk_json_str(iface, "name"), *nn = wk_json_str(net, "name");
			if (!in || !nn || strcmp(in, nn))
				continue;
			bool ok = wk_json_path(iface, "masquerade") ||
				  wk_json_path(iface, "passt") || wk_json_path(iface, "binding") ||
				  (wk_json_path(iface, "bridge") && allow_bridge);
			if (!ok) {
				vm->migratable = false;
				snprintf(vm->reason, sizeof(vm->reason),
					 "InterfaceNotLiveMigratable");
				snprintf(vm->message, sizeof(vm->message), MSG_IFACE);
				return;
			}
		}
	}
	cJSON_ArrayForEach(vol, wk_json_path(tspec, "volumes"))
	{
		const char *claim = wk_json_str(vol, "persistentVolumeClaim.claimName");
		if (!claim)
			claim = wk_json_str(vol, "dataVolume.name");
		if (!claim)
			continue;
		cJSON *pvc = sim_store_get(m->st, m->r_pvc, vm->ns, claim);
		const cJSON *modes = pvc ? wk_json_path(pvc, "status.accessModes") : NULL;
		if (!cJSON_GetArraySize(modes) && pvc)
			modes = wk_json_path(pvc, "spec.accessModes");
		bool rwx = false;
		const cJSON *am;
		cJSON_ArrayForEach(am, modes) rwx |=
		    cJSON_IsString(am) && !strcmp(am->valuestring, "ReadWriteMany");
		if (!pvc || !rwx) {
			vm->migratable = false;
			snprintf(vm->reason, sizeof(vm->reason), "DisksNotLiveMigratable");
			if (!pvc)
				snprintf(
				    vm->message, sizeof(vm->message),
				    "Unable to determine if PVC %.64s is shared, live migration "
				    "requires that all PVCs must be shared (using ReadWriteMany "
				    "access mode)",
				    claim);
			else
				snprintf(
				    vm->message, sizeof(vm->message),
				    "cannot migrate VMI: PVC %.64s is not shared, live migration "
				    "requires that all PVCs must be shared (using ReadWriteMany "
				    "access mode)",
				    claim);
			cJSON_Delete(pvc);
			return;
		}
		cJSON_Delete(pvc);
	}
}

static cJSON *vmi_conditions(struct sim_model *m, const struct mvm *vm, bool ready)
{
	cJSON *c = cJSON_CreateArray();
	if (ready)
		cJSON_AddItemToArray(c, sim_cond_new(m, "Ready", "True", NULL, NULL));
	else if (vm->phase == VMI_FAILED)
		cJSON_AddItemToArray(c, sim_cond_new(m, "Ready", "False", "PodTerminating",
						     "virt-launcher pod is terminating"));
	else
		cJSON_AddItemToArray(c, sim_cond_new(m, "Ready", "False", "GuestNotRunning",
						     "Guest VM is not reported as running"));
	if (vm->migratable)
		cJSON_AddItemToArray(c, sim_cond_new(m, "LiveMigratable", "True", NULL, NULL));
	else
		cJSON_AddItemToArray(
		    c, sim_cond_new(m, "LiveMigratable", "False", vm->reason, vm->message));
	if (!vm->migratable && !strcmp(vm->reason, "DisksNotLiveMigratable"))
		cJSON_AddItemToArray(c, sim_cond_new(m, "StorageLiveMigratable", "False",
						     "NotMigratable", vm->message));
	else
		cJSON_AddItemToArray(c,
				     sim_cond_new(m, "StorageLiveMigratable", "True", NULL, NULL));
	if (vm->guest_agent && ready)
		cJSON_AddItemToArray(c, sim_cond_new(m, "AgentConnected", "True", NULL, NULL));
	return c;
}

/* The virt-launcher pod as virt-controller renders it (pkg/virt-controller/services/
 * renderresources.go, template.go): cpu request = vCPUs / cpuAllocationRatio unless the VMI asks
 * for cpu (WithoutDedicatedCPU; dedicated CPUs: all of them), memory request = the guest's +
 * GetMemoryOverhead (pkg/hypervisor/kvm/hypervisorbackend.go, x86: guest/512 + 220Mi of
 * KubeVirt processes + 8Mi per vCPU + 8Mi IOThread + video 32Mi, 16Mi on 1.5 (v1.5.0
 * services.GetMemoryOverhead) + 100Mi for dedicated CPUs, times
 * additionalGuestMemoryOverheadRatio), plus the guest-console-log container (5m, 35M). The
 * pod tolerates what the VMI tolerates and needs its node affinity. */
static void launcher_render(struct sim_model *m, struct mvm *vm, const cJSON *spec)
{
	const cJSON *dom = wk_json_path(spec, "domain");
	int64_t c = 1, s = 1, t = 1, milli;
	const cJSON *x;
	if (cJSON_IsNumber(x = wk_json_path(dom, "cpu.cores")) && x->valuedouble >= 1)
		c = (int64_t)x->valuedouble;
	if (cJSON_IsNumber(x = wk_json_path(dom, "cpu.sockets")) && x->valuedouble >= 1)
		s = (int64_t)x->valuedouble;
	if (cJSON_IsNumber(x = wk_json_path(dom, "cpu.threads")) && x->valuedouble >= 1)
		t = (int64_t)x->valuedouble;
	int64_t vcpus = c * s * t;
	if (vcpus > 4096)
		vcpus = 4096;
	bool dedicated = cJSON_IsTrue(wk_json_path(dom, "cpu.dedicatedCpuPlacement"));
	const cJSON *rc = wk_json_path(dom, "resources.requests.cpu");
	if (cJSON_IsString(rc) && wk_quantity_parse_milli(rc->valuestring, &milli, NULL, 0) == 0)
		vm->req_cpu = milli;
	else if (dedicated)
		vm->req_cpu = vcpus * 1000;
	else
		vm->req_cpu = (int64_t)((double)vcpus * 1000.0 / m->kv.cpu_ratio);
	int64_t mem = sim_jqty(wk_json_path(dom, "resources.requests.memory"));
	if (mem < 0)
		mem = sim_jqty(wk_json_path(dom, "memory.guest"));
	if (mem < 0)
		mem = vm->memory;
	const int64_t Mi = INT64_C(1) << 20;
	int64_t over = mem / 512 + 220 * Mi + 8 * Mi * vcpus + 8 * Mi;
	const cJSON *gfx = wk_json_path(dom, "devices.autoattachGraphicsDevice");
	if (!cJSON_IsFalse(gfx))
		over += (m->kv_minor <= 5 ? 16 : 32) * Mi;
	if (dedicated)
		over += 100 * Mi;
	over = (int64_t)((double)over * m->kv.overhead_ratio);
	if (cJSON_IsTrue(wk_json_path(dom, "resources.overcommitGuestOverhead")))
		over = 0;
	vm->req_mem = mem + over;
	/* guest-console-log, unless the serial console is not logged */
	if (!cJSON_IsFalse(wk_json_path(dom, "devices.autoattachSerialConsole")) &&
	    !cJSON_IsFalse(wk_json_path(dom, "devices.logSerialConsole"))) {
		vm->req_cpu += 5;
		vm->req_mem += 35000000;
	}
	cJSON_Delete(vm->tolerations);
	x = wk_json_path(spec, "tolerations");
	vm->tolerations = cJSON_IsArray(x) ? cJSON_Duplicate(x, 1) : NULL;
	cJSON_Delete(vm->affinity_terms);
	x = wk_json_path(spec,
			 "affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution."
			 "nodeSelectorTerms");
	vm->affinity_terms = cJSON_IsArray(x) ? cJSON_Duplicate(x, 1) : NULL;
	const char *model = wk_json_str(dom, "cpu.model");
	snprintf(vm->cpu_model, sizeof(vm->cpu_model), "%s",
		 model && *model ? model : "host-model");
	cJSON_Delete(vm->cpu_sel);
	vm->cpu_sel = NULL;
}

static void vmi_create(struct sim_model *m, struct mvm *vm, const cJSON *vmobj)
{
	const cJSON *tpl = wk_json_path(vmobj, "spec.template");
	cJSON *vmi = cJSON_CreateObject(), *meta, *labels, *st;
	const cJSON *tl = wk_json_path(tpl, "metadata.labels"),
		    *ta = wk_json_path(tpl, "metadata.annotations");

	cJSON_AddStringToObject(vmi, "apiVersion", "kubevirt.io/v1");
	cJSON_AddStringToObject(vmi, "kind", "VirtualMachineInstance");
	meta = cJSON_AddObjectToObject(vmi, "metadata");
	cJSON_AddStringToObject(meta, "name", vm->name);
	cJSON_AddStringToObject(meta, "namespace", vm->ns);
	labels = cJSON_IsObject(tl) ? cJSON_Duplicate(tl, 1) : cJSON_CreateObject();
	sim_jset_str(labels, "vm.kubevirt.io/name", vm->name);
	cJSON_AddItemToObject(meta, "labels", labels);
	cJSON *ann = cJSON_IsObject(ta) ? cJSON_Duplicate(ta, 1) : cJSON_CreateObject();
	sim_jset_str(ann, "kubevirt.io/latest-observed-api-version", "v1");
	sim_jset_str(ann, "kubevirt.io/storage-observed-api-version", "v1");
	cJSON_AddItemToObject(meta, "annotations", ann);
	cJSON_AddItemToObject(meta, "ownerReferences",
			      owner_ref("kubevirt.io/v1", "VirtualMachine", vm->name,
					wk_json_str(vmobj, "metadata.uid")));
	const char *fin[] = {"kubevirt.io/virtualMachineControllerFinalize"};
	cJSON_AddItemToObject(meta, "finalizers", cJSON_CreateStringArray(fin, 1));
	cJSON *vspec = wk_json_path(tpl, "spec") ? cJSON_Duplicate(wk_json_path(tpl, "spec"), 1)
						 : cJSON_CreateObject();
	cJSON_AddItemToObject(vmi, "spec", vspec);
	/* virt-api's mutating webhook: the default CPU model is host-model. */
	cJSON *vcpu = sim_jobj(sim_jobj(vspec, "domain"), "cpu");
	if (!wk_json_str(vcpu, "model"))
		sim_jset_str(vcpu, "model", "host-model");
	launcher_render(m, vm, vspec);
	compute_migratable(m, vm, vmi);
	st = cJSON_AddObjectToObject(vmi, "status");
	cJSON_AddStringToObject(st, "phase", "Pending");
	cJSON_AddItemToObject(st, "conditions", vmi_conditions(m, vm, false));
	cJSON_AddStringToObject(st, "guestOSInfo", "");
	cJSON_ReplaceItemInObject(st, "guestOSInfo", cJSON_CreateObject());
	cJSON_AddStringToObject(st, "qosClass", "Burstable");
	sim_create(m, m->r_vmi, vm->ns, vmi);
	vm->phase = VMI_PENDING;
	vm->fail_reason = NULL;
	vm->node = -1;
	sim_vm_timer(m, vm, m->now + 0.2);
}

static void vm_load_spec(struct mvm *vm, const cJSON *o, double default_dirty)
{
	const cJSON *tpl = wk_json_path(o, "spec.template");
	const cJSON *tmeta = wk_json_path(tpl, "metadata");
	int64_t mem = sim_jqty(wk_json_path(tpl, "spec.domain.memory.guest"));
	if (mem <= 0)
		mem = sim_jqty(wk_json_path(tpl, "spec.domain.resources.requests.memory"));
	vm->memory = mem > 0 ? mem : INT64_C(1) << 30;
	const cJSON *cores = wk_json_path(tpl, "spec.domain.cpu.cores");
	int64_t cpu = cJSON_IsNumber(cores) ? (int64_t)cores->valuedouble : 0;
	if (cpu <= 0) {
		int64_t milli;
		const cJSON *r = wk_json_path(tpl, "spec.domain.resources.requests.cpu");
		if (cJSON_IsString(r) &&
		    wk_quantity_parse_milli(r->valuestring, &milli, NULL, 0) == 0)
			cpu = (milli + 999) / 1000;
	}
	vm->cpu = cpu > 0 ? cpu : 1;
	int64_t dr = sim_jqty(ann_of(tmeta, ANN_DIRTY));
	if (dr < 0)
		dr = sim_jqty(ann_of(wk_json_path(o, "metadata"), ANN_DIRTY));
	vm->dirty_rate = dr >= 0 ? (double)dr : default_dirty;
	const cJSON *ga = ann_of(tmeta, ANN_AGENT);
	vm->guest_agent = !(cJSON_IsString(ga) && !strcmp(ga->valuestring, "false"));
	cJSON_Delete(vm->node_selector);
	const cJSON *sel = wk_json_path(tpl, "spec.nodeSelector");
	vm->node_selector = cJSON_IsObject(sel) ? cJSON_Duplicate(sel, 1) : NULL;
}

static void vm_free(struct sim_model *m, struct mvm *vm)
{
	timer_off(m, vm);
	wk_map_del(&m->vms, vm->key);
	free(vm->ns);
	free(vm->name);
	free(vm->key);
	cJSON_Delete(vm->node_selector);
	cJSON_Delete(vm->tolerations);
	cJSON_Delete(vm->affinity_terms);
	cJSON_Delete(vm->cpu_sel);
	free(vm);
}

static void release_node(struct sim_model *m, struct mvm *vm)
{
	if (vm->node >= 0) {
		sim_node_usage(m, vm->node, vm, -1);
		m->nodes[vm->node].nvmis--;
	}
	vm->node = -1;
}

/* Stop the VMI: the guest shuts down and the VMI object goes away. */
static void vmi_stop(struct sim_model *m, struct mvm *vm)
{
	if (vm->phase == VMI_NONE)
		return;
	if (vm->mig)
		vm->mig->abort_requested = true;
	release_node(m, vm);
	vm->phase = VMI_NONE;
	timer_off(m, vm);
	sim_remove_finalizer(m, m->r_vmi, vm->ns, vm->name,
			     "kubevirt.io/virtualMachineControllerFinalize");
	sim_delete(m, m->r_vmi, vm->ns, vm->name);
}

cJSON *sim_vm_volume_snapshot_statuses(struct sim_model *m, const cJSON *vm)
{
	cJSON *a = cJSON_CreateArray();
	const cJSON *vol;
	const char *ns = wk_json_str(vm, "metadata.namespace");

	cJSON_ArrayForEach(vol, wk_json_path(vm, "spec.template.spec.volumes"))
	{
		const char *claim = wk_json_str(vol, "persistentVolumeClaim.claimName");
		const char *vname = wk_json_str(vol, "name");
		cJSON *x = cJSON_CreateObject();
		if (!claim) /* a DataVolume's PVC has its name */
			claim = wk_json_str(vol, "dataVolume.name");
		cJSON_AddStringToObject(x, "name", vname ? vname : "");
		if (!claim) {
			cJSON_AddBoolToObject(x, "enabled", false);
			char why[300];
			snprintf(why, sizeof(why),
				 "Snapshot is not supported for this volumeSource type [%s]",
				 vname ? vname : "");
			cJSON_AddStringToObject(x, "reason", why);
			cJSON_AddItemToArray(a, x);
			continue;
		}
		cJSON *pvc = sim_store_get(m->st, m->r_pvc, ns ? ns : "", claim);
		const char *cls = wk_json_str(pvc, "spec.storageClassName");
		char why[400];
		bool ok = pvc && sim_class_snapshottable(m, cls, vname, why, sizeof(why));
		cJSON_AddBoolToObject(x, "enabled", ok);
		if (!pvc)
			cJSON_AddStringToObject(x, "reason", "PVC not found");
		else if (!ok)
			cJSON_AddStringToObject(x, "reason", why);
		cJSON_Delete(pvc);
		cJSON_AddItemToArray(a, x);
	}
	return a;
}

struct vmstat {
	struct sim_model *m;
	struct mvm *vm;
	cJSON *vss; /* volumeSnapshotStatuses, computed before the store's lock is taken */
};

static int vmstat_fn(cJSON *obj, void *opaque, struct sim_err *err)
{
	struct vmstat *a = opaque;
	struct mvm *vm = a->vm;
	const char *ps;
	(void)err;

	switch (vm->phase) {
	case VMI_NONE:
		ps = vm->running ? "Starting" : "Stopped";
		break;
	case VMI_PENDING:
		ps = vm->sched_msg[0] ? "ErrorUnschedulable" : "Starting";
		break;
	case VMI_SCHEDULING:
	case VMI_SCHEDULED:
		ps = "Starting";
		break;
	case VMI_RUNNING:
		ps = vm->mig && vm->mig->phase >= MIG_SCHEDULING && vm->mig->phase <= MIG_RUNNING
			 ? "Migrating"
			 : "Running";
		break;
	case VMI_FAILED:
	default:
		ps = "CrashLoopBackOff";
		break;
	}
	if (!vm->running && vm->phase != VMI_NONE)
		ps = "Stopping";
	cJSON *st = sim_jobj(obj, "status");
	sim_jset_str(st, "printableStatus", ps);
	sim_jset(st, "ready", cJSON_CreateBool(vm->phase == VMI_RUNNING));
	sim_jset(st, "created", cJSON_CreateBool(vm->phase != VMI_NONE));
	const char *rs = wk_json_str(obj, "spec.runStrategy");
	sim_jset_str(st, "runStrategy", rs ? rs : vm->running ? "Always" : "Halted");
	const cJSON *g = wk_json_path(obj, "metadata.generation");
	if (cJSON_IsNumber(g)) {
		sim_jset(st, "observedGeneration", cJSON_CreateNumber(g->valuedouble));
		sim_jset(st, "desiredGeneration", cJSON_CreateNumber(g->valuedouble));
	}
	cJSON *conds = cJSON_CreateArray();
	cJSON_AddItemToArray(conds, vm->phase == VMI_RUNNING
					? sim_cond_new(a->m, "Ready", "True", NULL, NULL)
					: sim_cond_new(a->m, "Ready", "False", "VMINotExists",
						       "VMI does not exist"));
	const cJSON *old = wk_json_path(st, "conditions");
	if (old) {
		/* keep lastTransitionTime when the status did not change */
		cJSON *c = cJSON_GetArrayItem(conds, 0);
		const cJSON *o;
		cJSON_ArrayForEach(o, old)
		{
			const char *t = wk_json_str(o, "type"), *s = wk_json_str(o, "status");
			if (t && s && !strcmp(t, "Ready") && !strcmp(s, wk_json_str(c, "status")) &&
			    wk_json_path(o, "lastTransitionTime"))
				sim_jset(c, "lastTransitionTime",
					 cJSON_Duplicate(wk_json_path(o, "lastTransitionTime"), 1));
		}
	}
	sim_jset(st, "conditions", conds);
	if (a->vss)
		sim_jset(st, "volumeSnapshotStatuses", cJSON_Duplicate(a->vss, 1));
	return 0;
}

static void vm_write_status(struct sim_model *m, struct mvm *vm)
{
	struct vmstat a = {m, vm, NULL};
	struct sim_err err;
	/* Mutate callbacks run under the store's lock: read what they need first. */
	cJSON *o = sim_store_get(m->st, m->r_vm, vm->ns, vm->name);
	if (o)
		a.vss = sim_vm_volume_snapshot_statuses(m, o);
	cJSON_Delete(o);
	sim_store_mutate(m->st, m->r_vm, vm->ns, vm->name, vmstat_fn, &a, NULL, &err);
	cJSON_Delete(a.vss);
}

void sim_vm_reconcile(struct sim_model *m, const char *ns, const char *name, bool deleted)
{
	char *key = vkey(ns, name);
	struct mvm *vm = wk_map_get(&m->vms, key);
	cJSON *o = NULL;

	if (!deleted) {
		o = sim_store_get(m->st, m->r_vm, ns, name);
		deleted = !o || wk_json_path(o, "metadata.deletionTimestamp");
	}
	if (deleted) {
		sim_dv_vm_deleted(m, ns, name); /* dataVolumeTemplates' DataVolumes are the VM's */
		if (vm) {
			vmi_stop(m, vm);
			if (vm->mig) {
				vm->mig->abort_requested = true;
				vm->mig->vm = NULL;
			}
			vm->mig = NULL;
			vm_free(m, vm);
		}
		cJSON_Delete(o);
		free(key);
		return;
	}
	if (!vm) {
		vm = wk_xcalloc(1, sizeof(*vm));
		vm->pin_node = -1;
		vm->ns = wk_xstrdup(ns);
		vm->name = wk_xstrdup(name);
		vm->key = key;
		key = NULL;
		vm->node = -1;
		wk_map_put(&m->vms, vm->key, vm);
	}
	free(key);
	vm_load_spec(vm, o, (double)m->sc->default_dirty_rate);
	vm->running = vm_wants_running(o, vm->running || vm->phase != VMI_NONE);
	sim_dv_from_vm(m, o);
	if (vm->running && vm->phase == VMI_NONE) {
		/* KubeVirt creates the VMI once the DataVolumes allow it (handleDataVolumes) */
		if (sim_dv_vm_startable(m, o))
			vmi_create(m, vm, o);
		else
			sim_vm_timer(m, vm, m->now + 1);
	} else if (!vm->running && vm->phase != VMI_NONE)
		vmi_stop(m, vm);
	cJSON_Delete(o);
	vm_write_status(m, vm);
}

/* Somebody deleted the VMI (kubectl delete vmi): the VM controller starts a new one when the
 * run strategy says so. */
void sim_vmi_deleted(struct sim_model *m, const char *ns, const char *name)
{
	struct mvm *vm = sim_vm_find(m, ns, name);
	if (!vm || vm->phase == VMI_NONE)
		return;
	if (vm->mig)
		vm->mig->abort_requested = true;
	release_node(m, vm);
	vm->phase = VMI_NONE;
	if (vm->running)
		sim_vm_timer(m, vm, m->now + 1);
	vm_write_status(m, vm);
}

/* ---- VMI phases ---- */

static cJSON *vmi_interfaces(struct sim_model *m, const cJSON *vmi, size_t seq)
{
	cJSON *a = cJSON_CreateArray();
	const cJSON *iface;
	int i = 0;
	(void)m;
	cJSON_ArrayForEach(iface, wk_json_path(vmi, "spec.domain.devices.interfaces"))
	{
		char ip[32], ifn[16];
		cJSON *x = cJSON_CreateObject();
		snprintf(ip, sizeof(ip), "10.%zu.%zu.%zu", 128 + (seq >> 16) % 64, (seq >> 8) & 255,
			 (seq & 255) + (size_t)i);
		snprintf(ifn, sizeof(ifn), "eth%d", i++);
		cJSON_AddStringToObject(
		    x, "name", wk_json_str(iface, "name") ? wk_json_str(iface, "name") : "");
		cJSON_AddStringToObject(x, "interfaceName", ifn);
		if (wk_json_str(iface, "macAddress"))
			cJSON_AddStringToObject(x, "mac", wk_json_str(iface, "macAddress"));
		cJSON_AddStringToObject(x, "ipAddress", ip);
		cJSON_AddItemToObject(x, "ipAddresses",
				      cJSON_CreateStringArray((const char *[]){ip}, 1));
		cJSON_AddStringToObject(x, "infoSource", "domain, guest-agent");
		cJSON_AddNumberToObject(x, "queueCount", 1);
		cJSON_AddItemToArray(a, x);
	}
	return a;
}

struct vmirun {
	struct sim_model *m;
	struct mvm *vm;
	cJSON *pvcs; /* claimName -> PVC, read before the store's lock is taken */
};

static int vmi_phase_fn(cJSON *obj, void *opaque, struct sim_err *err)
{
	struct vmirun *a = opaque;
	struct sim_model *m = a->m;
	struct mvm *vm = a->vm;
	static const char *const names[] = {"",		 "Pending", "Scheduling",
					    "Scheduled", "Running", "Failed"};
	char ts[40], q[64];
	(void)err;

	cJSON *st = sim_jobj(obj, "status");
	sim_jset_str(st, "phase", names[vm->phase]);
	if (vm->phase == VMI_FAILED && vm->fail_reason)
		sim_jset_str(st, "reason", vm->fail_reason);
	sim_ts(m, m->now, ts, sizeof(ts));
	cJSON *labels = sim_jobj(sim_jobj(obj, "metadata"), "labels");
	if (vm->node >= 0 && vm->phase >= VMI_SCHEDULED && vm->phase != VMI_FAILED) {
		const char *node = m->nodes[vm->node].name;
		sim_jset_str(st, "nodeName", node);
		sim_jset_str(labels, "kubevirt.io/nodeName", node);
		cJSON *ap = cJSON_CreateObject();
		char uid[40];
		snprintf(uid, sizeof(uid), "%08x-0000-4000-8000-%012zx",
			 (unsigned)(hash_seq(vm->key) & 0xffffffffu), (size_t)vm->node);
		cJSON_AddStringToObject(ap, uid, node);
		sim_jset(st, "activePods", ap);
	}
	sim_jset(st, "conditions", vmi_conditions(m, vm, vm->phase == VMI_RUNNING));
	if (vm->phase == VMI_RUNNING) {
		sim_jset_str(st, "migrationMethod", "LiveMigration");
		sim_jset_str(st, "migrationTransport", "Unix");
		sim_jset(st, "interfaces", vmi_interfaces(m, obj, hash_seq(vm->key)));
		cJSON *gi = cJSON_CreateObject();
		if (vm->guest_agent) {
			cJSON_AddStringToObject(gi, "id", "fedora");
			cJSON_AddStringToObject(gi, "name", "Fedora Linux");
			cJSON_AddStringToObject(gi, "prettyName",
						"Fedora Linux 40 (Cloud Edition)");
			cJSON_AddStringToObject(gi, "version", "40");
			cJSON_AddStringToObject(gi, "versionId", "40");
			cJSON_AddStringToObject(gi, "kernelRelease", "6.8.5-301.fc40.x86_64");
		}
		sim_jset(st, "guestOSInfo", gi);
		cJSON *mem = cJSON_CreateObject();
		wk_quantity_format_bytes(vm->memory, q, sizeof(q));
		cJSON_AddStringToObject(mem, "guestAtBoot", q);
		cJSON_AddStringToObject(mem, "guestCurrent", q);
		cJSON_AddStringToObject(mem, "guestRequested", q);
		sim_jset(st, "memory", mem);
		cJSON *topo = cJSON_CreateObject();
		cJSON_AddNumberToObject(topo, "cores", (double)vm->cpu);
		cJSON_AddNumberToObject(topo, "sockets", 1);
		cJSON_AddNumberToObject(topo, "threads", 1);
		sim_jset(st, "currentCPUTopology", topo);
		sim_jset_str(st, "launcherContainerImageVersion",
			     "quay.io/kubevirt/virt-launcher:v1.6.0");
		/* volumeStatus with the claim's access modes: what LiveMigratable is based on. */
		cJSON *vs = cJSON_CreateArray();
		const cJSON *vol;
		char target[8] = "vda";
		cJSON_ArrayForEach(vol, wk_json_path(obj, "spec.volumes"))
		{
			const char *claim = wk_json_str(vol, "persistentVolumeClaim.claimName");
			cJSON *x = cJSON_CreateObject();
			cJSON_AddStringToObject(
			    x, "name", wk_json_str(vol, "name") ? wk_json_str(vol, "name") : "");
			cJSON_AddStringToObject(x, "target", target);
			target[2]++;
			if (claim) {
				const cJSON *pvc = cJSON_GetObjectItemCaseSensitive(a->pvcs, claim);
				cJSON *ci = cJSON_AddObjectToObject(x, "persistentVolumeClaimInfo");
				cJSON_AddStringToObject(ci, "claimName", claim);
				if (pvc) {
					const cJSON *am = wk_json_path(pvc, "spec.accessModes");
					const cJSON *cap = wk_json_path(pvc, "status.capacity");
					if (am)
						cJSON_AddItemToObject(ci, "accessModes",
								      cJSON_Duplicate(am, 1));
					if (cap)
						cJSON_AddItemToObject(ci, "capacity",
								      cJSON_Duplicate(cap, 1));
					cJSON_AddStringToObject(ci, "volumeMode", "Block");
				}
			}
			cJSON_AddItemToArray(vs, x);
		}
		sim_jset(st, "volumeStatus", vs);
	}
	if (vm->phase == VMI_PENDING && vm->sched_msg[0]) {
		/* PodScheduled=False tells why the launcher pod waits. */
		cJSON *c = cJSON_GetObjectItemCaseSensitive(st, "conditions");
		cJSON_AddItemToArray(c, sim_cond_new(m, "PodScheduled", "False", "Unschedulable",
						     vm->sched_msg[0] ? vm->sched_msg : "waiting"));
	}
	return 0;
}

static void vmi_write(struct sim_model *m, struct mvm *vm)
{
	struct vmirun a = {m, vm, cJSON_CreateObject()};
	struct sim_err err;
	if (vm->phase == VMI_RUNNING) {
		cJSON *o = sim_store_get(m->st, m->r_vmi, vm->ns, vm->name);
		const cJSON *vol;
		cJSON_ArrayForEach(vol, wk_json_path(o, "spec.volumes"))
		{
			const char *claim = wk_json_str(vol, "persistentVolumeClaim.claimName");
			cJSON *pvc = claim ? sim_store_get(m->st, m->r_pvc, vm->ns, claim) : NULL;
			if (pvc && !cJSON_GetObjectItemCaseSensitive(a.pvcs, claim))
				cJSON_AddItemToObject(a.pvcs, claim, pvc);
			else
				cJSON_Delete(pvc);
		}
		cJSON_Delete(o);
	}
	sim_store_mutate(m->st, m->r_vmi, vm->ns, vm->name, vmi_phase_fn, &a, NULL, &err);
	cJSON_Delete(a.pvcs);
}

/* Schedule the VMI's pod: its claims first (VolumeBinding: unbound Immediate claims block it, a
 * bound local volume pins it), then the node filters; WaitForFirstConsumer claims are bound on
 * the chosen node. */
static int place(struct sim_model *m, struct mvm *vm, char *msg, size_t msg_size)
{
	cJSON *vmi = sim_store_get(m->st, m->r_vmi, vm->ns, vm->name);
	const cJSON *spec = wk_json_path(vmi, "spec");
	const char *why;
	int n = -1;
	if (sim_claims_check(m, vm->ns, spec, &vm->pin_node, &why) < 0) {
		snprintf(msg, msg_size,
			 "0/%zu nodes are available: %s. preemption: 0/%zu nodes are available: "
			 "%zu Preemption is not helpful for scheduling.",
			 m->nnodes, why, m->nnodes, m->nnodes);
	} else {
		n = sim_node_pick(m, vm, NULL, -1, msg, msg_size);
		if (n >= 0)
			sim_claims_bind(m, vm->ns, spec, n);
	}
	cJSON_Delete(vmi);
	return n;
}

static void vm_step(struct sim_model *m, struct mvm *vm)
{
	char msg[600];

	switch (vm->phase) {
	case VMI_NONE: {
		/* restart after a failure or a deleted VMI */
		if (!vm->running)
			return;
		cJSON *o = sim_store_get(m->st, m->r_vm, vm->ns, vm->name);
		if (o && !sim_dv_vm_startable(m, o)) {
			sim_vm_timer(m, vm, m->now + 1); /* its DataVolumes are not ready yet */
			cJSON_Delete(o);
			return;
		}
		if (o) {
			vmi_create(m, vm, o);
			cJSON_Delete(o);
			vm_write_status(m, vm);
		}
		return;
	}
	case VMI_PENDING: {
		int n = place(m, vm, msg, sizeof(msg));
		if (n < 0) {
			sim_vm_timer(m, vm, m->now + 5);
			if (strcmp(vm->sched_msg, msg)) {
				sim_event(m, m->r_vmi, vm->ns, vm->name, NULL, "Warning",
					  "FailedScheduling", "%s", msg);
				snprintf(vm->sched_msg, sizeof(vm->sched_msg), "%s", msg);
				vmi_write(m, vm);
				vm_write_status(m, vm);
			}
			return;
		}
		vm->sched_msg[0] = 0;
		vm->node = n;
		sim_node_usage(m, n, vm, 1);
		m->nodes[n].nvmis++;
		vm->phase = VMI_SCHEDULING;
		sim_dv_vmi_scheduled(m, vm->ns, vm->name, m->nodes[n].name);
		sim_vm_timer(m, vm, m->now + 1 + sim_rand(m));
		break;
	}
	case VMI_SCHEDULING:
		vm->phase = VMI_SCHEDULED;
		sim_vm_timer(m, vm, m->now + 2 + 2 * sim_rand(m));
		break;
	case VMI_SCHEDULED:
		if (!sim_dv_vmi_ready(m, vm->ns, vm->name)) {
			sim_vm_timer(m, vm, m->now + 1); /* the launcher waits for its disks */
			return;
		}
		vm->phase = VMI_RUNNING;
		timer_off(m, vm);
		sim_event(m, m->r_vmi, vm->ns, vm->name, NULL, "Normal", "Started",
			  "VirtualMachineInstance started.");
		break;
	case VMI_FAILED:
		/* RerunOnFailure/Always: the VM controller replaces a failed VMI. */
		vmi_stop(m, vm);
		if (vm->running)
			sim_vm_timer(m, vm, m->now + 1);
		vm_write_status(m, vm);
		return;
	case VMI_RUNNING:
		timer_off(m, vm);
		return;
	}
	vmi_write(m, vm);
	vm_write_status(m, vm);
}

void sim_vms_tick(struct sim_model *m)
{
	struct mvm *vm = m->timers, *nx;
	for (; vm; vm = nx) {
		nx = vm->tnext;
		if (vm->phase_at <= m->now) {
			vm_step(m, vm);
			/* vm_step may have re-armed or removed vm; nx stays valid because only
			 * vm itself is touched. */
		}
	}
}

/* The node's VMIs are declared failed (node controller / out-of-service). */
void sim_vmi_fail_on_node(struct sim_model *m, int node, const char *reason, const char *message)
{
	WK_MAP_EACH(e, &m->vms)
	{
		struct mvm *vm = e.val;
		if (vm->node != node || vm->phase == VMI_NONE || vm->phase == VMI_FAILED)
			continue;
		if (vm->mig)
			vm->mig->abort_requested = true;
		release_node(m, vm);
		vm->phase = VMI_FAILED;
		vm->fail_reason = reason;
		if (reason && message)
			sim_event(m, m->r_vmi, vm->ns, vm->name, NULL, "Normal", reason, "%s",
				  message);
		vmi_write(m, vm);
		vm_write_status(m, vm);
		/* the VM controller notices a few seconds later */
		sim_vm_timer(m, vm, m->now + 3);
	}
}

/* ---- seeding ---- */

void sim_vm_seed(struct sim_model *m, const struct sim_sc_vm *v)
{
	cJSON *wk = cJSON_CreateObject(), *meta, *spec, *ann;
	char q[64], vmname[300];

	cJSON_AddStringToObject(wk, "apiVersion", "vm.novasphere.dev/v1alpha1");
	cJSON_AddStringToObject(wk, "kind", "Wukong");
	meta = cJSON_AddObjectToObject(wk, "metadata");
	cJSON_AddStringToObject(meta, "name", v->name);
	cJSON_AddStringToObject(meta, "namespace", v->ns);
	if (v->labels)
		cJSON_AddItemToObject(meta, "labels", cJSON_Duplicate(v->labels, 1));
	ann = v->annotations ? cJSON_Duplicate(v->annotations, 1) : cJSON_CreateObject();
	wk_quantity_format_bytes(v->dirty_rate, q, sizeof(q));
	sim_jset_str(ann, ANN_DIRTY, q);
	if (!v->guest_agent)
		sim_jset_str(ann, ANN_AGENT, "false");
	if (v->cpu_request > 0) {
		snprintf(q, sizeof(q), "%lldm", (long long)v->cpu_request);
		sim_jset_str(ann, ANN_CPU_REQUEST, q);
	}
	cJSON_AddItemToObject(meta, "annotations", ann);
	spec = cJSON_AddObjectToObject(wk, "spec");
	cJSON_AddNumberToObject(spec, "cpu", (double)v->cpu);
	wk_quantity_format_bytes(v->memory, q, sizeof(q));
	cJSON_AddStringToObject(spec, "memory", q);
	cJSON_AddBoolToObject(spec, "running", v->running);
	if (v->node_selector)
		cJSON_AddItemToObject(spec, "nodeSelector", cJSON_Duplicate(v->node_selector, 1));
	cJSON *disks = cJSON_AddArrayToObject(spec, "disks");
	for (size_t i = 0; i < v->ndisks; i++) {
		cJSON *d = cJSON_CreateObject();
		cJSON_AddStringToObject(d, "name", v->disks[i].name);
		wk_quantity_format_bytes(v->disks[i].size, q, sizeof(q));
		cJSON_AddStringToObject(d, "size", q);
		cJSON_AddStringToObject(d, "storageClassName",
					v->disks[i].storage_class ? v->disks[i].storage_class
								  : m->sc->default_class);
		if (v->disks[i].access_mode)
			cJSON_AddStringToObject(d, "accessMode", v->disks[i].access_mode);
		cJSON_AddItemToArray(disks, d);
	}
	if (v->nnets) {
		cJSON *nets = cJSON_AddArrayToObject(spec, "networks");
		for (size_t i = 0; i < v->nnets; i++) {
			cJSON *n = cJSON_CreateObject();
			cJSON_AddStringToObject(n, "name", v->nets[i].name);
			cJSON_AddStringToObject(n, "type", v->nets[i].type);
			cJSON_AddStringToObject(n, "binding", v->nets[i].binding);
			if (v->nets[i].network_name)
				cJSON_AddStringToObject(n, "networkName", v->nets[i].network_name);
			cJSON_AddItemToArray(nets, n);
		}
	}
	if (sim_create(m, m->r_wk, v->ns, wk) < 0)
		return;
	/* The cluster was already running when the simulation starts: VMIs come up Running. */
	snprintf(vmname, sizeof(vmname), "%s-vm", v->name);
	{
		cJSON *w = sim_store_get(m->st, m->r_wk, v->ns, v->name);

		if (w) {
			create_pvcs(m, w, v->ns);
			create_vm_for(m, w, v->ns, vmname);
			sim_vm_reconcile(m, v->ns, vmname, false);
			cJSON_Delete(w);
		}
	}
	struct mvm *vm = sim_vm_find(m, v->ns, vmname);
	if (vm && vm->phase == VMI_PENDING) {
		char msg[600];
		int n = place(m, vm, msg, sizeof(msg));
		if (n >= 0) {
			vm->node = n;
			sim_node_usage(m, n, vm, 1);
			m->nodes[n].nvmis++;
			vm->phase = VMI_RUNNING;
			timer_off(m, vm);
			vmi_write(m, vm);
			vm_write_status(m, vm);
		}
	}
}
