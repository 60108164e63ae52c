/* netbuild.c - netbuild: the engine's tables from a loaded model.
 * Requires: a model whose blobs bind (graph_build) and whose shapes
 * shape_infer can tell.  Keeps: the model untouched.  The net points into
 * the model's weights.
 *
 * Layer by layer in order: the Caffe type picks the op, the LayerParameter
 * (with proto2 defaults when a submessage is unset) fills the op's fixed
 * parameters, the weight blobs are checked against what the op reads, and
 * scratch sizes come from the shapes.  Input layers and the net-level
 * input fields become the net's inputs; layers the wanted blobs do not
 * depend on are left out; cr_plan lays out the arena. */
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graph.h"
#include "kinds.h"
#include "netbuild.h"
#include "runtime/kernels.h"
#include "shape.h"

static const Caffe__ConvolutionParameter conv0 = CAFFE__CONVOLUTION_PARAMETER__INIT;
static const Caffe__PoolingParameter pool0 = CAFFE__POOLING_PARAMETER__INIT;
static const Caffe__InnerProductParameter ip0 = CAFFE__INNER_PRODUCT_PARAMETER__INIT;
static const Caffe__ConcatParameter concat0 = CAFFE__CONCAT_PARAMETER__INIT;
static const Caffe__SliceParameter slice0 = CAFFE__SLICE_PARAMETER__INIT;
static const Caffe__CropParameter crop0 = CAFFE__CROP_PARAMETER__INIT;
static const Caffe__PermuteParameter permute0 = CAFFE__PERMUTE_PARAMETER__INIT;
static const Caffe__PriorBoxParameter priorbox0 = CAFFE__PRIOR_BOX_PARAMETER__INIT;
static const Caffe__EltwiseParameter eltwise0 = CAFFE__ELTWISE_PARAMETER__INIT;
static const Caffe__ScaleParameter scale0 = CAFFE__SCALE_PARAMETER__INIT;
static const Caffe__BiasParameter bias0 = CAFFE__BIAS_PARAMETER__INIT;
static const Caffe__SoftmaxParameter softmax0 = CAFFE__SOFTMAX_PARAMETER__INIT;
static const Caffe__LRNParameter lrn0 = CAFFE__LRNPARAMETER__INIT;
static const Caffe__PReLUParameter prelu0 = CAFFE__PRE_LUPARAMETER__INIT;
static const Caffe__NormalizeParameter norm0 = CAFFE__NORMALIZE_PARAMETER__INIT;
static const Caffe__ReLUParameter relu0 = CAFFE__RE_LUPARAMETER__INIT;
static const Caffe__ELUParameter elu0 = CAFFE__ELUPARAMETER__INIT;
static const Caffe__PowerParameter power0 = CAFFE__POWER_PARAMETER__INIT;
static const Caffe__BatchNormParameter bn0 = CAFFE__BATCH_NORM_PARAMETER__INIT;
static const Caffe__DetectionOutputParameter det0 = CAFFE__DETECTION_OUTPUT_PARAMETER__INIT;
static const Caffe__NonMaximumSuppressionParameter nms0 = CAFFE__NON_MAXIMUM_SUPPRESSION_PARAMETER__INIT;

#define PARAM(l, field, dflt) ((l)->field ? (l)->field : &(dflt))

/* The net and everything it points to but the weights: freed together. */
struct built {
	cr_net net;                /* first: netbuild_free casts back */
	void **mem;
	size_t nmem, capmem;
};

static void *
take(struct built *b, size_t n)
{
	void *p;

	if (b->nmem == b->capmem) {
		size_t cap = b->capmem ? 2 * b->capmem : 64;
		void **m = realloc(b->mem, cap * sizeof *m);
		if (!m)
			return NULL;
		b->mem = m;
		b->capmem = cap;
	}
	if (!(p = calloc(1, n ? n : 1)))
		return NULL;
	b->mem[b->nmem++] = p;
	return p;
}

static char *
take_string(struct built *b, const char *s)
{
	size_t n = strlen(s ? s : "") + 1;
	char *p = take(b, n);

	if (p)
		memcpy(p, s ? s : "", n);
	return p;
}

void
netbuild_free(const cr_net *net)
{
	struct built *b = (struct built *)(void *)net;
	size_t i;

	if (!b)
		return;
	for (i = 0; i < b->nmem; i++)
		free(b->mem[i]);
	free(b->mem);
	free(b);
}

float *
netbuild_arena(const cr_net *net)
{
	size_t n = (cr_arena_bytes(net) + 63) / 64 * 64;
	float *a = aligned_alloc(64, n ? n : 64);

	if (a)
		memset(a, 0, n);
	return a;
}

/* The state of one build. */
struct nb {
	caffeopt_model *m;
	struct graph *g;
	struct shape *s;           /* per version */
	int *blob_of;              /* version -> blob index, -1 when not in the net */
	struct built *b;
	cr_layer *layer;
	cr_blob *blob;
	uint32_t nlayer, nblob;
	caffeopt_error *err;
	int flags;
	const Caffe__LayerParameter *l;   /* the layer being built, for messages */
};

