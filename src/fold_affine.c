/* fold_affine.c - a chain of BatchNorm / Scale / Bias / Power (power 1)
 * layers right after a Convolution, Deconvolution or InnerProduct folds into
 * that layer's weights and bias; the producer takes the chain's last top
 * name and the chain goes.  Refused, with the reason: a producer whose
 * output has other readers or is an output, with shared (named) weights,
 * several tops, or unknown fields; BatchNorm without global statistics.
 * Requires: TEST-phase semantics, weights bound.  Keeps: every output's name
 * and value (to float rounding).  Breaks: the producer's weights are no
 * longer the trained ones; intermediate blob names vanish. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "absorb.h"
#include "affine.h"
#include "pass.h"

/* A producer that can absorb y = a[o]*x + b[o] on its output channels. */
struct producer {
	int kind;
	size_t nout;          /* output channels */
	size_t group;         /* Deconvolution only */
	int transpose;        /* InnerProduct only */
	Caffe__ConvolutionParameter *conv;
	Caffe__InnerProductParameter *ip;
};

/* Whether layer p can absorb an affine map; fills *pr or why[]. */
static int
producer_ok(const caffeopt_model *m, int p, struct producer *pr, char *why, size_t nwhy)
{
	const struct mlayer *ml = &m->layers[p];
	const Caffe__LayerParameter *l = ml->p;
	int has_bias;

	memset(pr, 0, sizeof *pr);
	pr->kind = kind_of(l->type);
	if (l->n_bottom != 1 || l->n_top != 1) {
		snprintf(why, nwhy, "it has %zu bottoms and %zu tops sharing its weights", l->n_bottom, l->n_top);
		return 0;
	}
	if (pass_shared_param(l)) {
		snprintf(why, nwhy, "its weights are shared (param name '%s')", pass_shared_param(l));
		return 0;
	}
	if (pr->kind == KIND_INNER_PRODUCT) {
		pr->ip = l->inner_product_param;
		if (!pr->ip || !pr->ip->has_num_output || pr->ip->num_output == 0) {
			snprintf(why, nwhy, "it has no num_output");
			return 0;
		}
		if (pr->ip->has_axis && pr->ip->axis != 1) {
			snprintf(why, nwhy, "its axis is %d, so its outputs are not channels of axis 1", pr->ip->axis);
			return 0;
		}
		pr->nout = pr->ip->num_output;
		pr->transpose = pr->ip->has_transpose && pr->ip->transpose;
		has_bias = !pr->ip->has_bias_term || pr->ip->bias_term;
	} else {
		pr->conv = l->convolution_param;
		if (!pr->conv || !pr->conv->has_num_output || pr->conv->num_output == 0) {
			snprintf(why, nwhy, "it has no num_output");
			return 0;
		}
		if (pr->conv->has_axis && pr->conv->axis != 1) {
			snprintf(why, nwhy, "its channel axis is %d, not 1", pr->conv->axis);
			return 0;
		}
		pr->nout = pr->conv->num_output;
		pr->group = pr->conv->has_group && pr->conv->group > 0 ? pr->conv->group : 1;
		has_bias = !pr->conv->has_bias_term || pr->conv->bias_term;
	}
	if (ml->nblobs != 1 + (size_t)has_bias) {
		snprintf(why, nwhy, "it has %zu weight blobs, not %d", ml->nblobs, 1 + has_bias);
		return 0;
	}
	if (ml->blobs[0].count == 0 || ml->blobs[0].count % pr->nout != 0 ||
	    (has_bias && ml->blobs[1].count != pr->nout)) {
		snprintf(why, nwhy, "its weight blobs do not fit num_output %zu", pr->nout);
		return 0;
	}
	if (pr->kind == KIND_DECONVOLUTION) {
		/* Weights: in_channels x (num_output/group) x kernel. */
		const struct wblob *w = &ml->blobs[0];
		if (w->ndim < 2 || w->shape[0] <= 0 || w->shape[0] % (int64_t)pr->group != 0 ||
		    (size_t)w->shape[1] * pr->group != pr->nout) {
			snprintf(why, nwhy, "its weight shape does not fit num_output %zu and group %zu",
			         pr->nout, pr->group);
			return 0;
		}
	}
	return 1;
}

