/* upgrade.c - Caffe's net upgrade (V0 -> V1 -> V2) over protobuf-c structs.
 * Requires: a net on the default allocator.  Keeps: layer order, names,
 * weights and every net-level field.  Breaks: `layers` is empty afterwards
 * and V0 padding layers are gone, folded into the pad of their consumers.
 *
 * Values move between messages by field name through the protobuf-c
 * descriptors (move_field), so the tables below only say where each field
 * goes.  Every check that can reject a net runs before anything is
 * changed; after that only running out of memory can fail. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "upgrade.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
#define AT(m, off) ((void *)((char *)(m) + (off)))
#define V1TYPE(x) CAFFE__V1_LAYER_PARAMETER__LAYER_TYPE__##x

/* Failures of the apply phase (the checks report their own errors). */
enum { NOMEM = -1, MISFIT = -2 };

/* Caffe's UpgradeV1LayerType. */
static const struct {
	int type;
	const char *name;
} v1_types[] = {
	{V1TYPE(NONE), ""},
	{V1TYPE(ABSVAL), "AbsVal"},
	{V1TYPE(ACCURACY), "Accuracy"},
	{V1TYPE(ARGMAX), "ArgMax"},
	{V1TYPE(BNLL), "BNLL"},
	{V1TYPE(CONCAT), "Concat"},
	{V1TYPE(CONTRASTIVE_LOSS), "ContrastiveLoss"},
	{V1TYPE(CONVOLUTION), "Convolution"},
	{V1TYPE(DECONVOLUTION), "Deconvolution"},
	{V1TYPE(DATA), "Data"},
	{V1TYPE(DROPOUT), "Dropout"},
	{V1TYPE(DUMMY_DATA), "DummyData"},
	{V1TYPE(EUCLIDEAN_LOSS), "EuclideanLoss"},
	{V1TYPE(ELTWISE), "Eltwise"},
	{V1TYPE(EXP), "Exp"},
	{V1TYPE(FLATTEN), "Flatten"},
	{V1TYPE(HDF5_DATA), "HDF5Data"},
	{V1TYPE(HDF5_OUTPUT), "HDF5Output"},
	{V1TYPE(HINGE_LOSS), "HingeLoss"},
	{V1TYPE(IM2COL), "Im2col"},
	{V1TYPE(IMAGE_DATA), "ImageData"},
	{V1TYPE(INFOGAIN_LOSS), "InfogainLoss"},
	{V1TYPE(INNER_PRODUCT), "InnerProduct"},
	{V1TYPE(LRN), "LRN"},
	{V1TYPE(MEMORY_DATA), "MemoryData"},
	{V1TYPE(MULTINOMIAL_LOGISTIC_LOSS), "MultinomialLogisticLoss"},
	{V1TYPE(MVN), "MVN"},
	{V1TYPE(POOLING), "Pooling"},
	{V1TYPE(POWER), "Power"},
	{V1TYPE(RELU), "ReLU"},
	{V1TYPE(SIGMOID), "Sigmoid"},
	{V1TYPE(SIGMOID_CROSS_ENTROPY_LOSS), "SigmoidCrossEntropyLoss"},
	{V1TYPE(SILENCE), "Silence"},
	{V1TYPE(SOFTMAX), "Softmax"},
	{V1TYPE(SOFTMAX_LOSS), "SoftmaxWithLoss"},
	{V1TYPE(SPLIT), "Split"},
	{V1TYPE(SLICE), "Slice"},
	{V1TYPE(TANH), "TanH"},
	{V1TYPE(WINDOW_DATA), "WindowData"},
	{V1TYPE(THRESHOLD), "Threshold"},
};

/* Caffe's UpgradeV0LayerType. */
static const struct {
	const char *name;
	int type;
} v0_types[] = {
	{"accuracy", V1TYPE(ACCURACY)},
	{"bnll", V1TYPE(BNLL)},
	{"concat", V1TYPE(CONCAT)},
	{"conv", V1TYPE(CONVOLUTION)},
	{"data", V1TYPE(DATA)},
	{"dropout", V1TYPE(DROPOUT)},
	{"euclidean_loss", V1TYPE(EUCLIDEAN_LOSS)},
	{"flatten", V1TYPE(FLATTEN)},
	{"hdf5_data", V1TYPE(HDF5_DATA)},
	{"hdf5_output", V1TYPE(HDF5_OUTPUT)},
	{"im2col", V1TYPE(IM2COL)},
	{"images", V1TYPE(IMAGE_DATA)},
	{"infogain_loss", V1TYPE(INFOGAIN_LOSS)},
	{"innerproduct", V1TYPE(INNER_PRODUCT)},
	{"lrn", V1TYPE(LRN)},
	{"multinomial_logistic_loss", V1TYPE(MULTINOMIAL_LOGISTIC_LOSS)},
	{"pool", V1TYPE(POOLING)},
	{"relu", V1TYPE(RELU)},
	{"sigmoid", V1TYPE(SIGMOID)},
	{"softmax", V1TYPE(SOFTMAX)},
	{"softmax_loss", V1TYPE(SOFTMAX_LOSS)},
	{"split", V1TYPE(SPLIT)},
	{"tanh", V1TYPE(TANH)},
	{"window_data", V1TYPE(WINDOW_DATA)},
};

