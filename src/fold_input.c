/* fold_input.c - the caller's preprocessing x' = (x - mean[c]) * scale moves
 * into every reader of the image input: W' = scale * W and
 * b' = b - sum over inputs of W'[o, i] * mean[channel of i].
 * Requires: every reader is a one-bottom Convolution (axis 1) or
 * InnerProduct (axis 1) with weights, and, to fold a mean, every such
 * Convolution is unpadded (the original pads x' with zeros, i.e. x with the
 * mean; the folded one would pad x with zeros).
 * Keeps: every output value, given the raw image instead of x'.  Breaks:
 * the input contract, on purpose: the caller must stop preprocessing, as
 * the report says.  What cannot be folded is an error, not a refusal: the
 * user asked for it and the caller's preprocessing depends on it. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pass.h"

/* The image input: its version, channels and, when known, H * W. */
struct image {
	int ver;
	int64_t channels;   /* -1 when the shape is unknown (data layers) */
	int64_t spatial;    /* H * W, -1 when unknown */
};

/* The shape of input version v, into dims; its rank, or -1 when unknown. */
static int
input_shape(const struct graph *g, int v, int64_t *dims)
{
	const struct gver *gv = &g->ver[v];
	const Caffe__BlobShape *s = NULL;
	const Caffe__NetParameter *net = g->m->net;
	size_t k, slot = (size_t)gv->slot;

	if (gv->producer < 0) {
		if (slot < net->n_input_shape)
			s = net->input_shape[slot];
		else if (net->n_input_dim == 4 * net->n_input) {
			for (k = 0; k < 4; k++)
				dims[k] = net->input_dim[4 * slot + k];
			return 4;
		}
	} else {
		const Caffe__InputParameter *ip = g->m->layers[gv->producer].p->input_param;
		/* One shape per top, or one for all tops. */
		if (g->layer[gv->producer].kind == KIND_INPUT && ip && ip->n_shape == 1)
			s = ip->shape[0];
		else if (g->layer[gv->producer].kind == KIND_INPUT && ip && slot < ip->n_shape)
			s = ip->shape[slot];
	}
	if (!s || s->n_dim > CAFFEOPT_MAX_DIMS)
		return -1;
	for (k = 0; k < s->n_dim; k++)
		dims[k] = s->dim[k];
	return (int)s->n_dim;
}

/* Find the one image-like network input: 4-D with as many channels as the
 * mean (any count for a single mean value or scale alone), or the first top
 * of a data layer, whose shape the prototxt does not give.  0 or -1. */
static int
find_image(struct pass_ctx *cx, const struct graph *g, struct image *im)
{
	const struct input_fold *in = cx->input;
	char names[512] = "";
	size_t used = 0;
	int v, found = 0;

	for (v = 0; v < (int)g->nver; v++) {
		const struct gver *gv = &g->ver[v];
		int64_t dims[CAFFEOPT_MAX_DIMS];
		int rank;

		if (!gv->input || gv->nuses == 0)
			continue;
		rank = input_shape(g, v, dims);
		if (rank < 0) {
			if (gv->producer < 0 || !(kind_flags(g->layer[gv->producer].kind) & K_DATA) || gv->slot != 0)
				continue;
			dims[1] = dims[2] = dims[3] = -1;
		} else if (rank != 4 || (in->has_mean && in->nmean > 1 && dims[1] != (int64_t)in->nmean)) {
			continue;
		}
		if (found++ == 0) {
			im->ver = v;
			im->channels = dims[1];
			im->spatial = dims[2] < 0 ? -1 : dims[2] * dims[3];
		}
		if (used < sizeof names)
			used += (size_t)snprintf(names + used, sizeof names - used, "%s'%s'", used ? ", " : "",
			                         gv->name);
	}
	if (found == 1)
		return 0;
	if (found == 0) {
		if (in->has_mean && in->nmean > 1)
			return caffeopt_fail(cx->err, cx->m->prototxt_path, 0, 0,
			                     "fold-input: no network input is 4-D with %zu channels, the mean's count",
			                     in->nmean);
		return caffeopt_fail(cx->err, cx->m->prototxt_path, 0, 0,
		                     "fold-input: no network input is 4-D and read by a layer");
	}
	return caffeopt_fail(cx->err, cx->m->prototxt_path, 0, 0,
	                     "fold-input: %d network inputs look like the image (%s): cannot tell which "
	                     "one the mean and scale belong to", found, names);
}

