/* bypass.c - taking out a layer whose output is a copy of its input (see
 * bypass.h).  Decides only on versions and reader counts; never renames
 * or drops a network output or input. */
#include <stdio.h>
#include <string.h>

#include "bypass.h"

/* 1 when `name`, read at layer `at`, binds to input version u once layer
 * `layer` is gone: it binds to u now, or to a top of `layer` of that name
 * (in place), which gives way to u. */
static int
binds_to_input(const struct graph *g, int layer, const char *name, int u, int at)
{
	int w = graph_lookup(g, name, at);

	return w == u || (w >= 0 && g->ver[w].producer == layer);
}

/* Remove layer `layer` from the model and the graph: the readers of all
 * its tops now read version u (their bottoms name it, or fall through to
 * it).  1, or -1 when out of memory. */
static int
take_out(struct pass_ctx *cx, struct graph *g, int layer, int u)
{
	int k, ntop = g->layer[layer].ntop;

	for (k = 0; k < ntop; k++)
		if (graph_move_readers(g, g->layer[layer].top[k], u, cx->err) < 0)
			return -1;
	model_remove_layer(cx->m, (size_t)layer);
	if (graph_remove_layer(g, layer, cx->err) < 0)
		return -1;
	pass_graph_verify(cx, g);
	return 1;
}

/* Every reader of the copies tops[first..last) reads the input. */
static int
redirect(struct pass_ctx *cx, struct graph *g, int layer, int first, int last, int u,
         const char *tag)
{
	const struct glayer *gl = &g->layer[layer];
	const char *uname = g->ver[u].name;
	const Caffe__LayerParameter *l = cx->m->layers[layer].p;
	int k, r;

	for (k = first; k < last; k++) {
		const struct gver *gv = &g->ver[gl->top[k]];
		for (r = 0; r < gv->nuses; r++)
			if (!binds_to_input(g, layer, uname, u, gv->uses[r].layer)) {
				pass_refused(cx, l->name, "a reader of '%s' would see a later version of '%s'",
				             gv->name, uname);
				return 0;
			}
	}
	for (k = first; k < last; k++) {
		const struct gver *gv = &g->ver[gl->top[k]];
		if (strcmp(gv->name, uname) == 0)
			continue;  /* in place: its readers fall through to the input */
		for (r = 0; r < gv->nuses; r++) {
			Caffe__LayerParameter *rl = cx->m->layers[gv->uses[r].layer].p;
			if (pass_set_string(&rl->bottom[gv->uses[r].slot], uname) < 0)
				return caffeopt_fail(cx->err, NULL, 0, 0, "out of memory");
		}
	}
	if (last - first > 1)
		pass_fired(cx, l->name, "%s; readers of its %d tops read '%s'", tag, last - first, uname);
	else if (strcmp(g->ver[gl->top[first]].name, uname) == 0)
		pass_fired(cx, l->name, "%s (in place)", tag);
	else
		pass_fired(cx, l->name, "%s; readers of '%s' read '%s'", tag, g->ver[gl->top[first]].name, uname);
	return take_out(cx, g, layer, u);
}

int
pass_bypass(struct pass_ctx *cx, struct graph *g, int layer, int in_slot, int out_slot,
            const char *what)
{
	Caffe__LayerParameter *l = cx->m->layers[layer].p, *p;
	const struct glayer *gl = &g->layer[layer];
	int first, last, u, v, j, k, outs = 0;
	const char *uname, *vname;
	char tag[192];

	if (what)
		snprintf(tag, sizeof tag, "removed (%s)", what);
	else
		snprintf(tag, sizeof tag, "removed");
	if (gl->frozen) {
		pass_refused(cx, l->name, "carries fields unknown to caffeopt's schema");
		return 0;
	}
	if (in_slot < 0 || (size_t)in_slot >= l->n_bottom || l->n_top == 0 ||
	    (out_slot >= 0 && (size_t)out_slot >= l->n_top)) {
		pass_refused(cx, l->name, "it has %zu bottoms and %zu tops", l->n_bottom, l->n_top);
		return 0;
	}
	if (out_slot >= 0 && l->n_top != 1) {
		pass_refused(cx, l->name, "it has %zu tops and only '%s' is a copy", l->n_top, l->top[out_slot]);
		return 0;
	}
	first = out_slot < 0 ? 0 : out_slot;
	last = out_slot < 0 ? (int)l->n_top : out_slot + 1;
	u = gl->bottom[in_slot];
	uname = g->ver[u].name;
	/* Its other inputs lose a reader: none may become an unread output. */
	for (j = 0; j < (int)l->n_bottom; j++)
		if (gl->bottom[j] != u && graph_sole_reader(g, gl->bottom[j], layer)) {
			pass_refused(cx, l->name, "'%s' would be left unread, a new network output", l->bottom[j]);
			return 0;
		}
	for (k = first; k < last; k++)
		outs += g->ver[gl->top[k]].output;
	if (outs == 0)
		return redirect(cx, g, layer, first, last, u, tag);

	/* A copy is a network output: its name and value must survive. */
	for (k = first; g->ver[gl->top[k]].output == 0; k++)
		;
	v = gl->top[k];
	vname = g->ver[v].name;
	if (last - first > 1) {
		pass_refused(cx, l->name, "its top '%s' is a network output", vname);
		return 0;
	}
	if (g->ver[u].input || g->ver[u].producer < 0) {
		pass_refused(cx, l->name, "its output '%s' is a network output and its input '%s' is a network input",
		             vname, uname);
		return 0;
	}
	if (strcmp(vname, uname) == 0) {
		/* In place: the input version becomes the output, so it must
		 * end unread, as the output did (or be pinned by name). */
		if (!g->ver[v].pinned && !graph_sole_reader(g, u, layer)) {
			pass_refused(cx, l->name, "its output '%s' is a network output and the '%s' it reads has other readers",
			             vname, uname);
			return 0;
		}
		pass_fired(cx, l->name, "%s (in place)", tag);
		return take_out(cx, g, layer, u);
	}
	if (!graph_sole_reader(g, u, layer)) {
		pass_refused(cx, l->name, "its output '%s' is a network output and '%s' has other readers", vname,
		             uname);
		return 0;
	}
	if (graph_lookup(g, vname, layer) >= 0) {
		pass_refused(cx, l->name, "its output '%s' is a network output and '%s' is also made before it", vname,
		             vname);
		return 0;
	}
	p = cx->m->layers[g->ver[u].producer].p;
	if (pass_set_string(&p->top[g->ver[u].slot], vname) < 0)
		return caffeopt_fail(cx->err, NULL, 0, 0, "out of memory");
	if (graph_rename(g, u, cx->err) < 0)
		return -1;
	pass_fired(cx, l->name, "%s; '%s' now makes the output '%s'", tag, p->name, vname);
	return take_out(cx, g, layer, u);
}
