/* shape.c - blob shapes as Caffe's Reshape() computes them (see shape.h).
 *
 * Each rule follows its layer's LayerSetUp and Reshape in BVLC Caffe
 * (master), or in the SSD fork for PriorBox, Permute and Normalize, and
 * makes the same checks, so a net caffeopt accepts is a net Caffe builds.
 * Dims are int64 here; Caffe's own limit (int dims, at most 2^31-1 values
 * per blob) is checked on every top.
 */
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shape.h"

#define MAXD CAFFEOPT_MAX_DIMS

/* Messages as an unset submessage reads: every field at its default. */
static const Caffe__ConvolutionParameter conv0 = CAFFE__CONVOLUTION_PARAMETER__INIT;
static const Caffe__PoolingParameter pool0 = CAFFE__POOLING_PARAMETER__INIT;
static const Caffe__InnerProductParameter ip0 = CAFFE__INNER_PRODUCT_PARAMETER__INIT;
static const Caffe__ConcatParameter concat0 = CAFFE__CONCAT_PARAMETER__INIT;
static const Caffe__SliceParameter slice0 = CAFFE__SLICE_PARAMETER__INIT;
static const Caffe__FlattenParameter flatten0 = CAFFE__FLATTEN_PARAMETER__INIT;
static const Caffe__ReshapeParameter reshape0 = CAFFE__RESHAPE_PARAMETER__INIT;
static const Caffe__CropParameter crop0 = CAFFE__CROP_PARAMETER__INIT;
static const Caffe__PermuteParameter permute0 = CAFFE__PERMUTE_PARAMETER__INIT;
static const Caffe__PriorBoxParameter priorbox0 = CAFFE__PRIOR_BOX_PARAMETER__INIT;
static const Caffe__ArgMaxParameter argmax0 = CAFFE__ARG_MAX_PARAMETER__INIT;
static const Caffe__ReductionParameter reduction0 = CAFFE__REDUCTION_PARAMETER__INIT;
static const Caffe__TileParameter tile0 = CAFFE__TILE_PARAMETER__INIT;
static const Caffe__EltwiseParameter eltwise0 = CAFFE__ELTWISE_PARAMETER__INIT;
static const Caffe__ScaleParameter scale0 = CAFFE__SCALE_PARAMETER__INIT;
static const Caffe__BiasParameter bias0 = CAFFE__BIAS_PARAMETER__INIT;
static const Caffe__SoftmaxParameter softmax0 = CAFFE__SOFTMAX_PARAMETER__INIT;
static const Caffe__LRNParameter lrn0 = CAFFE__LRNPARAMETER__INIT;
static const Caffe__PReLUParameter prelu0 = CAFFE__PRE_LUPARAMETER__INIT;
static const Caffe__NormalizeParameter norm0 = CAFFE__NORMALIZE_PARAMETER__INIT;
static const Caffe__EmbedParameter embed0 = CAFFE__EMBED_PARAMETER__INIT;
static const Caffe__AccuracyParameter accuracy0 = CAFFE__ACCURACY_PARAMETER__INIT;
static const Caffe__SPPParameter spp0 = CAFFE__SPPPARAMETER__INIT;

#define PARAM(l, field, dflt) ((l)->field ? (l)->field : &(dflt))

/* One layer being shaped. */
struct infer {
	const struct graph *g;
	struct shape *s;               /* per version */
	int i;                         /* the layer */
	const Caffe__LayerParameter *l;
	caffeopt_error *err;           /* NULL: checks only (shape_weights) */
};

/* Fail naming the layer. */
static int
bad(struct infer *c, const char *fmt, ...)
#if defined(__GNUC__)
	__attribute__((format(printf, 2, 3)))
#endif
	;

static int
bad(struct infer *c, const char *fmt, ...)
{
	char msg[768];
	va_list ap;

	if (!c->err)
		return -1;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	caffeopt_fail(c->err, c->g->m->prototxt_path, 0, 0, "layer '%s' (%s): %s",
	              c->l->name ? c->l->name : "", c->l->type ? c->l->type : "", msg);
	return -1;
}

static const struct shape *
bottom(const struct infer *c, size_t j)
{
	return &c->s[c->g->layer[c->i].bottom[j]];
}

/* 1 when bottoms 0..n) exist and are all known. */
static int
bottoms_known(const struct infer *c, size_t n)
{
	size_t j;

	if (c->l->n_bottom < n)
		return 0;
	for (j = 0; j < n; j++)
		if (!bottom(c, j)->known)
			return 0;
	return 1;
}

/* Give top j (when the layer has it) the dims d[0..n), with Caffe's
 * Blob::Reshape checks.  More axes than caffeopt keeps: left unknown. */
static int
set_top(struct infer *c, size_t j, const int64_t *d, int n)
{
	struct shape *t;
	int64_t count = 1;
	int k;

	if (j >= c->l->n_top)
		return 0;
	t = &c->s[c->g->layer[c->i].top[j]];
	t->known = 0;
	if (n > MAXD)
		return 0;
	for (k = 0; k < n; k++) {
		if (d[k] < 0)
			return bad(c, "top '%s' would have dim %lld < 0", c->l->top[j], (long long)d[k]);
		if (d[k] > INT_MAX || (d[k] > 0 && count > INT_MAX / d[k]))
			return bad(c, "top '%s' would have more than %d values", c->l->top[j], INT_MAX);
		count *= d[k];
	}
	t->ndim = n;
	if (n)
		memcpy(t->d, d, (size_t)n * sizeof *d);
	t->known = 1;
	return 0;
}

static int
copy_top(struct infer *c, size_t j, const struct shape *s)
{
	return set_top(c, j, s->d, s->ndim);
}

/* Caffe's CanonicalAxisIndex: -n <= axis < n, negative from the end. */
static int
canon(struct infer *c, int64_t axis, int n, const char *what, int *out)
{
	*out = 0;
	if (axis < -n || axis >= n)
		return bad(c, "%s %lld out of range for a %d-axis input", what, (long long)axis, n);
	*out = (int)(axis < 0 ? axis + n : axis);
	return 0;
}

/* Caffe's legacy num()/channels()/height()/width(): at most 4 axes, 1
 * past the last. */
static int
legacy(struct infer *c, const struct shape *s, int k, int64_t *out)
{
	*out = 1;
	if (s->ndim > 4)
		return bad(c, "input has %d axes; this layer takes at most 4", s->ndim);
	*out = k < s->ndim ? s->d[k] : 1;
	return 0;
}

static int64_t
count_range(const struct shape *s, int from, int to)
{
	int64_t n = 1;

	for (; from < to; from++)
		n *= s->d[from];  /* cannot overflow: the whole count fits in int */
	return n;
}

/* ---- Convolution and Deconvolution (BaseConvolutionLayer) ---- */

struct conv_geom {
	int caxis;                     /* channel axis */
	int nsp;                       /* spatial axes after it */
	int64_t k[MAXD], s[MAXD], p[MAXD], dil[MAXD];
	int64_t channels, nout, group;
};

/* One spatial parameter: the _h/_w pair when either is set (2-D only, both
 * needed, the repeated field empty), else the repeated field holding none
 * (dflt), one (every axis) or one per axis. */
