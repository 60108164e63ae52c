/* netbuild.h - a runtime net (include/caffeopt/runtime.h) from a loaded
 * model: the one place protobuf-c's layer parameters meet the engine.
 */
#ifndef CAFFEOPT_NETBUILD_H
#define CAFFEOPT_NETBUILD_H

#include <stddef.h>

#include "caffeopt/runtime.h"
#include "model.h"

/* Flags of netbuild. */
enum {
	NETBUILD_NO_WEIGHTS = 1,  /* weight blobs may be missing (NULL data): a
	                             net for shapes, MACs and the plan, never run */
	NETBUILD_NO_VALUES = 2    /* the weight blobs must be there, but their
	                             values are not read: lazy ones stay in the
	                             file (NULL data); never run */
};

/* Build the engine's net for m, running only the layers needed for the
 * blobs named in want[0..nwant) (their last versions), or for every
 * network output when nwant is 0.  Shapes come from shape_infer; the
 * memory plan from cr_plan.  The net owns its tables and names; its weight
 * pointers point into m, which must outlive it.  NULL with err naming the
 * layer on an unsupported type, a missing or mis-sized weight blob, a data
 * layer (the engine runs deploy nets), or a shape caffeopt cannot tell. */
const cr_net *netbuild(caffeopt_model *m, const char *const *want, size_t nwant, int flags,
                       caffeopt_error *err);

/* Free a net from netbuild; NULL is fine. */
void netbuild_free(const cr_net *net);

/* A malloc'd arena for net (64-byte aligned, zeroed), or NULL. */
float *netbuild_arena(const cr_net *net);

#endif
