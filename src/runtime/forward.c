/* forward.c - cr_forward: run the layer table over the arena, one kernel
 * per op from a table; the small queries of runtime.h.
 * Requires: a net whose shapes and offsets were filled by a builder and
 * cr_plan.  Allocates nothing. */
#include <string.h>

#include "kernels.h"

static const struct {
	const char *name;
	cr_kernel run;
	int flags;
} ops[CR_OP_COUNT] = {
	[CR_OP_CONV] = {"Convolution", k_conv, 0},
	[CR_OP_DECONV] = {"Deconvolution", k_deconv, 0},
	[CR_OP_INNER_PRODUCT] = {"InnerProduct", k_inner_product, 0},
	[CR_OP_POOL] = {"Pooling", k_pool, 0},
	[CR_OP_RELU] = {"ReLU", k_relu, CR_INPLACE},
	[CR_OP_PRELU] = {"PReLU", k_prelu, CR_INPLACE},
	[CR_OP_ELU] = {"ELU", k_elu, CR_INPLACE},
	[CR_OP_SIGMOID] = {"Sigmoid", k_sigmoid, CR_INPLACE},
	[CR_OP_TANH] = {"TanH", k_tanh, CR_INPLACE},
	[CR_OP_ABSVAL] = {"AbsVal", k_absval, CR_INPLACE},
	[CR_OP_POWER] = {"Power", k_power, CR_INPLACE},
	[CR_OP_BNLL] = {"BNLL", k_bnll, CR_INPLACE},
	[CR_OP_CLIP] = {"Clip", k_clip, CR_INPLACE},
	[CR_OP_SOFTMAX] = {"Softmax", k_softmax, CR_INPLACE},
	[CR_OP_LRN] = {"LRN", k_lrn, 0},
	[CR_OP_BATCHNORM] = {"BatchNorm", k_batchnorm, CR_INPLACE},
	[CR_OP_SCALE] = {"Scale", k_scale, CR_INPLACE},
	[CR_OP_BIAS] = {"Bias", k_bias, CR_INPLACE},
	[CR_OP_ELTWISE] = {"Eltwise", k_eltwise, CR_INPLACE},
	[CR_OP_CONCAT] = {"Concat", k_concat, 0},
	[CR_OP_SLICE] = {"Slice", k_slice, 0},
	[CR_OP_SPLIT] = {"Split", k_view, CR_VIEW},
	[CR_OP_FLATTEN] = {"Flatten", k_view, CR_VIEW},
	[CR_OP_RESHAPE] = {"Reshape", k_view, CR_VIEW},
	[CR_OP_DROPOUT] = {"Dropout", k_view, CR_VIEW},
	[CR_OP_PERMUTE] = {"Permute", k_permute, 0},
	[CR_OP_CROP] = {"Crop", k_crop, 0},
	[CR_OP_NORMALIZE] = {"Normalize", k_normalize, CR_INPLACE},
	[CR_OP_PRIORBOX] = {"PriorBox", k_priorbox, 0},
	[CR_OP_DETECTION_OUTPUT] = {"DetectionOutput", k_detection_output, 0},
};

size_t
cr_arena_bytes(const cr_net *net)
{
	return (size_t)net->arena_floats * sizeof(float);
}

float *
cr_blob_data(const cr_net *net, float *arena, uint32_t b)
{
	return arena + net->blob[b].offset;
}

int
cr_find_blob(const cr_net *net, const char *name)
{
	uint32_t i;

	for (i = net->nblob; i-- > 0;)
		if (net->blob[i].name && strcmp(net->blob[i].name, name) == 0)
			return (int)i;
	return -1;
}

int
cr_forward_range(const cr_net *net, float *arena, uint32_t from, uint32_t to)
{
	uint32_t i;

	if (to > net->nlayer)
		to = net->nlayer;
	for (i = from; i < to; i++) {
		const cr_layer *l = &net->layer[i];
		if (l->op < 0 || l->op >= CR_OP_COUNT || !ops[l->op].run)
			return -1;
		ops[l->op].run(net, l, arena);
	}
	return 0;
}

int
cr_forward(const cr_net *net, float *arena)
{
	return cr_forward_range(net, arena, 0, net->nlayer);
}

uint32_t
cr_detections(const cr_blob *b, const float *y)
{
	uint32_t r, rows = b->count / 7;

	for (r = 0; r < rows; r++)
		if (y[7 * r] < 0)
			break;
	return r;
}

uint64_t
cr_layer_macs(const cr_net *net, uint32_t i)
{
	const cr_layer *l = &net->layer[i];
	const cr_blob *in, *out;

	if (l->nbottom == 0 || l->ntop == 0)
		return 0;
	in = &net->blob[l->bottom[0]];
	out = &net->blob[l->top[0]];
	switch (l->op) {
	case CR_OP_CONV:
		return (uint64_t)out->count * (uint64_t)(cr_dim(in, 1) / l->p.conv.group) *
		       (uint64_t)(l->p.conv.kh * l->p.conv.kw);
	case CR_OP_DECONV:
		return (uint64_t)in->count * (uint64_t)(cr_dim(out, 1) / l->p.conv.group) *
		       (uint64_t)(l->p.conv.kh * l->p.conv.kw);
	case CR_OP_INNER_PRODUCT:
		return (uint64_t)in->count * (uint64_t)out->shape[out->ndim - 1];
	case CR_OP_SCALE: case CR_OP_BIAS: case CR_OP_BATCHNORM: case CR_OP_ELTWISE:
		return out->count;
	default:
		return 0;
	}
}

const char *
cr_op_name(int op)
{
	return op >= 0 && op < CR_OP_COUNT && ops[op].name ? ops[op].name : "?";
}

int
cr_op_flags(int op)
{
	return op >= 0 && op < CR_OP_COUNT ? ops[op].flags : 0;
}
