/* test_runtime.c - the engine's kernels, GEMMs and memory plan on tiny
 * nets whose answers are worked out by hand (in the comments) or by the
 * plainest loops that define the op (conv, deconv: Caffe's formulas, one
 * multiply-add at a time).  The nets are built as the runtime's own
 * tables; one of them is written as `const` data, the way the embed
 * issue emits a net for firmware.
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "caffeopt/runtime.h"
#include "runtime/kernels.h"

#ifdef CR_USE_CBLAS
#include <cblas.h>
#endif

/* ---- a small builder over the runtime's tables ---- */

struct tnet {
	cr_net net;
	cr_layer layer[16];
	cr_blob blob[32];
	cr_weight weight[32];
	uint32_t idx[128];
	uint32_t input[4], output[8];
	uint32_t nidx, nweight;
	float *arena;
};

static struct tnet T;

static int
reset(void **state)
{
	(void)state;
	memset(&T, 0, sizeof T);
	T.net.layer = T.layer;
	T.net.blob = T.blob;
	T.net.input = T.input;
	T.net.output = T.output;
	return 0;
}

static int
release(void **state)
{
	(void)state;
	free(T.arena);
	T.arena = NULL;
	return 0;
}

/* A blob of n dims (then the dims). */
static uint32_t
blob(const char *name, int n, ...)
{
	cr_blob *b = &T.blob[T.net.nblob];
	va_list ap;
	int k;

	b->name = name;
	b->ndim = n;
	b->count = 1;
	va_start(ap, n);
	for (k = 0; k < n; k++) {
		b->shape[k] = va_arg(ap, int);
		b->count *= (uint32_t)b->shape[k];
	}
	va_end(ap);
	return T.net.nblob++;
}

static uint32_t *
list(int n, const uint32_t *v)
{
	uint32_t *at = &T.idx[T.nidx];

	memcpy(at, v, (size_t)n * sizeof *v);
	T.nidx += (uint32_t)n;
	return at;
}

/* A layer of op with nb bottoms and nt tops. */
static cr_layer *
layer(int op, int nb, const uint32_t *b, int nt, const uint32_t *t)
{
	cr_layer *l = &T.layer[T.net.nlayer++];

	l->name = cr_op_name(op);
	l->op = op;
	l->nbottom = (uint32_t)nb;
	l->ntop = (uint32_t)nt;
	l->bottom = list(nb, b);
	l->top = list(nt, t);
	l->weight = &T.weight[T.nweight];
	return l;
}

#define L1(op, b, t) layer(op, 1, (const uint32_t[]){b}, 1, (const uint32_t[]){t})

static void
weight(cr_layer *l, const float *data, uint32_t count)
{
	cr_weight *w = &T.weight[T.nweight++];

	w->data = data;
	w->count = count;
	w->ndim = 1;
	w->shape[0] = (int32_t)count;
	l->nweight++;
}

/* Plan with these inputs and outputs, fill the inputs, run. */
static void
run(int nin, const uint32_t *in, const float *const *data, int nout, const uint32_t *out)
{
	int k;

	T.net.ninput = (uint32_t)nin;
	T.net.noutput = (uint32_t)nout;
	memcpy(T.input, in, (size_t)nin * sizeof *in);
	memcpy(T.output, out, (size_t)nout * sizeof *out);
	assert_int_equal(cr_plan(T.layer, T.net.nlayer, T.blob, T.net.nblob, T.input, T.net.ninput,
	                         T.output, T.net.noutput, &T.net.arena_floats), 0);
	/* exactly the planned size, so ASan sees any write past it */
	T.arena = malloc(cr_arena_bytes(&T.net) + sizeof(float));
	assert_non_null(T.arena);
	for (k = 0; k < nin; k++)
		memcpy(cr_blob_data(&T.net, T.arena, in[k]), data[k], T.blob[in[k]].count * sizeof(float));
	assert_int_equal(cr_forward(&T.net, T.arena), 0);
}

static void
run1(uint32_t in, const float *data, uint32_t out)
{
	run(1, &in, &data, 1, &out);
}

static const float *
out(uint32_t b)
{
	return cr_blob_data(&T.net, T.arena, b);
}

static void
expect_near(const float *got, const float *want, size_t n, double tol)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!(fabs((double)got[i] - want[i]) <= tol * (1 + fabs(want[i]))))
			fail_msg("value %zu: got %.9g, want %.9g", i, got[i], want[i]);
}

static uint32_t seed = 1;

static float
rnd(void)
{
	seed = seed * 1664525u + 1013904223u;
	return (float)((seed >> 8) & 0xffff) / 32768.0f - 1.0f;
}

static float *
rnd_array(size_t n)
{
	float *v = malloc(n * sizeof *v);
	size_t i;

	assert_non_null(v);
	for (i = 0; i < n; i++)
		v[i] = rnd();
	return v;
}

/* ---- GEMM ---- */

/* C = alpha op(A) op(B) + beta C in double, the definition. */
static void
gemm_ref(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda,
         const float *B, int ldb, float beta, float *C, int ldc)
{
	int i, j, k;

	for (i = 0; i < M; i++)
		for (j = 0; j < N; j++) {
			double s = 0;
			for (k = 0; k < K; k++)
				s += (double)(ta ? A[k * lda + i] : A[i * lda + k]) *
				     (tb ? B[j * ldb + k] : B[k * ldb + j]);
			C[i * ldc + j] = (float)(alpha * s + (beta == 0 ? 0 : beta * C[i * ldc + j]));
		}
}

