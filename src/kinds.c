/* kinds.c - lookups in the layer kind table. */
#include <string.h>

#include "kinds.h"

static const struct {
	const char *name;
	int flags;
} kinds[KIND_COUNT] = {
	[KIND_UNKNOWN] = {"", 0},
#define KIND(id, name, flags) [KIND_##id] = {name, flags},
#include "kinds.def"
#undef KIND
};

enum kind
kind_of(const char *type)
{
	int k;

	if (!type)
		return KIND_UNKNOWN;
	for (k = 1; k < KIND_COUNT; k++)
		if (strcmp(kinds[k].name, type) == 0)
			return (enum kind)k;
	return KIND_UNKNOWN;
}

int
kind_flags(enum kind k)
{
	return kinds[k].flags;
}

int
kind_weight_blobs(const Caffe__LayerParameter *l)
{
	switch (kind_of(l->type)) {
	case KIND_CONVOLUTION:
	case KIND_DECONVOLUTION:
	case KIND_CONVOLUTION_DEPTHWISE:
	case KIND_DEPTHWISE_CONVOLUTION:
		return 1 + (!l->convolution_param || !l->convolution_param->has_bias_term ||
		            l->convolution_param->bias_term);
	case KIND_INNER_PRODUCT:
		return 1 + (!l->inner_product_param || !l->inner_product_param->has_bias_term ||
		            l->inner_product_param->bias_term);
	case KIND_EMBED:
		return 1 + (!l->embed_param || !l->embed_param->has_bias_term ||
		            l->embed_param->bias_term);
	case KIND_BATCH_NORM:
		return 3;
	case KIND_SCALE:
		return (l->n_bottom == 1) +
		       (l->scale_param && l->scale_param->has_bias_term && l->scale_param->bias_term);
	case KIND_BIAS:
		return l->n_bottom == 1;
	case KIND_PRELU:
		return 1;
	case KIND_NORMALIZE:
		return 1;
	case KIND_UNKNOWN:
	case KIND_PYTHON:
	case KIND_RNN:
	case KIND_LSTM:
		return -1;
	default:
		return 0;
	}
}