/* Caffe's UpgradeV0LayerParameter as data: V0 field `field` of a layer of
 * V0 type `type` (NULL: any type) goes to field `to` of the V1 message
 * field `param`, or becomes `param` itself when `to` is NULL.  A set V0
 * field whose rows all name other types cannot be upgraded; V0 fields with
 * no row (new_num, new_channels) Caffe drops, and so do we.  name, type,
 * blobs, blobs_lr and weight_decay are moved by v0_layer_convert. */
static const struct v0_move {
	const char *field, *type, *param, *to;
} v0_moves[] = {
	{"num_output", "conv", "convolution_param", "num_output"},
	{"num_output", "innerproduct", "inner_product_param", "num_output"},
	{"biasterm", "conv", "convolution_param", "bias_term"},
	{"biasterm", "innerproduct", "inner_product_param", "bias_term"},
	{"weight_filler", "conv", "convolution_param", "weight_filler"},
	{"weight_filler", "innerproduct", "inner_product_param", "weight_filler"},
	{"bias_filler", "conv", "convolution_param", "bias_filler"},
	{"bias_filler", "innerproduct", "inner_product_param", "bias_filler"},
	{"pad", "conv", "convolution_param", "pad"},
	{"pad", "pool", "pooling_param", "pad"},
	{"kernelsize", "conv", "convolution_param", "kernel_size"},
	{"kernelsize", "pool", "pooling_param", "kernel_size"},
	{"group", "conv", "convolution_param", "group"},
	{"stride", "conv", "convolution_param", "stride"},
	{"stride", "pool", "pooling_param", "stride"},
	{"pool", "pool", "pooling_param", "pool"},
	{"dropout_ratio", "dropout", "dropout_param", "dropout_ratio"},
	{"local_size", "lrn", "lrn_param", "local_size"},
	{"alpha", "lrn", "lrn_param", "alpha"},
	{"beta", "lrn", "lrn_param", "beta"},
	{"k", "lrn", "lrn_param", "k"},
	{"source", "data", "data_param", "source"},
	{"source", "hdf5_data", "hdf5_data_param", "source"},
	{"source", "images", "image_data_param", "source"},
	{"source", "window_data", "window_data_param", "source"},
	{"source", "infogain_loss", "infogain_loss_param", "source"},
	{"scale", NULL, "transform_param", "scale"},
	{"meanfile", NULL, "transform_param", "mean_file"},
	{"batchsize", "data", "data_param", "batch_size"},
	{"batchsize", "hdf5_data", "hdf5_data_param", "batch_size"},
	{"batchsize", "images", "image_data_param", "batch_size"},
	{"batchsize", "window_data", "window_data_param", "batch_size"},
	{"cropsize", NULL, "transform_param", "crop_size"},
	{"mirror", NULL, "transform_param", "mirror"},
	{"rand_skip", "data", "data_param", "rand_skip"},
	{"rand_skip", "images", "image_data_param", "rand_skip"},
	{"shuffle_images", "images", "image_data_param", "shuffle"},
	{"new_height", "images", "image_data_param", "new_height"},
	{"new_width", "images", "image_data_param", "new_width"},
	{"concat_dim", "concat", "concat_param", "concat_dim"},
	{"det_fg_threshold", "window_data", "window_data_param", "fg_threshold"},
	{"det_bg_threshold", "window_data", "window_data_param", "bg_threshold"},
	{"det_fg_fraction", "window_data", "window_data_param", "fg_fraction"},
	{"det_context_pad", "window_data", "window_data_param", "context_pad"},
	{"det_crop_mode", "window_data", "window_data_param", "crop_mode"},
	{"hdf5_output_param", "hdf5_output", "hdf5_output_param", NULL},
};

/* Caffe's UpgradeNetDataTransformation: the V1 data layers whose own
 * parameter message may still hold the transformation fields. */
static const struct {
	int type;
	const char *param;
} v1_data_layers[] = {
	{V1TYPE(DATA), "data_param"},
	{V1TYPE(IMAGE_DATA), "image_data_param"},
	{V1TYPE(WINDOW_DATA), "window_data_param"},
};
static const char *const transform_fields[] = {"scale", "mean_file", "crop_size", "mirror"};

/* V1 fields that have no same-named V2 field; v1_layer_convert moves them
 * itself ("layer", the V0 part, is gone by then). */
static const char *const v1_special[] = {
	"type", "param", "blob_share_mode", "blobs_lr", "weight_decay", "layer",
};

/* ---- moving fields by descriptor ---- */