static int
bad(struct nb *c, const char *fmt, ...)
#if defined(__GNUC__)
	__attribute__((format(printf, 2, 3)))
#endif
	;

static int
bad(struct nb *c, const char *fmt, ...)
{
	char msg[768];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (c->l)
		return caffeopt_fail(c->err, c->m->prototxt_path, 0, 0, "layer '%s' (%s): %s",
		                     c->l->name ? c->l->name : "", c->l->type ? c->l->type : "", msg);
	return caffeopt_fail(c->err, c->m->prototxt_path, 0, 0, "%s", msg);
}

static int
oom(struct nb *c)
{
	return caffeopt_fail(c->err, NULL, 0, 0, "out of memory building the engine's net");
}

/* The op of a kind; -1 when the engine cannot run it. */
static int
op_of(enum kind k)
{
	switch (k) {
	case KIND_CONVOLUTION:
	case KIND_CONVOLUTION_DEPTHWISE:
	case KIND_DEPTHWISE_CONVOLUTION: return CR_OP_CONV;
	case KIND_DECONVOLUTION: return CR_OP_DECONV;
	case KIND_INNER_PRODUCT: return CR_OP_INNER_PRODUCT;
	case KIND_POOLING: return CR_OP_POOL;
	case KIND_RELU: return CR_OP_RELU;
	case KIND_PRELU: return CR_OP_PRELU;
	case KIND_ELU: return CR_OP_ELU;
	case KIND_SIGMOID: return CR_OP_SIGMOID;
	case KIND_TANH: return CR_OP_TANH;
	case KIND_ABSVAL: return CR_OP_ABSVAL;
	case KIND_POWER: return CR_OP_POWER;
	case KIND_BNLL: return CR_OP_BNLL;
	case KIND_CLIP: return CR_OP_CLIP;
	case KIND_SOFTMAX: return CR_OP_SOFTMAX;
	case KIND_LRN: return CR_OP_LRN;
	case KIND_BATCH_NORM: return CR_OP_BATCHNORM;
	case KIND_SCALE: return CR_OP_SCALE;
	case KIND_BIAS: return CR_OP_BIAS;
	case KIND_ELTWISE: return CR_OP_ELTWISE;
	case KIND_CONCAT: return CR_OP_CONCAT;
	case KIND_SLICE: return CR_OP_SLICE;
	case KIND_SPLIT: return CR_OP_SPLIT;
	case KIND_FLATTEN: return CR_OP_FLATTEN;
	case KIND_RESHAPE: return CR_OP_RESHAPE;
	case KIND_DROPOUT: return CR_OP_DROPOUT;
	case KIND_PERMUTE: return CR_OP_PERMUTE;
	case KIND_CROP: return CR_OP_CROP;
	case KIND_NORMALIZE: return CR_OP_NORMALIZE;
	case KIND_PRIOR_BOX: return CR_OP_PRIORBOX;
	case KIND_DETECTION_OUTPUT: return CR_OP_DETECTION_OUTPUT;
	default: return -1;
	}
}

static const struct shape *
bshape(const struct nb *c, int i, uint32_t j)
{
	return &c->s[c->g->layer[i].bottom[j]];
}

static int
canon(int64_t axis, int n)
{
	return (int)(axis < 0 ? axis + n : axis);
}

/* One spatial parameter of a 2-D convolution: the _h/_w pair when set,
 * else the repeated field's one or two values, else dflt. */
static void
conv_pair(int has_h, uint32_t h, int has_w, uint32_t w, size_t n, const uint32_t *v,
          int32_t dflt, int32_t *oh, int32_t *ow)
{
	if (has_h || has_w) {
		*oh = (int32_t)h;
		*ow = (int32_t)w;
	} else if (n) {
		*oh = (int32_t)v[0];
		*ow = (int32_t)v[n > 1 ? 1 : 0];
	} else
		*oh = *ow = dflt;
}

/* Weight k of the layer: count values, or an error. */
static int
weight(struct nb *c, cr_layer *cl, int i, uint32_t k, uint64_t count, const char *what)
{
	const struct mlayer *ml = &c->m->layers[i];
	const struct wblob *w;
	cr_weight *cw = (cr_weight *)&cl->weight[k];
	int d;

	if (k >= ml->nblobs && (c->flags & NETBUILD_NO_WEIGHTS)) {
		cw->count = (uint32_t)count;
		return 0;
	}
	if (k >= ml->nblobs)
		return bad(c, "has %zu weight blobs; the engine needs %s as blob %u%s", ml->nblobs, what, k,
		           c->m->has_weights ? "" : " (no caffemodel given)");
	w = &ml->blobs[k];
	if (w->count != count)
		return bad(c, "weight blob %u (%s) has %zu values, expected %llu", k, what, w->count,
		           (unsigned long long)count);
	cw->data = w->data;  /* NULL only for a lazy blob under NETBUILD_NO_VALUES */
	cw->count = (uint32_t)w->count;
	cw->ndim = w->ndim;
	for (d = 0; d < w->ndim && d < 4; d++)
		cw->shape[d] = (int32_t)w->shape[d];
	return 0;
}