static void
gemm_portable(void **state)
{
	static const int sizes[][3] = {{1, 1, 1}, {5, 7, 3}, {4, 300, 130}, {13, 9, 17}, {64, 33, 1},
	                               {1, 1000, 64}, {37, 257, 129}};
	size_t s;
	int ta, tb;

	(void)state;
	for (s = 0; s < sizeof sizes / sizeof sizes[0]; s++)
		for (ta = 0; ta < 2; ta++)
			for (tb = 0; tb < 2; tb++) {
				int M = sizes[s][0], N = sizes[s][1], K = sizes[s][2];
				int lda = (ta ? M : K) + 3, ldb = (tb ? K : N) + 1, ldc = N + 2;
				float *A = rnd_array((size_t)(ta ? K : M) * lda);
				float *B = rnd_array((size_t)(tb ? N : K) * ldb);
				float *C0 = rnd_array((size_t)M * ldc), *C1 = malloc((size_t)M * ldc * sizeof *C1);
				float *C2 = malloc((size_t)M * ldc * sizeof *C2);
				assert_non_null(C1);
				assert_non_null(C2);
				memcpy(C1, C0, (size_t)M * ldc * sizeof *C1);
				memcpy(C2, C0, (size_t)M * ldc * sizeof *C2);
				gemm_ref(ta, tb, M, N, K, 0.75f, A, lda, B, ldb, 0.5f, C0, ldc);
				cr_sgemm_portable(ta, tb, M, N, K, 0.75f, A, lda, B, ldb, 0.5f, C1, ldc);
				expect_near(C1, C0, (size_t)M * ldc, 1e-5);
#ifdef CR_USE_CBLAS
				/* the portable GEMM against OpenBLAS's own */
				cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans,
				            tb ? CblasTrans : CblasNoTrans, M, N, K, 0.75f, A, lda, B, ldb,
				            0.5f, C2, ldc);
				expect_near(C1, C2, (size_t)M * ldc, 1e-5);
#endif
				/* beta 0 ignores C, even NaN */
				C1[0] = NAN;
				cr_sgemm_portable(ta, tb, M, N, K, 1, A, lda, B, ldb, 0, C1, ldc);
				cr_sgemm(ta, tb, M, N, K, 1, A, lda, B, ldb, 0, C2, ldc);
				expect_near(C1, C2, (size_t)M * ldc, 1e-5);
				free(A);
				free(B);
				free(C0);
				free(C1);
				free(C2);
			}
#ifdef CR_USE_CBLAS
	assert_string_equal(cr_gemm_name(), "openblas");
#else
	assert_string_equal(cr_gemm_name(), "portable");
#endif
}

/* ---- Convolution and Deconvolution ---- */

static void
conv_ref(const float *x, int N, int C, int H, int W, const float *w, const float *bias,
         const struct cr_conv *p, int OC, int OH, int OW, float *y)
{
	int Cg = C / p->group, OCg = OC / p->group, n, o, c, i, j, oh, ow;

	for (n = 0; n < N; n++)
		for (o = 0; o < OC; o++)
			for (oh = 0; oh < OH; oh++)
				for (ow = 0; ow < OW; ow++) {
					double s = bias ? bias[o] : 0;
					for (c = 0; c < Cg; c++)
						for (i = 0; i < p->kh; i++)
							for (j = 0; j < p->kw; j++) {
								int ih = oh * p->sh - p->ph + i * p->dh;
								int iw = ow * p->sw - p->pw + j * p->dw;
								int ci = (o / OCg) * Cg + c;
								if (ih < 0 || ih >= H || iw < 0 || iw >= W)
									continue;
								s += (double)w[((o * Cg + c) * p->kh + i) * p->kw + j] *
								     x[((n * C + ci) * H + ih) * W + iw];
							}
					y[((n * OC + o) * OH + oh) * OW + ow] = (float)s;
				}
}

static void
deconv_ref(const float *x, int N, int C, int H, int W, const float *w, const float *bias,
           const struct cr_conv *p, int OC, int OH, int OW, float *y)
{
	int Cg = C / p->group, OCg = OC / p->group, n, o, c, i, j, h, v;
	double *acc = calloc((size_t)N * OC * OH * OW, sizeof *acc);

	assert_non_null(acc);
	for (n = 0; n < N; n++)
		for (c = 0; c < C; c++)
			for (h = 0; h < H; h++)
				for (v = 0; v < W; v++)
					for (o = 0; o < OCg; o++)
						for (i = 0; i < p->kh; i++)
							for (j = 0; j < p->kw; j++) {
								int oh = h * p->sh - p->ph + i * p->dh;
								int ow = v * p->sw - p->pw + j * p->dw;
								int oc = (c / Cg) * OCg + o;
								if (oh < 0 || oh >= OH || ow < 0 || ow >= OW)
									continue;
								acc[((n * OC + oc) * OH + oh) * OW + ow] +=
									(double)x[((n * C + c) * H + h) * W + v] *
									w[((c * OCg + o) * p->kh + i) * p->kw + j];
							}
	for (n = 0; n < N * OC * OH * OW; n++)
		y[n] = (float)(acc[n] + (bias ? bias[(n / (OH * OW)) % OC] : 0));
	free(acc);
}

struct conv_case {
	int N, C, H, W, OC;
	struct cr_conv p;
	int deconv;
};