static const ProtobufCFieldDescriptor *
field_of(const ProtobufCMessageDescriptor *d, const char *name)
{
	return protobuf_c_message_descriptor_get_field_by_name(d, name);
}

static char *
dupstr(const char *s)
{
	size_t n = strlen(s) + 1;
	char *p = malloc(n);

	if (p)
		memcpy(p, s, n);
	return p;
}

static void *
new_message(const ProtobufCMessageDescriptor *d)
{
	void *m = malloc(d->sizeof_message);

	if (m)
		protobuf_c_message_init(d, m);
	return m;
}

static int
is_pointer(ProtobufCType t)
{
	return t == PROTOBUF_C_TYPE_STRING || t == PROTOBUF_C_TYPE_MESSAGE;
}

/* Bytes one value of type t takes in a struct or a repeated array. */
static size_t
value_size(ProtobufCType t)
{
	switch (t) {
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
	case PROTOBUF_C_TYPE_DOUBLE:
		return 8;
	case PROTOBUF_C_TYPE_BOOL:
		return sizeof(protobuf_c_boolean);
	case PROTOBUF_C_TYPE_STRING:
	case PROTOBUF_C_TYPE_MESSAGE:
		return sizeof(void *);
	case PROTOBUF_C_TYPE_BYTES:
		return sizeof(ProtobufCBinaryData);
	default:
		return 4;  /* 32-bit integers, float, enum */
	}
}

/* Nonzero when field f of m is set.  A string or message field holding
 * its default pointer is not: protobuf-c neither packs nor frees it. */
static int
field_set(const ProtobufCMessage *m, const ProtobufCFieldDescriptor *f)
{
	const char *base = (const char *)m;

	if (f->label == PROTOBUF_C_LABEL_REPEATED)
		return *(const size_t *)(base + f->quantifier_offset) > 0;
	if (is_pointer(f->type)) {
		const void *p = *(void *const *)(base + f->offset);

		return p && p != f->default_value;
	}
	if (f->label == PROTOBUF_C_LABEL_REQUIRED)
		return 1;
	return *(const protobuf_c_boolean *)(base + f->quantifier_offset);
}

/* The value of enum `from` that has the name v has in enum `to`; 0, or -1
 * when `to` has no such name. */
static int
enum_convert(const ProtobufCEnumDescriptor *from, const ProtobufCEnumDescriptor *to,
             int v, int *out)
{
	const ProtobufCEnumValue *a = protobuf_c_enum_descriptor_get_value(from, v);
	const ProtobufCEnumValue *b = a ? protobuf_c_enum_descriptor_get_value_by_name(to, a->name) : NULL;

	if (!b)
		return -1;
	*out = b->value;
	return 0;
}

/* Move set field sf of src into field df of dst: a repeated df gets the
 * values appended, an optional one is replaced (its old value freed); an
 * enum value is carried over by name.  src's field is left unset, owning
 * nothing.  Returns 0, NOMEM, or MISFIT when df cannot hold sf's values
 * (a table that does not fit the schema). */
static int
move_field(ProtobufCMessage *dst, const ProtobufCFieldDescriptor *df,
           ProtobufCMessage *src, const ProtobufCFieldDescriptor *sf)
{
	size_t size = value_size(sf->type);
	void *sp = AT(src, sf->offset), *dp;
	const void *from = sp;
	int converted;

	if (!df || (sf->label == PROTOBUF_C_LABEL_REPEATED && df->label != PROTOBUF_C_LABEL_REPEATED))
		return MISFIT;
	if (is_pointer(sf->type) || is_pointer(df->type)) {
		if (sf->type != df->type || sf->descriptor != df->descriptor)
			return MISFIT;
	} else if (size != value_size(df->type) || sf->type == PROTOBUF_C_TYPE_BYTES ||
	           df->type == PROTOBUF_C_TYPE_BYTES) {
		return MISFIT;
	}
	if (sf->type == PROTOBUF_C_TYPE_ENUM && df->type == PROTOBUF_C_TYPE_ENUM &&
	    sf->descriptor != df->descriptor) {
		if (sf->label == PROTOBUF_C_LABEL_REPEATED ||
		    enum_convert(sf->descriptor, df->descriptor, *(const int *)sp, &converted) < 0)
			return MISFIT;
		from = &converted;
	}
	dp = AT(dst, df->offset);
	if (df->label == PROTOBUF_C_LABEL_REPEATED) {
		size_t *dn = AT(dst, df->quantifier_offset);
		size_t *sn = NULL, n = 1;
		char *grown;

		if (sf->label == PROTOBUF_C_LABEL_REPEATED) {
			sn = AT(src, sf->quantifier_offset);
			n = *sn;
			from = *(void **)sp;
			if (n == 0)  /* nothing to move; realloc(p, 0) may return NULL */
				return 0;
		}
		grown = realloc(*(void **)dp, (*dn + n) * size);
		if (!grown)
			return NOMEM;
		memcpy(grown + *dn * size, from, n * size);
		*(void **)dp = grown;
		*dn += n;
		if (sn) {
			free(*(void **)sp);
			*(void **)sp = NULL;
			*sn = 0;
			return 0;
		}
	} else if (is_pointer(df->type)) {
		void *old = *(void **)dp;

		if (old && old != df->default_value) {
			if (df->type == PROTOBUF_C_TYPE_MESSAGE)
				protobuf_c_message_free_unpacked(old, NULL);
			else
				free(old);
		}
		*(void **)dp = *(void **)sp;
	} else {
		memcpy(dp, from, size);
		if (df->label == PROTOBUF_C_LABEL_OPTIONAL)
			*(protobuf_c_boolean *)AT(dst, df->quantifier_offset) = 1;
	}
	if (is_pointer(sf->type))
		*(void **)sp = (void *)sf->default_value;
	else if (sf->label == PROTOBUF_C_LABEL_OPTIONAL)
		*(protobuf_c_boolean *)AT(src, sf->quantifier_offset) = 0;
	return 0;
}

