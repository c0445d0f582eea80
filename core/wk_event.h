/* wk_event.h - what consumers of wukong.events (schemas/event.v1.json, producer wukong-watcher)
 * make of an object event's body. Returns a new cJSON object the caller frees.
 */
#ifndef WK_EVENT_H
#define WK_EVENT_H

#include "wk_common.h"

struct cJSON;

/* The body as a Kubernetes-shaped object: metadata {name, namespace, uid, generation,
 * resourceVersion, labels, annotations, deletionTimestamp} from the body's top-level fields of
 * those names (null or absent ones left out), plus copies of spec and status when present. Never
 * NULL; a body that is not an object (or NULL) gives an object with an empty metadata. */
struct cJSON *wk_event_object(const struct cJSON *body);

/* The reverse: an object read from the API as an event body (cluster, the metadata fields above
 * at the top level, spec, status), so that a consumer that re-reads an object before acting on an
 * event (docs/security.md: the event says that something changed, the API says what) hands the
 * flows what they already read. cluster NULL = left out. */
struct cJSON *wk_event_body(const struct cJSON *obj, const char *cluster);

#endif
