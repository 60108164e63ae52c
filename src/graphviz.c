#define _POSIX_C_SOURCE 200809L
/* graphviz.c - graphviz_render: a model as a Graphviz picture (see
 * graphviz.h).  Decides on the graph (versions and readers), never on
 * file adjacency; reads layer parameters straight from the LayerParameter.
 * Requires: a net whose blobs bind.  Keeps: the model untouched. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <graphviz/cgraph.h>
#include <graphviz/gvc.h>

#include "absorb.h"
#include "graph.h"
#include "graphviz.h"
#include "kinds.h"
#include "shape.h"

/* ---- A growing string ---- */

struct sbuf {
	char *s;
	size_t len, cap;
	int oom;
};

static void
sb_grow(struct sbuf *b, size_t need)
{
	size_t cap;
	char *s;

	if (b->oom || b->len + need + 1 <= b->cap)
		return;
	for (cap = b->cap ? b->cap : 256; cap < b->len + need + 1; cap *= 2)
		;
	if (!(s = realloc(b->s, cap))) {
		b->oom = 1;
		return;
	}
	b->s = s;
	b->cap = cap;
}

static void
sb_printf(struct sbuf *b, const char *fmt, ...)
#if defined(__GNUC__)
	__attribute__((format(printf, 2, 3)))
#endif
	;