/* Append src's unknown fields to dst's.  Text our parser kept for names
 * the schema lacks thus stays with its layer; an entry whose number is a
 * field of dst is dropped, since dst would read it as that field. */
static int
move_unknown(ProtobufCMessage *dst, ProtobufCMessage *src)
{
	ProtobufCMessageUnknownField *u;
	size_t i, n = dst->n_unknown_fields;

	if (!src->n_unknown_fields)
		return 0;
	u = realloc(dst->unknown_fields, (n + src->n_unknown_fields) * sizeof *u);
	if (!u)
		return NOMEM;
	dst->unknown_fields = u;
	for (i = 0; i < src->n_unknown_fields; i++) {
		ProtobufCMessageUnknownField *f = &src->unknown_fields[i];

		if (protobuf_c_message_descriptor_get_field(dst->descriptor, f->tag))
			free(f->data);
		else
			u[n++] = *f;
	}
	dst->n_unknown_fields = (unsigned)n;
	free(src->unknown_fields);
	src->unknown_fields = NULL;
	src->n_unknown_fields = 0;
	return 0;
}

/* ---- names for messages ---- */

static const char *
shown(const char *name)
{
	return name && *name ? name : "(unnamed)";
}

static const char *
v1_type_name(int type)
{
	size_t i;

	for (i = 0; i < NELEM(v1_types); i++)
		if (v1_types[i].type == type)
			return v1_types[i].name;
	return NULL;
}

static int
v0_type_code(const char *name)
{
	size_t i;

	for (i = 0; i < NELEM(v0_types); i++)
		if (strcmp(v0_types[i].name, name) == 0)
			return v0_types[i].type;
	return -1;
}

/* The V0 type of entry l; "" when it has none (Caffe's type()). */
static const char *
v0_type(const Caffe__V1LayerParameter *l)
{
	return l->layer && l->layer->type ? l->layer->type : "";
}

static const char *
v0_name(const Caffe__V1LayerParameter *l)
{
	return shown(l->layer ? l->layer->name : l->name);
}

/* ---- V0 -> V1 ---- */

/* The row of v0_moves for V0 field `field` in a layer of type `type`;
 * NULL with *has_rows telling whether the field has rows at all. */
static const struct v0_move *
v0_move_for(const char *field, const char *type, int *has_rows)
{
	size_t i;

	*has_rows = 0;
	for (i = 0; i < NELEM(v0_moves); i++) {
		if (strcmp(v0_moves[i].field, field) != 0)
			continue;
		*has_rows = 1;
		if (!v0_moves[i].type || strcmp(v0_moves[i].type, type) == 0)
			return &v0_moves[i];
	}
	return NULL;
}

/* The V1 field a v0_moves row writes: a field of the `param` message, or
 * `param` itself. */
static const ProtobufCFieldDescriptor *
v0_target(const struct v0_move *m)
{
	const ProtobufCFieldDescriptor *pf = field_of(&caffe__v1_layer_parameter__descriptor, m->param);

	if (!pf || !m->to)
		return pf;
	return field_of(pf->descriptor, m->to);
}

enum { NET_INPUT = -1, NO_PRODUCER = -2 };

/* The last layer before i with top blob; NET_INPUT or NO_PRODUCER. */
static long
producer(const Caffe__NetParameter *net, size_t i, const char *blob)
{
	size_t t;

	while (i-- > 0)
		for (t = 0; t < net->layers[i]->n_top; t++)
			if (strcmp(net->layers[i]->top[t], blob) == 0)
				return (long)i;
	for (t = 0; t < net->n_input; t++)
		if (strcmp(net->input[t], blob) == 0)
			return NET_INPUT;
	return NO_PRODUCER;
}

/* Caffe's UpgradeV0PaddingLayers: a conv or pool layer fed by a padding
 * layer takes its pad and its bottom.  With apply 0 only check (every
 * error is reported here); with apply 1 also fold and remove the padding
 * layers, failing only with NOMEM.  *npadding: padding layers found. */
