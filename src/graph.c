/* graph.c - build the SSA view of a model and keep it up to date through
 * a pass's edits (see graph.h). */
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
		free(g->ver);
		free(g->layer);
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
	g->capver = nver + 1;
	g->caplayer = m->nlayers + 1;
	g->ver = calloc(g->capver, sizeof *g->ver);
	g->layer = calloc(g->caplayer, sizeof *g->layer);
	if (!t.name || !t.ver || !g->ver || !g->layer)
		goto oom;
	g->nlayer = m->nlayers;
	g->pinned = pinned;
	g->npinned = npinned;

	for (i = 0; i < net->n_input; i++) {
		struct gver *gv = &g->ver[g->nver];
		if (latest_get(&t, net->input[i]) >= 0) {
			caffeopt_fail(err, m->prototxt_path, 0, 0, "input '%s' is declared twice", net->input[i]);
			goto fail;
		}
		gv->name = net->input[i];
		gv->hash = hash(gv->name);
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
		gl->nbottom = (int)l->n_bottom;
		gl->ntop = (int)l->n_top;
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
			gv->hash = hash(gv->name);
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
	size_t h = hash(name);
	int v, best = -1;

	/* Versions are numbered in layer order, so the last match made by a
	 * layer before `at` (or a net input) is the binding. */
	for (v = 0; v < (int)g->nver; v++) {
		if (g->ver[v].producer >= at)
			break;
		if (g->ver[v].hash == h && strcmp(g->ver[v].name, name) == 0)
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

int
graph_equal(const struct graph *a, const struct graph *b)
{
	size_t i;
	int k;

	if (a->nver != b->nver || a->nlayer != b->nlayer)
		return 0;
	for (i = 0; i < a->nver; i++) {
		const struct gver *x = &a->ver[i], *y = &b->ver[i];
		if (strcmp(x->name, y->name) != 0 || x->hash != y->hash || x->producer != y->producer ||
		    x->slot != y->slot || x->nuses != y->nuses || x->output != y->output ||
		    x->pinned != y->pinned || x->input != y->input)
			return 0;
		for (k = 0; k < x->nuses; k++)
			if (x->uses[k].layer != y->uses[k].layer || x->uses[k].slot != y->uses[k].slot)
				return 0;
	}
	for (i = 0; i < a->nlayer; i++) {
		const struct glayer *x = &a->layer[i], *y = &b->layer[i];
		if (x->kind != y->kind || x->frozen != y->frozen || x->nbottom != y->nbottom ||
		    x->ntop != y->ntop)
			return 0;
		for (k = 0; k < x->nbottom; k++)
			if (x->bottom[k] != y->bottom[k])
				return 0;
		for (k = 0; k < x->ntop; k++)
			if (x->top[k] != y->top[k])
				return 0;
	}
	return 1;
}

static int
oom(caffeopt_error *err)
{
	return caffeopt_fail(err, NULL, 0, 0, "out of memory updating the graph");
}

/* The pinned flags after names changed or versions went: the last
 * version of each pinned name, as graph_build sets them. */
static void
repin(struct graph *g)
{
	size_t i;
	int v;

	if (g->npinned == 0)
		return;
	for (v = 0; v < (int)g->nver; v++)
		if (g->ver[v].pinned) {
			g->ver[v].pinned = 0;
			g->ver[v].output = g->ver[v].nuses == 0;
		}
	for (i = 0; i < g->npinned; i++)
		if ((v = graph_lookup(g, g->pinned[i], (int)g->nlayer)) >= 0) {
			g->ver[v].pinned = 1;
			g->ver[v].output = 1;
		}
}

static void
set_output(struct gver *gv)
{
	gv->output = gv->nuses == 0 || gv->pinned;
}

int
graph_rename(struct graph *g, int v, caffeopt_error *err)
{
	struct gver *gv = &g->ver[v];

	(void)err;
	gv->name = gv->producer >= 0 ? g->m->layers[gv->producer].p->top[gv->slot]
	                             : g->m->net->input[gv->slot];
	gv->hash = hash(gv->name);
	repin(g);
	return 0;
}

static int
use_before(const struct guse *a, const struct guse *b)
{
	return a->layer < b->layer || (a->layer == b->layer && a->slot < b->slot);
}

int
graph_move_readers(struct graph *g, int from, int to, caffeopt_error *err)
{
	struct gver *f = &g->ver[from], *t = &g->ver[to];
	struct guse *u;
	int a = 0, b = 0, n = 0, k;

	if (f->nuses == 0)
		return 0;
	if (!(u = arena_alloc(&g->arena, ((size_t)f->nuses + (size_t)t->nuses) * sizeof *u)))
		return oom(err);
	/* Both lists are in layer order; so is their merge. */
	while (a < t->nuses || b < f->nuses)
		if (b == f->nuses || (a < t->nuses && use_before(&t->uses[a], &f->uses[b])))
			u[n++] = t->uses[a++];
		else
			u[n++] = f->uses[b++];
	for (k = 0; k < f->nuses; k++)
		g->layer[f->uses[k].layer].bottom[f->uses[k].slot] = to;
	t->uses = u;
	t->nuses = n;
	f->nuses = 0;
	set_output(f);
	set_output(t);
	return 0;
}

/* Renumber after n versions from v0 and one layer at i went (d < 0) or
 * came (d > 0): versions >= v0 move by n*d, layers >= i by d. */
static void
renumber(struct graph *g, int v0, int n, int i, int d)
{
	size_t j;
	int k, lim = d < 0 ? v0 + n : v0;

	for (j = 0; j < g->nlayer; j++) {
		struct glayer *gl = &g->layer[j];
		for (k = 0; k < gl->nbottom; k++)
			if (gl->bottom[k] >= lim)
				gl->bottom[k] += n * d;
		for (k = 0; k < gl->ntop; k++)
			if (gl->top[k] >= lim)
				gl->top[k] += n * d;
	}
	for (j = 0; j < g->nver; j++) {
		struct gver *gv = &g->ver[j];
		if (gv->producer >= i + (d < 0))
			gv->producer += d;
		for (k = 0; k < gv->nuses; k++)
			if (gv->uses[k].layer >= i + (d < 0))
				gv->uses[k].layer += d;
	}
}

int
graph_remove_layer(struct graph *g, int i, caffeopt_error *err)
{
	struct glayer *gl = &g->layer[i];
	int j, k, n, v0, nt = gl->ntop;

	for (j = 0; j < gl->nbottom; j++) {
		struct gver *gv = &g->ver[gl->bottom[j]];
		for (k = n = 0; k < gv->nuses; k++)
			if (gv->uses[k].layer != i)
				gv->uses[n++] = gv->uses[k];
		gv->nuses = n;
		set_output(gv);
	}
	for (j = 0; j < nt; j++)
		if (g->ver[gl->top[j]].nuses != 0)
			return caffeopt_fail(err, NULL, 0, 0, "internal error: removing layer %d, whose top %d is read",
			                     i, j);
	v0 = nt ? gl->top[0] : 0;
	/* Its slots go with it: renumber the others, then close the gaps. */
	memmove(&g->layer[i], &g->layer[i + 1], (g->nlayer - (size_t)i - 1) * sizeof *g->layer);
	g->nlayer--;
	if (nt) {
		memmove(&g->ver[v0], &g->ver[v0 + nt], (g->nver - (size_t)v0 - (size_t)nt) * sizeof *g->ver);
		g->nver -= (size_t)nt;
	}
	renumber(g, v0, nt, i, -1);
	repin(g);
	return 0;
}

int
graph_insert_layer(struct graph *g, int i, const int *bottoms, caffeopt_error *err)
{
	const Caffe__LayerParameter *l = g->m->layers[i].p;
	int nb = (int)l->n_bottom, nt = (int)l->n_top, is_input, j, k, v0;
	struct glayer *gl;

	if (g->nlayer + 1 > g->caplayer) {
		struct glayer *x = realloc(g->layer, 2 * g->caplayer * sizeof *x);
		if (!x)
			return oom(err);
		g->layer = x;
		g->caplayer *= 2;
	}
	if (g->nver + (size_t)nt > g->capver) {
		size_t cap = 2 * g->capver + (size_t)nt;
		struct gver *x = realloc(g->ver, cap * sizeof *x);
		if (!x)
			return oom(err);
		g->ver = x;
		g->capver = cap;
	}
	/* Its versions come after those of the layers before it. */
	for (v0 = 0; v0 < (int)g->nver && g->ver[v0].producer < i; v0++)
		;
	renumber(g, v0, nt, i, 1);
	memmove(&g->layer[i + 1], &g->layer[i], (g->nlayer - (size_t)i) * sizeof *g->layer);
	g->nlayer++;
	memmove(&g->ver[v0 + nt], &g->ver[v0], (g->nver - (size_t)v0) * sizeof *g->ver);
	g->nver += (size_t)nt;

	gl = &g->layer[i];
	memset(gl, 0, sizeof *gl);
	gl->kind = kind_of(l->type);
	gl->frozen = textfmt_has_unknown(&l->base);
	gl->nbottom = nb;
	gl->ntop = nt;
	gl->bottom = arena_alloc(&g->arena, ((size_t)nb + 1) * sizeof *gl->bottom);
	gl->top = arena_alloc(&g->arena, ((size_t)nt + 1) * sizeof *gl->top);
	if (!gl->bottom || !gl->top)
		return oom(err);
	is_input = kind_flags(gl->kind) & (K_INPUT | K_DATA);
	for (j = 0; j < nt; j++) {
		struct gver *gv = &g->ver[v0 + j];
		memset(gv, 0, sizeof *gv);
		gv->name = l->top[j];
		gv->hash = hash(gv->name);
		gv->producer = i;
		gv->slot = j;
		gv->input = is_input != 0;
		gv->output = 1;
		gl->top[j] = v0 + j;
	}
	for (j = 0; j < nb; j++) {
		/* bottoms[] were made before layer i: their numbers hold. */
		struct gver *gv = &g->ver[bottoms[j]];
		struct guse *u = arena_alloc(&g->arena, ((size_t)gv->nuses + 1) * sizeof *u);
		struct guse me = {i, j};
		if (!u)
			return oom(err);
		for (k = 0; k < gv->nuses && use_before(&gv->uses[k], &me); k++)
			u[k] = gv->uses[k];
		u[k] = me;
		memcpy(&u[k + 1], &gv->uses[k], (size_t)(gv->nuses - k) * sizeof *u);
		gv->uses = u;
		gv->nuses++;
		set_output(gv);
		gl->bottom[j] = bottoms[j];
	}
	repin(g);
	return 0;
}