static void
conv_one(const struct conv_case *k)
{
	const struct cr_conv *p = &k->p;
	int OH, OW, Cw, OCw;
	float *x, *w, *bias, *want;
	uint32_t in, top;
	cr_layer *l;

	if (k->deconv) {
		OH = p->sh * (k->H - 1) + p->dh * (p->kh - 1) + 1 - 2 * p->ph;
		OW = p->sw * (k->W - 1) + p->dw * (p->kw - 1) + 1 - 2 * p->pw;
		Cw = k->C;
		OCw = k->OC / p->group;
	} else {
		OH = (k->H + 2 * p->ph - (p->dh * (p->kh - 1) + 1)) / p->sh + 1;
		OW = (k->W + 2 * p->pw - (p->dw * (p->kw - 1) + 1)) / p->sw + 1;
		Cw = k->OC;
		OCw = k->C / p->group;
	}
	reset(NULL);
	x = rnd_array((size_t)k->N * k->C * k->H * k->W);
	w = rnd_array((size_t)Cw * OCw * p->kh * p->kw);
	bias = rnd_array((size_t)k->OC);
	want = malloc((size_t)k->N * k->OC * OH * OW * sizeof *want);
	assert_non_null(want);
	in = blob("x", 4, k->N, k->C, k->H, k->W);
	top = blob("y", 4, k->N, k->OC, OH, OW);
	l = L1(k->deconv ? CR_OP_DECONV : CR_OP_CONV, in, top);
	l->p.conv = *p;
	weight(l, w, (uint32_t)(Cw * OCw * p->kh * p->kw));
	if (p->bias)
		weight(l, bias, (uint32_t)k->OC);
	l->nscratch = k->deconv ? deconv_scratch(&T.blob[in], &T.blob[top], p)
	                        : conv_scratch(&T.blob[in], &T.blob[top], p);
	run1(in, x, top);
	if (k->deconv)
		deconv_ref(x, k->N, k->C, k->H, k->W, w, p->bias ? bias : NULL, p, k->OC, OH, OW, want);
	else
		conv_ref(x, k->N, k->C, k->H, k->W, w, p->bias ? bias : NULL, p, k->OC, OH, OW, want);
	expect_near(out(top), want, (size_t)k->N * k->OC * OH * OW, 1e-5);
	free(x);
	free(w);
	free(bias);
	free(want);
	release(NULL);
}

static void
conv_cases(void **state)
{
	/* N C H W OC, {kh kw sh sw ph pw dh dw group bias} */
	static const struct conv_case cases[] = {
		{1, 1, 3, 3, 1, {2, 2, 1, 1, 0, 0, 1, 1, 1, 0}, 0},
		{2, 3, 9, 8, 4, {3, 3, 1, 1, 1, 1, 1, 1, 1, 1}, 0},    /* im2col */
		{1, 4, 7, 9, 6, {1, 1, 1, 1, 0, 0, 1, 1, 2, 1}, 0},    /* 1x1, no im2col, groups */
		{1, 4, 7, 9, 6, {1, 1, 2, 2, 0, 0, 1, 1, 1, 1}, 0},    /* 1x1 stride 2 */
		{2, 3, 17, 15, 5, {3, 5, 1, 2, 0, 2, 2, 1, 1, 1}, 0},  /* dilation, rectangles */
		{1, 4, 12, 11, 4, {3, 3, 3, 2, 2, 1, 3, 2, 1, 0}, 0},  /* stride 3 with dilation */
		{1, 6, 10, 10, 6, {3, 3, 1, 1, 1, 1, 1, 1, 6, 1}, 0},  /* depthwise, direct */
		{1, 6, 11, 10, 6, {3, 3, 2, 2, 1, 1, 1, 1, 6, 1}, 0},  /* depthwise stride 2 */
		{1, 3, 11, 10, 9, {5, 3, 3, 3, 2, 0, 1, 2, 3, 1}, 0},  /* depthwise x3, stride 3 */
		{1, 2, 200, 150, 3, {7, 7, 2, 2, 3, 3, 1, 1, 1, 1}, 0}, /* im2col in row chunks */
		{2, 4, 5, 4, 3, {4, 4, 2, 2, 1, 1, 1, 1, 1, 1}, 1},    /* deconv stride 2 */
		{1, 4, 5, 6, 6, {3, 3, 2, 3, 0, 1, 1, 1, 2, 0}, 1},    /* deconv groups */
		{1, 3, 4, 4, 2, {3, 2, 1, 1, 1, 0, 2, 1, 1, 1}, 1},    /* deconv dilation */
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++)
		conv_one(&cases[i]);
}

/* A 2x2 kernel over 1..9, worked by hand: [[1 2][3 4]] . window. */
static void
conv_by_hand(void **state)
{
	static const float x[] = {1, 2, 3, 4, 5, 6, 7, 8, 9}, w[] = {1, 0, 0, -1}, b[] = {10};
	/* y = 10 + x[i][j] - x[i+1][j+1] = 10 - 4 everywhere */
	static const float want[] = {6, 6, 6, 6};
	uint32_t in = blob("x", 4, 1, 1, 3, 3), top = blob("y", 4, 1, 1, 2, 2);
	cr_layer *l = L1(CR_OP_CONV, in, top);

	(void)state;
	l->p.conv = (struct cr_conv){2, 2, 1, 1, 0, 0, 1, 1, 1, 1};
	weight(l, w, 4);
	weight(l, b, 1);
	l->nscratch = conv_scratch(&T.blob[in], &T.blob[top], &l->p.conv);
	run1(in, x, top);
	expect_near(out(top), want, 4, 0);
	assert_int_equal(cr_layer_macs(&T.net, 0), 4 * 4);
}

