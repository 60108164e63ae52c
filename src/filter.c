/* filter.c - keep the layers of one phase, level and stage set.
 * Requires: a V2 net (layer, not layers).  Keeps: layer order.  Frees
 * the layers it removes. */
#include <string.h>

#include "filter.h"

static int
has_stage(const struct net_state *st, const char *s)
{
	size_t i;

	for (i = 0; i < st->nstages; i++)
		if (strcmp(st->stages[i], s) == 0)
			return 1;
	return 0;
}

/* Caffe's Net::StateMeetsRule. */
static int
state_meets_rule(const struct net_state *st, const Caffe__NetStateRule *r)
{
	size_t i;

	if (r->has_phase && r->phase != (st->train ? CAFFE__PHASE__TRAIN : CAFFE__PHASE__TEST))
		return 0;
	if (r->has_min_level && st->level < r->min_level)
		return 0;
	if (r->has_max_level && st->level > r->max_level)
		return 0;
	for (i = 0; i < r->n_stage; i++)
		if (!has_stage(st, r->stage[i]))
			return 0;
	for (i = 0; i < r->n_not_stage; i++)
		if (has_stage(st, r->not_stage[i]))
			return 0;
	return 1;
}

static int
layer_included(const Caffe__LayerParameter *l, const struct net_state *st)
{
	int keep = l->n_include == 0;
	size_t i;

	for (i = 0; i < l->n_exclude; i++)
		if (state_meets_rule(st, l->exclude[i]))
			keep = 0;
	for (i = 0; i < l->n_include; i++)
		if (state_meets_rule(st, l->include[i]))
			keep = 1;
	return keep;
}

void
net_remove_layer(Caffe__NetParameter *net, size_t i)
{
	protobuf_c_message_free_unpacked(&net->layer[i]->base, NULL);
	memmove(&net->layer[i], &net->layer[i + 1],
	        (net->n_layer - i - 1) * sizeof net->layer[0]);
	net->n_layer--;
}

size_t
filter_net(Caffe__NetParameter *net, const struct net_state *st)
{
	size_t i = 0, removed = 0;

	while (i < net->n_layer) {
		if (layer_included(net->layer[i], st)) {
			i++;
			continue;
		}
		net_remove_layer(net, i);
		removed++;
	}
	return removed;
}