static int
need_weights(struct nb *c, cr_layer *cl, uint32_t n)
{
	cl->nweight = n;
	if (n && !(cl->weight = take(c->b, n * sizeof *cl->weight)))
		return oom(c);
	return 0;
}

static int
build_conv(struct nb *c, cr_layer *cl, int i, enum kind kind)
{
	const Caffe__LayerParameter *l = c->l;
	const Caffe__ConvolutionParameter *p = PARAM(l, convolution_param, conv0);
	const struct shape *in = bshape(c, i, 0), *out = &c->s[c->g->layer[i].top[0]];
	struct cr_conv *cp = &cl->p.conv;
	int64_t C = in->d[1], OC = out->d[1], kk;

	if (l->n_bottom != 1 || l->n_top != 1)
		return bad(c, "the engine runs one bottom and one top, not %zu and %zu", l->n_bottom,
		           l->n_top);
	if (in->ndim != 4 || canon(p->axis, in->ndim) != 1)
		return bad(c, "the engine runs 2-D convolutions over N,C,H,W inputs only");
	conv_pair(p->has_kernel_h, p->kernel_h, p->has_kernel_w, p->kernel_w, p->n_kernel_size,
	          p->kernel_size, 1, &cp->kh, &cp->kw);
	conv_pair(p->has_stride_h, p->stride_h, p->has_stride_w, p->stride_w, p->n_stride, p->stride, 1,
	          &cp->sh, &cp->sw);
	conv_pair(p->has_pad_h, p->pad_h, p->has_pad_w, p->pad_w, p->n_pad, p->pad, 0, &cp->ph, &cp->pw);
	conv_pair(0, 0, 0, 0, p->n_dilation, p->dilation, 1, &cp->dh, &cp->dw);
	cp->group = (int32_t)p->group;
	if (kind == KIND_CONVOLUTION_DEPTHWISE || kind == KIND_DEPTHWISE_CONVOLUTION)
		cp->group = (int32_t)C;
	cp->bias = p->bias_term;
	kk = (int64_t)cp->kh * cp->kw;
	if (need_weights(c, cl, cp->bias ? 2 : 1) < 0)
		return -1;
	if (cl->op == CR_OP_CONV) {
		if (weight(c, cl, i, 0, (uint64_t)(OC * (C / cp->group) * kk), "the filters") < 0)
			return -1;
		cl->nscratch = conv_scratch(&c->blob[cl->bottom[0]], &c->blob[cl->top[0]], cp);
	} else {
		if (weight(c, cl, i, 0, (uint64_t)(C * (OC / cp->group) * kk), "the filters") < 0)
			return -1;
		cl->nscratch = deconv_scratch(&c->blob[cl->bottom[0]], &c->blob[cl->top[0]], cp);
	}
	if (cp->bias && weight(c, cl, i, 1, (uint64_t)OC, "the bias") < 0)
		return -1;
	return 0;
}

static int
build_pool(struct nb *c, cr_layer *cl, int i)
{
	const Caffe__PoolingParameter *p = PARAM(c->l, pooling_param, pool0);
	const struct shape *in = bshape(c, i, 0);
	struct cr_pool *pp = &cl->p.pool;

	if (in->ndim != 4)
		return bad(c, "the engine pools N,C,H,W inputs only");
	if (p->pool == CAFFE__POOLING_PARAMETER__POOL_METHOD__STOCHASTIC)
		return bad(c, "STOCHASTIC pooling is not supported by the engine");
	pp->method = p->pool == CAFFE__POOLING_PARAMETER__POOL_METHOD__AVE ? CR_POOL_AVE : CR_POOL_MAX;
	if (p->global_pooling) {
		pp->kh = (int32_t)in->d[2];
		pp->kw = (int32_t)in->d[3];
		pp->sh = pp->sw = 1;
		pp->ph = pp->pw = 0;
		return 0;
	}
	if (p->has_kernel_h || p->has_kernel_w) {
		pp->kh = (int32_t)p->kernel_h;
		pp->kw = (int32_t)p->kernel_w;
	} else
		pp->kh = pp->kw = (int32_t)p->kernel_size;
	if (p->has_pad_h || p->has_pad_w) {
		pp->ph = (int32_t)p->pad_h;
		pp->pw = (int32_t)p->pad_w;
	} else
		pp->ph = pp->pw = (int32_t)p->pad;
	if (p->has_stride_h || p->has_stride_w) {
		pp->sh = (int32_t)p->stride_h;
		pp->sw = (int32_t)p->stride_w;
	} else
		pp->sh = pp->sw = (int32_t)p->stride;
	return 0;
}

/* Scale and Bias: the factor from weight 0 (shape from axis, num_axes) or
 * bottom 1, then a Scale's optional bias. */
