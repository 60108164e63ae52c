/* normalize.c - three non-standard forms become the standard ones that Caffe
 * and OpenCV DNN read alike:
 *   InnerProduct with transpose: true   its K x N weight is stored N x K and
 *                                       the flag dropped (OpenCV ignores the
 *                                       flag and reads K x N as N x K);
 *   ConvolutionDepthwise and            Convolution with group C, when the
 *   DepthwiseConvolution                weight is C x 1 x kh x kw and
 *                                       num_output is C;
 *   PReLU with channel_shared           ReLU with negative_slope the slope.
 * Requires: bound weights (layers without are refused).  Keeps: every blob
 * name and value.  Breaks: nothing.  Layers carrying unknown fields or
 * sharing parameters by name are left alone. */
#include <stdlib.h>
#include <string.h>

#include "pass.h"
#include "textfmt.h"

/* Why layer l cannot be rewritten at all, or NULL. */
static const char *
untouchable(const struct mlayer *ml)
{
	if (textfmt_has_unknown(&ml->p->base))
		return "it carries fields unknown to caffeopt's schema";
	if (pass_shared_param(ml->p))
		return "it shares parameters by name with another layer";
	return NULL;
}

static int
transpose_inner_product(struct pass_ctx *cx, struct mlayer *ml)
{
	Caffe__LayerParameter *l = ml->p;
	struct wblob *w;
	const char *why;
	float *t;
	size_t k, n, nk, nn;

	if ((why = untouchable(ml))) {
		pass_refused(cx, l->name, "transpose: true kept: %s", why);
		return 0;
	}
	if (ml->nblobs < 1) {
		pass_refused(cx, l->name, "transpose: true kept: no weights were loaded");
		return 0;
	}
	w = &ml->blobs[0];
	if (w->ndim != 2) {
		pass_refused(cx, l->name, "transpose: true kept: the weight has %d dims, not 2", w->ndim);
		return 0;
	}
	nk = (size_t)w->shape[0];
	nn = (size_t)w->shape[1];
	if (!wblob_load(cx->m, w, cx->err))
		return -1;
	if (!(t = malloc(w->count ? w->count * sizeof *t : 1)))
		return caffeopt_fail(cx->err, NULL, 0, 0, "out of memory");
	/* Stored K x N (row k holds input k's weights); Caffe's usual form is
	 * N x K. */
	for (k = 0; k < nk; k++)
		for (n = 0; n < nn; n++)
			t[n * nk + k] = w->data[k * nn + n];
	wblob_replace_data(w, t);
	w->shape[0] = (int64_t)nn;
	w->shape[1] = (int64_t)nk;
	l->inner_product_param->has_transpose = 0;
	l->inner_product_param->transpose = 0;
	pass_fired(cx, l->name, "weight %zux%zu stored as %zux%zu, transpose flag dropped", nk, nn, nn, nk);
	return 1;
}

/* 1 when the repeated field's entries are not all equal: depthwise
 * implementations read only the first, Convolution reads each. */
static int
uneven(const uint32_t *v, size_t n)
{
	size_t k;

	for (k = 1; k < n; k++)
		if (v[k] != v[0])
			return 1;
	return 0;
}