/* InnerProduct, y = x W^T + b and, transposed, y = x W + b. */
static void
inner_product(void **state)
{
	static const float x[] = {1, 2, 3, -1, 0, 1};       /* M 2, K 3 */
	static const float w[] = {1, 0, 1, 0, 1, 0};        /* [N 2, K 3] */
	static const float wt[] = {1, 0, 0, 1, 1, 0};       /* [K 3, N 2], the same map */
	static const float b[] = {0.5f, -0.5f};
	static const float want[] = {4.5f, 1.5f, 0.5f, -0.5f};
	uint32_t in = blob("x", 2, 2, 3), y = blob("y", 2, 2, 2), yt = blob("yt", 2, 2, 2);
	cr_layer *l = L1(CR_OP_INNER_PRODUCT, in, y);

	(void)state;
	l->p.ip = (struct cr_inner_product){1, 0, 1};
	weight(l, w, 6);
	weight(l, b, 2);
	l = L1(CR_OP_INNER_PRODUCT, in, yt);
	l->p.ip = (struct cr_inner_product){1, 1, 1};
	weight(l, wt, 6);
	weight(l, b, 2);
	run(1, &in, (const float *const[]){x}, 2, (const uint32_t[]){y, yt});
	expect_near(out(y), want, 4, 1e-6);
	expect_near(out(yt), want, 4, 1e-6);
}

/* ---- Pooling ---- */

static void
pooling(void **state)
{
	static const float x[] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
	/* k2 s2 pad 1 over 3x3: ceil((3 + 2 - 2) / 2) + 1 = 3, and (3-1)*2 >= 3+1
	 * drops the last window: 2x2.  AVE divides by the window clipped to
	 * the padded input, 4 each: (1)/4, (2+3)/4, (4+7)/4, (5+6+8+9)/4. */
	static const float want_ave[] = {0.25f, 1.25f, 2.75f, 7};
	static const float want_max[] = {1, 3, 7, 9};
	/* k3 s2 pad 1: ceil((3 + 2 - 3) / 2) + 1 = 2.  AVE windows [-1, 2) and
	 * [1, 4) stay inside H + pad = 4, so each divides by 9; clipped to the
	 * input they sum 1+2+4+5, 2+3+5+6, 4+5+7+8, 5+6+8+9. */
	static const float want_ave3[] = {12.f / 9, 16.f / 9, 24.f / 9, 28.f / 9};
	uint32_t in = blob("x", 4, 1, 1, 3, 3), a = blob("a", 4, 1, 1, 2, 2), m = blob("m", 4, 1, 1, 2, 2);
	uint32_t a3 = blob("a3", 4, 1, 1, 2, 2), g = blob("g", 4, 1, 1, 1, 1);
	cr_layer *l;

	(void)state;
	l = L1(CR_OP_POOL, in, a);
	l->p.pool = (struct cr_pool){CR_POOL_AVE, 2, 2, 2, 2, 1, 1};
	l = L1(CR_OP_POOL, in, m);
	l->p.pool = (struct cr_pool){CR_POOL_MAX, 2, 2, 2, 2, 1, 1};
	l = L1(CR_OP_POOL, in, a3);
	l->p.pool = (struct cr_pool){CR_POOL_AVE, 3, 3, 2, 2, 1, 1};
	l = L1(CR_OP_POOL, in, g);
	l->p.pool = (struct cr_pool){CR_POOL_AVE, 3, 3, 1, 1, 0, 0};
	run(1, &in, (const float *const[]){x}, 4, (const uint32_t[]){a, m, a3, g});
	expect_near(out(a), want_ave, 4, 1e-6);
	expect_near(out(m), want_max, 4, 0);
	expect_near(out(a3), want_ave3, 4, 1e-6);
	assert_true(fabsf(out(g)[0] - 5) < 1e-6f);
}

/* ---- activations ---- */

static void
activations(void **state)
{
	static const float x[] = {-2, -0.5f, 0, 1.5f};
	static const float slopes[] = {0.25f}, slope2[] = {0.1f, 0.2f};
	uint32_t in = blob("x", 4, 1, 2, 1, 2);
	uint32_t r = blob("relu", 4, 1, 2, 1, 2), lk = blob("leaky", 4, 1, 2, 1, 2);
	uint32_t p1 = blob("prelu1", 4, 1, 2, 1, 2), p2 = blob("prelu2", 4, 1, 2, 1, 2);
	uint32_t e = blob("elu", 4, 1, 2, 1, 2), s = blob("sig", 4, 1, 2, 1, 2);
	uint32_t t = blob("tanh", 4, 1, 2, 1, 2), a = blob("abs", 4, 1, 2, 1, 2);
	uint32_t pw = blob("pow", 4, 1, 2, 1, 2), bn = blob("bnll", 4, 1, 2, 1, 2);
	uint32_t c = blob("clip", 4, 1, 2, 1, 2), pk = blob("const", 4, 1, 2, 1, 2);
	cr_layer *l;
	float want[4];
	int i;

	(void)state;
	L1(CR_OP_RELU, in, r);
	l = L1(CR_OP_RELU, in, lk);
	l->p.act.a = 0.5f;
	l = L1(CR_OP_PRELU, in, p1);
	l->p.prelu.channel_shared = 1;
	weight(l, slopes, 1);
	l = L1(CR_OP_PRELU, in, p2);
	weight(l, slope2, 2);
	l = L1(CR_OP_ELU, in, e);
	l->p.act.a = 2;
	L1(CR_OP_SIGMOID, in, s);
	L1(CR_OP_TANH, in, t);
	L1(CR_OP_ABSVAL, in, a);
	l = L1(CR_OP_POWER, a, pw);             /* (1 + 2|x|)^0.5 */
	l->p.act.a = 0.5f;
	l->p.act.b = 1;
	l->p.act.c = 2;
	L1(CR_OP_BNLL, in, bn);
	l = L1(CR_OP_CLIP, in, c);
	l->p.act.a = -1;
	l->p.act.b = 1;
	l = L1(CR_OP_POWER, in, pk);            /* scale 0: shift^power = 4^0.5 */
	l->p.act.a = 0.5f;
	l->p.act.b = 4;
	l->p.act.c = 0;
	run(1, &in, (const float *const[]){x}, 12,
	    (const uint32_t[]){r, lk, p1, p2, e, s, t, a, pw, bn, c, pk});
	expect_near(out(r), (const float[]){0, 0, 0, 1.5f}, 4, 0);
	expect_near(out(lk), (const float[]){-1, -0.25f, 0, 1.5f}, 4, 0);
	expect_near(out(p1), (const float[]){-0.5f, -0.125f, 0, 1.5f}, 4, 0);
	/* channel 0 = {-2, -0.5} slope 0.1, channel 1 = {0, 1.5} slope 0.2 */
	expect_near(out(p2), (const float[]){-0.2f, -0.05f, 0, 1.5f}, 4, 1e-7);
	for (i = 0; i < 4; i++)
		want[i] = x[i] > 0 ? x[i] : 2 * (expf(x[i]) - 1);
	expect_near(out(e), want, 4, 1e-6);
	for (i = 0; i < 4; i++)
		want[i] = 1 / (1 + expf(-x[i]));
	expect_near(out(s), want, 4, 1e-6);
	for (i = 0; i < 4; i++)
		want[i] = tanhf(x[i]);
	expect_near(out(t), want, 4, 1e-6);
	expect_near(out(a), (const float[]){2, 0.5f, 0, 1.5f}, 4, 0);
	expect_near(out(pw), (const float[]){sqrtf(5), sqrtf(2), 1, 2}, 4, 1e-6);
	for (i = 0; i < 4; i++)
		want[i] = logf(1 + expf(x[i]));
	expect_near(out(bn), want, 4, 1e-6);
	expect_near(out(c), (const float[]){-1, -0.5f, 0, 1}, 4, 0);
	expect_near(out(pk), (const float[]){2, 2, 2, 2}, 4, 0);
}