static int
conv_dims(struct infer *c, const char *name, int has_h, uint32_t h, int has_w, uint32_t w,
          size_t n, const uint32_t *v, int64_t dflt, int nsp, int64_t *out)
{
	int k;

	if (has_h || has_w) {
		if (nsp != 2)
			return bad(c, "%s_h/%s_w need 2 spatial axes, the input has %d", name, name, nsp);
		if (!has_h || !has_w)
			return bad(c, "%s_h and %s_w must be given together", name, name);
		if (n)
			return bad(c, "give %s or %s_h and %s_w, not both", name, name, name);
		if (h > INT_MAX || w > INT_MAX)
			return bad(c, "%s out of range", name);
		out[0] = h;
		out[1] = w;
		return 0;
	}
	if (n != 0 && n != 1 && n != (size_t)nsp)
		return bad(c, "%zu %s values for %d spatial axes", n, name, nsp);
	for (k = 0; k < nsp; k++) {
		uint32_t x = n ? v[n == 1 ? 0 : k] : 0;
		if (x > INT_MAX)
			return bad(c, "%s %u out of range", name, x);
		out[k] = n ? (int64_t)x : dflt;
	}
	return 0;
}

/* The geometry of a convolution over input b, with Caffe's checks.
 * Depthwise kinds are convolutions with one group per input channel.
 * 0, -1 on an error, 1 when caffeopt cannot tell the geometry. */
static int
conv_setup(struct infer *c, const struct shape *b, struct conv_geom *cg, int depthwise)
{
	const Caffe__ConvolutionParameter *p = PARAM(c->l, convolution_param, conv0);
	int k;

	if (canon(c, p->axis, b->ndim, "axis", &cg->caxis) < 0)
		return -1;
	cg->nsp = b->ndim - cg->caxis - 1;
	if (!p->has_kernel_h && !p->has_kernel_w && p->n_kernel_size == 0)
		return bad(c, "no kernel_size");
	if (conv_dims(c, "kernel", p->has_kernel_h, p->kernel_h, p->has_kernel_w, p->kernel_w,
	              p->n_kernel_size, p->kernel_size, 0, cg->nsp, cg->k) < 0 ||
	    conv_dims(c, "stride", p->has_stride_h, p->stride_h, p->has_stride_w, p->stride_w,
	              p->n_stride, p->stride, 1, cg->nsp, cg->s) < 0 ||
	    conv_dims(c, "pad", p->has_pad_h, p->pad_h, p->has_pad_w, p->pad_w,
	              p->n_pad, p->pad, 0, cg->nsp, cg->p) < 0 ||
	    conv_dims(c, "dilation", 0, 0, 0, 0, p->n_dilation, p->dilation, 1, cg->nsp, cg->dil) < 0)
		return -1;
	for (k = 0; k < cg->nsp; k++) {
		if (cg->k[k] <= 0)
			return bad(c, "kernel size must be > 0");
		if (cg->s[k] <= 0)
			return bad(c, "stride must be > 0");
	}
	cg->channels = b->d[cg->caxis];
	if (p->num_output > INT_MAX)
		return bad(c, "num_output %u out of range", p->num_output);
	cg->nout = p->num_output;
	cg->group = p->group;
	if (depthwise) {
		/* The forks' depthwise layers: one filter per input channel.  They
		 * disagree on what a num_output other than the channels means. */
		if (!p->has_num_output)
			cg->nout = cg->channels;
		if (cg->nout != cg->channels)
			return 1;
		cg->group = cg->channels;
	}
	if (cg->nout <= 0)
		return bad(c, "num_output must be > 0");
	if (cg->group <= 0 || cg->group > INT_MAX)
		return bad(c, "group %lld out of range", (long long)cg->group);
	if (cg->channels % cg->group != 0)
		return bad(c, "%lld input channels not divisible by group %lld",
		           (long long)cg->channels, (long long)cg->group);
	if (cg->nout % cg->group != 0)
		return bad(c, "num_output %lld not divisible by group %lld",
		           (long long)cg->nout, (long long)cg->group);
	return 0;
}

/* Spatial output size along axis k of input size in. */
static int
conv_out(struct infer *c, const struct conv_geom *cg, int k, int64_t in, int deconv, int64_t *out)
{
	int64_t ext;

	if (cg->dil[k] > 0 && cg->k[k] - 1 > (INT64_MAX / 4) / cg->dil[k])
		return bad(c, "kernel extent overflows");
	ext = cg->dil[k] * (cg->k[k] - 1) + 1;
	if (deconv) {
		if (in > 0 && cg->s[k] > (INT64_MAX / 4) / in)
			return bad(c, "output size overflows");
		*out = cg->s[k] * (in - 1) + ext - 2 * cg->p[k];
		if (*out <= 0)
			return bad(c, "padding %lld leaves no output along axis %d", (long long)cg->p[k],
			           cg->caxis + 1 + k);
		return 0;
	}
	if (in + 2 * cg->p[k] < ext)
		return bad(c, "kernel extent %lld larger than padded input %lld along axis %d",
		           (long long)ext, (long long)(in + 2 * cg->p[k]), cg->caxis + 1 + k);
	*out = (in + 2 * cg->p[k] - ext) / cg->s[k] + 1;
	return 0;
}

static int
convolution(struct infer *c, int deconv, int depthwise)
{
	const struct shape *b;
	struct conv_geom cg;
	int64_t d[MAXD];
	size_t j;
	int k, rc;

	if (!bottoms_known(c, c->l->n_bottom) || c->l->n_bottom == 0)
		return 0;
	b = bottom(c, 0);
	if (depthwise && b->ndim != 4)
		return 0;  /* the forks' depthwise layers are 2-D only */
	if ((rc = conv_setup(c, b, &cg, depthwise)) != 0)
		return rc < 0 ? -1 : 0;
	for (j = 1; j < c->l->n_bottom; j++)
		if (!shape_equal(bottom(c, j), b))
			return bad(c, "all inputs must have the same shape");
	memcpy(d, b->d, (size_t)b->ndim * sizeof *d);
	d[cg.caxis] = cg.nout;
	for (k = 0; k < cg.nsp; k++)
		if (conv_out(c, &cg, k, b->d[cg.caxis + 1 + k], deconv, &d[cg.caxis + 1 + k]) < 0)
			return -1;
	for (j = 0; j < c->l->n_top; j++)
		if (set_top(c, j, d, b->ndim) < 0)
			return -1;
	return 0;
}

/* ---- Pooling ---- */