static int
fold_padding(Caffe__NetParameter *net, int apply, size_t *npadding,
             const char *path, caffeopt_error *err)
{
	size_t i, j, k;

	for (i = 0; i < net->n_layers; i++) {
		Caffe__V1LayerParameter *l = net->layers[i];
		const char *type = v0_type(l);

		for (j = 0; j < l->n_bottom; j++) {
			long p = producer(net, i, l->bottom[j]);
			Caffe__V1LayerParameter *pad;
			char *s;

			if (p == NO_PRODUCER)
				return caffeopt_fail(err, path, 0, 0, "V0 layer '%s' (#%zu): bottom '%s' is "
				                     "neither a net input nor a top of an earlier layer",
				                     v0_name(l), i + 1, l->bottom[j]);
			if (p == NET_INPUT || strcmp(v0_type(net->layers[p]), "padding") != 0)
				continue;
			pad = net->layers[p];
			if (strcmp(type, "conv") != 0 && strcmp(type, "pool") != 0)
				return caffeopt_fail(err, path, 0, 0, "padding layer '%s' feeds '%s', a '%s' "
				                     "layer; only conv and pool layers take padding",
				                     v0_name(pad), v0_name(l), type);
			if (l->n_bottom != 1)
				return caffeopt_fail(err, path, 0, 0, "V0 layer '%s' is fed by padding layer "
				                     "'%s' and so must have one bottom, not %zu",
				                     v0_name(l), v0_name(pad), l->n_bottom);
			if (pad->n_bottom != 1 || pad->n_top != 1)
				return caffeopt_fail(err, path, 0, 0, "padding layer '%s' must have one bottom "
				                     "and one top, not %zu and %zu",
				                     v0_name(pad), pad->n_bottom, pad->n_top);
			if (!apply)
				continue;
			if (!(s = dupstr(pad->bottom[0])))
				return NOMEM;
			free(l->bottom[j]);
			l->bottom[j] = s;
			l->layer->has_pad = 1;
			l->layer->pad = pad->layer->pad;
		}
	}
	*npadding = 0;
	for (i = k = 0; i < net->n_layers; i++) {
		Caffe__V1LayerParameter *l = net->layers[i];

		if (strcmp(v0_type(l), "padding") != 0) {
			net->layers[k++] = l;
			continue;
		}
		++*npadding;
		if (apply)
			protobuf_c_message_free_unpacked(&l->base, NULL);
		else
			net->layers[k++] = l;
	}
	net->n_layers = k;
	return 0;
}

/* Reject what Caffe's UpgradeV0LayerParameter cannot upgrade in entry l
 * (#i), a non-padding V0 layer. */
static int
v0_layer_check(const Caffe__V1LayerParameter *l, size_t i, const char *path, caffeopt_error *err)
{
	const Caffe__V0LayerParameter *v0 = l->layer;
	const ProtobufCMessageDescriptor *d = v0->base.descriptor;
	const char *type = v0_type(l);
	unsigned k;
	int has_rows, value;

	if (v0->type && v0_type_code(v0->type) < 0)
		return caffeopt_fail(err, path, 0, 0, "V0 layer '%s' (#%zu): unknown type '%s'",
		                     v0_name(l), i + 1, v0->type);
	for (k = 0; k < d->n_fields; k++) {
		const ProtobufCFieldDescriptor *f = &d->fields[k], *to;
		const struct v0_move *m;

		if (!field_set(&v0->base, f))
			continue;
		m = v0_move_for(f->name, type, &has_rows);
		if (!m && has_rows)
			return caffeopt_fail(err, path, 0, 0, "V0 layer '%s' (#%zu): field '%s' has no "
			                     "place in a '%s' layer", v0_name(l), i + 1, f->name, type);
		if (!m || f->type != PROTOBUF_C_TYPE_ENUM)
			continue;
		to = v0_target(m);
		if (to && to->type == PROTOBUF_C_TYPE_ENUM &&
		    enum_convert(f->descriptor, to->descriptor, *(const int *)AT(v0, f->offset), &value) < 0)
			return caffeopt_fail(err, path, 0, 0, "V0 layer '%s' (#%zu): unknown %s value %d",
			                     v0_name(l), i + 1, f->name, *(const int *)AT(v0, f->offset));
	}
	return 0;
}

/* The V1 layer Caffe's UpgradeV0LayerParameter makes of checked entry l:
 * bottom and top from the entry, everything else from its V0 layer (other
 * V1 fields of the entry are dropped, as in Caffe).  Values are moved out
 * of l.  0, NOMEM or MISFIT. */
