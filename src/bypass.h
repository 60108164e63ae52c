/* bypass.h - taking out a layer whose output is a copy of its input, for
 * the passes that remove identities (remove-dropout, remove-identity). */
#ifndef CAFFEOPT_BYPASS_H
#define CAFFEOPT_BYPASS_H

#include "pass.h"

/* Remove layer `layer` of cx->m, whose top out_slot holds exactly what its
 * bottom in_slot holds (out_slot -1: every top does, as in Split), deciding
 * on graph g of cx->m.  Readers of the copy read the input instead when
 * the input's name binds to the input's version at each of them.  A copy
 * that is a network output keeps its name: the input's producer takes it,
 * when the layer has one top, the input has no other reader and is not a
 * network input.  Anything else is refused.  `what` names the rule in the
 * notes ("Concat of one input"); may be NULL.
 * Returns 1 removed (noted as fired), 0 refused (noted with the reason),
 * -1 on running out of memory (cx->err set).  After 1, g is brought up to
 * date with the edit (graph.h); layers before `layer` keep their numbers. */
int pass_bypass(struct pass_ctx *cx, struct graph *g, int layer, int in_slot, int out_slot,
                const char *what);

#endif