static int
pooling(struct infer *c)
{
	const Caffe__PoolingParameter *p = PARAM(c->l, pooling_param, pool0);
	const struct shape *b;
	int64_t kh, kw, ph, pw, sh, sw, h, w, oh, ow, d[4];
	int floor_mode = p->round_mode == CAFFE__POOLING_PARAMETER__ROUND_MODE__FLOOR;

	/* LayerSetUp's checks on the parameters. */
	if (p->global_pooling) {
		if (p->has_kernel_size || p->has_kernel_h || p->has_kernel_w)
			return bad(c, "global_pooling takes no kernel size");
	} else if (p->has_kernel_size == (p->has_kernel_h && p->has_kernel_w)) {
		return bad(c, "give kernel_size, or kernel_h and kernel_w");
	}
	if (!((!p->has_pad && p->has_pad_h && p->has_pad_w) || (!p->has_pad_h && !p->has_pad_w)))
		return bad(c, "give pad, or pad_h and pad_w");
	if (!((!p->has_stride && p->has_stride_h && p->has_stride_w) || (!p->has_stride_h && !p->has_stride_w)))
		return bad(c, "give stride, or stride_h and stride_w");
	ph = p->has_pad_h ? p->pad_h : p->pad;
	pw = p->has_pad_h ? p->pad_w : p->pad;
	sh = p->has_stride_h ? p->stride_h : p->stride;
	sw = p->has_stride_h ? p->stride_w : p->stride;
	if (ph > INT_MAX || pw > INT_MAX || sh > INT_MAX || sw > INT_MAX)
		return bad(c, "pad or stride out of range");
	if (sh <= 0 || sw <= 0)
		return bad(c, "stride must be > 0");
	if (p->global_pooling && (ph || pw || sh != 1 || sw != 1))
		return bad(c, "global_pooling takes only pad 0 and stride 1");
	kh = kw = 0;
	if (!p->global_pooling) {
		kh = p->has_kernel_size ? p->kernel_size : p->kernel_h;
		kw = p->has_kernel_size ? p->kernel_size : p->kernel_w;
		if (kh <= 0 || kw <= 0 || kh > INT_MAX || kw > INT_MAX)
			return bad(c, "kernel size must be > 0");
		if ((ph || pw) && (ph >= kh || pw >= kw))
			return bad(c, "pad must be smaller than the kernel");
	}
	if ((ph || pw) && p->pool != CAFFE__POOLING_PARAMETER__POOL_METHOD__AVE &&
	    p->pool != CAFFE__POOLING_PARAMETER__POOL_METHOD__MAX)
		return bad(c, "padding works only with MAX and AVE pooling");
	if (!bottoms_known(c, 1))
		return 0;
	b = bottom(c, 0);
	if (b->ndim != 4)
		return bad(c, "input must have 4 axes, it has %d", b->ndim);
	h = b->d[2];
	w = b->d[3];
	if (p->global_pooling) {
		kh = h;
		kw = w;
	}
	if (h + 2 * ph < kh || w + 2 * pw < kw)
		return bad(c, "kernel %lldx%lld larger than padded input %lldx%lld", (long long)kh,
		           (long long)kw, (long long)(h + 2 * ph), (long long)(w + 2 * pw));
	/* Caffe rounds up unless round_mode is FLOOR. */
	oh = (floor_mode ? (h + 2 * ph - kh) / sh : (h + 2 * ph - kh + sh - 1) / sh) + 1;
	ow = (floor_mode ? (w + 2 * pw - kw) / sw : (w + 2 * pw - kw + sw - 1) / sw) + 1;
	if (ph || pw) {
		/* The last window must start inside the image, not in the padding. */
		if ((oh - 1) * sh >= h + ph)
			oh--;
		if ((ow - 1) * sw >= w + pw)
			ow--;
		if ((oh - 1) * sh >= h + ph || (ow - 1) * sw >= w + pw)
			return bad(c, "the last pooling window starts in the padding");
	}
	d[0] = b->d[0];
	d[1] = b->d[1];
	d[2] = oh;
	d[3] = ow;
	/* A second top (MAX) is the argmax mask, the same shape. */
	return set_top(c, 0, d, 4) < 0 || set_top(c, 1, d, 4) < 0 ? -1 : 0;
}

/* ---- Layers that keep the shape; those with weights check them ---- */

/* The shape of Scale's or Bias's one-bottom parameter blob: the input's
 * dims from axis, num_axes of them (-1: to the end). */
static int
affine_param_shape(struct infer *c, const struct shape *b, int64_t axis, int64_t num_axes,
                   struct shape *out)
{
	int a = 0;

	if (num_axes < -1)
		return bad(c, "num_axes %lld must be >= -1", (long long)num_axes);
	if (canon(c, axis, b->ndim, "axis", &a) < 0)
		return -1;
	if (num_axes == -1)
		num_axes = b->ndim - a;
	if (a + num_axes > b->ndim)
		return bad(c, "axis %d + num_axes %lld exceeds the input's %d axes", a, (long long)num_axes,
		           b->ndim);
	out->known = 1;
	out->ndim = (int)num_axes;
	memcpy(out->d, b->d + a, (size_t)num_axes * sizeof *out->d);
	return 0;
}

/* Scale and Bias given their operand as a second bottom: its dims must be
 * the input's from axis (axis 0 when the operand is a scalar). */
static int
affine_two_bottoms(struct infer *c, int64_t axis)
{
	const struct shape *b = bottom(c, 0), *o = bottom(c, 1);
	int a = 0, k;

	if (o->ndim > 0 && canon(c, axis, b->ndim, "axis", &a) < 0)
		return -1;
	if (a + o->ndim > b->ndim)
		return bad(c, "second input has %d axes, too many from axis %d", o->ndim, a);
	for (k = 0; k < o->ndim; k++)
		if (o->d[k] != b->d[a + k])
			return bad(c, "second input's dim %d is %lld, the first input's dim %d is %lld", k,
			           (long long)o->d[k], a + k, (long long)b->d[a + k]);
	return 0;
}

static int
same_shape(struct infer *c)
{
	const struct shape *b;
	struct shape ps;
	enum kind k = c->g->layer[c->i].kind;
	int a;

	if (!bottoms_known(c, 1))
		return 0;
	b = bottom(c, 0);
	switch (k) {
	case KIND_SCALE: {
		const Caffe__ScaleParameter *p = PARAM(c->l, scale_param, scale0);
		if (c->l->n_bottom >= 2 ? bottoms_known(c, 2) && affine_two_bottoms(c, p->axis) < 0
		                        : affine_param_shape(c, b, p->axis, p->num_axes, &ps) < 0)
			return -1;
		break;
	}
	case KIND_BIAS: {
		const Caffe__BiasParameter *p = PARAM(c->l, bias_param, bias0);
		if (c->l->n_bottom >= 2 ? bottoms_known(c, 2) && affine_two_bottoms(c, p->axis) < 0
		                        : affine_param_shape(c, b, p->axis, p->num_axes, &ps) < 0)
			return -1;
		break;
	}
	case KIND_SOFTMAX:
	case KIND_LOG_SOFTMAX:
		if (canon(c, PARAM(c->l, softmax_param, softmax0)->axis, b->ndim, "axis", &a) < 0)
			return -1;
		break;
	case KIND_LRN:
		if (PARAM(c->l, lrn_param, lrn0)->local_size % 2 != 1)
			return bad(c, "local_size must be odd");
		if (b->ndim != 4)
			return bad(c, "input must have 4 axes, it has %d", b->ndim);
		break;
	case KIND_PRELU:
	case KIND_NORMALIZE:
		if (b->ndim < 2)
			return bad(c, "input must have at least 2 axes");
		break;
	default:
		break;
	}
	return copy_top(c, 0, b);
}

/* ---- Layers that combine or split blobs ---- */

static int
eltwise(struct infer *c)
{
	const Caffe__EltwiseParameter *p = PARAM(c->l, eltwise_param, eltwise0);
	size_t j;

	if (p->n_coeff && p->n_coeff != c->l->n_bottom)
		return bad(c, "%zu coeff values for %zu inputs", p->n_coeff, c->l->n_bottom);
	if (p->n_coeff && p->operation == CAFFE__ELTWISE_PARAMETER__ELTWISE_OP__PROD)
		return bad(c, "coeff is only for SUM");
	if (!bottoms_known(c, c->l->n_bottom) || c->l->n_bottom == 0)
		return 0;
	for (j = 1; j < c->l->n_bottom; j++)
		if (!shape_equal(bottom(c, j), bottom(c, 0))) {
			char a[128], b[128];
			return bad(c, "input '%s' is %s but input '%s' is %s", c->l->bottom[0],
			           shape_format(bottom(c, 0), a, sizeof a), c->l->bottom[j],
			           shape_format(bottom(c, j), b, sizeof b));
		}
	return copy_top(c, 0, bottom(c, 0));
}

