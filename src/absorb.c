#define _POSIX_C_SOURCE 200809L
/* absorb.c - model_absorb: the record of layers folded into other layers
 * (see absorb.h).  The log hangs off the model and dies with it. */
#include <stdlib.h>
#include <string.h>

#include "absorb.h"

int
model_absorb(caffeopt_model *m, const char *into, const char *name, const char *type)
{
	struct absorb_log *log = m->absorbed;
	struct absorbed *a;
	char *i, *n, *t;
	size_t k;

	if (!into || !name)
		return 0;
	if (!log) {
		if (!(log = calloc(1, sizeof *log)))
			return -1;
		m->absorbed = log;
	}
	if (log->n == log->cap) {
		size_t cap = log->cap ? 2 * log->cap : 16;
		struct absorbed *v = realloc(log->v, cap * sizeof *v);
		if (!v)
			return -1;
		log->v = v;
		log->cap = cap;
	}
	i = strdup(into);
	n = strdup(name);
	t = strdup(type ? type : "");
	if (!i || !n || !t) {
		free(i);
		free(n);
		free(t);
		return -1;
	}
	/* What `name` held moves with it.  A layer that absorbs under its own
	 * name (a merged layer that kept the first one's name) keeps its list. */
	if (strcmp(into, name) != 0)
		for (k = 0; k < log->n; k++)
			if (strcmp(log->v[k].into, name) == 0) {
				char *moved = strdup(into);
				if (!moved) {
					free(i);
					free(n);
					free(t);
					return -1;
				}
				free(log->v[k].into);
				log->v[k].into = moved;
			}
	a = &log->v[log->n++];
	a->into = i;
	a->name = n;
	a->type = t;
	return 0;
}

size_t
model_absorbed(const caffeopt_model *m, const char *into, const struct absorbed **out, size_t max)
{
	const struct absorb_log *log = m->absorbed;
	size_t k, n = 0;

	if (!log || !into)
		return 0;
	for (k = 0; k < log->n; k++)
		if (strcmp(log->v[k].into, into) == 0) {
			if (n < max)
				out[n] = &log->v[k];
			n++;
		}
	return n;
}

void
absorb_free(struct absorb_log *log)
{
	size_t k;

	if (!log)
		return;
	for (k = 0; k < log->n; k++) {
		free(log->v[k].into);
		free(log->v[k].name);
		free(log->v[k].type);
	}
	free(log->v);
	free(log);
}