static void
sb_printf(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	sb_grow(b, (size_t)n);
	if (b->oom)
		return;
	va_start(ap, fmt);
	vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

/* s with &, <, >, " escaped, for Graphviz HTML-like labels.  Graphviz
 * expands \N, \G, \E, \H, \T and \L even there, entities or not: a zero
 * width space after such a backslash keeps a name as written. */
static void
sb_html(struct sbuf *b, const char *s)
{
	for (; s && *s; s++) {
		switch (*s) {
		case '&': sb_printf(b, "&amp;"); break;
		case '\\':
			sb_printf(b, "\\%s", s[1] && strchr("GNEHTL", s[1]) ? "&#8203;" : "");
			break;
		case '<': sb_printf(b, "&lt;"); break;
		case '>': sb_printf(b, "&gt;"); break;
		case '"': sb_printf(b, "&quot;"); break;
		default:
			sb_grow(b, 1);
			if (!b->oom) {
				b->s[b->len++] = *s;
				b->s[b->len] = '\0';
			}
		}
	}
}

static void
sb_reset(struct sbuf *b)
{
	b->len = 0;
	if (b->s)
		b->s[0] = '\0';
}

/* ---- What a node says ---- */

/* ", stride 2, pad 1"; nothing for stride 1 and pad 0. */
static void
stride_pad(struct sbuf *b, uint32_t sh, uint32_t sw, uint32_t ph, uint32_t pw)
{
	if (sh != 1 || sw != 1) {
		if (sh == sw)
			sb_printf(b, ", stride %u", sh);
		else
			sb_printf(b, ", stride %ux%u", sh, sw);
	}
	if (ph || pw) {
		if (ph == pw)
			sb_printf(b, ", pad %u", ph);
		else
			sb_printf(b, ", pad %ux%u", ph, pw);
	}
}

/* Convolution-family geometry: "3x3, stride 2, pad 1". */
static void
conv_geometry(struct sbuf *b, const Caffe__ConvolutionParameter *c)
{
	uint32_t kh = 0, kw = 0, sh = 1, sw = 1, ph = 0, pw = 0;

	if (c->has_kernel_h || c->has_kernel_w) {
		kh = c->kernel_h;
		kw = c->kernel_w;
	} else if (c->n_kernel_size > 0) {
		kh = c->kernel_size[0];
		kw = c->kernel_size[c->n_kernel_size > 1 ? 1 : 0];
	}
	if (c->has_stride_h || c->has_stride_w) {
		sh = c->has_stride_h ? c->stride_h : 1;
		sw = c->has_stride_w ? c->stride_w : 1;
	} else if (c->n_stride > 0) {
		sh = c->stride[0];
		sw = c->stride[c->n_stride > 1 ? 1 : 0];
	}
	if (c->has_pad_h || c->has_pad_w) {
		ph = c->pad_h;
		pw = c->pad_w;
	} else if (c->n_pad > 0) {
		ph = c->pad[0];
		pw = c->pad[c->n_pad > 1 ? 1 : 0];
	}
	sb_printf(b, "%ux%u", kh, kw);
	stride_pad(b, sh, sw, ph, pw);
	if (c->n_dilation > 0 && c->dilation[0] != 1)
		sb_printf(b, ", dilation %u", c->dilation[0]);
	sb_printf(b, "<BR/>%u outputs", c->num_output);
	if (c->has_group && c->group != 1)
		sb_printf(b, ", group %u", c->group);
	if (c->has_bias_term && !c->bias_term)
		sb_printf(b, ", no bias");
}

static void
pool_geometry(struct sbuf *b, const Caffe__PoolingParameter *p)
{
	static const char *const method[] = {"MAX", "AVE", "STOCHASTIC"};
	uint32_t kh, kw, sh, sw, ph, pw;

	sb_printf(b, "%s", (unsigned)p->pool < 3 ? method[p->pool] : "?");
	if (p->has_global_pooling && p->global_pooling) {
		sb_printf(b, " global");
		return;
	}
	kh = p->has_kernel_h ? p->kernel_h : p->kernel_size;
	kw = p->has_kernel_w ? p->kernel_w : p->kernel_size;
	sh = p->has_stride_h ? p->stride_h : p->stride;
	sw = p->has_stride_w ? p->stride_w : p->stride;
	ph = p->has_pad_h ? p->pad_h : p->pad;
	pw = p->has_pad_w ? p->pad_w : p->pad;
	sb_printf(b, " %ux%u", kh, kw);
	stride_pad(b, sh, sw, ph, pw);
}

/* The key parameters of layer l, as label lines; nothing for kinds whose
 * parameters say little at a glance. */
static void
key_params(struct sbuf *b, enum kind k, const Caffe__LayerParameter *l)
{
	size_t i;

	switch (k) {
	case KIND_CONVOLUTION:
	case KIND_DECONVOLUTION:
	case KIND_CONVOLUTION_DEPTHWISE:
	case KIND_DEPTHWISE_CONVOLUTION:
		if (l->convolution_param)
			conv_geometry(b, l->convolution_param);
		break;
	case KIND_POOLING:
		if (l->pooling_param)
			pool_geometry(b, l->pooling_param);
		break;
	case KIND_INNER_PRODUCT:
		if (l->inner_product_param)
			sb_printf(b, "%u outputs", l->inner_product_param->num_output);
		break;
	case KIND_LRN:
		if (l->lrn_param)
			sb_printf(b, "size %u, alpha %g, beta %g", l->lrn_param->local_size,
			          (double)l->lrn_param->alpha, (double)l->lrn_param->beta);
		break;
	case KIND_ELTWISE: {
		static const char *const op[] = {"PROD", "SUM", "MAX"};
		const Caffe__EltwiseParameter *e = l->eltwise_param;
		int o = e ? (int)e->operation : 1;
		sb_printf(b, "%s", o >= 0 && o < 3 ? op[o] : "?");
		if (e && e->n_coeff > 0) {
			sb_printf(b, ", coeff");
			for (i = 0; i < e->n_coeff && i < 8; i++)
				sb_printf(b, "%s%g", i ? "," : " ", (double)e->coeff[i]);
		}
		break;
	}
	case KIND_CONCAT:
		if (l->concat_param && l->concat_param->has_axis && l->concat_param->axis != 1)
			sb_printf(b, "axis %d", l->concat_param->axis);
		break;
	case KIND_RELU:
		if (l->relu_param && l->relu_param->negative_slope != 0)
			sb_printf(b, "negative slope %g", (double)l->relu_param->negative_slope);
		break;
	case KIND_DROPOUT:
		if (l->dropout_param)
			sb_printf(b, "ratio %g", (double)l->dropout_param->dropout_ratio);
		break;
	case KIND_POWER:
		if (l->power_param)
			sb_printf(b, "power %g, scale %g, shift %g", (double)l->power_param->power,
			          (double)l->power_param->scale, (double)l->power_param->shift);
		break;
	case KIND_SCALE:
		if (l->scale_param && l->scale_param->has_bias_term && l->scale_param->bias_term)
			sb_printf(b, "with bias");
		break;
	default:
		break;
	}
}

/* ---- Styles ---- */

enum style { S_LAYER, S_INPLACE, S_DATA, S_LOSS, S_METRIC, S_BLOB };

static enum style
layer_style(enum kind k, int in_place)
{
	int f = kind_flags(k);

	if (k == KIND_ACCURACY || k == KIND_DETECTION_EVALUATE)
		return S_METRIC;
	if (f & K_LOSS)
		return S_LOSS;
	if (f & (K_DATA | K_INPUT))
		return S_DATA;
	return in_place ? S_INPLACE : S_LAYER;
}

/* Fill colours after Caffe's draw_net.py, lightened so the text reads. */
static const char *
layer_fill(enum kind k)
{
	switch (k) {
	case KIND_CONVOLUTION:
	case KIND_DECONVOLUTION:
	case KIND_CONVOLUTION_DEPTHWISE:
	case KIND_DEPTHWISE_CONVOLUTION:
		return "#f9cfc6";
	case KIND_POOLING:
	case KIND_SPP:
		return "#fde0b5";
	case KIND_INNER_PRODUCT:
	case KIND_EMBED:
		return "#e5d2f7";
	case KIND_BATCH_NORM:
	case KIND_SCALE:
	case KIND_BIAS:
	case KIND_POWER:
	case KIND_MVN:
	case KIND_NORMALIZE:
	case KIND_LRN:
		return "#fff0b0";
	default:
		return "#d9e4f7";
	}
}

static void
set(void *obj, const char *name, const char *value)
{
	agsafeset(obj, (char *)name, (char *)value, "");
}

/* label as an HTML-like label of obj's graph. */
static void
set_html(Agraph_t *g, void *obj, const char *label)
{
	char *h = agstrdup_html(g, (char *)label);

	agsafeset(obj, "label", h, "");
	agstrfree(g, h);
}

static void
style_node(Agnode_t *n, enum style st, enum kind k)
{
	switch (st) {
	case S_DATA:
		set(n, "shape", "cylinder");
		set(n, "style", "filled");
		set(n, "fillcolor", "#cfe8cf");
		set(n, "color", "#2e7d32");
		set(n, "penwidth", "1.5");
		break;
	case S_LOSS:
		set(n, "shape", "box");
		set(n, "style", "filled,bold");
		set(n, "fillcolor", "#f6c0c0");
		set(n, "color", "#b71c1c");
		break;
	case S_METRIC:
		set(n, "shape", "box");
		set(n, "style", "filled,dashed");
		set(n, "fillcolor", "#fff4c2");
		set(n, "color", "#8d6e00");
		break;
	case S_INPLACE:
		set(n, "shape", "ellipse");
		set(n, "style", "filled");
		set(n, "fillcolor", "#d3f2d3");
		break;
	case S_BLOB:
		set(n, "shape", "octagon");
		set(n, "style", "filled");
		set(n, "fillcolor", "#e6e6e6");
		set(n, "color", "#777777");
		break;
	case S_LAYER:
		set(n, "fillcolor", layer_fill(k));
		break;
	}
}

/* ---- Building the picture ---- */

/* Graphviz reports through a global hook; its last message is kept here
 * for the caffeopt_error, and nothing reaches stderr. */
static char gv_msg[512];

static int
gv_error(char *msg)
{
	size_t n;

	snprintf(gv_msg, sizeof gv_msg, "%s", msg);
	n = strlen(gv_msg);
	while (n > 0 && (gv_msg[n - 1] == '\n' || gv_msg[n - 1] == ' '))
		gv_msg[--n] = '\0';
	return 0;
}

/* A node called name, or name~2, name~3... when a node has it already. */
static Agnode_t *
new_node(Agraph_t *g, const char *name)
{
	char buf[1024];
	int k;

	if (!agnode(g, (char *)name, 0))
		return agnode(g, (char *)name, 1);
	for (k = 2;; k++) {
		snprintf(buf, sizeof buf, "%.1000s~%d", name, k);
		if (!agnode(g, buf, 0))
			return agnode(g, buf, 1);
	}
}

/* The blob node of version v (a net-level input, or an output nobody
 * reads): "input"/"output", the blob's name and shape. */
static Agnode_t *
blob_node(Agraph_t *g, const struct graph *gr, const struct shape *s, int v, const char *what,
          struct sbuf *b)
{
	char id[1100], dims[128];
	Agnode_t *n;

	snprintf(id, sizeof id, "%s %.1000s", what, gr->ver[v].name);
	if (!(n = new_node(g, id)))
		return NULL;
	sb_reset(b);
	sb_printf(b, "<FONT POINT-SIZE=\"9\">%s</FONT><BR/>", what);
	sb_html(b, gr->ver[v].name);
	if (s && s[v].known) {
		sb_printf(b, "<BR/><FONT POINT-SIZE=\"9\">");
		sb_html(b, shape_format(&s[v], dims, sizeof dims));
		sb_printf(b, "</FONT>");
	}
	if (b->oom)
		return NULL;
	set_html(g, n, b->s);
	style_node(n, gr->ver[v].producer < 0 ? S_DATA : S_BLOB, KIND_UNKNOWN);
	return n;
}

enum { MAX_ABSORBED = 64 };

/* The label of layer i. */
static void
layer_label(struct sbuf *b, const caffeopt_model *m, const struct graph *gr, const struct shape *s,
            size_t i, int in_place)
{
	const Caffe__LayerParameter *l = m->layers[i].p;
	const struct absorbed *abs[MAX_ABSORBED];
	size_t nabs = model_absorbed(m, l->name, abs, MAX_ABSORBED), k, mark;
	char dims[128];

	sb_reset(b);
	sb_printf(b, "<B>");
	sb_html(b, l->type);
	sb_printf(b, "</B><BR/>");
	sb_html(b, l->name);
	mark = b->len;
	sb_printf(b, "<BR/><FONT POINT-SIZE=\"9\">");
	key_params(b, gr->layer[i].kind, l);
	if (b->len == mark + strlen("<BR/><FONT POINT-SIZE=\"9\">")) {
		b->len = mark;  /* nothing to say */
		b->s[mark] = '\0';
	} else
		sb_printf(b, "</FONT>");
	if (s) {
		for (k = 0; k < l->n_top; k++) {
			int v = gr->layer[i].top[k];
			if (!s[v].known)
				continue;
			sb_printf(b, "<BR/><FONT POINT-SIZE=\"9\" COLOR=\"#333333\">");
			if (l->n_top > 1) {
				sb_html(b, l->top[k]);
				sb_printf(b, ": ");
			}
			sb_html(b, shape_format(&s[v], dims, sizeof dims));
			sb_printf(b, "</FONT>");
		}
	}
	if (in_place)
		sb_printf(b, "<BR/><FONT POINT-SIZE=\"8\" COLOR=\"#2e7d32\"><I>in place</I></FONT>");
	for (k = 0; k < nabs && k < MAX_ABSORBED; k++) {
		sb_printf(b, "<BR/><FONT POINT-SIZE=\"9\" COLOR=\"#6a1b9a\">+ ");
		sb_html(b, abs[k]->name);
		sb_printf(b, " (");
		sb_html(b, abs[k]->type);
		sb_printf(b, ")</FONT>");
	}
	if (nabs > MAX_ABSORBED)
		sb_printf(b, "<BR/><FONT POINT-SIZE=\"9\" COLOR=\"#6a1b9a\">+ %zu more</FONT>",
		          nabs - MAX_ABSORBED);
}

/* Build the cgraph graph of m into g.  0 or -1 (out of memory). */
static int
build(Agraph_t *g, caffeopt_model *m, const struct graph *gr, const struct shape *s, const char *title)
{
	Agnode_t **lnode = calloc(gr->nlayer + 1, sizeof *lnode);
	Agnode_t **inode = calloc(gr->nver + 1, sizeof *inode);
	struct sbuf b = {0};
	size_t i, k;
	int v, rc = -1;

	if (!lnode || !inode)
		goto out;
	agattr(g, AGRAPH, "rankdir", "TB");
	agattr(g, AGRAPH, "nodesep", "0.25");
	agattr(g, AGRAPH, "ranksep", "0.3");
	agattr(g, AGRAPH, "fontname", "Helvetica");
	agattr(g, AGRAPH, "labelloc", "t");
	agattr(g, AGNODE, "shape", "box");
	agattr(g, AGNODE, "style", "filled,rounded");
	agattr(g, AGNODE, "fontname", "Helvetica");
	agattr(g, AGNODE, "fontsize", "11");
	agattr(g, AGNODE, "margin", "0.08,0.04");
	agattr(g, AGNODE, "color", "#555555");
	agattr(g, AGEDGE, "fontname", "Helvetica");
	agattr(g, AGEDGE, "fontsize", "9");
	agattr(g, AGEDGE, "fontcolor", "#444444");
	agattr(g, AGEDGE, "color", "#666666");
	agattr(g, AGEDGE, "arrowsize", "0.6");
	sb_reset(&b);
	sb_printf(&b, "<B>");
	sb_html(&b, title);
	sb_printf(&b, "</B>");
	if (b.oom)
		goto out;
	set_html(g, g, b.s);

	for (i = 0; i < gr->nlayer; i++) {
		const Caffe__LayerParameter *l = m->layers[i].p;
		int in_place = 0;
		for (k = 0; k < l->n_top && k < l->n_bottom; k++)
			in_place |= strcmp(l->top[k], l->bottom[k]) == 0;
		if (!(lnode[i] = new_node(g, l->name && *l->name ? l->name : l->type)))
			goto out;
		layer_label(&b, m, gr, s, i, in_place);
		if (b.oom)
			goto out;
		set_html(g, lnode[i], b.s);
		style_node(lnode[i], layer_style(gr->layer[i].kind, in_place), gr->layer[i].kind);
		if (model_absorbed(m, l->name, NULL, 0) > 0)
			set(lnode[i], "peripheries", "2");
	}
	for (v = 0; v < (int)gr->nver; v++) {
		const struct gver *gv = &gr->ver[v];
		Agnode_t *from;
		int u;

		if (gv->producer < 0) {
			if (!(from = inode[v] = blob_node(g, gr, s, v, "input", &b)))
				goto out;
		} else {
			from = lnode[gv->producer];
		}
		for (u = 0; u < gv->nuses; u++) {
			Agedge_t *e = agedge(g, from, lnode[gv->uses[u].layer], NULL, 1);
			if (!e)
				goto out;
			if (gv->producer >= 0) {
				sb_reset(&b);
				sb_html(&b, gv->name);
				if (b.oom)
					goto out;
				set_html(g, e, b.s);
			}
		}
		if (gv->nuses == 0 && gv->producer >= 0) {
			Agnode_t *to = blob_node(g, gr, s, v, "output", &b);
			if (!to || !agedge(g, from, to, NULL, 1))
				goto out;
		}
	}
	rc = 0;
out:
	free(b.s);
	free(lnode);
	free(inode);
	return rc;
}

/* The one Graphviz context of the process, made on first use and never
 * freed.  Graphviz 2.42's pango plugin keeps a pointer to the last font
 * name it measured, and that name belongs to the context: a second context
 * made after freeing the first reads freed memory (AddressSanitizer sees
 * it when the HTML report draws its second picture).  NULL when Graphviz
 * cannot start. */
static GVC_t *
context(void)
{
	static GVC_t *gvc;

	if (!gvc)
		gvc = gvContext();
	return gvc;
}

/* 1 for the raster formats Cairo renders. */
static int
is_bitmap(const char *format)
{
	static const char *const raster[] = {"png", "jpg", "jpeg", "gif", "bmp", "tif", "tiff", "webp"};
	size_t i;

	for (i = 0; i < sizeof raster / sizeof raster[0]; i++)
		if (strncmp(format, raster[i], strlen(raster[i])) == 0
		    && (format[strlen(raster[i])] == '\0' || format[strlen(raster[i])] == ':'))
			return 1;
	return 0;
}

int
graphviz_render(caffeopt_model *m, const struct graphviz_options *o, char **out, size_t *len,
                caffeopt_error *err)
{
	const char *format = o && o->format ? o->format : "svg";
	const char *title = o && o->title ? o->title : m->net->name ? m->net->name : "net";
	struct graph *gr;
	struct shape *s;
	caffeopt_error serr;
	agusererrf old_errf;
	GVC_t *gvc = NULL;
	Agraph_t *g = NULL;
	int rc = -1, laid = 0;

	*out = NULL;
	*len = 0;
	if (!(gr = graph_build(m, NULL, 0, err)))
		return -1;
	if (!(s = shape_infer(gr, &serr)))
		model_warn(m, "shapes left out of the picture: %s", serr.msg);
	gv_msg[0] = '\0';
	old_errf = agseterrf(gv_error);
	if (!(g = agopen("caffeopt", Agdirected, NULL))) {
		caffeopt_fail(err, NULL, 0, 0, "graphviz: cannot open a graph");
		goto out;
	}
	if (build(g, m, gr, s, title) < 0) {
		caffeopt_fail(err, NULL, 0, 0, "out of memory drawing the net");
		goto out;
	}
	if (strcmp(format, "dot") == 0 || strcmp(format, "gv") == 0) {
		/* The graph source, without layout: what `dot` would read. */
		char *buf = NULL;
		size_t n = 0;
		FILE *f = open_memstream(&buf, &n);
		if (!f || agwrite(g, f) != 0 || fclose(f) != 0) {
			free(buf);
			caffeopt_fail(err, NULL, 0, 0, "graphviz: cannot write the graph%s%s",
			              gv_msg[0] ? ": " : "", gv_msg);
			goto out;
		}
		*out = buf;
		*len = n;
		rc = 0;
		goto out;
	}
	if (!(gvc = context())) {
		caffeopt_fail(err, NULL, 0, 0, "graphviz: cannot start (no plugins?)");
		goto out;
	}
	if (gvLayout(gvc, g, "dot") != 0) {
		caffeopt_fail(err, NULL, 0, 0, "graphviz: layout failed%s%s", gv_msg[0] ? ": " : "", gv_msg);
		goto out;
	}
	laid = 1;
	if (is_bitmap(format)) {
		/* Cairo caps bitmaps at 32767 pixels a side and says so on
		 * stderr; a lower resolution keeps big nets under the cap. */
		char dpi[32];
		double x0, y0, w, h, big;
		const char *bb = agget(g, "bb");
		/* gvLayout writes "llx lly urx ury" in points. */
		if (bb && sscanf(bb, "%lf%*[ ,]%lf%*[ ,]%lf%*[ ,]%lf", &x0, &y0, &w, &h) == 4
		    && (big = (w - x0 > h - y0 ? w - x0 : h - y0) * 96.0 / 72.0) > 32000) {
			snprintf(dpi, sizeof dpi, "%.2f", 96.0 * 32000 / big);
			gvFreeLayout(gvc, g);
			laid = 0;
			set(g, "dpi", dpi);
			if (gvLayout(gvc, g, "dot") != 0) {
				caffeopt_fail(err, NULL, 0, 0, "graphviz: layout failed%s%s", gv_msg[0] ? ": " : "",
				              gv_msg);
				goto out;
			}
			laid = 1;
		}
	}
	{
		char *data = NULL;
		unsigned int n = 0;
		if (gvRenderData(gvc, g, format, &data, &n) != 0 || !data) {
			if (data)
				gvFreeRenderData(data);
			caffeopt_fail(err, NULL, 0, 0, "graphviz: cannot render '%s'%s%s", format,
			              gv_msg[0] ? ": " : "", gv_msg);
			goto out;
		}
		if (!(*out = malloc((size_t)n + 1))) {
			gvFreeRenderData(data);
			caffeopt_fail(err, NULL, 0, 0, "out of memory");
			goto out;
		}
		memcpy(*out, data, n);
		(*out)[n] = '\0';
		*len = n;
		gvFreeRenderData(data);
	}
	rc = 0;
out:
	if (laid)
		gvFreeLayout(gvc, g);
	if (g)
		agclose(g);
	agseterrf(old_errf);
	free(s);
	graph_free(gr);
	return rc;
}