static int
concat(struct infer *c)
{
	const Caffe__ConcatParameter *p = PARAM(c->l, concat_param, concat0);
	const struct shape *b;
	int64_t d[MAXD];
	size_t j;
	int a, k;

	if (p->has_axis && p->has_concat_dim)
		return bad(c, "give axis or concat_dim, not both");
	if (!bottoms_known(c, c->l->n_bottom) || c->l->n_bottom == 0)
		return 0;
	b = bottom(c, 0);
	if (p->has_concat_dim) {
		if (p->concat_dim >= (uint32_t)b->ndim)
			return bad(c, "concat_dim %u out of range for a %d-axis input", p->concat_dim, b->ndim);
		a = (int)p->concat_dim;
	} else if (canon(c, p->axis, b->ndim, "axis", &a) < 0) {
		return -1;
	}
	memcpy(d, b->d, (size_t)b->ndim * sizeof *d);
	for (j = 1; j < c->l->n_bottom; j++) {
		const struct shape *o = bottom(c, j);
		if (o->ndim != b->ndim)
			return bad(c, "input '%s' has %d axes, input '%s' has %d", c->l->bottom[j], o->ndim,
			           c->l->bottom[0], b->ndim);
		for (k = 0; k < b->ndim; k++)
			if (k != a && o->d[k] != b->d[k])
				return bad(c, "input '%s' has dim %d = %lld, input '%s' has %lld (only axis %d may differ)",
				           c->l->bottom[j], k, (long long)o->d[k], c->l->bottom[0],
				           (long long)b->d[k], a);
		d[a] += o->d[a];
		if (d[a] > INT_MAX)
			return bad(c, "concatenated axis too long");
	}
	return set_top(c, 0, d, b->ndim);
}

static int
slice(struct infer *c)
{
	const Caffe__SliceParameter *p = PARAM(c->l, slice_param, slice0);
	const struct shape *b;
	int64_t d[MAXD], dim, prev = 0;
	size_t j, n = c->l->n_top;
	int a;

	if (p->has_axis && p->has_slice_dim)
		return bad(c, "give axis or slice_dim, not both");
	if (!bottoms_known(c, 1) || n == 0)
		return 0;
	b = bottom(c, 0);
	if (p->has_slice_dim) {
		if (p->slice_dim >= (uint32_t)b->ndim)
			return bad(c, "slice_dim %u out of range for a %d-axis input", p->slice_dim, b->ndim);
		a = (int)p->slice_dim;
	} else if (canon(c, p->axis, b->ndim, "axis", &a) < 0) {
		return -1;
	}
	dim = b->d[a];
	memcpy(d, b->d, (size_t)b->ndim * sizeof *d);
	if (p->n_slice_point) {
		if (p->n_slice_point != n - 1)
			return bad(c, "%zu slice points for %zu tops", p->n_slice_point, n);
		if ((int64_t)n > dim)
			return bad(c, "%zu tops from an axis of %lld", n, (long long)dim);
		for (j = 0; j < n; j++) {
			int64_t end = j + 1 < n ? (int64_t)p->slice_point[j] : dim;
			if (end <= prev)
				return bad(c, "slice points must increase inside the axis of %lld", (long long)dim);
			d[a] = end - prev;
			prev = end;
			if (set_top(c, j, d, b->ndim) < 0)
				return -1;
		}
		return 0;
	}
	if (dim % (int64_t)n != 0)
		return bad(c, "axis of %lld does not split into %zu equal tops", (long long)dim, n);
	d[a] = dim / (int64_t)n;
	for (j = 0; j < n; j++)
		if (set_top(c, j, d, b->ndim) < 0)
			return -1;
	return 0;
}

static int
split(struct infer *c)
{
	size_t j;

	if (!bottoms_known(c, 1))
		return 0;
	for (j = 0; j < c->l->n_top; j++)
		if (copy_top(c, j, bottom(c, 0)) < 0)
			return -1;
	return 0;
}

static int
crop(struct infer *c)
{
	const Caffe__CropParameter *p = PARAM(c->l, crop_param, crop0);
	const struct shape *b, *ref;
	int64_t d[MAXD];
	int a, k;

	if (c->l->n_bottom != 2)
		return bad(c, "takes 2 inputs, has %zu", c->l->n_bottom);
	if (!bottoms_known(c, 2))
		return 0;
	b = bottom(c, 0);
	ref = bottom(c, 1);
	if (b->ndim != ref->ndim)
		return bad(c, "inputs have %d and %d axes", b->ndim, ref->ndim);
	if (canon(c, p->axis, b->ndim, "axis", &a) < 0)
		return -1;
	if (p->n_offset > 1 && a + (int64_t)p->n_offset != b->ndim)
		return bad(c, "%zu offsets for %d axes from axis %d", p->n_offset, b->ndim, a);
	for (k = 0; k < b->ndim; k++) {
		int64_t off = 0;
		d[k] = b->d[k];
		if (k < a)
			continue;
		if (p->n_offset)
			off = p->offset[p->n_offset == 1 ? 0 : k - a];
		if (b->d[k] - off < ref->d[k])
			return bad(c, "crop of %lld at offset %lld runs past dim %d of %lld", (long long)ref->d[k],
			           (long long)off, k, (long long)b->d[k]);
		d[k] = ref->d[k];
	}
	return set_top(c, 0, d, b->ndim);
}

/* ---- Layers that rearrange dims ---- */

static int
flatten(struct infer *c)
{
	const Caffe__FlattenParameter *p = PARAM(c->l, flatten_param, flatten0);
	const struct shape *b;
	int64_t d[MAXD];
	int s, e, n = 0, k;

	if (!bottoms_known(c, 1))
		return 0;
	b = bottom(c, 0);
	if (canon(c, p->axis, b->ndim, "axis", &s) < 0 || canon(c, p->end_axis, b->ndim, "end_axis", &e) < 0)
		return -1;
	if (e + 1 < s)
		return bad(c, "end_axis %d before axis %d", e, s);
	for (k = 0; k < s; k++)
		d[n++] = b->d[k];
	d[n++] = count_range(b, s, e + 1);
	for (k = e + 1; k < b->ndim; k++)
		d[n++] = b->d[k];
	return set_top(c, 0, d, n);
}

