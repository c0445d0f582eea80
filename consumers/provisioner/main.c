/* wukong-provisioner - the VM behind every Wukong: a Wukong becomes one KubeVirt VirtualMachine
 * <name>-vm with its disks as CDI DataVolumes (dataVolumeTemplates); spec changes are carried to
 * the VM, and phase, node, addresses, per-disk import progress and actionable conditions go back
 * through wukong.status. docs/provisioner.md describes it; the decisions are in pv_build.c, the
 * I/O in pv_service.c. */
#include "pv_service.h"

int main(int argc, char **argv)
{
	static const char *const topics[] = {"events", NULL};
	static const struct wk_service svc = {
	    .name = "wukong-provisioner",
	    .topics = topics,
	    .tick_ms = 50,
	    .init = pv_init,
	    .on_message = pv_on_message,
	    .on_tick = pv_on_tick,
	    .term = pv_term,
	    .lease = "provisioner", /* active/standby when provisioner.lease.enabled */
	};

	return wk_service_main(&svc, argc, argv);
}