/* Fold f (n == nout or 1) into layer p's weights and bias. */
static int
fold_into(struct pass_ctx *cx, int p, const struct producer *pr, const struct affine *f)
{
	struct mlayer *ml = &cx->m->layers[p];
	struct wblob *w, *b;
	size_t o;
	int rc;

	if (ml->nblobs < 2) {
		/* No bias yet: a zero one of shape [num_output]. */
		struct wblob *nb = realloc(ml->blobs, 2 * sizeof *nb);
		if (!nb)
			return caffeopt_fail(cx->err, NULL, 0, 0, "out of memory");
		ml->blobs = nb;
		memset(&nb[1], 0, sizeof nb[1]);
		if (!(nb[1].data = calloc(pr->nout, sizeof(float))))
			return caffeopt_fail(cx->err, NULL, 0, 0, "out of memory");
		nb[1].ndim = 1;
		nb[1].shape[0] = (int64_t)pr->nout;
		nb[1].count = pr->nout;
		ml->nblobs = 2;
		if (pr->ip) {
			pr->ip->has_bias_term = 1;
			pr->ip->bias_term = 1;
		} else {
			pr->conv->has_bias_term = 1;
			pr->conv->bias_term = 1;
		}
	}
	w = &ml->blobs[0];
	b = &ml->blobs[1];
	for (o = 0; o < pr->nout; o++)
		b->data[o] = (float)(f->a[f->n == 1 ? 0 : o] * b->data[o] + f->b[f->n == 1 ? 0 : o]);
	/* The weights by their layout (struct wscale), deferred while they are
	 * still in the file. */
	if (pr->kind == KIND_DECONVOLUTION) {
		/* Output channel o = g*(nout/group) + j is weight[i][j] for the
		 * input channels i of group g. */
		size_t nin = (size_t)w->shape[0], per = pr->nout / pr->group;
		rc = wblob_scale(w, w->count / (nin * per), per, nin / pr->group, f->a, f->n);
	} else if (pr->transpose) {
		/* InnerProduct with transpose: weight is K x num_output. */
		rc = wblob_scale(w, 1, pr->nout, w->count / pr->nout, f->a, f->n);
	} else {
		/* Convolution (any group) and InnerProduct: output-major. */
		rc = wblob_scale(w, w->count / pr->nout, pr->nout, 1, f->a, f->n);
	}
	return rc < 0 ? caffeopt_fail(cx->err, NULL, 0, 0, "out of memory") : 0;
}