static int
reshape(struct infer *c)
{
	const Caffe__ReshapeParameter *p = PARAM(c->l, reshape_param, reshape0);
	const Caffe__BlobShape *ts = p->shape;
	const struct shape *b;
	int64_t d[MAXD], known = 1, bcount;
	int start, end, n = 0, inferred = -1, k;
	size_t nnew = ts ? ts->n_dim : 0, j;

	/* LayerSetUp: at most one -1, no dim below -1. */
	for (j = 0; j < nnew; j++) {
		if (ts->dim[j] < -1)
			return bad(c, "shape dim %lld: only -1 (infer) and 0 (copy) are special", (long long)ts->dim[j]);
		if (ts->dim[j] == -1) {
			if (inferred >= 0)
				return bad(c, "shape has more than one -1");
			inferred = (int)j;
		}
	}
	if (p->num_axes < -1)
		return bad(c, "num_axes %d must be >= -1", p->num_axes);
	if (!bottoms_known(c, 1))
		return 0;
	b = bottom(c, 0);
	start = p->axis >= 0 ? p->axis : b->ndim + p->axis + 1;
	if (start < 0 || start > b->ndim)
		return bad(c, "axis %d out of range for a %d-axis input", p->axis, b->ndim);
	end = p->num_axes == -1 ? b->ndim : start + p->num_axes;
	if (end > b->ndim)
		return bad(c, "axis %d + num_axes %d exceeds the input's %d axes", start, p->num_axes, b->ndim);
	if (start + (int64_t)nnew + (b->ndim - end) > MAXD)
		return 0;
	for (k = 0; k < start; k++)
		d[n++] = b->d[k];
	for (j = 0; j < nnew; j++) {
		int64_t x = ts->dim[j];
		if (x == 0) {
			if (start + (int)j >= b->ndim)
				return bad(c, "shape dim %zu copies axis %d, which the input lacks", j, start + (int)j);
			x = b->d[start + j];
		}
		if (x > INT_MAX)
			return bad(c, "shape dim %lld out of range", (long long)x);
		d[n++] = x;
	}
	for (k = end; k < b->ndim; k++)
		d[n++] = b->d[k];
	bcount = count_range(b, 0, b->ndim);
	for (k = 0; k < n; k++) {
		if (inferred >= 0 && k == start + inferred)
			continue;
		if (d[k] > 0 && known > INT64_MAX / d[k])
			return bad(c, "new shape's count overflows");
		known *= d[k];
	}
	if (inferred >= 0) {
		if (known == 0 || bcount % known != 0)
			return bad(c, "cannot infer the -1 dim: %lld values into a multiple of %lld",
			           (long long)bcount, (long long)known);
		d[start + inferred] = bcount / known;
		known = bcount;
	}
	if (known != bcount)
		return bad(c, "new shape has %lld values, the input has %lld", (long long)known, (long long)bcount);
	return set_top(c, 0, d, n);
}

static int
permute(struct infer *c)
{
	const Caffe__PermuteParameter *p = PARAM(c->l, permute_param, permute0);
	const struct shape *b;
	int used[MAXD] = {0}, order[MAXD], n = 0, k;
	int64_t d[MAXD];
	size_t j;

	if (!bottoms_known(c, 1))
		return 0;
	b = bottom(c, 0);
	for (j = 0; j < p->n_order; j++) {
		if (p->order[j] >= (uint32_t)b->ndim)
			return bad(c, "order %u out of range for a %d-axis input", p->order[j], b->ndim);
		if (used[p->order[j]])
			return bad(c, "order %u given twice", p->order[j]);
		used[p->order[j]] = 1;
		order[n++] = (int)p->order[j];
	}
	for (k = 0; k < b->ndim; k++)
		if (!used[k])
			order[n++] = k;
	for (k = 0; k < n; k++)
		d[k] = b->d[order[k]];
	return set_top(c, 0, d, n);
}

static int
tile(struct infer *c)
{
	const Caffe__TileParameter *p = PARAM(c->l, tile_param, tile0);
	const struct shape *b;
	int64_t d[MAXD];
	int a;

	if (p->tiles <= 0)
		return bad(c, "tiles must be > 0");
	if (!bottoms_known(c, 1))
		return 0;
	b = bottom(c, 0);
	if (canon(c, p->axis, b->ndim, "axis", &a) < 0)
		return -1;
	memcpy(d, b->d, (size_t)b->ndim * sizeof *d);
	d[a] *= p->tiles;  /* both <= INT_MAX: no overflow in int64 */
	return set_top(c, 0, d, b->ndim);
}

/* ---- Layers with their own output shapes ---- */

static int
inner_product(struct infer *c)
{
	const Caffe__InnerProductParameter *p = PARAM(c->l, inner_product_param, ip0);
	const struct shape *b;
	int64_t d[MAXD];
	int a;

	if (!bottoms_known(c, 1))
		return 0;
	b = bottom(c, 0);
	if (canon(c, p->axis, b->ndim, "axis", &a) < 0)
		return -1;
	if (p->num_output > INT_MAX)
		return bad(c, "num_output %u out of range", p->num_output);
	memcpy(d, b->d, (size_t)a * sizeof *d);
	d[a] = p->num_output;
	return set_top(c, 0, d, a + 1);
}

static int
embed(struct infer *c)
{
	const Caffe__EmbedParameter *p = PARAM(c->l, embed_param, embed0);
	const struct shape *b;
	int64_t d[MAXD + 1];

	if (!bottoms_known(c, 1))
		return 0;
	b = bottom(c, 0);
	if (b->ndim >= MAXD)
		return 0;
	memcpy(d, b->d, (size_t)b->ndim * sizeof *d);
	d[b->ndim] = p->num_output;
	return set_top(c, 0, d, b->ndim + 1);
}

/* SSD's PriorBox: aspect ratio 1, then each given ratio not yet present
 * (and its inverse when flip), per min_size; one more box per max_size. */
static int
prior_count(struct infer *c, int64_t *out)
{
	const Caffe__PriorBoxParameter *p = PARAM(c->l, prior_box_param, priorbox0);
	float ar[1 + 2 * 64];
	size_t nar = 1, j, k;

	if (p->n_min_size == 0)
		return bad(c, "no min_size");
	if (p->n_max_size && p->n_max_size != p->n_min_size)
		return bad(c, "%zu max_size values for %zu min_size values", p->n_max_size, p->n_min_size);
	for (j = 0; j < p->n_min_size; j++) {
		if (!(p->min_size[j] > 0))
			return bad(c, "min_size must be > 0");
		if (p->n_max_size && !(p->max_size[j] > p->min_size[j]))
			return bad(c, "max_size must be larger than min_size");
	}
	if (p->n_aspect_ratio > 64)
		return bad(c, "more than 64 aspect ratios");
	ar[0] = 1.f;
	for (j = 0; j < p->n_aspect_ratio; j++) {
		float r = p->aspect_ratio[j];
		int seen = 0;
		for (k = 0; k < nar; k++)
			if (fabsf(r - ar[k]) < 1e-6f)
				seen = 1;
		if (seen)
			continue;
		ar[nar++] = r;
		if (p->flip)
			ar[nar++] = 1.f / r;
	}
	*out = (int64_t)(nar * p->n_min_size + p->n_max_size);
	return 0;
}

static int
prior_box(struct infer *c)
{
	int64_t np, h, w, d[3];

	if (prior_count(c, &np) < 0)
		return -1;
	if (!bottoms_known(c, 1))
		return 0;
	if (legacy(c, bottom(c, 0), 2, &h) < 0 || legacy(c, bottom(c, 0), 3, &w) < 0)
		return -1;
	d[0] = 1;
	d[1] = 2;  /* boxes, then variances */
	if (h > 0 && w > INT_MAX / h)
		return bad(c, "too many priors");
	d[2] = h * w;
	if (d[2] > 0 && np * 4 > INT_MAX / d[2])
		return bad(c, "too many priors");
	d[2] *= np * 4;
	return set_top(c, 0, d, 3);
}