/* How one reader's weights map onto input channels. */
struct reader {
	struct mlayer *ml;
	int conv;
	int64_t nout;       /* N */
	int64_t nin;        /* inputs per output: C/g * kernel, or K */
	int64_t group;      /* conv */
	int64_t per_group;  /* conv: C / g, weight dim 1 */
	int64_t spatial;    /* conv: kernel size; InnerProduct: H * W */
	int transposed;     /* InnerProduct stored K x N */
};

static void
pad_text(const Caffe__ConvolutionParameter *c, char *buf, size_t n)
{
	size_t used = 0, k;

	buf[0] = '\0';
	for (k = 0; k < c->n_pad && used < n; k++)
		used += (size_t)snprintf(buf + used, n - used, "%s%u", k ? ", " : "pad ", c->pad[k]);
	if (c->pad_h && used < n)
		used += (size_t)snprintf(buf + used, n - used, "%spad_h %u", used ? ", " : "", c->pad_h);
	if (c->pad_w && used < n)
		snprintf(buf + used, n - used, "%spad_w %u", used ? ", " : "", c->pad_w);
}

static int
padded(const Caffe__ConvolutionParameter *c)
{
	size_t k;

	for (k = 0; k < c->n_pad; k++)
		if (c->pad[k])
			return 1;
	return c->pad_h || c->pad_w;
}

/* Check that layer `layer` can absorb the fold and describe its weights.
 * 0 or -1 with the reason. */
static int
check_reader(struct pass_ctx *cx, const struct graph *g, const struct image *im, int layer,
             struct reader *r)
{
	const struct input_fold *in = cx->input;
	struct mlayer *ml = &cx->m->layers[layer];
	const Caffe__LayerParameter *l = ml->p;
	const char *name = g->ver[im->ver].name, *path = cx->m->prototxt_path;
	enum kind k = g->layer[layer].kind;
	const struct wblob *w;
	int64_t channels;