static int
build_affine(struct nb *c, cr_layer *cl, int i)
{
	const Caffe__LayerParameter *l = c->l;
	const struct shape *in = bshape(c, i, 0);
	int scale = cl->op == CR_OP_SCALE;
	int64_t axis = scale ? PARAM(l, scale_param, scale0)->axis : PARAM(l, bias_param, bias0)->axis;
	int64_t num_axes = scale ? PARAM(l, scale_param, scale0)->num_axes
	                         : PARAM(l, bias_param, bias0)->num_axes;
	int bias = scale && PARAM(l, scale_param, scale0)->bias_term;
	uint32_t nw = 0;
	uint64_t dim;
	int a;

	cl->p.scale.two_bottoms = l->n_bottom > 1;
	cl->p.scale.bias = bias;
	if (l->n_bottom > 1) {
		const struct shape *f = bshape(c, i, 1);
		a = f->ndim == 0 ? 0 : canon(axis, in->ndim);
		dim = (uint64_t)shape_count(f);
	} else {
		int k;
		a = canon(axis, in->ndim);
		if (num_axes == -1)
			num_axes = in->ndim - a;
		if (num_axes == 0)
			a = 0;
		dim = 1;
		for (k = a; k < a + num_axes; k++)
			dim *= (uint64_t)in->d[k];
		nw = 1;
	}
	cl->p.scale.axis = a;
	if (need_weights(c, cl, nw + (uint32_t)bias) < 0)
		return -1;
	if (nw && weight(c, cl, i, 0, dim, scale ? "the scale" : "the bias") < 0)
		return -1;
	if (bias && weight(c, cl, i, nw, dim, "the bias") < 0)
		return -1;
	return 0;
}

static int
build_eltwise(struct nb *c, cr_layer *cl)
{
	const Caffe__EltwiseParameter *p = PARAM(c->l, eltwise_param, eltwise0);
	float *coeff;

	switch (p->operation) {
	case CAFFE__ELTWISE_PARAMETER__ELTWISE_OP__PROD: cl->p.eltwise.op = CR_ELTWISE_PROD; break;
	case CAFFE__ELTWISE_PARAMETER__ELTWISE_OP__MAX: cl->p.eltwise.op = CR_ELTWISE_MAX; break;
	default: cl->p.eltwise.op = CR_ELTWISE_SUM; break;
	}
	if (p->n_coeff == 0)
		return 0;
	if (p->n_coeff != c->l->n_bottom)
		return bad(c, "%zu coeff values for %zu bottoms", p->n_coeff, c->l->n_bottom);
	if (cl->p.eltwise.op != CR_ELTWISE_SUM)
		return bad(c, "coeff is only for SUM");
	if (!(coeff = take(c->b, p->n_coeff * sizeof *coeff)))
		return oom(c);
	memcpy(coeff, p->coeff, p->n_coeff * sizeof *coeff);
	cl->p.eltwise.coeff = coeff;
	return 0;
}

static int
build_priorbox(struct nb *c, cr_layer *cl, int i)
{
	const Caffe__PriorBoxParameter *p = PARAM(c->l, prior_box_param, priorbox0);
	const struct shape *f = bshape(c, i, 0);
	struct cr_priorbox *pb = &cl->p.priorbox;
	float img_w, img_h;
	size_t j, k;

	if (p->n_min_size > CR_PRIOR_MAX || p->n_max_size > CR_PRIOR_MAX)
		return bad(c, "more than %d min_size or max_size values", CR_PRIOR_MAX);
	pb->nmin = (int32_t)p->n_min_size;
	pb->nmax = (int32_t)p->n_max_size;
	memcpy(pb->min_size, p->min_size, p->n_min_size * sizeof *p->min_size);
	memcpy(pb->max_size, p->max_size, p->n_max_size * sizeof *p->max_size);
	pb->ar[0] = 1;
	pb->nar = 1;
	for (j = 0; j < p->n_aspect_ratio; j++) {
		float r = p->aspect_ratio[j];
		int seen = 0;
		for (k = 0; k < (size_t)pb->nar; k++)
			if (fabsf(r - pb->ar[k]) < 1e-6f)
				seen = 1;
		if (seen)
			continue;
		if (pb->nar + (p->flip ? 2 : 1) > CR_PRIOR_MAX)
			return bad(c, "more than %d aspect ratios", CR_PRIOR_MAX);
		pb->ar[pb->nar++] = r;
		if (p->flip)
			pb->ar[pb->nar++] = 1.f / r;
	}
	pb->clip = p->clip;
	if (p->n_variance == 0) {
		pb->nvariance = 1;
		pb->variance[0] = 0.1f;
	} else if (p->n_variance == 1 || p->n_variance == 4) {
		pb->nvariance = (int32_t)p->n_variance;
		memcpy(pb->variance, p->variance, p->n_variance * sizeof *p->variance);
	} else
		return bad(c, "%zu variance values; give 1 or 4", p->n_variance);
	if (p->has_img_h || p->has_img_w) {
		img_h = (float)p->img_h;
		img_w = (float)p->img_w;
	} else if (p->has_img_size) {
		img_h = img_w = (float)p->img_size;
	} else {
		const struct shape *d;
		if (c->l->n_bottom < 2 || (d = bshape(c, i, 1))->ndim < 4)
			return bad(c, "no image size: give img_size or a second bottom (the image)");
		img_h = (float)d->d[2];
		img_w = (float)d->d[3];
	}
	pb->img_h = img_h;
	pb->img_w = img_w;
	if (p->has_step_h || p->has_step_w) {
		pb->step_h = p->step_h;
		pb->step_w = p->step_w;
	} else if (p->has_step) {
		pb->step_h = pb->step_w = p->step;
	} else {
		pb->step_h = img_h / (float)(f->ndim > 2 ? f->d[2] : 1);
		pb->step_w = img_w / (float)(f->ndim > 3 ? f->d[3] : 1);
	}
	pb->offset = p->offset;
	return 0;
}