static int
argmax(struct infer *c)
{
	const Caffe__ArgMaxParameter *p = PARAM(c->l, argmax_param, argmax0);
	const struct shape *b;
	int64_t d[MAXD];
	int n, a, k;

	if (p->top_k < 1 || p->top_k > INT_MAX)
		return bad(c, "top_k must be >= 1");
	if (!bottoms_known(c, 1))
		return 0;
	b = bottom(c, 0);
	if (p->has_axis) {
		if (canon(c, p->axis, b->ndim, "axis", &a) < 0)
			return -1;
		if (b->d[a] < p->top_k)
			return bad(c, "top_k %u exceeds the axis of %lld", p->top_k, (long long)b->d[a]);
		memcpy(d, b->d, (size_t)b->ndim * sizeof *d);
		d[a] = p->top_k;
		return set_top(c, 0, d, b->ndim);
	}
	if (count_range(b, 1, b->ndim) < p->top_k)
		return bad(c, "top_k %u exceeds the %lld values per item", p->top_k,
		           (long long)count_range(b, 1, b->ndim));
	n = b->ndim < 3 ? 3 : b->ndim;
	for (k = 0; k < n; k++)
		d[k] = 1;
	d[0] = b->ndim ? b->d[0] : 1;
	d[2] = p->top_k;
	if (p->out_max_val)
		d[1] = 2;  /* index and value */
	return set_top(c, 0, d, n);
}

static int
reduction(struct infer *c)
{
	const Caffe__ReductionParameter *p = PARAM(c->l, reduction_param, reduction0);
	const struct shape *b;
	int a;

	if (!bottoms_known(c, 1))
		return 0;
	b = bottom(c, 0);
	if (canon(c, p->axis, b->ndim, "axis", &a) < 0)
		return -1;
	return set_top(c, 0, b->d, a);  /* every axis from `axis` on is reduced */
}

static int
spp(struct infer *c)
{
	const Caffe__SPPParameter *p = PARAM(c->l, spp_param, spp0);
	int64_t n, ch, bins = 0, d[4];
	uint32_t k;

	if (!bottoms_known(c, 1))
		return 0;
	if (legacy(c, bottom(c, 0), 0, &n) < 0 || legacy(c, bottom(c, 0), 1, &ch) < 0)
		return -1;
	if (p->pyramid_height == 0 || p->pyramid_height > 15)
		return p->pyramid_height == 0 ? bad(c, "pyramid_height must be > 0") : 0;
	if (p->pyramid_height == 1) {
		d[0] = n;
		d[1] = ch;
		d[2] = d[3] = 1;
		return set_top(c, 0, d, 4);
	}
	/* Level i pools into 2^i x 2^i bins, flattened and concatenated. */
	for (k = 0; k < p->pyramid_height; k++)
		bins += (int64_t)1 << (2 * k);
	d[0] = n;
	if (ch > 0 && bins > INT_MAX / ch)
		return bad(c, "too many bins");
	d[1] = ch * bins;
	return set_top(c, 0, d, 2);
}

static int
loss(struct infer *c)
{
	enum kind k = c->g->layer[c->i].kind;
	int64_t none[1] = {0};

	if (set_top(c, 0, none, 0) < 0)
		return -1;
	if (c->l->n_top < 2 || !bottoms_known(c, 1))
		return 0;
	if (k == KIND_SOFTMAX_LOSS)
		return copy_top(c, 1, bottom(c, 0));  /* the probabilities */
	if (k == KIND_ACCURACY) {
		const Caffe__AccuracyParameter *p = PARAM(c->l, accuracy_param, accuracy0);
		int a;
		if (canon(c, p->axis, bottom(c, 0)->ndim, "axis", &a) < 0)
			return -1;
		return set_top(c, 1, &bottom(c, 0)->d[a], 1);  /* per class */
	}
	return 0;
}

/* ---- Inputs ---- */

static int
blob_shape_top(struct infer *c, size_t j, const Caffe__BlobShape *bs)
{
	if (bs->n_dim > MAXD)
		return 0;
	return set_top(c, j, bs->dim, (int)bs->n_dim);
}

static int
input(struct infer *c)
{
	const Caffe__InputParameter *p = c->l->input_param;
	size_t n = p ? p->n_shape : 0, j;

	if (n == 0)
		return 0;  /* Caffe leaves them unshaped */
	if (n != 1 && n != c->l->n_top)
		return bad(c, "%zu shapes for %zu tops", n, c->l->n_top);
	for (j = 0; j < c->l->n_top; j++)
		if (blob_shape_top(c, j, p->shape[n == 1 ? 0 : j]) < 0)
			return -1;
	return 0;
}

/* Data layers whose shapes are in the prototxt; the rest read files. */
static int
data(struct infer *c)
{
	const Caffe__LayerParameter *l = c->l;
	size_t j;

	if (c->g->layer[c->i].kind == KIND_MEMORY_DATA && l->memory_data_param) {
		const Caffe__MemoryDataParameter *p = l->memory_data_param;
		int64_t d[4] = {p->batch_size, p->channels, p->height, p->width};
		return set_top(c, 0, d, 4) < 0 || set_top(c, 1, d, 1) < 0 ? -1 : 0;
	}
	if (c->g->layer[c->i].kind == KIND_DUMMY_DATA && l->dummy_data_param) {
		const Caffe__DummyDataParameter *p = l->dummy_data_param;
		size_t n = l->n_top;
		if (p->n_num || p->n_channels || p->n_height || p->n_width) {
			if (p->n_shape || (p->n_num != 1 && p->n_num != n) || (p->n_channels != 1 && p->n_channels != n) ||
			    (p->n_height != 1 && p->n_height != n) || (p->n_width != 1 && p->n_width != n))
				return bad(c, "num/channels/height/width need one value or one per top");
			for (j = 0; j < n; j++) {
				int64_t d[4] = {p->num[p->n_num == 1 ? 0 : j], p->channels[p->n_channels == 1 ? 0 : j],
				                p->height[p->n_height == 1 ? 0 : j], p->width[p->n_width == 1 ? 0 : j]};
				if (set_top(c, j, d, 4) < 0)
					return -1;
			}
			return 0;
		}
		if (p->n_shape != 1 && p->n_shape != n)
			return bad(c, "%zu shapes for %zu tops", p->n_shape, n);
		for (j = 0; j < n; j++)
			if (blob_shape_top(c, j, p->shape[p->n_shape == 1 ? 0 : j]) < 0)
				return -1;
	}
	return 0;
}

/* The shapes the net-level input:/input_shape/input_dim fields declare. */
static int
net_inputs(const struct graph *g, struct shape *s, caffeopt_error *err)
{
	const Caffe__NetParameter *net = g->m->net;
	size_t v;
	int k;

	for (v = 0; v < g->nver; v++) {
		const struct gver *gv = &g->ver[v];
		size_t i = (size_t)gv->slot;
		if (gv->producer >= 0)
			continue;
		if (net->n_input_shape) {
			const Caffe__BlobShape *bs;
			if (i >= net->n_input_shape || net->input_shape[i]->n_dim > MAXD)
				continue;
			bs = net->input_shape[i];
			for (k = 0; k < (int)bs->n_dim; k++)
				if (bs->dim[k] < 0 || bs->dim[k] > INT_MAX)
					return caffeopt_fail(err, g->m->prototxt_path, 0, 0, "input '%s': dim %lld out of range",
					                     gv->name, (long long)bs->dim[k]);
			s[v].ndim = (int)bs->n_dim;
			if (bs->n_dim)  /* an empty shape has no dim array */
				memcpy(s[v].d, bs->dim, bs->n_dim * sizeof *bs->dim);
			s[v].known = 1;
		} else if (net->n_input_dim >= 4 * (i + 1)) {
			for (k = 0; k < 4; k++) {
				if (net->input_dim[4 * i + k] < 0)
					return caffeopt_fail(err, g->m->prototxt_path, 0, 0, "input '%s': dim %d < 0",
					                     gv->name, (int)net->input_dim[4 * i + k]);
				s[v].d[k] = net->input_dim[4 * i + k];
			}
			s[v].ndim = 4;
			s[v].known = 1;
		}
	}
	return 0;
}