static int
v0_layer_convert(Caffe__V1LayerParameter *l, Caffe__V1LayerParameter **out)
{
	static const char *const entry_fields[] = {"bottom", "top"};
	static const char *const same_fields[] = {"name", "blobs", "blobs_lr", "weight_decay"};
	const ProtobufCMessageDescriptor *d1 = &caffe__v1_layer_parameter__descriptor;
	const ProtobufCMessageDescriptor *d0 = &caffe__v0_layer_parameter__descriptor;
	Caffe__V0LayerParameter *v0 = l->layer;
	const char *type = v0_type(l);
	Caffe__V1LayerParameter *nl = new_message(d1);
	int rc = 0, has_rows;
	size_t k;

	if (!nl)
		return NOMEM;
	for (k = 0; k < NELEM(entry_fields) && rc == 0; k++)
		if (field_set(&l->base, field_of(d1, entry_fields[k])))
			rc = move_field(&nl->base, field_of(d1, entry_fields[k]),
			                &l->base, field_of(d1, entry_fields[k]));
	for (k = 0; k < NELEM(same_fields) && rc == 0; k++)
		if (field_set(&v0->base, field_of(d0, same_fields[k])))
			rc = move_field(&nl->base, field_of(d1, same_fields[k]),
			                &v0->base, field_of(d0, same_fields[k]));
	if (v0->type) {
		nl->has_type = 1;
		nl->type = v0_type_code(v0->type);
	}
	for (k = 0; k < d0->n_fields && rc == 0; k++) {
		const ProtobufCFieldDescriptor *f = &d0->fields[k], *pf;
		const struct v0_move *m;
		ProtobufCMessage **slot;

		if (!field_set(&v0->base, f) || !(m = v0_move_for(f->name, type, &has_rows)))
			continue;
		pf = field_of(d1, m->param);
		if (!pf)
			rc = MISFIT;
		else if (!m->to)
			rc = move_field(&nl->base, pf, &v0->base, f);
		else if (!*(slot = AT(nl, pf->offset)) && !(*slot = new_message(pf->descriptor)))
			rc = NOMEM;
		else
			rc = move_field(*slot, field_of(pf->descriptor, m->to), &v0->base, f);
	}
	if (rc == 0)
		rc = move_unknown(&nl->base, &l->base);
	if (rc == 0)
		rc = move_unknown(&nl->base, &v0->base);
	if (rc < 0) {
		protobuf_c_message_free_unpacked(&nl->base, NULL);
		return rc;
	}
	*out = nl;
	return 0;
}

/* Every check of Caffe's UpgradeV0Net, net unchanged. */
static int
v0_check(Caffe__NetParameter *net, const char *path, caffeopt_error *err)
{
	size_t i, npadding;

	if (fold_padding(net, 0, &npadding, path, err) < 0)
		return -1;
	for (i = 0; i < net->n_layers; i++) {
		const Caffe__V1LayerParameter *l = net->layers[i];

		if (l->layer && strcmp(v0_type(l), "padding") != 0 &&
		    v0_layer_check(l, i, path, err) < 0)
			return -1;
	}
	return 0;
}

/* Caffe's UpgradeV0Net on a checked net: entries without a V0 layer stay
 * as they are (Caffe would empty them).  0, NOMEM or MISFIT. */
static int
v0_upgrade(Caffe__NetParameter *net, size_t *npadding)
{
	size_t i;
	int rc;

	if ((rc = fold_padding(net, 1, npadding, NULL, NULL)) < 0)
		return rc;
	for (i = 0; i < net->n_layers; i++) {
		Caffe__V1LayerParameter *nl;

		if (!net->layers[i]->layer)
			continue;
		if ((rc = v0_layer_convert(net->layers[i], &nl)) < 0)
			return rc;
		protobuf_c_message_free_unpacked(&net->layers[i]->base, NULL);
		net->layers[i] = nl;
	}
	return 0;
}

/* ---- V1 -> V2 ---- */

static int
v1_layer_check(const Caffe__V1LayerParameter *l, size_t i, const char *path, caffeopt_error *err)
{
	size_t k;
	int mode;

	if (l->has_type && !v1_type_name(l->type))
		return caffeopt_fail(err, path, 0, 0, "V1 layer '%s' (#%zu): unknown type %d",
		                     shown(l->name), i + 1, (int)l->type);
	for (k = 0; k < l->n_blob_share_mode; k++)
		if (enum_convert(&caffe__v1_layer_parameter__dim_check_mode__descriptor,
		                 &caffe__param_spec__dim_check_mode__descriptor,
		                 l->blob_share_mode[k], &mode) < 0)
			return caffeopt_fail(err, path, 0, 0, "V1 layer '%s' (#%zu): unknown "
			                     "blob_share_mode %d", shown(l->name), i + 1,
			                     (int)l->blob_share_mode[k]);
	return 0;
}

/* Caffe's UpgradeNetDataTransformation: scale, mean_file, crop_size and
 * mirror of V1 data layers move into transform_param (created only when
 * there is something to move).  0, NOMEM or MISFIT. */
