#define _POSIX_C_SOURCE 200809L
/* passes.c - the pass table, in the fixed order passes run, and what the
 * passes share: reports, graph snapshots, reader redirection. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pass.h"
#include "passes.h"

const struct pass_info pass_table[] = {
	{"remove-dropout", remove_dropout, 1, "Dropout is the identity at TEST: readers read its input"},
	{"remove-identity", remove_identity, 1, "layers that copy their input (Split of one, Concat of one, k=1 pooling, ...)"},
	{"normalize", normalize, 1, "transposed InnerProduct, depthwise conv types, shared PReLU to standard forms"},
	{"fold-affine", fold_affine, 1, "BatchNorm/Scale/Bias/Power chains into the Convolution/InnerProduct before"},
	{"merge-affine", merge_affine, 1, "leftover affine chains into one Scale with bias"},
	{"fold-input", fold_input, 0, "input mean and scale into the input's readers (needs --mean/--input-scale)"},
	{"inplace", inplace, 1, "activations and affine layers in place when their input has no other reader"},
	{"prune-weights", prune_weights, 1, "the caffemodel keeps only layers of the written prototxt"},
	{NULL, NULL, 0, NULL},
};

static void
note(struct pass_ctx *cx, int refused, const char *layer, const char *fmt, va_list ap)
{
	struct pass_log *lg = cx->log;
	struct pass_note *v = realloc(lg->notes, (lg->nnotes + 1) * sizeof *v);
	char buf[1024];

	if (!v)
		return;  /* a lost report line is not worth failing the run */
	lg->notes = v;
	vsnprintf(buf, sizeof buf, fmt, ap);
	v[lg->nnotes].refused = refused;
	v[lg->nnotes].layer = strdup(layer ? layer : "");
	v[lg->nnotes].text = strdup(buf);
	if (!v[lg->nnotes].layer || !v[lg->nnotes].text) {
		free(v[lg->nnotes].layer);
		free(v[lg->nnotes].text);
		return;
	}
	lg->nnotes++;
	if (refused)
		lg->refused++;
	else
		lg->fired++;
}

void
pass_fired(struct pass_ctx *cx, const char *layer, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	note(cx, 0, layer, fmt, ap);
	va_end(ap);
}

void
pass_refused(struct pass_ctx *cx, const char *layer, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	note(cx, 1, layer, fmt, ap);
	va_end(ap);
}

struct graph *
pass_graph(struct pass_ctx *cx)
{
	return graph_build(cx->m, cx->pinned, cx->npinned, cx->err);
}

void
pass_graph_verify(struct pass_ctx *cx, const struct graph *g)
{
#if !defined(NDEBUG) || defined(CAFFEOPT_GRAPH_CHECK)
	caffeopt_error e = {0};
	struct graph *fresh = graph_build(cx->m, cx->pinned, cx->npinned, &e);

	if (!fresh || !graph_equal(g, fresh)) {
		fprintf(stderr, "caffeopt: internal error: pass %s left its graph out of date%s%s\n",
		        cx->log->pass, fresh ? "" : ": ", fresh ? "" : e.msg);
		abort();
	}
	graph_free(fresh);
#else
	(void)cx;
	(void)g;
#endif
}

int
pass_set_string(char **field, const char *s)
{
	char *d = strdup(s);

	if (!d)
		return -1;
	free(*field);
	*field = d;
	return 0;
}

int
pass_redirect_readers(struct pass_ctx *cx, const struct graph *g, int v, const char *name, int want)
{
	const struct gver *gv = &g->ver[v];
	int k;

	for (k = 0; k < gv->nuses; k++)
		if (graph_lookup(g, name, gv->uses[k].layer) != want)
			return 1;
	for (k = 0; k < gv->nuses; k++) {
		Caffe__LayerParameter *l = cx->m->layers[gv->uses[k].layer].p;
		if (pass_set_string(&l->bottom[gv->uses[k].slot], name) < 0)
			return caffeopt_fail(cx->err, NULL, 0, 0, "out of memory");
	}
	return 0;
}

const char *
pass_shared_param(const Caffe__LayerParameter *l)
{
	size_t k;

	for (k = 0; k < l->n_param; k++)
		if (l->param[k]->name && l->param[k]->name[0])
			return l->param[k]->name;
	return NULL;
}

void
pass_drop_weights(struct mlayer *ml)
{
	Caffe__LayerParameter *l = ml->p;
	size_t k;

	wblobs_free(ml->blobs, ml->nblobs);
	ml->blobs = NULL;
	ml->nblobs = 0;
	for (k = 0; k < l->n_param; k++)
		protobuf_c_message_free_unpacked(&l->param[k]->base, NULL);
	free(l->param);
	l->param = NULL;
	l->n_param = 0;
}

void
pass_logs_free(struct pass_log *logs, size_t n)
{
	size_t i, k;

	for (i = 0; i < n; i++) {
		for (k = 0; k < logs[i].nnotes; k++) {
			free(logs[i].notes[k].layer);
			free(logs[i].notes[k].text);
		}
		free(logs[i].notes);
	}
	free(logs);
}

const struct pass_info *
pass_find(const char *name)
{
	const struct pass_info *p;

	for (p = pass_table; p->name; p++)
		if (strcmp(p->name, name) == 0)
			return p;
	return NULL;
}

int
passes_run(caffeopt_model *m, const int *enabled, const char *const *pinned, size_t npinned,
           const struct input_fold *input, struct pass_log **logs_out, caffeopt_error *err)
{
	size_t n = sizeof pass_table / sizeof pass_table[0] - 1, i;
	struct pass_log *logs = calloc(n, sizeof *logs);
	struct pass_ctx cx;
	struct graph *g;

	*logs_out = NULL;
	if (!logs)
		return caffeopt_fail(err, NULL, 0, 0, "out of memory");
	cx.m = m;
	cx.pinned = pinned;
	cx.npinned = npinned;
	cx.input = input;
	cx.err = err;
	for (i = 0; i < n; i++) {
		logs[i].pass = pass_table[i].name;
		if (!enabled[i])
			continue;
		cx.log = &logs[i];
		if (pass_table[i].run(&cx) < 0) {
			pass_logs_free(logs, n);
			return -1;
		}
		/* The integrity check between passes: the net still binds. */
		if (!(g = pass_graph(&cx))) {
			caffeopt_error why = *err;
			caffeopt_fail(err, why.file, why.line, why.col, "internal error after pass %s: %.900s",
			              pass_table[i].name, why.msg);
			pass_logs_free(logs, n);
			return -1;
		}
		graph_free(g);
	}
	*logs_out = logs;
	return 0;
}
