/* kernels.h - the engine's kernels, grouped by file in the order a typical
 * net runs them.  Internal to src/runtime/.
 *
 * A kernel runs one layer over the arena: it reads its bottoms and weights
 * and writes its tops and scratch, allocating nothing.  Shapes come from
 * the blob table, which the builder checked; kernels trust it.  A kernel
 * whose op allows CR_INPLACE must give the right answer when top 0 and
 * bottom 0 are the same storage.
 */
#ifndef CAFFEOPT_RUNTIME_KERNELS_H
#define CAFFEOPT_RUNTIME_KERNELS_H

#include <stdint.h>
#include "caffeopt/runtime.h"

typedef void (*cr_kernel)(const cr_net *net, const cr_layer *l, float *arena);

/* Blob i of the layer's bottoms / tops, and its table entry. */
#define BOT(i) (arena + net->blob[l->bottom[i]].offset)
#define TOP(i) (arena + net->blob[l->top[i]].offset)
#define BOTB(i) (&net->blob[l->bottom[i]])
#define TOPB(i) (&net->blob[l->top[i]])
#define SCRATCH (arena + l->scratch)

/* Product of shape[from, to). */
static inline uint32_t
cr_count(const cr_blob *b, int from, int to)
{
	uint32_t n = 1;
	int i;

	for (i = from; i < to; i++)
		n *= (uint32_t)b->shape[i];
	return n;
}

/* Dim i of a blob seen as 4-D NCHW (missing trailing dims are 1). */
static inline int32_t
cr_dim(const cr_blob *b, int i)
{
	return i < b->ndim ? b->shape[i] : 1;
}

/* conv.c */
void k_conv(const cr_net *net, const cr_layer *l, float *arena);
void k_deconv(const cr_net *net, const cr_layer *l, float *arena);
void k_inner_product(const cr_net *net, const cr_layer *l, float *arena);
/* The scratch floats a Convolution / Deconvolution needs. */
uint32_t conv_scratch(const cr_blob *in, const cr_blob *out, const struct cr_conv *p);
uint32_t deconv_scratch(const cr_blob *in, const cr_blob *out, const struct cr_conv *p);

/* pool.c */
void k_pool(const cr_net *net, const cr_layer *l, float *arena);

/* activation.c */
void k_relu(const cr_net *net, const cr_layer *l, float *arena);
void k_prelu(const cr_net *net, const cr_layer *l, float *arena);
void k_elu(const cr_net *net, const cr_layer *l, float *arena);
void k_sigmoid(const cr_net *net, const cr_layer *l, float *arena);
void k_tanh(const cr_net *net, const cr_layer *l, float *arena);
void k_absval(const cr_net *net, const cr_layer *l, float *arena);
void k_power(const cr_net *net, const cr_layer *l, float *arena);
void k_bnll(const cr_net *net, const cr_layer *l, float *arena);
void k_clip(const cr_net *net, const cr_layer *l, float *arena);

/* channelwise.c */
void k_batchnorm(const cr_net *net, const cr_layer *l, float *arena);
void k_scale(const cr_net *net, const cr_layer *l, float *arena);
void k_bias(const cr_net *net, const cr_layer *l, float *arena);
void k_eltwise(const cr_net *net, const cr_layer *l, float *arena);

/* normalize.c */
void k_softmax(const cr_net *net, const cr_layer *l, float *arena);
void k_lrn(const cr_net *net, const cr_layer *l, float *arena);
void k_normalize(const cr_net *net, const cr_layer *l, float *arena);
uint32_t lrn_scratch(const cr_blob *in, const struct cr_lrn *p);
uint32_t softmax_scratch(const cr_blob *in, int axis);
uint32_t normalize_scratch(const cr_blob *in, const struct cr_normalize *p);

/* layout.c */
void k_view(const cr_net *net, const cr_layer *l, float *arena);
void k_concat(const cr_net *net, const cr_layer *l, float *arena);
void k_slice(const cr_net *net, const cr_layer *l, float *arena);
void k_permute(const cr_net *net, const cr_layer *l, float *arena);
void k_crop(const cr_net *net, const cr_layer *l, float *arena);

/* ssd.c */
void k_priorbox(const cr_net *net, const cr_layer *l, float *arena);
void k_detection_output(const cr_net *net, const cr_layer *l, float *arena);
/* Rows of the DetectionOutput top per image, and its scratch floats. */
uint32_t detection_rows(const struct cr_detection_output *p, uint32_t priors);
uint32_t detection_scratch(const struct cr_detection_output *p, uint32_t priors);

#endif
