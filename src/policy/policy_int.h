/*
 * policy_int.h: what the files of the policy module share and nobody else
 * sees: the reader test of rules R4 and R5 at one TLP level, and the view
 * (policy_view.c) that read_object hands its object to.
 */
#ifndef RK_POLICY_INT_H
#define RK_POLICY_INT_H

#include "policy.h"

/* A refusal with the status to answer and a reason for the log. */
policy_decision policy_deny(int status, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* R4 and R5 at `level` for a reader of organisation org (NULL: anonymous,
 * R6) and user (may be NULL: the organisation as a whole) of collection col. */
bool policy_reader_allowed(const directory *dir, const dir_org *org,
			   const dir_user *user, const dir_collection *col,
			   const policy_audience *a, stix_tlp level);

/* A top-level property that references other objects by id (R7):
 * "*_ref" or "*_refs", except created_by_ref and object_marking_refs. */
bool policy_is_ref_property(const char *key);

/* Calls fn on every id in a "*_ref" or "*_refs" property below the top
 * level of obj (in extensions, lists of objects, ...), depth-bounded;
 * stops and returns false as soon as fn does. */
bool policy_nested_refs(const json_t *obj, bool (*fn)(void *arg, const char *id), void *arg);

/* R7 and granular markings for a non-owner allowed the object: allow
 * (view NULL: serve as stored), allow with a redacted view, or 404 when
 * the object is withheld. */
policy_decision policy_view(const directory *dir, const policy_subject *s,
			    const policy_resource *res);

#endif
