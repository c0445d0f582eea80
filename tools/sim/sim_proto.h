/* sim_proto.h - the Kubernetes protobuf encoding of the few request bodies kubectl's typed clients
 * send as protobuf to the auth endpoints: TokenRequest (`kubectl create token`),
 * SelfSubjectAccessReview (`kubectl auth can-i`) and SubjectAccessReview. Decoded into the JSON
 * shape the API handles; everything else stays JSON/YAML only.
 *
 * Wire format: "k8s\0" then a runtime.Unknown message (typeMeta=1 {apiVersion=1, kind=2}, raw=2,
 * contentEncoding=3, contentType=4), raw holding the object (k8s.io/apimachinery
 * pkg/runtime/serializer/protobuf/protobuf.go; field numbers from k8s.io/api
 * authentication/v1/generated.proto and authorization/v1/generated.proto).
 * Hostile input: every length is bounds-checked, nesting is fixed by the schema, unknown fields
 * are skipped, strings are capped at SIM_PROTO_MAX_STRING bytes.
 */
#ifndef SIM_PROTO_H
#define SIM_PROTO_H

#include "wk_common.h"

#include <cjson/cJSON.h>

#define SIM_PROTO_MEDIA "application/vnd.kubernetes.protobuf"
#define SIM_PROTO_MAX_STRING 4096

/* The object as JSON (apiVersion, kind, spec), or NULL with the reason when the body is not one
 * of the three kinds or is malformed. */
cJSON *sim_proto_decode(const char *body, size_t len, char *errstr, size_t errstr_size);

#endif
