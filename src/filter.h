/* filter.h - Caffe's net filtering by phase, level and stage. */
#ifndef CAFFEOPT_FILTER_H
#define CAFFEOPT_FILTER_H

#include <stddef.h>
#include "caffe.pb-c.h"

/* The state a net is instantiated in (Caffe's NetState). */
struct net_state {
	int train;            /* 1: TRAIN phase, 0: TEST */
	int level;
	size_t nstages;
	char **stages;
};

/* Remove from net every layer whose include/exclude rules reject st, the way
 * Caffe's Net::FilterNet does: a layer with include rules is kept when one
 * of them is met; an exclude rule that is met removes it.  Returns the
 * number of layers removed. */
size_t filter_net(Caffe__NetParameter *net, const struct net_state *st);

/* Remove layer i of net and free it. */
void net_remove_layer(Caffe__NetParameter *net, size_t i);

#endif
