/* wukong-cloner - running clones of KubeVirt VMs: a Wukong whose spec.cloneSource asks for one
 * (or a Kafka `clone` submission, which creates such Wukongs) becomes an online
 * VirtualMachineSnapshot of the source VM, a VirtualMachineClone from it into <wukong>-vm, and
 * the snapshot's cleanup; status / audit / Events on the way. docs/cloner.md describes it; the
 * logic is in cl_*.c. */
#include "cl_service.h"

int main(int argc, char **argv)
{
	static const char *const topics[] = {"events", "requests.{cluster}",
					     "requests?cloner.shared-requests", "{tenants}", NULL};
	static const char *const defaults[] = {"cloner.shared-requests", "true", NULL};
	static const struct wk_service svc = {
	    .name = "wukong-cloner",
	    .topics = topics,
	    .tick_ms = 50,
	    .init = cl_init,
	    .on_message = cl_on_message,
	    .on_tick = cl_on_tick,
	    .term = cl_term,
	    .lease = "cloner", /* active/standby when cloner.lease.enabled */
	    .defaults = defaults,
	};

	return wk_service_main(&svc, argc, argv);
}
