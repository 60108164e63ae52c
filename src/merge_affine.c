/* merge_affine.c - a chain of two or more BatchNorm / Scale / Bias / Power
 * (power 1) layers that nothing could absorb, and any lone BatchNorm,
 * become one Scale with bias_term (y = a[c]*x + b[c] on axis 1; OpenCV has
 * no Bias layer), named after the chain's first layer, reading the chain's
 * input and making its last top (in place when the chain was).  A chain of
 * scalars only (Power, one-value Scale/Bias) becomes one Power.  The chain
 * splits where a version has another reader or is an output.
 * Requires: TEST-phase semantics, weights bound; best after fold-affine.
 * Keeps: every output's name and value (to float rounding).  Breaks:
 * intermediate blob names of the chain vanish. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "absorb.h"
#include "affine.h"
#include "pass.h"

/* Layers already looked at, by their (stable) LayerParameter pointer. */
struct seen {
	size_t n, cap;
	const Caffe__LayerParameter **p;
};

static int
seen_has(const struct seen *s, const Caffe__LayerParameter *l)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		if (s->p[i] == l)
			return 1;
	return 0;
}

static int
seen_add(struct seen *s, const Caffe__LayerParameter *l)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 64;
		const Caffe__LayerParameter **v = realloc(s->p, cap * sizeof *v);
		if (!v)
			return -1;
		s->p = v;
		s->cap = cap;
	}
	s->p[s->n++] = l;
	return 0;
}

/* 1 when no layer between chain[0] and the chain's last layer, other than
 * the chain's, makes `name` (or, with reads, reads it either). */
static int
names_between(const caffeopt_model *m, int first, const int *chain, int nchain, const char *name,
              int reads)
{
	int k;
	size_t t;

	for (k = first + 1; k < chain[nchain - 1]; k++) {
		const Caffe__LayerParameter *x = m->layers[k].p;
		if (affine_chain_has(chain, nchain, k))
			continue;
		for (t = 0; t < x->n_top; t++)
			if (strcmp(x->top[t], name) == 0)
				return 0;
		for (t = 0; reads && t < x->n_bottom; t++)
			if (strcmp(x->bottom[t], name) == 0)
				return 0;
	}
	return 1;
}

/* A new one-bottom, one-top layer: Scale with bias holding f (f->n > 1)
 * or Power (f->n == 1).  Returns it with its blobs in *blobs, or NULL. */
static Caffe__LayerParameter *
new_layer(const char *name, const char *bottom, const char *top, const struct affine *f,
          struct wblob **blobs, size_t *nblobs)
{
	Caffe__LayerParameter *l = malloc(sizeof *l);
	size_t c, k;

	*blobs = NULL;
	*nblobs = 0;
	if (!l)
		return NULL;
	caffe__layer_parameter__init(l);
	l->bottom = calloc(1, sizeof *l->bottom);
	l->top = calloc(1, sizeof *l->top);
	if (!l->bottom || !l->top)
		goto fail;
	l->n_bottom = l->n_top = 1;
	if (pass_set_string(&l->name, name) < 0 || pass_set_string(&l->bottom[0], bottom) < 0 ||
	    pass_set_string(&l->top[0], top) < 0)
		goto fail;
	if (f->n == 1) {
		if (pass_set_string(&l->type, "Power") < 0 || !(l->power_param = malloc(sizeof *l->power_param)))
			goto fail;
		caffe__power_parameter__init(l->power_param);
		l->power_param->has_scale = 1;
		l->power_param->scale = (float)f->a[0];
		l->power_param->has_shift = 1;
		l->power_param->shift = (float)f->b[0];
		return l;
	}
	if (pass_set_string(&l->type, "Scale") < 0 || !(l->scale_param = malloc(sizeof *l->scale_param)))
		goto fail;
	caffe__scale_parameter__init(l->scale_param);
	l->scale_param->has_bias_term = 1;
	l->scale_param->bias_term = 1;
	if (!(*blobs = calloc(2, sizeof **blobs)))
		goto fail;
	*nblobs = 2;
	for (k = 0; k < 2; k++) {
		struct wblob *b = &(*blobs)[k];
		b->ndim = 1;
		b->shape[0] = (int64_t)f->n;
		b->count = f->n;
		if (!(b->data = malloc(f->n * sizeof *b->data)))
			goto fail;
		for (c = 0; c < f->n; c++)
			b->data[c] = (float)(k ? f->b[c] : f->a[c]);
	}
	return l;
fail:
	if (*blobs)
		wblobs_free(*blobs, *nblobs);
	*blobs = NULL;
	*nblobs = 0;
	protobuf_c_message_free_unpacked(&l->base, NULL);
	return NULL;
}