	memset(r, 0, sizeof *r);
	r->ml = ml;
	if (k != KIND_CONVOLUTION && k != KIND_INNER_PRODUCT)
		return caffeopt_fail(cx->err, path, 0, 0,
		                     "fold-input: layer '%s' (%s) reads the input '%s': only Convolution and "
		                     "InnerProduct readers can absorb the mean and scale", l->name, l->type, name);
	if (l->n_bottom != 1)
		return caffeopt_fail(cx->err, path, 0, 0,
		                     "fold-input: layer '%s' reads the input '%s' and %zu other bottoms with the "
		                     "same weights", l->name, name, l->n_bottom - 1);
	if (g->layer[layer].frozen)
		return caffeopt_fail(cx->err, path, 0, 0,
		                     "fold-input: layer '%s' reads the input '%s' and carries fields unknown to "
		                     "caffeopt's schema", l->name, name);
	if (pass_shared_param(l))
		return caffeopt_fail(cx->err, path, 0, 0,
		                     "fold-input: layer '%s' reads the input '%s' and shares its weights by name",
		                     l->name, name);
	if (ml->nblobs < 1)
		return caffeopt_fail(cx->err, path, 0, 0,
		                     "fold-input: layer '%s' has no weights: load a caffemodel to fold the input",
		                     l->name);
	w = &ml->blobs[0];
	if (k == KIND_CONVOLUTION) {
		const Caffe__ConvolutionParameter *c = l->convolution_param;
		char pads[128];

		if (c && c->has_axis && c->axis != 1)
			return caffeopt_fail(cx->err, path, 0, 0, "fold-input: layer '%s' convolves from axis %d, not 1",
			                     l->name, c->axis);
		if (w->ndim < 3 || w->shape[0] <= 0 || w->shape[1] <= 0)
			return caffeopt_fail(cx->err, path, 0, 0, "fold-input: layer '%s': its weight is not N x C/g x kernel",
			                     l->name);
		r->conv = 1;
		r->nout = w->shape[0];
		r->group = c && c->has_group && c->group > 0 ? c->group : 1;
		r->per_group = w->shape[1];
		r->spatial = (int64_t)w->count / (r->nout * r->per_group);
		r->nin = r->per_group * r->spatial;
		channels = r->per_group * r->group;
		if (r->nout % r->group)
			return caffeopt_fail(cx->err, path, 0, 0, "fold-input: layer '%s': num_output %lld is not a "
			                     "multiple of group %lld", l->name, (long long)r->nout, (long long)r->group);
		if (in->has_mean && c && padded(c)) {
			pad_text(c, pads, sizeof pads);
			return caffeopt_fail(cx->err, path, 0, 0,
			                     "fold-input: layer '%s' pads its input (%s): the mean cannot be folded, "
			                     "since zero padding is not mean padding; drop merge_input_mean or use a "
			                     "pad-free first layer", l->name, pads);
		}
	} else {
		const Caffe__InnerProductParameter *ip = l->inner_product_param;

		if (ip && ip->has_axis && ip->axis != 1)
			return caffeopt_fail(cx->err, path, 0, 0, "fold-input: layer '%s' flattens from axis %d, not 1",
			                     l->name, ip->axis);
		if (w->ndim != 2)
			return caffeopt_fail(cx->err, path, 0, 0, "fold-input: layer '%s': its weight is not 2-D", l->name);
		r->transposed = ip && ip->has_transpose && ip->transpose;
		r->nout = w->shape[r->transposed ? 1 : 0];
		r->nin = w->shape[r->transposed ? 0 : 1];
		channels = im->channels > 0 ? im->channels : in->has_mean && in->nmean > 1 ? (int64_t)in->nmean : 1;
		if (r->nin % channels || (im->spatial >= 0 && r->nin != channels * im->spatial))
			return caffeopt_fail(cx->err, path, 0, 0,
			                     "fold-input: layer '%s' takes %lld inputs, not a whole image of %lld channels",
			                     l->name, (long long)r->nin, (long long)channels);
		r->spatial = r->nin / channels;
	}
	if (im->channels > 0 && channels != im->channels)
		return caffeopt_fail(cx->err, path, 0, 0, "fold-input: layer '%s' takes %lld channels, the input '%s' has %lld",
		                     l->name, (long long)channels, name, (long long)im->channels);
	if (in->has_mean && in->nmean > 1 && channels != (int64_t)in->nmean)
		return caffeopt_fail(cx->err, path, 0, 0, "fold-input: layer '%s' takes %lld channels, the mean has %zu",
		                     l->name, (long long)channels, in->nmean);
	if (ml->nblobs > 1 && ml->blobs[1].count != (size_t)r->nout)
		return caffeopt_fail(cx->err, path, 0, 0, "fold-input: layer '%s': its bias has %zu values, not %lld",
		                     l->name, ml->blobs[1].count, (long long)r->nout);
	return 0;
}

/* Give the layer a zero bias blob of n values and set its bias_term. */
static int
add_bias(struct mlayer *ml, int64_t n)
{
	struct wblob *b = realloc(ml->blobs, (ml->nblobs + 1) * sizeof *b);

	if (!b)
		return -1;
	ml->blobs = b;
	b = &b[ml->nblobs];
	memset(b, 0, sizeof *b);
	b->ndim = 1;
	b->shape[0] = n;
	b->count = (size_t)n;
	if (!(b->data = calloc(n ? (size_t)n : 1, sizeof *b->data)))
		return -1;
	ml->nblobs++;
	if (ml->p->convolution_param) {
		ml->p->convolution_param->has_bias_term = 1;
		ml->p->convolution_param->bias_term = 1;
	} else {
		ml->p->inner_product_param->has_bias_term = 1;
		ml->p->inner_product_param->bias_term = 1;
	}
	return 0;
}