static int
infer_layer(struct infer *c)
{
	switch (c->g->layer[c->i].kind) {
	case KIND_INPUT:
		return input(c);
	case KIND_DATA:
	case KIND_IMAGE_DATA:
	case KIND_HDF5_DATA:
	case KIND_MEMORY_DATA:
	case KIND_WINDOW_DATA:
	case KIND_DUMMY_DATA:
	case KIND_ANNOTATED_DATA:
		return data(c);
	case KIND_CONVOLUTION:
		return convolution(c, 0, 0);
	case KIND_DECONVOLUTION:
		return convolution(c, 1, 0);
	case KIND_CONVOLUTION_DEPTHWISE:
	case KIND_DEPTHWISE_CONVOLUTION:
		return convolution(c, 0, 1);
	case KIND_INNER_PRODUCT:
		return inner_product(c);
	case KIND_EMBED:
		return embed(c);
	case KIND_POOLING:
		return pooling(c);
	case KIND_SPP:
		return spp(c);
	case KIND_LRN:
	case KIND_BATCH_NORM:
	case KIND_SCALE:
	case KIND_BIAS:
	case KIND_RELU:
	case KIND_PRELU:
	case KIND_ELU:
	case KIND_SIGMOID:
	case KIND_TANH:
	case KIND_ABSVAL:
	case KIND_POWER:
	case KIND_EXP:
	case KIND_LOG:
	case KIND_BNLL:
	case KIND_CLIP:
	case KIND_SWISH:
	case KIND_THRESHOLD:
	case KIND_DROPOUT:
	case KIND_SOFTMAX:
	case KIND_LOG_SOFTMAX:
	case KIND_MVN:
	case KIND_NORMALIZE:
		return same_shape(c);
	case KIND_ELTWISE:
		return eltwise(c);
	case KIND_CONCAT:
		return concat(c);
	case KIND_SLICE:
		return slice(c);
	case KIND_SPLIT:
		return split(c);
	case KIND_FLATTEN:
		return flatten(c);
	case KIND_RESHAPE:
		return reshape(c);
	case KIND_PERMUTE:
		return permute(c);
	case KIND_CROP:
		return crop(c);
	case KIND_PRIOR_BOX:
		return prior_box(c);
	case KIND_TILE:
		return tile(c);
	case KIND_REDUCTION:
		return reduction(c);
	case KIND_ARGMAX:
		return argmax(c);
	case KIND_ACCURACY:
	case KIND_SOFTMAX_LOSS:
	case KIND_EUCLIDEAN_LOSS:
	case KIND_SIGMOID_CE_LOSS:
	case KIND_HINGE_LOSS:
	case KIND_INFOGAIN_LOSS:
	case KIND_MULTINOMIAL_LOSS:
	case KIND_CONTRASTIVE_LOSS:
	case KIND_MULTIBOX_LOSS:
		return loss(c);
	case KIND_DETECTION_OUTPUT:   /* as many rows as detections survive */
	case KIND_DETECTION_EVALUATE:
	case KIND_SILENCE:
	case KIND_RNN:
	case KIND_LSTM:
	case KIND_PYTHON:
	case KIND_UNKNOWN:
	case KIND_COUNT:
		return 0;
	}
	return 0;
}

struct shape *
shape_infer(const struct graph *g, caffeopt_error *err)
{
	struct shape *s = calloc(g->nver + 1, sizeof *s);
	struct infer c;
	size_t i;

	if (!s) {
		caffeopt_fail(err, NULL, 0, 0, "out of memory");
		return NULL;
	}
	if (net_inputs(g, s, err) < 0)
		goto fail;
	c.g = g;
	c.s = s;
	c.err = err;
	for (i = 0; i < g->nlayer; i++) {
		c.i = (int)i;
		c.l = g->m->layers[i].p;
		if (infer_layer(&c) < 0)
			goto fail;
	}
	return s;
fail:
	free(s);
	return NULL;
}

/* ---- Weight shapes ---- */

static void
wshape(struct shape *o, int ndim, const int64_t *d)
{
	o->known = 1;
	o->ndim = ndim;
	memcpy(o->d, d, (size_t)ndim * sizeof *d);
}

static void
wshape1(struct shape *o, int64_t n)
{
	wshape(o, 1, &n);
}

int
shape_weights(const struct graph *g, const struct shape *shapes, int layer, struct shape *out, int max)
{
	const Caffe__LayerParameter *l = g->m->layers[layer].p;
	struct infer c;
	const struct shape *b;
	int n = kind_weight_blobs(l), k;
	int64_t d[MAXD];

	if (n < 0 || n > max)
		return -1;
	for (k = 0; k < n; k++)
		out[k].known = 0;
	c.g = g;
	c.s = (struct shape *)shapes;
	c.i = layer;
	c.l = l;
	c.err = NULL;
	if (n == 0 || !bottoms_known(&c, 1))
		return n;
	b = bottom(&c, 0);
	switch (g->layer[layer].kind) {
	case KIND_CONVOLUTION:
	case KIND_DECONVOLUTION:
	case KIND_CONVOLUTION_DEPTHWISE:
	case KIND_DEPTHWISE_CONVOLUTION: {
		enum kind kk = g->layer[layer].kind;
		int dw = kk == KIND_CONVOLUTION_DEPTHWISE || kk == KIND_DEPTHWISE_CONVOLUTION;
		struct conv_geom cg;
		if ((dw && b->ndim != 4) || conv_setup(&c, b, &cg, dw) != 0 || 2 + cg.nsp > MAXD)
			return n;
		/* Deconvolution's filters run from its output back to its input. */
		d[0] = kk == KIND_DECONVOLUTION ? cg.channels : cg.nout;
		d[1] = (kk == KIND_DECONVOLUTION ? cg.nout : cg.channels) / cg.group;
		memcpy(d + 2, cg.k, (size_t)cg.nsp * sizeof *d);
		wshape(&out[0], 2 + cg.nsp, d);
		if (n > 1)
			wshape1(&out[1], cg.nout);
		return n;
	}
	case KIND_INNER_PRODUCT: {
		const Caffe__InnerProductParameter *p = PARAM(l, inner_product_param, ip0);
		int a;
		if (canon(&c, p->axis, b->ndim, "axis", &a) < 0)
			return n;
		d[0] = p->transpose ? count_range(b, a, b->ndim) : (int64_t)p->num_output;
		d[1] = p->transpose ? (int64_t)p->num_output : count_range(b, a, b->ndim);
		wshape(&out[0], 2, d);
		if (n > 1)
			wshape1(&out[1], p->num_output);
		return n;
	}
	case KIND_EMBED: {
		const Caffe__EmbedParameter *p = PARAM(l, embed_param, embed0);
		d[0] = p->input_dim;
		d[1] = p->num_output;
		wshape(&out[0], 2, d);
		if (n > 1)
			wshape1(&out[1], p->num_output);
		return n;
	}
	case KIND_BATCH_NORM: {
		int64_t ch = b->ndim == 1 ? 1 : b->d[1];
		wshape1(&out[0], ch);     /* mean */
		wshape1(&out[1], ch);     /* variance */
		wshape1(&out[2], 1);      /* moving average factor */
		return n;
	}
	case KIND_SCALE:
	case KIND_BIAS: {
		int scale = g->layer[layer].kind == KIND_SCALE;
		int64_t axis = scale ? PARAM(l, scale_param, scale0)->axis : PARAM(l, bias_param, bias0)->axis;
		int64_t nax = scale ? PARAM(l, scale_param, scale0)->num_axes : PARAM(l, bias_param, bias0)->num_axes;
		struct shape ps;
		if (l->n_bottom >= 2) {
			/* Only Scale's bias is a blob: shaped like the second input. */
			if (bottoms_known(&c, 2))
				out[0] = *bottom(&c, 1);
			return n;
		}
		if (affine_param_shape(&c, b, axis, nax, &ps) < 0)
			return n;
		for (k = 0; k < n; k++)
			out[k] = ps;
		return n;
	}
	case KIND_PRELU: {
		int64_t ch;
		if (b->ndim < 2 || legacy(&c, b, 1, &ch) < 0)
			return n;
		if (PARAM(l, prelu_param, prelu0)->channel_shared)
			wshape(&out[0], 0, d);  /* Caffe's shared slope is a 0-axis blob */
		else
			wshape1(&out[0], ch);
		return n;
	}
	case KIND_NORMALIZE: {
		int64_t ch;
		if (b->ndim < 2 || legacy(&c, b, 1, &ch) < 0)
			return n;
		wshape1(&out[0], PARAM(l, norm_param, norm0)->channel_shared ? 1 : ch);
		return n;
	}
	default:
		return n;
	}
}

