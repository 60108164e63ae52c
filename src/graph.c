/* graph.c - build the SSA view of a model (see graph.h). */
#include <stdlib.h>
#include <string.h>

#include "graph.h"
#include "kinds.h"
#include "textfmt.h"

/* A bump allocator for one graph: the blocks die together. */
struct block {
	struct block *next;
	size_t used, cap;
	max_align_t data[];
};

static void *
arena_alloc(void **arena, size_t n)
{
	struct block *b = *arena;
	size_t align = sizeof(max_align_t);

	n = (n + align - 1) / align * align;
	if (!b || b->cap - b->used < n) {
		size_t cap = n > 65536 ? n : 65536;
		struct block *nb = malloc(sizeof *nb + cap);
		if (!nb)
			return NULL;
		nb->next = b;
		nb->used = 0;
		nb->cap = cap;
		*arena = b = nb;
	}
	b->used += n;
	return (char *)b->data + b->used - n;
}

static void
arena_free(void *arena)
{
	struct block *b = arena, *next;

	for (; b; b = next) {
		next = b->next;
		free(b);
	}
}

void
graph_free(struct graph *g)
{
	if (g) {
		arena_free(g->arena);
		free(g);
	}
}

/* Name -> latest version, as an open-addressing table rebuilt per pass. */
struct latest {
	const char **name;
	int *ver;
	size_t cap;
};

static size_t
hash(const char *s)
{
	size_t h = 5381;

	while (*s)
		h = h * 33 ^ (unsigned char)*s++;
	return h;
}

static size_t
latest_slot(const struct latest *t, const char *name)
{
	size_t i = hash(name) & (t->cap - 1);

	while (t->name[i] && strcmp(t->name[i], name) != 0)
		i = (i + 1) & (t->cap - 1);
	return i;
}

static int
latest_get(const struct latest *t, const char *name)
{
	size_t i = latest_slot(t, name);

	return t->name[i] ? t->ver[i] : -1;
}

static void
latest_set(struct latest *t, const char *name, int v)
{
	size_t i = latest_slot(t, name);

	t->name[i] = name;
	t->ver[i] = v;
}