/* Fold into one checked reader.  0 or -1. */
static int
fold_reader(struct pass_ctx *cx, const struct reader *r)
{
	const struct input_fold *in = cx->input;
	struct mlayer *ml = r->ml;
	float *w = wblob_load(cx->m, &ml->blobs[0], cx->err);
	double s = in->has_scale ? in->scale : 1.0;
	int64_t o, j, n = r->nout;

	if (!w)
		return -1;
	if (in->has_mean && ml->nblobs < 2) {
		if ((r->conv && !ml->p->convolution_param) || (!r->conv && !ml->p->inner_product_param))
			return caffeopt_fail(cx->err, NULL, 0, 0, "fold-input: layer '%s' has no parameters", ml->p->name);
		if (add_bias(ml, n) < 0)
			return caffeopt_fail(cx->err, NULL, 0, 0, "out of memory");
	}
	for (o = 0; o < n; o++) {
		double shift = 0;

		for (j = 0; j < r->nin; j++) {
			/* Weight (o, j) and the input channel it multiplies. */
			size_t at = r->transposed ? (size_t)(j * n + o) : (size_t)(o * r->nin + j);
			int64_t c = r->conv ? o / (n / r->group) * r->per_group + j / r->spatial : j / r->spatial;
			double sw = s * (double)w[at];

			if (in->has_mean)
				shift += sw * in->mean[in->nmean == 1 ? 0 : c];
			w[at] = (float)sw;
		}
		if (in->has_mean)
			ml->blobs[1].data[o] = (float)((double)ml->blobs[1].data[o] - shift);
	}
	if (in->has_mean && in->has_scale)
		pass_fired(cx, ml->p->name, "weights scaled by %g, bias less the weights times the mean", s);
	else if (in->has_mean)
		pass_fired(cx, ml->p->name, "bias less the weights times the mean");
	else
		pass_fired(cx, ml->p->name, "weights scaled by %g", s);
	return 0;
}

/* 1 when float v differs from the folded value want beyond rounding. */
static int
differs(double v, double want)
{
	return fabs(v - want) > 1e-6 * (fabs(want) > 1 ? fabs(want) : 1);
}

/* A data layer making the input applies the preprocessing itself: what it
 * subtracts and multiplies by is what the trained net saw, so that is what
 * is folded.  When it differs from the given mean or scale, *own (with its
 * values in buf, room for 16) takes the data layer's, with a note, and
 * cx->input points at it for the rest of the pass.  0 or -1. */
static int
use_transform(struct pass_ctx *cx, const Caffe__LayerParameter *l, struct input_fold *own, double *buf)
{
	const struct input_fold *in = cx->input;
	const Caffe__TransformationParameter *t = l->transform_param;
	size_t k, n;
	int changed = 0;

	if (!t)
		return 0;
	*own = *in;
	if (in->has_mean && t->n_mean_value > 0) {
		if (t->n_mean_value != 1 && in->nmean != 1 && t->n_mean_value != in->nmean)
			return caffeopt_fail(cx->err, cx->m->prototxt_path, 0, 0,
			                     "fold-input: layer '%s' subtracts %zu mean values, the input has %zu channels",
			                     l->name, t->n_mean_value, in->nmean);
		n = in->nmean > t->n_mean_value ? in->nmean : t->n_mean_value;
		if (n > 16)
			return caffeopt_fail(cx->err, cx->m->prototxt_path, 0, 0,
			                     "fold-input: layer '%s': more than 16 mean values", l->name);
		for (k = 0; k < n; k++) {
			buf[k] = t->mean_value[t->n_mean_value == 1 ? 0 : k];
			if (differs(buf[k], in->mean[in->nmean == 1 ? 0 : k]))
				changed = 1;
		}
		if (changed) {
			own->mean = buf;
			own->nmean = n;
			pass_fired(cx, l->name, "its transform_param subtracts mean_value %g%s: that mean is folded, "
			           "not the one given (%g%s)", buf[0], n > 1 ? ", ..." : "", in->mean[0],
			           in->nmean > 1 ? ", ..." : "");
		}
	}
	if (in->has_scale && t->has_scale && differs(t->scale, in->scale)) {
		own->scale = t->scale;
		changed = 1;
		pass_fired(cx, l->name, "its transform_param scales by %g: that scale is folded, not the %g given",
		           t->scale, in->scale);
	}
	if (changed)
		cx->input = own;
	return 0;
}