/* DetectionOutput: check the three bottoms against each other, size the
 * fixed-row top [1, 1, N * rows, 7] and the scratch. */
static int
build_detection(struct nb *c, cr_layer *cl, int i)
{
	const Caffe__DetectionOutputParameter *p = PARAM(c->l, detection_output_param, det0);
	const Caffe__NonMaximumSuppressionParameter *nms = p->nms_param ? p->nms_param : &nms0;
	struct cr_detection_output *d = &cl->p.detection;
	const struct shape *loc, *conf, *prior;
	int64_t N, P, L;
	cr_blob *top;

	if (c->l->n_bottom < 3 || c->l->n_top != 1)
		return bad(c, "wants bottoms loc, conf, priors and one top");
	loc = bshape(c, i, 0);
	conf = bshape(c, i, 1);
	prior = bshape(c, i, 2);
	if (!p->has_num_classes || p->num_classes == 0)
		return bad(c, "no num_classes");
	d->num_classes = (int32_t)p->num_classes;
	d->share_location = p->share_location;
	d->background_label_id = p->background_label_id;
	d->code_type = p->code_type;
	d->variance_encoded_in_target = p->variance_encoded_in_target;
	d->keep_top_k = p->keep_top_k;
	d->top_k = nms->has_top_k ? nms->top_k : -1;
	d->confidence_threshold = p->has_confidence_threshold ? p->confidence_threshold : -FLT_MAX;
	d->nms_threshold = nms->nms_threshold;
	d->eta = nms->eta;
	if (d->code_type < CR_CODE_CORNER || d->code_type > CR_CODE_CORNER_SIZE)
		return bad(c, "unknown code_type %d", d->code_type);
	if (prior->ndim != 3 || prior->d[1] != 2 || prior->d[2] % 4)
		return bad(c, "the third bottom is not a PriorBox output [1, 2, 4 * priors]");
	P = prior->d[2] / 4;
	N = loc->d[0];
	L = d->share_location ? 1 : d->num_classes;
	if (shape_count(loc) != N * P * L * 4)
		return bad(c, "loc has %lld values, expected %lld images x %lld priors x %lld x 4",
		           (long long)shape_count(loc), (long long)N, (long long)P, (long long)L);
	if (conf->d[0] != N || shape_count(conf) != N * P * d->num_classes)
		return bad(c, "conf has %lld values, expected %lld images x %lld priors x %d classes",
		           (long long)shape_count(conf), (long long)N, (long long)P, d->num_classes);
	if ((int64_t)d->num_classes * P >= (1 << 24))
		return bad(c, "classes x priors must stay below 2^24");
	top = &c->blob[cl->top[0]];
	top->ndim = 4;
	top->shape[0] = 1;
	top->shape[1] = 1;
	top->shape[2] = (int32_t)(N * detection_rows(d, (uint32_t)P));
	top->shape[3] = 7;
	top->count = (uint32_t)top->shape[2] * 7;
	cl->nscratch = detection_scratch(d, (uint32_t)P);
	return 0;
}