/* ---- Softmax, LRN, Normalize ---- */

static void
softmax_axis(void **state)
{
	/* [1, 2, 3]: axis 1 pairs x[0][j] with x[1][j]; axis 2 runs along rows */
	static const float x[] = {0, 1, 2, 0, 0, 0};
	uint32_t in = blob("x", 3, 1, 2, 3), a1 = blob("a1", 3, 1, 2, 3), a2 = blob("a2", 3, 1, 2, 3);
	float e1 = expf(1), e2 = expf(2), s = 1 + e1 + e2;
	cr_layer *l;

	(void)state;
	l = L1(CR_OP_SOFTMAX, in, a1);
	l->p.axis.axis = 1;
	l->nscratch = softmax_scratch(&T.blob[in], 1);
	l = L1(CR_OP_SOFTMAX, in, a2);
	l->p.axis.axis = 2;
	l->nscratch = softmax_scratch(&T.blob[in], 2);
	run(1, &in, (const float *const[]){x}, 2, (const uint32_t[]){a1, a2});
	expect_near(out(a1), (const float[]){0.5f, e1 / (1 + e1), e2 / (1 + e2), 0.5f, 1 / (1 + e1),
	                                      1 / (1 + e2)}, 6, 1e-6);
	expect_near(out(a2), (const float[]){1 / s, e1 / s, e2 / s, 1.f / 3, 1.f / 3, 1.f / 3}, 6, 1e-6);
}

static void
lrn(void **state)
{
	/* ACROSS, size 3, alpha 3 (alpha/size 1), beta 1, k 2 over x = 1, 2, 3:
	 * c0 window {0,1}: 2 + 1 + 4 = 7; c1 {0,1,2}: 2 + 14 = 16; c2 {1,2}:
	 * 2 + 13 = 15.  WITHIN over 2x2 = 1..4, size 3 (pad 1), alpha 9
	 * (alpha/9 = 1), beta 1: every window covers all four: 1 + 30 = 31
	 * (Caffe's shift is 1; k is not used). */
	static const float x[] = {1, 2, 3}, x2[] = {1, 2, 3, 4};
	uint32_t in = blob("x", 4, 1, 3, 1, 1), a = blob("a", 4, 1, 3, 1, 1);
	uint32_t in2 = blob("x2", 4, 1, 1, 2, 2), w = blob("w", 4, 1, 1, 2, 2);
	cr_layer *l;

	(void)state;
	l = L1(CR_OP_LRN, in, a);
	l->p.lrn = (struct cr_lrn){3, CR_LRN_ACROSS, 3, 1, 2};
	l->nscratch = lrn_scratch(&T.blob[in], &l->p.lrn);
	l = L1(CR_OP_LRN, in2, w);
	l->p.lrn = (struct cr_lrn){3, CR_LRN_WITHIN, 9, 1, 5};
	l->nscratch = lrn_scratch(&T.blob[in2], &l->p.lrn);
	run(2, (const uint32_t[]){in, in2}, (const float *const[]){x, x2}, 2, (const uint32_t[]){a, w});
	expect_near(out(a), (const float[]){1.f / 7, 2.f / 16, 3.f / 15}, 3, 1e-6);
	expect_near(out(w), (const float[]){1.f / 31, 2.f / 31, 3.f / 31, 4.f / 31}, 4, 1e-6);
}

static void
normalize(void **state)
{
	/* [1, 2, 1, 2]: positions (3, 4) and (0, 0) over two channels. */
	static const float x[] = {3, 0, 4, 0}, sc[] = {2, 10}, one[] = {1};
	uint32_t in = blob("x", 4, 1, 2, 1, 2), a = blob("a", 4, 1, 2, 1, 2), s = blob("s", 4, 1, 2, 1, 2);
	cr_layer *l;

	(void)state;
	/* across spatial, shared scale 1: x / sqrt(25 + eps) */
	l = L1(CR_OP_NORMALIZE, in, a);
	l->p.normalize = (struct cr_normalize){1, 1, 0};
	weight(l, one, 1);
	/* per position, per-channel scale: (3,4)/5 * (2,10); (0,0)/sqrt(eps) = 0 */
	l = L1(CR_OP_NORMALIZE, in, s);
	l->p.normalize = (struct cr_normalize){0, 0, 1e-10f};
	l->nscratch = normalize_scratch(&T.blob[in], &l->p.normalize);
	weight(l, sc, 2);
	run1(in, x, a);
	expect_near(out(a), (const float[]){0.6f, 0, 0.8f, 0}, 4, 1e-6);
	expect_near(out(s), (const float[]){1.2f, 0, 8, 0}, 4, 1e-6);
}