static int
depthwise_to_convolution(struct pass_ctx *cx, struct mlayer *ml)
{
	Caffe__LayerParameter *l = ml->p;
	Caffe__ConvolutionParameter *c = l->convolution_param;
	const struct wblob *w;
	const char *why;
	int64_t ch, kh, kw;

	if ((why = untouchable(ml))) {
		pass_refused(cx, l->name, "kept as %s: %s", l->type, why);
		return 0;
	}
	if (!c || !c->has_num_output) {
		pass_refused(cx, l->name, "kept as %s: it has no num_output", l->type);
		return 0;
	}
	if (ml->nblobs < 1) {
		pass_refused(cx, l->name, "kept as %s: no weights were loaded, so its channel count is unknown",
		             l->type);
		return 0;
	}
	w = &ml->blobs[0];
	if (w->ndim != 4 || w->shape[1] != 1) {
		pass_refused(cx, l->name, "kept as %s: its weight is not C x 1 x kh x kw", l->type);
		return 0;
	}
	ch = w->shape[0];
	if ((int64_t)c->num_output != ch) {
		pass_refused(cx, l->name, "kept as %s: num_output %u but the weight has %lld channels",
		             l->type, c->num_output, (long long)ch);
		return 0;
	}
	if (c->has_group && c->group != 1 && (int64_t)c->group != ch) {
		pass_refused(cx, l->name, "kept as %s: group %u is neither 1 nor its %lld channels",
		             l->type, c->group, (long long)ch);
		return 0;
	}
	if (c->has_axis && c->axis != 1) {
		pass_refused(cx, l->name, "kept as %s: axis %d", l->type, c->axis);
		return 0;
	}
	if (uneven(c->pad, c->n_pad) || uneven(c->kernel_size, c->n_kernel_size) ||
	    uneven(c->stride, c->n_stride) || uneven(c->dilation, c->n_dilation) || c->n_kernel_size > 2) {
		pass_refused(cx, l->name, "kept as %s: per-dimension pad/kernel/stride/dilation lists are read "
		             "differently by depthwise implementations", l->type);
		return 0;
	}
	kh = c->has_kernel_h ? (int64_t)c->kernel_h : c->n_kernel_size ? (int64_t)c->kernel_size[0] : -1;
	kw = c->has_kernel_w ? (int64_t)c->kernel_w : c->n_kernel_size ? (int64_t)c->kernel_size[0] : -1;
	if (kh != w->shape[2] || kw != w->shape[3]) {
		pass_refused(cx, l->name, "kept as %s: kernel %lldx%lld but the weight is %lldx%lld",
		             l->type, (long long)kh, (long long)kw, (long long)w->shape[2],
		             (long long)w->shape[3]);
		return 0;
	}
	pass_fired(cx, l->name, "%s -> Convolution with group %lld", l->type, (long long)ch);
	if (pass_set_string(&l->type, "Convolution") < 0)
		return caffeopt_fail(cx->err, NULL, 0, 0, "out of memory");
	c->has_group = 1;
	c->group = (uint32_t)ch;
	return 1;
}

static int
shared_prelu_to_relu(struct pass_ctx *cx, struct mlayer *ml)
{
	Caffe__LayerParameter *l = ml->p;
	Caffe__ReLUParameter *r = l->relu_param;
	const char *why;
	float slope;

	if ((why = untouchable(ml))) {
		pass_refused(cx, l->name, "kept as PReLU: %s", why);
		return 0;
	}
	if (ml->nblobs != 1 || ml->blobs[0].count != 1) {
		pass_refused(cx, l->name, "kept as PReLU: %s", ml->nblobs != 1 ? "no weights were loaded"
		             : "channel_shared but its slope blob has more than one value");
		return 0;
	}
	slope = ml->blobs[0].data[0];
	if (!r) {
		if (!(r = malloc(sizeof *r)))
			return caffeopt_fail(cx->err, NULL, 0, 0, "out of memory");
		caffe__re_luparameter__init(r);
	}
	if (pass_set_string(&l->type, "ReLU") < 0) {
		if (r != l->relu_param)
			free(r);
		return caffeopt_fail(cx->err, NULL, 0, 0, "out of memory");
	}
	l->relu_param = r;
	r->has_negative_slope = 1;
	r->negative_slope = slope;
	if (l->prelu_param)
		protobuf_c_message_free_unpacked(&l->prelu_param->base, NULL);
	l->prelu_param = NULL;
	pass_drop_weights(ml);
	pass_fired(cx, l->name, "PReLU with one shared slope -> ReLU with negative_slope %.9g", slope);
	return 1;
}

int
normalize(struct pass_ctx *cx)
{
	size_t i;

	/* Each rewrite is local to one layer and keeps its bottoms and tops,
	 * so one sweep needs no graph. */
	for (i = 0; i < cx->m->nlayers; i++) {
		struct mlayer *ml = &cx->m->layers[i];
		const Caffe__LayerParameter *l = ml->p;
		int rc = 0;

		switch (kind_of(l->type)) {
		case KIND_INNER_PRODUCT:
			if (l->inner_product_param && l->inner_product_param->has_transpose &&
			    l->inner_product_param->transpose)
				rc = transpose_inner_product(cx, ml);
			break;
		case KIND_CONVOLUTION_DEPTHWISE:
		case KIND_DEPTHWISE_CONVOLUTION:
			rc = depthwise_to_convolution(cx, ml);
			break;
		case KIND_PRELU:
			if (l->prelu_param && l->prelu_param->has_channel_shared && l->prelu_param->channel_shared)
				rc = shared_prelu_to_relu(cx, ml);
			break;
		default:
			break;
		}
		if (rc < 0)
			return -1;
	}
	return 0;
}