/* The op's parameters, weights and scratch for layer i. */
static int
build_layer(struct nb *c, cr_layer *cl, int i, enum kind kind)
{
	const Caffe__LayerParameter *l = c->l;
	const cr_blob *in = &c->blob[cl->bottom[0]];
	int n = in->ndim;

	switch (cl->op) {
	case CR_OP_CONV:
	case CR_OP_DECONV:
		return build_conv(c, cl, i, kind);
	case CR_OP_INNER_PRODUCT: {
		const Caffe__InnerProductParameter *p = PARAM(l, inner_product_param, ip0);
		uint64_t K;
		cl->p.ip.axis = canon(p->axis, n);
		cl->p.ip.transpose = p->transpose;
		cl->p.ip.bias = p->bias_term;
		K = cr_count(in, cl->p.ip.axis, n);
		if (need_weights(c, cl, p->bias_term ? 2 : 1) < 0 ||
		    weight(c, cl, i, 0, K * p->num_output, "the weights") < 0 ||
		    (p->bias_term && weight(c, cl, i, 1, p->num_output, "the bias") < 0))
			return -1;
		return 0;
	}
	case CR_OP_POOL:
		return build_pool(c, cl, i);
	case CR_OP_RELU:
		cl->p.act.a = PARAM(l, relu_param, relu0)->negative_slope;
		return 0;
	case CR_OP_PRELU: {
		int shared = PARAM(l, prelu_param, prelu0)->channel_shared;
		cl->p.prelu.channel_shared = shared;
		if (need_weights(c, cl, 1) < 0)
			return -1;
		return weight(c, cl, i, 0, shared ? 1 : (uint64_t)cr_dim(in, 1), "the slopes");
	}
	case CR_OP_ELU:
		cl->p.act.a = PARAM(l, elu_param, elu0)->alpha;
		return 0;
	case CR_OP_POWER: {
		const Caffe__PowerParameter *p = PARAM(l, power_param, power0);
		cl->p.act.a = p->power;
		cl->p.act.b = p->shift;
		cl->p.act.c = p->scale;
		return 0;
	}
	case CR_OP_CLIP:
		if (!l->clip_param)
			return bad(c, "no clip_param (min and max)");
		cl->p.act.a = l->clip_param->min;
		cl->p.act.b = l->clip_param->max;
		return 0;
	case CR_OP_SOFTMAX:
		cl->p.axis.axis = canon(PARAM(l, softmax_param, softmax0)->axis, n);
		cl->nscratch = softmax_scratch(in, cl->p.axis.axis);
		return 0;
	case CR_OP_LRN: {
		const Caffe__LRNParameter *p = PARAM(l, lrn_param, lrn0);
		if (n != 4)
			return bad(c, "the engine runs LRN over N,C,H,W inputs only");
		if (p->local_size % 2 == 0)
			return bad(c, "local_size must be odd");
		cl->p.lrn.size = (int32_t)p->local_size;
		cl->p.lrn.region = p->norm_region == CAFFE__LRNPARAMETER__NORM_REGION__WITHIN_CHANNEL
		                   ? CR_LRN_WITHIN : CR_LRN_ACROSS;
		cl->p.lrn.alpha = p->alpha;
		cl->p.lrn.beta = p->beta;
		cl->p.lrn.k = p->k;
		cl->nscratch = lrn_scratch(in, &cl->p.lrn);
		return 0;
	}
	case CR_OP_BATCHNORM: {
		uint64_t C = n > 1 ? (uint64_t)in->shape[1] : 1;
		cl->p.batchnorm.eps = PARAM(l, batch_norm_param, bn0)->eps;
		if (need_weights(c, cl, 3) < 0 || weight(c, cl, i, 0, C, "the mean") < 0 ||
		    weight(c, cl, i, 1, C, "the variance") < 0 ||
		    weight(c, cl, i, 2, 1, "the moving-average factor") < 0)
			return -1;
		return 0;
	}
	case CR_OP_SCALE:
	case CR_OP_BIAS:
		return build_affine(c, cl, i);
	case CR_OP_ELTWISE:
		return build_eltwise(c, cl);
	case CR_OP_CONCAT: {
		const Caffe__ConcatParameter *p = PARAM(l, concat_param, concat0);
		cl->p.axis.axis = canon(p->has_concat_dim && !p->has_axis ? (int64_t)p->concat_dim : p->axis, n);
		return 0;
	}
	case CR_OP_SLICE: {
		const Caffe__SliceParameter *p = PARAM(l, slice_param, slice0);
		cl->p.axis.axis = canon(p->has_slice_dim && !p->has_axis ? (int64_t)p->slice_dim : p->axis, n);
		return 0;
	}
	case CR_OP_PERMUTE: {
		const Caffe__PermuteParameter *p = PARAM(l, permute_param, permute0);
		int used[CR_MAX_DIMS] = {0}, k = 0, d;
		size_t j;
		for (j = 0; j < p->n_order && k < n; j++)
			if (p->order[j] < (uint32_t)n && !used[p->order[j]]) {
				used[p->order[j]] = 1;
				cl->p.permute.order[k++] = (int32_t)p->order[j];
			}
		for (d = 0; d < n; d++)
			if (!used[d])
				cl->p.permute.order[k++] = d;
		return 0;
	}
	case CR_OP_CROP: {
		const Caffe__CropParameter *p = PARAM(l, crop_param, crop0);
		int axis = canon(p->axis, n), d;
		for (d = axis; d < n; d++)
			cl->p.crop.offset[d] = p->n_offset == 0 ? 0
			                       : (int32_t)p->offset[p->n_offset == 1 ? 0 : d - axis];
		return 0;
	}
	case CR_OP_NORMALIZE: {
		const Caffe__NormalizeParameter *p = PARAM(l, norm_param, norm0);
		cl->p.normalize.across_spatial = p->across_spatial;
		cl->p.normalize.channel_shared = p->channel_shared;
		cl->p.normalize.eps = p->eps;
		cl->nscratch = normalize_scratch(in, &cl->p.normalize);
		if (n < 2)
			return bad(c, "wants an input with channels");
		if (need_weights(c, cl, 1) < 0)
			return -1;
		return weight(c, cl, i, 0, p->channel_shared ? 1 : (uint64_t)in->shape[1], "the scale");
	}
	case CR_OP_PRIORBOX:
		return build_priorbox(c, cl, i);
	case CR_OP_DETECTION_OUTPUT:
		return build_detection(c, cl, i);
	default:
		return 0;
	}
}

