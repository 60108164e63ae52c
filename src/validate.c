/* validate.c - the blob rules Caffe enforces when it builds a net:
 * every bottom names a blob an input or an earlier layer made, and a top
 * name is made only once unless the layer works in place (top j equal to
 * bottom j).  Runs after filtering, so phase twins do not clash. */
#include <stdlib.h>
#include <string.h>

#include "model.h"

/* A small open-addressing set of blob names (pointers into the model). */
struct nameset {
	const char **slot;
	size_t cap, n;
};

static size_t
hash(const char *s)
{
	size_t h = 5381;

	while (*s)
		h = h * 33 ^ (unsigned char)*s++;
	return h;
}

static int
set_has(const struct nameset *s, const char *name)
{
	size_t i = hash(name) & (s->cap - 1);

	for (; s->slot[i]; i = (i + 1) & (s->cap - 1))
		if (strcmp(s->slot[i], name) == 0)
			return 1;
	return 0;
}

static void
set_add(struct nameset *s, const char *name)
{
	size_t i = hash(name) & (s->cap - 1);

	for (; s->slot[i]; i = (i + 1) & (s->cap - 1))
		if (strcmp(s->slot[i], name) == 0)
			return;
	s->slot[i] = name;
	s->n++;
}

int
validate_blobs(const caffeopt_model *m, caffeopt_error *err)
{
	const Caffe__NetParameter *net = m->net;
	struct nameset s;
	size_t total = net->n_input, i, j;
	int rc = -1;

	for (i = 0; i < m->nlayers; i++)
		total += m->layers[i].p->n_top;
	for (s.cap = 16; s.cap < 2 * total + 1; s.cap *= 2)
		;
	s.n = 0;
	s.slot = calloc(s.cap, sizeof *s.slot);
	if (!s.slot)
		return caffeopt_fail(err, NULL, 0, 0, "out of memory");
	for (i = 0; i < net->n_input; i++) {
		if (set_has(&s, net->input[i])) {
			caffeopt_fail(err, m->prototxt_path, 0, 0, "input '%s' is declared twice", net->input[i]);
			goto out;
		}
		set_add(&s, net->input[i]);
	}
	for (i = 0; i < m->nlayers; i++) {
		const Caffe__LayerParameter *l = m->layers[i].p;
		const char *name = l->name ? l->name : "";

		if (!l->type || !*l->type) {
			caffeopt_fail(err, m->prototxt_path, 0, 0, "layer '%s' has no type", name);
			goto out;
		}
		for (j = 0; j < l->n_bottom; j++)
			if (!set_has(&s, l->bottom[j])) {
				caffeopt_fail(err, m->prototxt_path, 0, 0,
				              "layer '%s' (%s): bottom '%s' is not made by any input or earlier layer",
				              name, l->type, l->bottom[j]);
				goto out;
			}
		for (j = 0; j < l->n_top; j++) {
			int in_place = j < l->n_bottom && strcmp(l->bottom[j], l->top[j]) == 0;
			if (!in_place && set_has(&s, l->top[j])) {
				caffeopt_fail(err, m->prototxt_path, 0, 0,
				              "layer '%s' (%s): top '%s' is already made by another layer "
				              "(only in-place layers, with top %zu equal to bottom %zu, may reuse a name)",
				              name, l->type, l->top[j], j, j);
				goto out;
			}
			set_add(&s, l->top[j]);
		}
	}
	rc = 0;
out:
	free(s.slot);
	return rc;
}