/* ---- BatchNorm, Scale, Bias, Eltwise ---- */

static void
affine(void **state)
{
	static const float x[] = {1, 3, 5, 7};          /* [1, 2, 2] */
	/* stored mean 2, 4 and variance 8, 2 with factor 2: mean 1, 2 and
	 * variance 4, 1; eps 0: (x - m) / sqrt(v) */
	static const float mean[] = {2, 4}, var[] = {8, 2}, factor[] = {2};
	static const float s[] = {2, -1}, b[] = {0.5f, 1};
	uint32_t in = blob("x", 3, 1, 2, 2), bn = blob("bn", 3, 1, 2, 2), sc = blob("sc", 3, 1, 2, 2);
	uint32_t bi = blob("bi", 3, 1, 2, 2), f = blob("f", 1, 2), s2 = blob("s2", 3, 1, 2, 2);
	uint32_t bi2 = blob("bi2", 3, 1, 2, 2);
	cr_layer *l;

	(void)state;
	l = L1(CR_OP_BATCHNORM, in, bn);
	l->p.batchnorm.eps = 0;
	weight(l, mean, 2);
	weight(l, var, 2);
	weight(l, factor, 1);
	l = L1(CR_OP_SCALE, in, sc);
	l->p.scale = (struct cr_scale){1, 0, 1};
	weight(l, s, 2);
	weight(l, b, 2);
	l = L1(CR_OP_BIAS, in, bi);
	l->p.scale = (struct cr_scale){1, 0, 0};
	weight(l, b, 2);
	/* the factor as a second bottom, made from x by a view of 2 values */
	l = layer(CR_OP_SCALE, 2, (const uint32_t[]){in, f}, 1, (const uint32_t[]){s2});
	l->p.scale = (struct cr_scale){1, 1, 0};
	l = layer(CR_OP_BIAS, 2, (const uint32_t[]){in, f}, 1, (const uint32_t[]){bi2});
	l->p.scale = (struct cr_scale){1, 1, 0};
	run(2, (const uint32_t[]){in, f}, (const float *const[]){x, s}, 5,
	    (const uint32_t[]){bn, sc, bi, s2, bi2});
	expect_near(out(bn), (const float[]){0, 1, 3, 5}, 4, 1e-6);
	expect_near(out(sc), (const float[]){2.5f, 6.5f, -4, -6}, 4, 1e-6);
	expect_near(out(bi), (const float[]){1.5f, 3.5f, 6, 8}, 4, 1e-6);
	expect_near(out(s2), (const float[]){2, 6, -5, -7}, 4, 1e-6);
	expect_near(out(bi2), (const float[]){3, 5, 4, 6}, 4, 1e-6);
}

static void
eltwise(void **state)
{
	static const float a[] = {1, -2, 3}, b[] = {2, 2, -1}, c[] = {0, 5, 1};
	static const float coeff[] = {0.5f, -1, 2};
	uint32_t A = blob("a", 1, 3), B = blob("b", 1, 3), C = blob("c", 1, 3);
	uint32_t sum = blob("sum", 1, 3), prod = blob("prod", 1, 3), mx = blob("max", 1, 3);
	uint32_t plain = blob("plain", 1, 3);
	const uint32_t abc[] = {A, B, C};
	cr_layer *l;

	(void)state;
	l = layer(CR_OP_ELTWISE, 3, abc, 1, &sum);
	l->p.eltwise = (struct cr_eltwise){CR_ELTWISE_SUM, coeff};
	l = layer(CR_OP_ELTWISE, 3, abc, 1, &prod);
	l->p.eltwise = (struct cr_eltwise){CR_ELTWISE_PROD, NULL};
	l = layer(CR_OP_ELTWISE, 3, abc, 1, &mx);
	l->p.eltwise = (struct cr_eltwise){CR_ELTWISE_MAX, NULL};
	l = layer(CR_OP_ELTWISE, 2, abc, 1, &plain);
	l->p.eltwise = (struct cr_eltwise){CR_ELTWISE_SUM, NULL};
	run(3, abc, (const float *const[]){a, b, c}, 4, (const uint32_t[]){sum, prod, mx, plain});
	expect_near(out(sum), (const float[]){-1.5f, 7, 4.5f}, 3, 1e-6);
	expect_near(out(prod), (const float[]){0, -20, -3}, 3, 0);
	expect_near(out(mx), (const float[]){2, 5, 3}, 3, 0);
	expect_near(out(plain), (const float[]){3, 0, 2}, 3, 0);
}

/* ---- data movement ---- */