/* Try to fold the affine chain after layer p.  1 folded, 0 not, -1 error. */
static int
try_fold(struct pass_ctx *cx, struct graph *g, int p)
{
	caffeopt_model *m = cx->m;
	Caffe__LayerParameter *l = m->layers[p].p;
	struct affine acc = {0}, f;
	struct producer pr;
	const struct gver *gv;
	const char *last;
	Caffe__LayerParameter **readers = NULL;
	int *slots = NULL, *chain = NULL, *at = NULL;
	int nchain = 0, cur, k, r = -1, rc, nreaders, end, vp;
	char why[256], list[1024];

	if (l->n_top < 1)
		return 0;
	cur = g->layer[p].top[0];
	gv = &g->ver[cur];
	/* A candidate only when an affine layer reads the output. */
	for (k = 0; k < gv->nuses && r < 0; k++) {
		rc = affine_of(m, (size_t)gv->uses[k].layer, &f, why, sizeof why);
		if (rc < 0)
			return caffeopt_fail(cx->err, NULL, 0, 0, "out of memory");
		if (rc > 0 || why[0])
			r = gv->uses[k].layer;
		affine_free(&f);
	}
	if (r < 0)
		return 0;
	if (g->layer[p].frozen) {
		pass_refused(cx, l->name, "not folding %s: %s carries fields unknown to caffeopt's schema",
		             m->layers[r].p->name, l->name);
		return 0;
	}
	if (!producer_ok(m, p, &pr, why, sizeof why)) {
		pass_refused(cx, l->name, "not folding %s: %s", m->layers[r].p->name, why);
		return 0;
	}
	if (!graph_sole_reader(g, cur, r)) {
		if (gv->output)
			pass_refused(cx, m->layers[r].p->name, "%s's output '%s' is a network output",
			             l->name, gv->name);
		else
			pass_refused(cx, m->layers[r].p->name, "%s's output '%s' has %d readers",
			             l->name, gv->name, gv->nuses);
		return 0;
	}
	if (!(chain = malloc(g->nlayer * sizeof *chain)))
		goto oom;
	/* Grow the chain while the current version has one reader, is not an
	 * output, and that reader is a usable affine layer. */
	acc.n = 1;
	if (!(acc.a = malloc(sizeof *acc.a)) || !(acc.b = malloc(sizeof *acc.b)))
		goto oom;
	acc.a[0] = 1;
	acc.b[0] = 0;
	for (;;) {
		gv = &g->ver[cur];
		if (gv->output || gv->nuses != 1)
			break;
		r = gv->uses[0].layer;
		if ((rc = affine_of(m, (size_t)r, &f, why, sizeof why)) < 0)
			goto oom;
		if (rc == 0) {
			if (why[0])
				pass_refused(cx, m->layers[r].p->name, "not folded into %s: %s", l->name, why);
			break;
		}
		if (g->layer[r].frozen) {
			pass_refused(cx, m->layers[r].p->name, "not folded into %s: it carries fields unknown to caffeopt's schema",
			             l->name);
			affine_free(&f);
			break;
		}
		if (f.n != 1 && f.n != pr.nout) {
			pass_refused(cx, m->layers[r].p->name, "has %zu channels, %s has %zu outputs",
			             f.n, l->name, pr.nout);
			affine_free(&f);
			break;
		}
		rc = affine_then(&acc, &f);
		affine_free(&f);
		if (rc < 0)
			goto oom;
		chain[nchain++] = r;
		cur = g->layer[r].top[0];
	}
	if (nchain == 0) {
		rc = 0;
		goto out;
	}
	/* The producer will make `last` where it stands.  No other layer
	 * between it and the readers of the chain's result may make that name
	 * too, and none before the chain's end may read an older version of it
	 * (what graph_lookup would bind after the edit). */
	gv = &g->ver[cur];
	last = gv->name;
	end = gv->nuses && !gv->output ? gv->uses[gv->nuses - 1].layer : (int)g->nlayer;
	for (k = p + 1; k < end; k++) {
		const Caffe__LayerParameter *x = m->layers[k].p;
		size_t t;
		if (affine_chain_has(chain, nchain, k))
			continue;
		for (t = 0; t < x->n_top; t++)
			if (strcmp(x->top[t], last) == 0) {
				pass_refused(cx, l->name, "'%s' is also made by %s, between %s and the readers of '%s'",
				             last, x->name, l->name, last);
				rc = 0;
				goto out;
			}
		for (t = 0; k < chain[nchain - 1] && t < x->n_bottom; t++)
			if (strcmp(x->bottom[t], last) == 0) {
				pass_refused(cx, l->name, "%s reads an older '%s' between %s and %s",
				             x->name, last, l->name, m->layers[chain[nchain - 1]].p->name);
				rc = 0;
				goto out;
			}
	}
	nreaders = gv->nuses;
	readers = malloc(((size_t)nreaders + 1) * sizeof *readers);
	slots = malloc(((size_t)nreaders + 1) * sizeof *slots);
	at = malloc(((size_t)nreaders + 1) * sizeof *at);
	if (!readers || !slots || !at)
		goto oom;
	for (k = 0; k < nreaders; k++) {
		readers[k] = m->layers[gv->uses[k].layer].p;
		slots[k] = gv->uses[k].slot;
		/* Its index once the chain, all before it, is gone. */
		at[k] = gv->uses[k].layer - nchain;
	}
	affine_chain_names(list, sizeof list, m, chain, nchain);

	/* Edit: weights, the producer's top, then the chain goes (from the
	 * back, so earlier indices hold); the graph follows each step: the
	 * producer's version takes the new name and the chain's readers. */
	if (fold_into(cx, p, &pr, &acc) < 0)
		goto fail;
	if (pass_set_string(&l->top[0], last) < 0)
		goto oom;
	last = l->top[0];  /* the old string goes with the chain */
	vp = g->layer[p].top[0];
	if (graph_rename(g, vp, cx->err) < 0 || graph_move_readers(g, cur, vp, cx->err) < 0)
		goto fail;
	pass_fired(cx, l->name, "folded %s into %s", list, l->name);
	for (k = 0; k < nchain; k++)
		model_absorb(m, l->name, m->layers[chain[k]].p->name, m->layers[chain[k]].p->type);
	for (k = nchain; k-- > 0;) {
		model_remove_layer(m, (size_t)chain[k]);
		if (graph_remove_layer(g, chain[k], cx->err) < 0)
			goto fail;
	}
	pass_graph_verify(cx, g);

	/* Check: every reader of the chain's result now binds, by name, to
	 * the producer. */
	{
		int bad = 0;
		for (k = 0; k < nreaders && !bad; k++) {
			int j = at[k];
			bad = j <= p || j >= (int)m->nlayers || m->layers[j].p != readers[k] ||
			      g->layer[j].bottom[slots[k]] != vp ||
			      graph_lookup(g, readers[k]->bottom[slots[k]], j) != vp;
		}
		if (nreaders == 0)
			bad = graph_lookup(g, last, (int)g->nlayer) != vp;
		if (bad) {
			caffeopt_fail(cx->err, NULL, 0, 0, "internal error: fold-affine left a reader of '%s' unbound from %s",
			              last, l->name);
			goto fail;
		}
	}
	rc = 1;
	goto out;
oom:
	caffeopt_fail(cx->err, NULL, 0, 0, "out of memory");
fail:
	rc = -1;
out:
	affine_free(&acc);
	free(chain);
	free(readers);
	free(slots);
	free(at);
	return rc;
}

int
fold_affine(struct pass_ctx *cx)
{
	struct graph *g = NULL;
	size_t i;
	int rc = 0;

	if (!cx->m->has_weights)
		return 0;
	/* The producer keeps its index: its chain comes after it.  One graph,
	 * built at the first candidate and kept up to date by try_fold. */
	for (i = 0; i < cx->m->nlayers && rc >= 0; i++) {
		switch (kind_of(cx->m->layers[i].p->type)) {
		case KIND_CONVOLUTION:
		case KIND_DECONVOLUTION:
		case KIND_INNER_PRODUCT:
			break;
		default:
			continue;
		}
		if (!g && !(g = pass_graph(cx)))
			return -1;
		rc = try_fold(cx, g, (int)i);
	}
	graph_free(g);
	return rc < 0 ? -1 : 0;
}