static int
v1_data_transform(Caffe__NetParameter *net)
{
	const ProtobufCMessageDescriptor *d1 = &caffe__v1_layer_parameter__descriptor;
	const ProtobufCMessageDescriptor *dt = &caffe__transformation_parameter__descriptor;
	size_t i, j, k;
	int rc;

	for (i = 0; i < net->n_layers; i++) {
		Caffe__V1LayerParameter *l = net->layers[i];

		for (j = 0; j < NELEM(v1_data_layers); j++) {
			const ProtobufCFieldDescriptor *pf = field_of(d1, v1_data_layers[j].param);
			ProtobufCMessage *p;

			if (!l->has_type || (int)l->type != v1_data_layers[j].type)
				continue;
			if (!pf)
				return MISFIT;
			if (!(p = *(ProtobufCMessage **)AT(l, pf->offset)))
				continue;
			for (k = 0; k < NELEM(transform_fields); k++) {
				const ProtobufCFieldDescriptor *f = field_of(p->descriptor, transform_fields[k]);

				if (!f)
					return MISFIT;
				if (!field_set(p, f))
					continue;
				if (!l->transform_param && !(l->transform_param = new_message(dt)))
					return NOMEM;
				rc = move_field(&l->transform_param->base, field_of(dt, transform_fields[k]), p, f);
				if (rc < 0)
					return rc;
			}
		}
	}
	return 0;
}

static int
is_v1_special(const char *name)
{
	size_t i;

	for (i = 0; i < NELEM(v1_special); i++)
		if (strcmp(v1_special[i], name) == 0)
			return 1;
	return 0;
}

/* Caffe's ParamSpecs of a V1 layer: param[k] names, blob_share_mode[k],
 * blobs_lr[k] and weight_decay[k] make up spec k. */
static int
v1_param_specs(Caffe__LayerParameter *nl, Caffe__V1LayerParameter *l)
{
	size_t n = l->n_param, k;
	int mode;

	if (l->n_blob_share_mode > n)
		n = l->n_blob_share_mode;
	if (l->n_blobs_lr > n)
		n = l->n_blobs_lr;
	if (l->n_weight_decay > n)
		n = l->n_weight_decay;
	if (!n)
		return 0;
	if (!(nl->param = calloc(n, sizeof *nl->param)))
		return NOMEM;
	for (k = 0; k < n; k++) {
		Caffe__ParamSpec *ps = new_message(&caffe__param_spec__descriptor);

		if (!ps)
			return NOMEM;
		nl->param[nl->n_param++] = ps;
		if (k < l->n_param) {
			ps->name = l->param[k];
			l->param[k] = NULL;
		}
		if (k < l->n_blob_share_mode) {
			if (enum_convert(&caffe__v1_layer_parameter__dim_check_mode__descriptor,
			                 &caffe__param_spec__dim_check_mode__descriptor,
			                 l->blob_share_mode[k], &mode) < 0)
				return MISFIT;
			ps->has_share_mode = 1;
			ps->share_mode = mode;
		}
		if (k < l->n_blobs_lr) {
			ps->has_lr_mult = 1;
			ps->lr_mult = l->blobs_lr[k];
		}
		if (k < l->n_weight_decay) {
			ps->has_decay_mult = 1;
			ps->decay_mult = l->weight_decay[k];
		}
	}
	return 0;
}

/* Caffe's UpgradeV1LayerParameter on checked layer l: every field with a
 * same-named V2 field moves by name (bottom, top, name, include, exclude,
 * blobs, loss_weight, each *_param); type and the param specs are
 * converted.  Values are moved out of l.  0, NOMEM or MISFIT. */
static int
v1_layer_convert(Caffe__V1LayerParameter *l, Caffe__LayerParameter **out)
{
	const ProtobufCMessageDescriptor *d1 = &caffe__v1_layer_parameter__descriptor;
	const ProtobufCMessageDescriptor *d2 = &caffe__layer_parameter__descriptor;
	Caffe__LayerParameter *nl = new_message(d2);
	unsigned f;
	int rc = 0;

	if (!nl)
		return NOMEM;
	for (f = 0; f < d1->n_fields && rc == 0; f++) {
		const ProtobufCFieldDescriptor *sf = &d1->fields[f];

		if (!is_v1_special(sf->name) && field_set(&l->base, sf))
			rc = move_field(&nl->base, field_of(d2, sf->name), &l->base, sf);
	}
	if (rc == 0 && l->has_type && !(nl->type = dupstr(v1_type_name(l->type))))
		rc = NOMEM;
	if (rc == 0)
		rc = v1_param_specs(nl, l);
	if (rc == 0)
		rc = move_unknown(&nl->base, &l->base);
	if (rc < 0) {
		protobuf_c_message_free_unpacked(&nl->base, NULL);
		return rc;
	}
	*out = nl;
	return 0;
}

/* Caffe's UpgradeV1Net on a checked net.  On failure the layers converted
 * so far are in `layer` and the rest still in `layers`.  0, NOMEM or
 * MISFIT. */