static void
layout(void **state)
{
	/* x [1, 2, 2, 3] = 0..11 */
	float x[12];
	uint32_t in = blob("x", 4, 1, 2, 2, 3);
	uint32_t perm = blob("perm", 4, 1, 2, 3, 2);          /* order 0 2 3 1 */
	uint32_t s0 = blob("s0", 4, 1, 2, 2, 1), s1 = blob("s1", 4, 1, 2, 2, 2);  /* slice axis 3 at 1 */
	uint32_t cat = blob("cat", 4, 1, 2, 2, 3);            /* concat s1, s0 on axis 3 */
	uint32_t crop = blob("crop", 4, 1, 2, 1, 2);          /* offsets 1, 1 from axis 2 */
	uint32_t flat = blob("flat", 2, 1, 12);
	cr_layer *l;
	int i;

	(void)state;
	for (i = 0; i < 12; i++)
		x[i] = (float)i;
	l = L1(CR_OP_PERMUTE, in, perm);
	l->p.permute = (struct cr_permute){{0, 2, 3, 1}};
	l = layer(CR_OP_SLICE, 1, &in, 2, (const uint32_t[]){s0, s1});
	l->p.axis.axis = 3;
	l = layer(CR_OP_CONCAT, 2, (const uint32_t[]){s1, s0}, 1, &cat);
	l->p.axis.axis = 3;
	l = L1(CR_OP_CROP, in, crop);
	l->p.crop = (struct cr_crop){{0, 0, 1, 1}};
	L1(CR_OP_FLATTEN, cat, flat);
	run(1, &in, (const float *const[]){x}, 4, (const uint32_t[]){perm, crop, flat, s0});
	/* NHWC: (h, w, c) -> x[c][h][w] */
	expect_near(out(perm), (const float[]){0, 6, 1, 7, 2, 8, 3, 9, 4, 10, 5, 11}, 12, 0);
	expect_near(out(crop), (const float[]){4, 5, 10, 11}, 4, 0);
	expect_near(out(flat), (const float[]){1, 2, 0, 4, 5, 3, 7, 8, 6, 10, 11, 9}, 12, 0);
	expect_near(out(s0), (const float[]){0, 3, 6, 9}, 4, 0);
	/* a view shares its bottom's storage */
	assert_int_equal(T.blob[flat].offset, T.blob[cat].offset);
}

/* ---- SSD ---- */

static void
priorbox(void **state)
{
	/* one 1x1 feature position over a 10x10 image, offset 0.5, step 10:
	 * centre (5, 5).  min 4: [3,3,7,7]/10; max 9: side sqrt(36) = 6:
	 * [2,2,8,8]/10; ratio 4: w 4*2 = 8, h 4/2 = 2: [1,4,9,6]/10; flipped
	 * ratio 1/4: [4,1,6,9]/10. */
	static const float want[] = {0.3f, 0.3f, 0.7f, 0.7f, 0.2f, 0.2f, 0.8f, 0.8f,
	                             0.1f, 0.4f, 0.9f, 0.6f, 0.4f, 0.1f, 0.6f, 0.9f};
	float f[1] = {0};
	uint32_t in = blob("f", 4, 1, 1, 1, 1), pb = blob("pb", 3, 1, 2, 16);
	cr_layer *l = L1(CR_OP_PRIORBOX, in, pb);
	int i;

	(void)state;
	l->p.priorbox.nmin = 1;
	l->p.priorbox.min_size[0] = 4;
	l->p.priorbox.nmax = 1;
	l->p.priorbox.max_size[0] = 9;
	l->p.priorbox.nar = 3;
	l->p.priorbox.ar[0] = 1;
	l->p.priorbox.ar[1] = 4;
	l->p.priorbox.ar[2] = 0.25f;
	l->p.priorbox.nvariance = 4;
	l->p.priorbox.variance[0] = 0.1f;
	l->p.priorbox.variance[1] = 0.1f;
	l->p.priorbox.variance[2] = 0.2f;
	l->p.priorbox.variance[3] = 0.2f;
	l->p.priorbox.img_w = l->p.priorbox.img_h = 10;
	l->p.priorbox.step_w = l->p.priorbox.step_h = 10;
	l->p.priorbox.offset = 0.5f;
	run1(in, f, pb);
	expect_near(out(pb), want, 16, 1e-6);
	for (i = 0; i < 16; i++)
		assert_true(fabsf(out(pb)[16 + i] - (i % 4 < 2 ? 0.1f : 0.2f)) < 1e-7f);
}

static void
detection_output(void **state)
{
	/* Three priors: two the same box, one apart.  CORNER code with unit
	 * variances, zero offsets: boxes are the priors.  Classes: 0
	 * background, 1 and 2.  Class 1 scores 0.9, 0.8, 0.2: NMS keeps prior
	 * 0, drops prior 1 (IoU 1), keeps prior 2 (no overlap); the threshold
	 * 0.25 then drops prior 2.  Class 2 scores 0.05, 0.1, 0.7: keeps prior
	 * 2 only.  keep_top_k 5: rows (class 1, 0.9, prior 0), (class 2, 0.7,
	 * prior 2), then padding rows of -1. */
	static const float loc[12] = {0};
	static const float conf[] = {0.05f, 0.9f, 0.05f, 0.1f, 0.8f, 0.1f, 0.1f, 0.2f, 0.7f};
	static const float prior[] = {0, 0, 0.5f, 0.5f, 0, 0, 0.5f, 0.5f, 0.6f, 0.6f, 1, 1,
	                              1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1};
	static const float want[] = {0, 1, 0.9f, 0, 0, 0.5f, 0.5f, 0, 2, 0.7f, 0.6f, 0.6f, 1, 1};
	uint32_t L = blob("loc", 2, 1, 12), C = blob("conf", 2, 1, 9), P = blob("prior", 3, 1, 2, 12);
	uint32_t det = blob("det", 4, 1, 1, 5, 7);
	cr_layer *l = layer(CR_OP_DETECTION_OUTPUT, 3, (const uint32_t[]){L, C, P}, 1, &det);
	int i;

	(void)state;
	l->p.detection = (struct cr_detection_output){3, 1, 0, CR_CODE_CORNER, 0, 5, -1, 0.25f, 0.45f, 1};
	assert_int_equal(detection_rows(&l->p.detection, 3), 5);
	l->nscratch = detection_scratch(&l->p.detection, 3);
	run(3, (const uint32_t[]){L, C, P}, (const float *const[]){loc, conf, prior}, 1, &det);
	expect_near(out(det), want, 14, 1e-6);
	for (i = 14; i < 35; i++)
		assert_true(out(det)[i] == -1);
	assert_int_equal(cr_detections(&T.blob[det], out(det)), 2);
}