/* Drop what was folded from the data layer's transform_param. */
static void
strip_transform(struct pass_ctx *cx, Caffe__LayerParameter *l)
{
	const struct input_fold *in = cx->input;
	Caffe__TransformationParameter *t = l->transform_param;

	if (!t)
		return;
	if (in->has_mean && (t->n_mean_value > 0 || t->mean_file)) {
		pass_fired(cx, l->name, "%s removed from transform_param", t->mean_file ? "mean_file" : "mean_value");
		free(t->mean_value);
		t->mean_value = NULL;
		t->n_mean_value = 0;
		free(t->mean_file);
		t->mean_file = NULL;
	}
	if (in->has_scale && t->has_scale) {
		pass_fired(cx, l->name, "scale removed from transform_param");
		t->has_scale = 0;
		t->scale = 1;
	}
}

/* The report line for the caller, into buf. */
static void
caller_text(const struct input_fold *in, const char *input, char *buf, size_t n)
{
	size_t used = (size_t)snprintf(buf, n, "the caller must no longer ");
	size_t k;

	if (in->has_mean) {
		used += (size_t)snprintf(buf + used, used < n ? n - used : 0, "subtract the mean (");
		for (k = 0; k < in->nmean; k++)
			used += (size_t)snprintf(buf + used, used < n ? n - used : 0, "%s%g", k ? ", " : "", in->mean[k]);
		used += (size_t)snprintf(buf + used, used < n ? n - used : 0, ")%s", in->has_scale ? " / " : "");
	}
	if (in->has_scale)
		used += (size_t)snprintf(buf + used, used < n ? n - used : 0, "multiply by %g", in->scale);
	snprintf(buf + used, used < n ? n - used : 0, ": '%s' takes the raw image", input);
}

int
fold_input(struct pass_ctx *cx)
{
	const struct input_fold *in = cx->input, *given = cx->input;
	struct input_fold own;
	double ownmean[16];
	struct reader *rd = NULL;
	Caffe__LayerParameter *data = NULL;
	struct image im = {-1, -1, -1};
	struct graph *g;
	char text[1024];
	size_t k;
	int rc = -1, nr = 0, i;

	if (!in || (!in->has_mean && !in->has_scale)) {
		pass_refused(cx, "", "no mean or input scale was given: nothing to fold");
		return 0;
	}
	if (in->has_mean && (in->nmean == 0 || !in->mean))
		return caffeopt_fail(cx->err, NULL, 0, 0, "fold-input: the mean has no values");
	for (k = 0; in->has_mean && k < in->nmean; k++)
		if (!isfinite(in->mean[k]))
			return caffeopt_fail(cx->err, NULL, 0, 0, "fold-input: mean value %zu is not finite", k);
	if (in->has_scale && !isfinite(in->scale))
		return caffeopt_fail(cx->err, NULL, 0, 0, "fold-input: the input scale is not finite");
	if (!(g = pass_graph(cx)))
		return -1;
	if (find_image(cx, g, &im) < 0)
		goto out;
	if (!(rd = calloc((size_t)g->ver[im.ver].nuses, sizeof *rd))) {
		caffeopt_fail(cx->err, NULL, 0, 0, "out of memory");
		goto out;
	}
	if (g->ver[im.ver].producer >= 0 && (kind_flags(g->layer[g->ver[im.ver].producer].kind) & K_DATA))
		data = cx->m->layers[g->ver[im.ver].producer].p;
	/* Check everything before changing anything. */
	if (data && use_transform(cx, data, &own, ownmean) < 0)
		goto out;
	in = cx->input;
	for (i = 0; i < g->ver[im.ver].nuses; i++, nr++)
		if (check_reader(cx, g, &im, g->ver[im.ver].uses[i].layer, &rd[i]) < 0)
			goto out;
	for (i = 0; i < nr; i++)
		if (fold_reader(cx, &rd[i]) < 0)
			goto out;
	if (data)
		strip_transform(cx, data);
	caller_text(in, g->ver[im.ver].name, text, sizeof text);
	pass_fired(cx, g->ver[im.ver].producer >= 0 ? cx->m->layers[g->ver[im.ver].producer].p->name
	           : g->ver[im.ver].name, "%s", text);
	rc = 0;
out:
	cx->input = given;
	free(rd);
	graph_free(g);
	return rc;
}