static int
v1_upgrade(Caffe__NetParameter *net)
{
	size_t i, n = net->n_layers;
	int rc;

	free(net->layer);
	net->layer = NULL;
	net->n_layer = 0;
	if (n && !(net->layer = calloc(n, sizeof *net->layer)))
		return NOMEM;
	for (i = 0; i < n; i++) {
		Caffe__LayerParameter *nl;

		if ((rc = v1_layer_convert(net->layers[i], &nl)) < 0) {
			memmove(net->layers, net->layers + i, (n - i) * sizeof *net->layers);
			net->n_layers = n - i;
			return rc;
		}
		net->layer[net->n_layer++] = nl;
		protobuf_c_message_free_unpacked(&net->layers[i]->base, NULL);
	}
	free(net->layers);
	net->layers = NULL;
	net->n_layers = 0;
	return 0;
}

/* ---- BatchNorm ---- */

/* Caffe's UpgradeNetBatchNorm: BatchNorm layers with the three param specs
 * the old definition required must not train their statistics; Caffe
 * sets lr_mult and decay_mult of all three to 0.  A spec whose lr_mult is
 * already 0 is left as written (decay_mult cannot act without a learning
 * rate), so nets and caffemodels Caffe itself wrote stay untouched.
 * Returns the number of layers changed. */
static size_t
batchnorm_upgrade(Caffe__NetParameter *net)
{
	size_t i, k, n = 0;

	for (i = 0; i < net->n_layer; i++) {
		Caffe__LayerParameter *l = net->layer[i];
		int changed = 0;

		if (!l->type || strcmp(l->type, "BatchNorm") != 0 || l->n_param != 3)
			continue;
		for (k = 0; k < l->n_param; k++) {
			Caffe__ParamSpec *ps = l->param[k];

			if ((ps->has_lr_mult ? ps->lr_mult : 1.0f) == 0.0f)  /* 1: ParamSpec's default */
				continue;
			ps->has_lr_mult = ps->has_decay_mult = 1;
			ps->lr_mult = ps->decay_mult = 0.0f;
			changed = 1;
		}
		n += changed;
	}
	return n;
}

/* ---- the pass ---- */

static int
apply_failed(int rc, const char *path, caffeopt_error *err)
{
	if (rc == MISFIT)
		return caffeopt_fail(err, path, 0, 0, "internal error: the upgrade tables do not "
		                     "fit caffe.proto");
	return caffeopt_fail(err, path, 0, 0, "out of memory upgrading the net");
}

/* Caffe reads a layer without a name as named "": so do we, so that no
 * later stage meets a NULL name.  0, or -1 when out of memory. */
static int
name_unnamed(Caffe__NetParameter *net)
{
	size_t i;

	for (i = 0; i < net->n_layer; i++)
		if (!net->layer[i]->name && !(net->layer[i]->name = calloc(1, 1)))
			return -1;
	return 0;
}

int
upgrade_net(Caffe__NetParameter *net, const char *path, caffeopt_warn_fn warn, void *ctx,
            caffeopt_error *err)
{
	char msg[1200];
	const char *who = path ? path : "net";
	size_t i, npadding = 0, nbn;
	int v0 = 0, v1 = net->n_layers > 0, rc;

	if (net->n_layer && net->n_layers)
		return caffeopt_fail(err, path, 0, 0, "the net has both 'layer' (%zu) and legacy "
		                     "'layers' (%zu) entries; Caffe would drop the 'layer' ones",
		                     net->n_layer, net->n_layers);
	for (i = 0; i < net->n_layers; i++)
		if (net->layers[i]->layer)
			v0 = 1;
	if (v0 && v0_check(net, path, err) < 0)
		return -1;
	for (i = 0; i < net->n_layers; i++)
		if (!net->layers[i]->layer && v1_layer_check(net->layers[i], i, path, err) < 0)
			return -1;

	if (v0 && (rc = v0_upgrade(net, &npadding)) < 0)
		return apply_failed(rc, path, err);
	if (v1 && ((rc = v1_data_transform(net)) < 0 || (rc = v1_upgrade(net)) < 0))
		return apply_failed(rc, path, err);
	nbn = batchnorm_upgrade(net);
	if (name_unnamed(net) < 0)
		return caffeopt_fail(err, path, 0, 0, "out of memory");

	if (v0 && npadding)
		snprintf(msg, sizeof msg, "%s: upgraded from V0 layers (%zu layers, %zu padding "
		         "layers folded)", who, net->n_layer, npadding);
	else if (v0)
		snprintf(msg, sizeof msg, "%s: upgraded from V0 layers (%zu layers)", who, net->n_layer);
	else if (v1)
		snprintf(msg, sizeof msg, "%s: upgraded from V1 layers (%zu layers)", who, net->n_layer);
	else if (nbn)
		snprintf(msg, sizeof msg, "%s: upgraded BatchNorm param specs to lr_mult 0, "
		         "decay_mult 0 (%zu layers)", who, nbn);
	else
		return 0;
	if (warn)
		warn(ctx, msg);
	return 1;
}
