/* ctl_stack.h - where wukongctl finds things (runtime dir, bin dir, kubeconfig, Kafka bootstrap)
 * and the embedded stack's lifecycle: up, down, status. struct ctl_env is caller-owned plain data.
 */
#ifndef CTL_STACK_H
#define CTL_STACK_H

#include "ctl_args.h"

#include <limits.h>

struct wk_k8s;
struct wk_config;

struct ctl_env {
	char dir[PATH_MAX];    /* runtime directory (absolute once it exists) */
	char shown[PATH_MAX];  /* as the user named it, for messages */
	char bindir[PATH_MAX]; /* where wukongctl lives: the other binaries are there */
	char self[PATH_MAX];   /* wukongctl's own path */
	const struct ctl_args *args;
};

/* --dir, else $WUKONG_DIR, else ".wukong". */
void ctl_env_init(struct ctl_env *e, const struct ctl_args *a, const char *argv0);

/* The Kafka bootstrap list: --bootstrap (a list, or a file holding one), else
 * $WUKONG_KAFKA_BOOTSTRAP_SERVERS, else DIR/bootstrap. -1 with what to do next. */
int ctl_env_bootstrap(const struct ctl_env *e, char *out, size_t out_size, char *errstr,
		      size_t errstr_size);
/* The kubeconfig path: --kubeconfig, else $KUBECONFIG, else DIR/kubeconfig. -1 with what to do
 * next when none exists. */
int ctl_env_kubeconfig(const struct ctl_env *e, char *out, size_t out_size, char *errstr,
		       size_t errstr_size);
/* The kubeconfig context's namespace into out ("default" when it names none or there is no
 * kubeconfig): what NAME means without -n, as for kubectl. */
void ctl_env_context_ns(const struct ctl_env *e, char *out, size_t out_size);
/* A client for that kubeconfig (short timeouts: an interactive tool). NULL with errstr. */
struct wk_k8s *ctl_env_k8s(const struct ctl_env *e, char *errstr, size_t errstr_size);
/* A configuration for wk_producer_new: kafka.bootstrap.servers and quick-failing defaults. */
/* The stack's clusters: with `up --clusters N` (DIR/clusters/<id>/kubeconfig, no --kubeconfig or
 * $KUBECONFIG) one client per cluster with its id, else the one ctl_env_k8s gives with id "".
 * The count (at least 1), or -1 with errstr. The caller destroys the clients. */
int ctl_env_clusters(const struct ctl_env *e, struct wk_k8s **k8s, char ids[][16], int max,
		     char *errstr, size_t errstr_size);
struct wk_config *ctl_env_kafka_config(const struct ctl_env *e, char *errstr, size_t errstr_size);

int ctl_up(const struct ctl_env *e);
int ctl_down(const struct ctl_env *e);
int ctl_status(const struct ctl_env *e);
/* Stop one supervised service and start it again at once (its supervisor does both). */
int ctl_restart(const struct ctl_env *e, const char *name);

/* Is this binary name one of the services `up` starts (not a tool)? */
bool ctl_is_service_binary(const char *name);

#endif