/* Blob for version v: made on first use, with its inferred shape. */
static int
blob_for(struct nb *c, int v, uint32_t *out)
{
	const struct shape *s = &c->s[v];
	cr_blob *b;
	int k;

	if (c->blob_of[v] >= 0) {
		*out = (uint32_t)c->blob_of[v];
		return 0;
	}
	b = &c->blob[c->nblob];
	if (!(b->name = take_string(c->b, c->g->ver[v].name)))
		return oom(c);
	if (s->known) {
		int64_t count = shape_count(s);
		if (s->ndim > CR_MAX_DIMS || count < 0 || count > UINT32_MAX)
			return bad(c, "blob '%s' is too large for the engine", b->name);
		b->ndim = s->ndim;
		for (k = 0; k < s->ndim; k++)
			b->shape[k] = (int32_t)s->d[k];
		b->count = (uint32_t)count;
	}
	c->blob_of[v] = (int)c->nblob;
	*out = c->nblob++;
	return 0;
}

/* The shape of version v must be known by now (only DetectionOutput tops
 * are shaped here). */
static int
known(struct nb *c, int v, int layer)
{
	const struct gver *gv = &c->g->ver[v];

	if (c->s[v].known)
		return 0;
	if (layer >= 0 && c->g->layer[layer].kind == KIND_DETECTION_OUTPUT)
		return 0;
	if (gv->producer >= 0)
		c->l = c->m->layers[gv->producer].p;
	return bad(c, "the shape of blob '%s' is not known (the engine runs deploy nets with "
	           "shaped inputs)", gv->name);
}