struct graph *
graph_build(caffeopt_model *m, const char *const *pinned, size_t npinned, caffeopt_error *err)
{
	struct graph *g = calloc(1, sizeof *g);
	const Caffe__NetParameter *net = m->net;
	struct latest t = {0};
	size_t nver = net->n_input, i, j;
	int v;

	if (!g)
		goto oom;
	g->m = m;
	for (i = 0; i < m->nlayers; i++)
		nver += m->layers[i].p->n_top;
	for (t.cap = 16; t.cap < 2 * nver + 1; t.cap *= 2)
		;
	t.name = calloc(t.cap, sizeof *t.name);
	t.ver = calloc(t.cap, sizeof *t.ver);
	g->ver = arena_alloc(&g->arena, (nver + 1) * sizeof *g->ver);
	g->layer = arena_alloc(&g->arena, (m->nlayers + 1) * sizeof *g->layer);
	if (!t.name || !t.ver || !g->ver || !g->layer)
		goto oom;
	memset(g->ver, 0, (nver + 1) * sizeof *g->ver);
	g->nlayer = m->nlayers;

	for (i = 0; i < net->n_input; i++) {
		struct gver *gv = &g->ver[g->nver];
		if (latest_get(&t, net->input[i]) >= 0) {
			caffeopt_fail(err, m->prototxt_path, 0, 0, "input '%s' is declared twice", net->input[i]);
			goto fail;
		}
		gv->name = net->input[i];
		gv->producer = -1;
		gv->slot = (int)i;
		gv->input = 1;
		latest_set(&t, gv->name, (int)g->nver++);
	}
	/* First sweep: bind bottoms, make tops, count readers. */
	for (i = 0; i < m->nlayers; i++) {
		const Caffe__LayerParameter *l = m->layers[i].p;
		struct glayer *gl = &g->layer[i];
		int is_input = kind_flags(kind_of(l->type)) & (K_INPUT | K_DATA);

		gl->kind = kind_of(l->type);
		gl->frozen = textfmt_has_unknown(&l->base);
		gl->bottom = arena_alloc(&g->arena, (l->n_bottom + 1) * sizeof *gl->bottom);
		gl->top = arena_alloc(&g->arena, (l->n_top + 1) * sizeof *gl->top);
		if (!gl->bottom || !gl->top)
			goto oom;
		for (j = 0; j < l->n_bottom; j++) {
			if ((v = latest_get(&t, l->bottom[j])) < 0) {
				caffeopt_fail(err, m->prototxt_path, 0, 0,
				              "layer '%s' (%s): bottom '%s' is not made by any input or earlier layer",
				              l->name, l->type, l->bottom[j]);
				goto fail;
			}
			gl->bottom[j] = v;
			g->ver[v].nuses++;
		}
		if (!l->type || !*l->type) {
			caffeopt_fail(err, m->prototxt_path, 0, 0, "layer '%s' has no type",
			              l->name ? l->name : "");
			goto fail;
		}
		for (j = 0; j < l->n_top; j++) {
			struct gver *gv = &g->ver[g->nver];
			int in_place = j < l->n_bottom && strcmp(l->bottom[j], l->top[j]) == 0;

			/* Caffe's rule: a name is made once, or again only in place. */
			if (!in_place && latest_get(&t, l->top[j]) >= 0) {
				caffeopt_fail(err, m->prototxt_path, 0, 0,
				              "layer '%s' (%s): top '%s' is already made by another layer "
				              "(only in-place layers, with top %zu equal to bottom %zu, may reuse a name)",
				              l->name, l->type, l->top[j], j, j);
				goto fail;
			}
			gv->name = l->top[j];
			gv->producer = (int)i;
			gv->slot = (int)j;
			gv->input = is_input != 0;
			gl->top[j] = (int)g->nver;
			latest_set(&t, gv->name, (int)g->nver++);
		}
	}
	/* Second sweep: reader lists. */
	for (v = 0; v < (int)g->nver; v++) {
		g->ver[v].uses = arena_alloc(&g->arena, ((size_t)g->ver[v].nuses + 1) * sizeof(struct guse));
		if (!g->ver[v].uses)
			goto oom;
		g->ver[v].nuses = 0;
	}
	for (i = 0; i < m->nlayers; i++)
		for (j = 0; j < m->layers[i].p->n_bottom; j++) {
			struct gver *gv = &g->ver[g->layer[i].bottom[j]];
			gv->uses[gv->nuses].layer = (int)i;
			gv->uses[gv->nuses].slot = (int)j;
			gv->nuses++;
		}
	for (i = 0; i < npinned; i++) {
		if ((v = latest_get(&t, pinned[i])) < 0) {
			caffeopt_fail(err, m->prototxt_path, 0, 0, "--keep-blob %s: no such blob", pinned[i]);
			goto fail;
		}
		g->ver[v].pinned = 1;
	}
	for (v = 0; v < (int)g->nver; v++)
		g->ver[v].output = g->ver[v].nuses == 0 || g->ver[v].pinned;
	free(t.name);
	free(t.ver);
	return g;
oom:
	caffeopt_fail(err, NULL, 0, 0, "out of memory building the graph");
fail:
	free(t.name);
	free(t.ver);
	graph_free(g);
	return NULL;
}

int
graph_lookup(const struct graph *g, const char *name, int at)
{
	int v, best = -1;

	/* Versions are numbered in layer order, so the last match made by a
	 * layer before `at` (or a net input) is the binding. */
	for (v = 0; v < (int)g->nver; v++) {
		if (g->ver[v].producer >= at)
			break;
		if (strcmp(g->ver[v].name, name) == 0)
			best = v;
	}
	return best;
}

int
graph_sole_reader(const struct graph *g, int v, int layer)
{
	const struct gver *gv = &g->ver[v];
	int k;

	if (gv->output)
		return 0;
	for (k = 0; k < gv->nuses; k++)
		if (gv->uses[k].layer != layer)
			return 0;
	return gv->nuses > 0;
}
