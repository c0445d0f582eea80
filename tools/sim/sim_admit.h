/* sim_admit.h - KubeVirt's validating admission webhooks as pure functions of the request's object
 * (and the stored one for updates), the simulated version and its KubeVirt CR: what
 * sim_model_admit() answers for everything that needs no model state.
 *
 * Each returns 0 to admit, or the HTTP code of the denial (400 for webhookutils'
 * ToAdmissionResponseError, 422 for ToAdmissionResponse with causes) with the webhook's name in
 * *hook and its message in why (causes joined with ", ", at most 10, then ", and N more
 * validation errors", as pkg/util/webhooks/webhooks.go does).
 */
#ifndef SIM_ADMIT_H
#define SIM_ADMIT_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

/* virtualmachine-validator.kubevirt.io, create and update: the run strategy rules. */
int sim_admit_vm(int minor, const cJSON *kv, const cJSON *obj, const char **hook, char *why,
		 size_t why_size);
/* virtualmachinesnapshot-validator.snapshot.kubevirt.io, create: the Snapshot gate, the source. */
int sim_admit_snapshot(int minor, const cJSON *kv, const cJSON *obj, const char **hook, char *why,
		       size_t why_size);
/* virtualmachinerestore-validator.snapshot.kubevirt.io, create: the Snapshot gate. */
int sim_admit_restore(int minor, const cJSON *kv, const cJSON *obj, const char **hook, char *why,
		      size_t why_size);
/* vm-clone-validator.kubevirt.io, create: the Snapshot gate, filters, kinds, source, target,
 * MAC addresses, patches. */
int sim_admit_clone(int minor, const cJSON *kv, const cJSON *obj, const char **hook, char *why,
		    size_t why_size);

#endif