/* Try to merge the chain that starts at layer i.  Returns the index of the
 * merged layer, -1 when nothing was merged, -2 on error. */
static int
try_merge(struct pass_ctx *cx, struct graph *g, int i, struct seen *seen)
{
	caffeopt_model *m = cx->m;
	struct affine acc = {0}, f;
	Caffe__LayerParameter **readers = NULL, *nl;
	struct wblob *blobs;
	size_t nblobs;
	int *chain = NULL, *slots = NULL, *idx = NULL, nchain = 0, cur, k, rc, r, at, ins, nreaders = 0, ret = -1;
	int uin, v;
	const Caffe__LayerParameter *src_producer;
	int src_slot;
	const char *first_bottom, *last_top, *kind;
	char why[256], list[1024], name[512];

	if ((rc = affine_of(m, (size_t)i, &acc, why, sizeof why)) < 0)
		goto oom;
	if (rc > 0 && g->layer[i].frozen) {
		snprintf(why, sizeof why, "carries fields unknown to caffeopt's schema");
		affine_free(&acc);
		rc = 0;
	}
	if (rc == 0) {
		if (why[0] && (kind_of(m->layers[i].p->type) == KIND_BATCH_NORM || g->layer[i].frozen))
			pass_refused(cx, m->layers[i].p->name, "%s", why);
		return seen_add(seen, m->layers[i].p) < 0 ? -2 : -1;
	}
	if (!(chain = malloc(g->nlayer * sizeof *chain)))
		goto oom;
	chain[nchain++] = i;
	cur = g->layer[i].top[0];
	/* Grow while the version has one reader, is not an output, and that
	 * reader is an affine layer of the same channel count. */
	for (;;) {
		const struct gver *gv = &g->ver[cur];
		if (gv->output || gv->nuses != 1)
			break;
		r = gv->uses[0].layer;
		if ((rc = affine_of(m, (size_t)r, &f, why, sizeof why)) < 0)
			goto oom;
		if (rc == 0)
			break;
		if (g->layer[r].frozen) {
			affine_free(&f);
			break;
		}
		rc = affine_then(&acc, &f);
		affine_free(&f);
		if (rc < 0)
			goto oom;
		if (rc > 0)
			break;
		chain[nchain++] = r;
		cur = g->layer[r].top[0];
	}
	for (k = 0; k < nchain; k++)
		if (seen_add(seen, m->layers[chain[k]].p) < 0)
			goto oom;
	if (nchain == 1 && kind_of(m->layers[i].p->type) != KIND_BATCH_NORM)
		goto out;  /* one Scale, Bias or Power: nothing to merge */

	/* The merged layer stands where the chain's last layer stood, so its
	 * top binds as before, when its bottom still binds to the chain's input
	 * there: no other layer in between makes that name again.  Else where
	 * the first stood, so its bottom binds as before, when no other layer
	 * in between makes or reads its top's name.  Else it stays. */
	first_bottom = m->layers[i].p->bottom[0];
	last_top = g->ver[cur].name;
	if (names_between(m, i, chain, nchain, first_bottom, 0))
		at = chain[nchain - 1] + 1;
	else if (names_between(m, i, chain, nchain, last_top, 1))
		at = i;
	else {
		pass_refused(cx, m->layers[i].p->name,
		             "layers inside the chain rewrite '%s' and use '%s': no place for one layer",
		             first_bottom, last_top);
		goto out;
	}
	{
		const struct gver *u = &g->ver[g->layer[i].bottom[0]];
		src_producer = u->producer >= 0 ? m->layers[u->producer].p : NULL;
		src_slot = u->slot;
	}
	nreaders = g->ver[cur].nuses;
	readers = malloc(((size_t)nreaders + 1) * sizeof *readers);
	slots = malloc(((size_t)nreaders + 1) * sizeof *slots);
	idx = malloc(((size_t)nreaders + 1) * sizeof *idx);
	if (!readers || !slots || !idx)
		goto oom;
	for (k = 0; k < nreaders; k++) {
		readers[k] = m->layers[g->ver[cur].uses[k].layer].p;
		slots[k] = g->ver[cur].uses[k].slot;
		idx[k] = g->ver[cur].uses[k].layer;
	}
	uin = g->layer[i].bottom[0];
	affine_chain_names(list, sizeof list, m, chain, nchain);
	snprintf(name, sizeof name, "%s", m->layers[i].p->name);

	/* Edit: the new layer goes in at `at`, reading the chain's input u and
	 * taking the readers of its result, then the chain goes; the graph
	 * follows each step. */
	if (!(nl = new_layer(name, first_bottom, last_top, &acc, &blobs, &nblobs)))
		goto oom;
	if (model_insert_layer(m, (size_t)at, nl) < 0) {
		wblobs_free(blobs, nblobs);
		protobuf_c_message_free_unpacked(&nl->base, NULL);
		goto oom;
	}
	m->layers[at].blobs = blobs;
	m->layers[at].nblobs = nblobs;
	ins = at;
	if (seen_add(seen, nl) < 0)
		goto oom;
	if (graph_insert_layer(g, ins, &uin, cx->err) < 0)
		goto fail;
	v = g->layer[ins].top[0];
	if (graph_move_readers(g, cur + (cur >= v), v, cx->err) < 0)
		goto fail;
	kind = acc.n == 1 ? "Power" : "Scale with bias";
	if (nchain == 1)
		pass_fired(cx, name, "BatchNorm became one %s", kind);
	else
		pass_fired(cx, name, "merged %s into one %s", list, kind);
	for (k = 0; k < nchain; k++)
		model_absorb(m, name, m->layers[chain[k]].p->name, m->layers[chain[k]].p->type);
	first_bottom = nl->bottom[0];  /* the old strings go with the chain */
	last_top = nl->top[0];
	/* chain[] holds indices from before the insertion at `at`. */
	for (k = nchain; k-- > 0;) {
		model_remove_layer(m, (size_t)(chain[k] + (chain[k] >= ins)));
		if (graph_remove_layer(g, chain[k] + (chain[k] >= ins), cx->err) < 0)
			goto fail;
	}
	for (k = 0; k < nchain; k++)
		at -= chain[k] < ins;
	pass_graph_verify(cx, g);

	/* Check, by name: the new layer reads the chain's input, the chain's
	 * readers read it. */
	{
		const struct gver *gu;
		int bad;
		v = g->layer[at].top[0];
		gu = &g->ver[g->layer[at].bottom[0]];
		bad = graph_lookup(g, nl->bottom[0], at) != g->layer[at].bottom[0] ||
		      (gu->producer >= 0 ? m->layers[gu->producer].p : NULL) != src_producer || gu->slot != src_slot;
		for (k = 0; k < nreaders && !bad; k++) {
			/* Its index after the insertion, less the chain before it. */
			int j0 = idx[k] + (idx[k] >= ins), j = j0, c;
			for (c = 0; c < nchain; c++)
				if (chain[c] + (chain[c] >= ins) < j0)
					j--;
			bad = j < 0 || j >= (int)m->nlayers || m->layers[j].p != readers[k] ||
			      g->layer[j].bottom[slots[k]] != v ||
			      graph_lookup(g, readers[k]->bottom[slots[k]], j) != v;
		}
		if (bad) {
			caffeopt_fail(cx->err, NULL, 0, 0, "internal error: merge-affine misbound '%s' or '%s' around %s",
			              first_bottom, last_top, name);
			goto fail;
		}
	}
	ret = at;
	goto out;
oom:
	caffeopt_fail(cx->err, NULL, 0, 0, "out of memory");
fail:
	ret = -2;
out:
	affine_free(&acc);
	free(chain);
	free(readers);
	free(slots);
	free(idx);
	return ret;
}

int
merge_affine(struct pass_ctx *cx)
{
	struct seen seen = {0};
	struct graph *g = NULL;
	size_t i;
	int rc = 0;

	if (!cx->m->has_weights)
		return 0;
	/* A chain's first layer comes before its others, so scanning in order
	 * meets every chain at its start.  One graph, built at the first
	 * candidate and kept up to date by try_merge. */
	for (i = 0; i < cx->m->nlayers;) {
		if (!affine_kind(cx->m->layers[i].p) || seen_has(&seen, cx->m->layers[i].p)) {
			i++;
			continue;
		}
		if (!g && !(g = pass_graph(cx))) {
			rc = -2;
			break;
		}
		rc = try_merge(cx, g, (int)i, &seen);
		if (rc == -2)
			break;
		/* After a merge layer i is gone and index i holds the next one. */
		if (rc < 0)
			i++;
	}
	graph_free(g);
	free(seen.p);
	return rc == -2 ? -1 : 0;
}