/* ---- the plan ---- */

/* conv -> relu (in place) -> conv, plus a split whose one branch an
 * in-place layer must not overwrite while the other still reads it. */
static void
plan(void **state)
{
	static const float w[4] = {1, 1, 1, 1};
	float x[4] = {1, -2, 3, -4};
	uint32_t in = blob("x", 4, 1, 4, 1, 1), a = blob("a", 4, 1, 4, 1, 1);
	uint32_t r = blob("a", 4, 1, 4, 1, 1), s1 = blob("s1", 4, 1, 4, 1, 1);
	uint32_t s2 = blob("s2", 4, 1, 4, 1, 1), n = blob("n", 4, 1, 4, 1, 1);
	uint32_t e = blob("e", 4, 1, 4, 1, 1);
	cr_layer *l;

	(void)state;
	l = L1(CR_OP_SCALE, in, a);       /* a = x */
	l->p.scale = (struct cr_scale){1, 0, 0};
	weight(l, w, 4);
	L1(CR_OP_RELU, a, r);             /* in place: a dies here */
	layer(CR_OP_SPLIT, 1, &r, 2, (const uint32_t[]){s1, s2});
	l = L1(CR_OP_POWER, s1, n);       /* -s1: may not overwrite s2 */
	l->p.act.a = 1;                   /* power 1, shift 0, scale -1 */
	l->p.act.b = 0;
	l->p.act.c = -1;
	l = layer(CR_OP_ELTWISE, 2, (const uint32_t[]){n, s2}, 1, &e);
	l->p.eltwise = (struct cr_eltwise){CR_ELTWISE_SUM, NULL};
	run1(in, x, e);
	assert_int_equal(T.blob[r].offset, T.blob[a].offset);
	assert_int_equal(T.blob[s1].offset, T.blob[r].offset);
	assert_int_equal(T.blob[s2].offset, T.blob[r].offset);
	assert_int_not_equal(T.blob[n].offset, T.blob[s1].offset);
	/* -relu(x) + relu(x) */
	expect_near(out(e), (const float[]){0, 0, 0, 0}, 4, 0);
	assert_true(T.net.arena_floats <= 3 * CR_ALIGN);
	assert_int_equal(cr_find_blob(&T.net, "a"), (int)r);
	assert_int_equal(cr_find_blob(&T.net, "nope"), -1);
}

/* A net as the embed issue emits it: every table const, offsets fixed.
 * conv 1x1 (w 2, b 1) -> in-place ReLU, over a 2-value input. */
static const float k_w[] = {2}, k_b[] = {1};
static const cr_weight k_weights[] = {{k_w, 1, 4, {1, 1, 1, 1}}, {k_b, 1, 1, {1}}};
static const uint32_t k_b0[] = {0}, k_t0[] = {1}, k_t1[] = {2};
static const cr_layer k_layers[] = {
	{.name = "conv", .op = CR_OP_CONV, .nbottom = 1, .ntop = 1, .nweight = 2, .bottom = k_b0,
	 .top = k_t0, .weight = k_weights, .p.conv = {1, 1, 1, 1, 0, 0, 1, 1, 1, 1}},
	{.name = "relu", .op = CR_OP_RELU, .nbottom = 1, .ntop = 1, .bottom = k_t0, .top = k_t1},
};
static const cr_blob k_blobs[] = {
	{"data", 4, {1, 1, 1, 2}, 2, 0},
	{"conv", 4, {1, 1, 1, 2}, 2, 16},
	{"conv", 4, {1, 1, 1, 2}, 2, 16},
};
static const uint32_t k_in[] = {0}, k_out[] = {2};
static const cr_net k_net = {"const", 2, 3, 1, 1, k_layers, k_blobs, k_in, k_out, 32, 32};

static void
const_net(void **state)
{
	float arena[32];

	(void)state;
	assert_int_equal(cr_arena_bytes(&k_net), sizeof arena);
	arena[0] = -3;
	arena[1] = 4;
	assert_int_equal(cr_forward(&k_net, arena), 0);
	/* relu(2x + 1) */
	assert_true(cr_blob_data(&k_net, arena, k_net.output[0])[0] == 0);
	assert_true(cr_blob_data(&k_net, arena, k_net.output[0])[1] == 9);
}

static void
op_names(void **state)
{
	int op;

	(void)state;
	for (op = 0; op < CR_OP_COUNT; op++)
		assert_string_not_equal(cr_op_name(op), "?");
	assert_string_equal(cr_op_name(CR_OP_COUNT), "?");
	assert_int_equal(cr_op_flags(CR_OP_SPLIT), CR_VIEW);
	assert_int_equal(cr_op_flags(CR_OP_RELU), CR_INPLACE);
	assert_int_equal(cr_op_flags(CR_OP_CONV), 0);
}

#define CASE(f) cmocka_unit_test_setup_teardown(f, reset, release)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		CASE(gemm_portable),
		CASE(conv_cases),
		CASE(conv_by_hand),
		CASE(inner_product),
		CASE(pooling),
		CASE(activations),
		CASE(softmax_axis),
		CASE(lrn),
		CASE(normalize),
		CASE(affine),
		CASE(eltwise),
		CASE(layout),
		CASE(priorbox),
		CASE(detection_output),
		CASE(plan),
		CASE(const_net),
		CASE(op_names),
	};

	cr_set_threads(1);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