const cr_net *
netbuild(caffeopt_model *m, const char *const *want, size_t nwant, int flags, caffeopt_error *err)
{
	struct nb c = {0};
	char *needv = NULL, *needl = NULL;
	uint32_t *inputs = NULL, *outputs = NULL, ninput = 0, noutput = 0;
	size_t i, j, nver;
	uint64_t naive = 0;
	int v, ok = 0;

	c.m = m;
	c.err = err;
	c.flags = flags;
	/* All lazy weights at once, into one store (wblob.c): weight() finds
	 * every blob's values in data. */
	if (!(flags & NETBUILD_NO_VALUES) && model_load_weights(m, err) < 0)
		return NULL;
	if (!(c.g = graph_build(m, NULL, 0, err)))
		return NULL;
	if (!(c.s = shape_infer(c.g, err)))
		goto out;
	nver = c.g->nver;
	c.b = calloc(1, sizeof *c.b);
	c.blob_of = malloc((nver + 1) * sizeof *c.blob_of);
	needv = calloc(nver + 1, 1);
	needl = calloc(m->nlayers + 1, 1);
	if (!c.b || !c.blob_of || !needv || !needl)
		goto nomem;
	for (i = 0; i < nver; i++)
		c.blob_of[i] = -1;
	c.blob = take(c.b, (nver + 1) * sizeof *c.blob);
	c.layer = take(c.b, (m->nlayers + 1) * sizeof *c.layer);
	inputs = take(c.b, (nver + 1) * sizeof *inputs);
	outputs = take(c.b, (nver + nwant + 1) * sizeof *outputs);
	if (!c.blob || !c.layer || !inputs || !outputs)
		goto nomem;

	/* What to compute: the wanted versions, then backwards every layer
	 * that makes a needed version and the versions it reads. */
	if (nwant) {
		for (i = 0; i < nwant; i++) {
			if ((v = graph_lookup(c.g, want[i], (int)m->nlayers)) < 0) {
				caffeopt_fail(err, m->prototxt_path, 0, 0, "no blob named '%s'", want[i]);
				goto out;
			}
			needv[v] = 1;
		}
	} else {
		for (v = 0; v < (int)nver; v++)
			if (c.g->ver[v].output && !c.g->ver[v].input)
				needv[v] = 1;
	}
	for (i = m->nlayers; i-- > 0;) {
		const struct glayer *gl = &c.g->layer[i];
		const Caffe__LayerParameter *l = m->layers[i].p;
		int needed = 0;
		for (j = 0; j < l->n_top; j++)
			needed |= needv[gl->top[j]];
		if (!needed)
			continue;
		needl[i] = 1;
		for (j = 0; j < l->n_bottom; j++)
			needv[gl->bottom[j]] = 1;
	}

	/* Inputs: the net-level fields and the Input layers' tops. */
	for (v = 0; v < (int)nver; v++) {
		const struct gver *gv = &c.g->ver[v];
		if (!gv->input)
			continue;
		c.l = gv->producer >= 0 ? m->layers[gv->producer].p : NULL;
		if (gv->producer >= 0 && c.g->layer[gv->producer].kind != KIND_INPUT) {
			bad(&c, "a data layer cannot run in the engine: make a deploy net "
			    "(caffeopt optimize --deploy --input-shape N,C,H,W)");
			goto out;
		}
		if (known(&c, v, -1) < 0 || blob_for(&c, v, &inputs[ninput]) < 0)
			goto out;
		ninput++;
	}

	for (i = 0; i < m->nlayers; i++) {
		const struct glayer *gl = &c.g->layer[i];
		const Caffe__LayerParameter *l = m->layers[i].p;
		cr_layer *cl = &c.layer[c.nlayer];
		uint32_t *bot, *top;
		if (!needl[i] || gl->kind == KIND_INPUT)
			continue;
		c.l = l;
		if ((cl->op = op_of(gl->kind)) < 0) {
			bad(&c, "the engine cannot run layers of type '%s'", l->type);
			goto out;
		}
		if (l->n_bottom == 0) {
			bad(&c, "has no bottom");
			goto out;
		}
		if (!(cl->name = take_string(c.b, l->name)))
			goto nomem;
		bot = take(c.b, (l->n_bottom + 1) * sizeof *bot);
		top = take(c.b, (l->n_top + 1) * sizeof *top);
		if (!bot || !top)
			goto nomem;
		for (j = 0; j < l->n_bottom; j++)
			if (known(&c, gl->bottom[j], -1) < 0 || blob_for(&c, gl->bottom[j], &bot[j]) < 0)
				goto out;
		for (j = 0; j < l->n_top; j++)
			if (known(&c, gl->top[j], (int)i) < 0 || blob_for(&c, gl->top[j], &top[j]) < 0)
				goto out;
		c.l = l;
		cl->nbottom = (uint32_t)l->n_bottom;
		cl->ntop = (uint32_t)l->n_top;
		cl->bottom = bot;
		cl->top = top;
		if (build_layer(&c, cl, (int)i, gl->kind) < 0)
			goto out;
		c.nlayer++;
	}
	c.l = NULL;

	if (nwant) {
		for (i = 0; i < nwant; i++) {
			v = graph_lookup(c.g, want[i], (int)m->nlayers);
			if (blob_for(&c, v, &outputs[noutput]) < 0)
				goto out;
			for (j = 0; j < noutput && outputs[j] != outputs[noutput]; j++)
				;
			if (j == noutput)
				noutput++;
		}
	} else {
		for (v = 0; v < (int)nver; v++)
			if (needv[v] && c.g->ver[v].output && !c.g->ver[v].input)
				outputs[noutput++] = (uint32_t)c.blob_of[v];
	}
	if (noutput == 0) {
		bad(&c, "the net has no output to compute");
		goto out;
	}

	/* Naive: one buffer per blob name, as Caffe allocates, and one scratch
	 * buffer as large as the largest layer's (Caffe's shared col buffer). */
	for (i = 0; i < c.nlayer; i++)
		if (c.layer[i].nscratch > naive)
			naive = c.layer[i].nscratch;
	for (i = 0; i < c.nblob; i++) {
		uint32_t mx = c.blob[i].count;
		for (j = 0; j < c.nblob; j++)
			if (strcmp(c.blob[j].name, c.blob[i].name) == 0) {
				if (j < i)
					break;
				if (c.blob[j].count > mx)
					mx = c.blob[j].count;
			}
		if (j == c.nblob)
			naive += mx;
	}
	if (cr_plan(c.layer, c.nlayer, c.blob, c.nblob, inputs, ninput, outputs, noutput,
	            &c.b->net.arena_floats) < 0) {
		bad(&c, "the activations need more than 2^32 floats, or out of memory");
		goto out;
	}
	c.b->net.name = take_string(c.b, m->net->name ? m->net->name : "");
	if (!c.b->net.name)
		goto nomem;
	c.b->net.nlayer = c.nlayer;
	c.b->net.nblob = c.nblob;
	c.b->net.ninput = ninput;
	c.b->net.noutput = noutput;
	c.b->net.layer = c.layer;
	c.b->net.blob = c.blob;
	c.b->net.input = inputs;
	c.b->net.output = outputs;
	c.b->net.naive_floats = naive > UINT32_MAX ? UINT32_MAX : (uint32_t)naive;
	ok = 1;
	goto out;
nomem:
	oom(&c);
out:
	graph_free(c.g);
	free(c.s);
	free(c.blob_of);
	free(needv);
	free(needl);
	if (!ok) {
		netbuild_free(c.b ? &c.b->net : NULL);
		return NULL;
	}
	return &c.b->net;
}