/* ---- Weights against shapes ---- */

/* The first NaN among the float and double fields of msg and its
 * submessages: 1 with its dotted field path in path[0..n), else 0.  A NaN
 * parameter (BatchNorm eps, Power scale) would fold into the weights. */
static int
nan_field(const ProtobufCMessage *msg, char *path, size_t n, int depth)
{
	const ProtobufCMessageDescriptor *d = msg->descriptor;
	size_t at = strlen(path), i, k, count;

	if (depth > 16)
		return 0;
	for (i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		const char *base = (const char *)msg + f->offset;
		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			count = *(const size_t *)((const char *)msg + f->quantifier_offset);
			base = *(const char *const *)base;
		} else if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
			count = *(const void *const *)base != NULL;
		} else if (f->label == PROTOBUF_C_LABEL_REQUIRED) {
			count = 1;
		} else {
			count = f->quantifier_offset &&
			        *(const protobuf_c_boolean *)((const char *)msg + f->quantifier_offset);
		}
		for (k = 0; k < count; k++) {
			int bad = 0;
			snprintf(path + at, n - at, "%s%s", at ? "." : "", f->name);
			if (f->type == PROTOBUF_C_TYPE_FLOAT)
				bad = isnan(((const float *)base)[k]);
			else if (f->type == PROTOBUF_C_TYPE_DOUBLE)
				bad = isnan(((const double *)base)[k]);
			else if (f->type == PROTOBUF_C_TYPE_MESSAGE && f->label == PROTOBUF_C_LABEL_REPEATED)
				bad = nan_field(((const ProtobufCMessage *const *)base)[k], path, n, depth + 1);
			else if (f->type == PROTOBUF_C_TYPE_MESSAGE)
				bad = nan_field(*(const ProtobufCMessage *const *)base, path, n, depth + 1);
			if (bad)
				return 1;
			path[at] = 0;
		}
	}
	return 0;
}

/* 1 when blob w has the dims of s, leading 1s on either side aside. */
static int
wblob_fits(const struct wblob *w, const struct shape *s)
{
	int a = 0, b = 0;

	while (a < w->ndim && w->shape[a] == 1)
		a++;
	while (b < s->ndim && s->d[b] == 1)
		b++;
	if (w->ndim - a != s->ndim - b)
		return 0;
	for (; a < w->ndim; a++, b++)
		if (w->shape[a] != s->d[b])
			return 0;
	return 1;
}

int
shape_check(caffeopt_model *m, caffeopt_error *err)
{
	struct graph *g = graph_build(m, NULL, 0, err);
	struct shape *s, want[MAXD];
	struct shape ws;
	char got[128], need[128];
	size_t i, k;
	int n, rc = 0;

	if (!g)
		return -1;
	if (!(s = shape_infer(g, err))) {
		graph_free(g);
		return -1;
	}
	for (i = 0; i < m->nlayers && rc == 0; i++) {
		const struct mlayer *ml = &m->layers[i];
		char field[256] = "";
		if (nan_field(&ml->p->base, field, sizeof field, 0)) {
			rc = caffeopt_fail(err, m->prototxt_path, 0, 0, "layer '%s' (%s): %s is NaN",
			                   ml->p->name, ml->p->type, field);
			break;
		}
		/* A NaN or infinity folds into every weight it meets: refuse it
		 * here, where the layer can still be named (a lazy blob's values
		 * are checked when they are read: wblob.c). */
		for (k = 0; k < ml->nblobs && rc == 0; k++)
			rc = wblob_check_finite(m, ml, k, err);
		/* The depthwise types are not BVLC's: their filters' shape
		 * depends on the implementation (normalize refuses the doubtful). */
		if (rc < 0 || ml->nblobs == 0 || g->layer[i].kind == KIND_CONVOLUTION_DEPTHWISE ||
		    g->layer[i].kind == KIND_DEPTHWISE_CONVOLUTION ||
		    (n = shape_weights(g, s, (int)i, want, MAXD)) <= 0)
			continue;
		for (k = 0; k < ml->nblobs && k < (size_t)n; k++) {
			if (!want[k].known || wblob_fits(&ml->blobs[k], &want[k]))
				continue;
			ws.known = 1;
			ws.ndim = ml->blobs[k].ndim;
			memcpy(ws.d, ml->blobs[k].shape, (size_t)ws.ndim * sizeof *ws.d);
			rc = caffeopt_fail(err, m->caffemodel_path, 0, 0,
			                   "layer '%s' (%s): weight blob %zu has shape %s, its inputs need %s",
			                   ml->p->name, ml->p->type, k, shape_format(&ws, got, sizeof got),
			                   shape_format(&want[k], need, sizeof need));
			break;
		}
	}
	free(s);
	graph_free(g);
	return rc;
}

/* ---- Small helpers ---- */

int64_t
shape_count(const struct shape *s)
{
	int64_t n = 1;
	int k;

	if (!s->known)
		return -1;
	for (k = 0; k < s->ndim; k++) {
		if (s->d[k] < 0 || (s->d[k] > 0 && n > INT64_MAX / s->d[k]))
			return -1;
		n *= s->d[k];
	}
	return n;
}

int
shape_equal(const struct shape *a, const struct shape *b)
{
	return a->known && b->known && a->ndim == b->ndim &&
	       memcmp(a->d, b->d, (size_t)a->ndim * sizeof *a->d) == 0;
}

char *
shape_format(const struct shape *s, char *buf, size_t n)
{
	size_t at = 0;
	int k;

	if (n == 0)
		return buf;
	buf[0] = 0;
	if (!s->known)
		snprintf(buf, n, "?");
	else if (s->ndim == 0)
		snprintf(buf, n, "scalar");
	else
		for (k = 0; k < s->ndim && at < n; k++) {
			int w = snprintf(buf + at, n - at, "%s%lld", k ? "x" : "", (long long)s->d[k]);
			if (w < 0)
				break;
			at += (size_t)w;
		}
	return buf;
}
