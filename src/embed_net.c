/* embed_net.c - embed's net mode: the runtime's tables (runtime.h) as
 * template values, so model.c.in can write a `const cr_net` that firmware
 * hands to cr_forward with no parsing.
 * Requires: a deploy model netbuild accepts.  Keeps: the model; the net
 * built here points into its weights until embed_net_free.  Every layer's
 * parameters are described field by field from the table below; a layer
 * whose parameters that description does not reproduce byte for byte is
 * an error, so a field added to runtime.h is never dropped silently. */
#define _POSIX_C_SOURCE 200809L
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "embed_net.h"
#include "netbuild.h"

/* The kinds of parameter fields. */
enum { P_I32, P_F32, P_I32S, P_F32S, P_COEFF };

struct pfield {
	const char *name;
	int kind;
	size_t off;          /* in union cr_params */
	size_t n;            /* array length (P_I32S, P_F32S) */
};

#define I(m, f) {#f, P_I32, offsetof(union cr_params, m.f), 1}
#define R(m, f) {#f, P_F32, offsetof(union cr_params, m.f), 1}
#define IS(m, f, n) {#f, P_I32S, offsetof(union cr_params, m.f), n}
#define RS(m, f, n) {#f, P_F32S, offsetof(union cr_params, m.f), n}

static const struct pfield f_conv[] = {
	I(conv, kh), I(conv, kw), I(conv, sh), I(conv, sw), I(conv, ph), I(conv, pw),
	I(conv, dh), I(conv, dw), I(conv, group), I(conv, bias),
};
static const struct pfield f_ip[] = {I(ip, axis), I(ip, transpose), I(ip, bias)};
static const struct pfield f_pool[] = {
	I(pool, method), I(pool, kh), I(pool, kw), I(pool, sh), I(pool, sw), I(pool, ph), I(pool, pw),
};
static const struct pfield f_act[] = {R(act, a), R(act, b), R(act, c)};
static const struct pfield f_axis[] = {I(axis, axis)};
static const struct pfield f_prelu[] = {I(prelu, channel_shared)};
static const struct pfield f_bn[] = {R(batchnorm, eps)};
static const struct pfield f_lrn[] = {I(lrn, size), I(lrn, region), R(lrn, alpha), R(lrn, beta), R(lrn, k)};
static const struct pfield f_scale[] = {I(scale, axis), I(scale, two_bottoms), I(scale, bias)};
static const struct pfield f_eltwise[] = {
	I(eltwise, op), {"coeff", P_COEFF, offsetof(union cr_params, eltwise.coeff), 1},
};
static const struct pfield f_permute[] = {IS(permute, order, CR_MAX_DIMS)};
static const struct pfield f_crop[] = {IS(crop, offset, CR_MAX_DIMS)};
static const struct pfield f_norm[] = {
	I(normalize, across_spatial), I(normalize, channel_shared), R(normalize, eps),
};
static const struct pfield f_prior[] = {
	I(priorbox, nmin), I(priorbox, nmax), I(priorbox, nar), I(priorbox, nvariance), I(priorbox, clip),
	RS(priorbox, min_size, CR_PRIOR_MAX), RS(priorbox, max_size, CR_PRIOR_MAX),
	RS(priorbox, ar, CR_PRIOR_MAX), RS(priorbox, variance, 4),
	R(priorbox, img_w), R(priorbox, img_h), R(priorbox, step_w), R(priorbox, step_h), R(priorbox, offset),
};
static const struct pfield f_det[] = {
	I(detection, num_classes), I(detection, share_location), I(detection, background_label_id),
	I(detection, code_type), I(detection, variance_encoded_in_target), I(detection, keep_top_k),
	I(detection, top_k), R(detection, confidence_threshold), R(detection, nms_threshold),
	R(detection, eta),
};

#define N(a) (sizeof a / sizeof a[0])

/* Per op: the enum constant's name, the union member and its fields. */
static const struct opdesc {
	const char *name;
	const char *member;          /* NULL: no parameters */
	const struct pfield *f;
	size_t nf;
} ops[CR_OP_COUNT] = {
	[CR_OP_CONV] = {"CR_OP_CONV", "conv", f_conv, N(f_conv)},
	[CR_OP_DECONV] = {"CR_OP_DECONV", "conv", f_conv, N(f_conv)},
	[CR_OP_INNER_PRODUCT] = {"CR_OP_INNER_PRODUCT", "ip", f_ip, N(f_ip)},
	[CR_OP_POOL] = {"CR_OP_POOL", "pool", f_pool, N(f_pool)},
	[CR_OP_RELU] = {"CR_OP_RELU", "act", f_act, N(f_act)},
	[CR_OP_PRELU] = {"CR_OP_PRELU", "prelu", f_prelu, N(f_prelu)},
	[CR_OP_ELU] = {"CR_OP_ELU", "act", f_act, N(f_act)},
	[CR_OP_SIGMOID] = {"CR_OP_SIGMOID", NULL, NULL, 0},
	[CR_OP_TANH] = {"CR_OP_TANH", NULL, NULL, 0},
	[CR_OP_ABSVAL] = {"CR_OP_ABSVAL", NULL, NULL, 0},
	[CR_OP_POWER] = {"CR_OP_POWER", "act", f_act, N(f_act)},
	[CR_OP_BNLL] = {"CR_OP_BNLL", NULL, NULL, 0},
	[CR_OP_CLIP] = {"CR_OP_CLIP", "act", f_act, N(f_act)},
	[CR_OP_SOFTMAX] = {"CR_OP_SOFTMAX", "axis", f_axis, N(f_axis)},
	[CR_OP_LRN] = {"CR_OP_LRN", "lrn", f_lrn, N(f_lrn)},
	[CR_OP_BATCHNORM] = {"CR_OP_BATCHNORM", "batchnorm", f_bn, N(f_bn)},
	[CR_OP_SCALE] = {"CR_OP_SCALE", "scale", f_scale, N(f_scale)},
	[CR_OP_BIAS] = {"CR_OP_BIAS", "scale", f_scale, N(f_scale)},
	[CR_OP_ELTWISE] = {"CR_OP_ELTWISE", "eltwise", f_eltwise, N(f_eltwise)},
	[CR_OP_CONCAT] = {"CR_OP_CONCAT", "axis", f_axis, N(f_axis)},
	[CR_OP_SLICE] = {"CR_OP_SLICE", "axis", f_axis, N(f_axis)},
	[CR_OP_SPLIT] = {"CR_OP_SPLIT", NULL, NULL, 0},
	[CR_OP_FLATTEN] = {"CR_OP_FLATTEN", NULL, NULL, 0},
	[CR_OP_RESHAPE] = {"CR_OP_RESHAPE", NULL, NULL, 0},
	[CR_OP_DROPOUT] = {"CR_OP_DROPOUT", NULL, NULL, 0},
	[CR_OP_PERMUTE] = {"CR_OP_PERMUTE", "permute", f_permute, N(f_permute)},
	[CR_OP_CROP] = {"CR_OP_CROP", "crop", f_crop, N(f_crop)},
	[CR_OP_NORMALIZE] = {"CR_OP_NORMALIZE", "normalize", f_norm, N(f_norm)},
	[CR_OP_PRIORBOX] = {"CR_OP_PRIORBOX", "priorbox", f_prior, N(f_prior)},
	[CR_OP_DETECTION_OUTPUT] = {"CR_OP_DETECTION_OUTPUT", "detection", f_det, N(f_det)},
};

static size_t
field_size(const struct pfield *f)
{
	switch (f->kind) {
	case P_I32: return sizeof(int32_t);
	case P_F32: return sizeof(float);
	case P_I32S: return f->n * sizeof(int32_t);
	case P_F32S: return f->n * sizeof(float);
	default: return sizeof(const float *);
	}
}

/* Little-endian bytes of n floats into buf (4n bytes). */
static void
le_floats(unsigned char *buf, const float *x, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		uint32_t u;
		memcpy(&u, &x[i], sizeof u);
		buf[4 * i] = (unsigned char)u;
		buf[4 * i + 1] = (unsigned char)(u >> 8);
		buf[4 * i + 2] = (unsigned char)(u >> 16);
		buf[4 * i + 3] = (unsigned char)(u >> 24);
	}
}

struct wmap {
	const float *data;
	size_t count, offset;
};

struct names {
	char **v;
	size_t n, cap;
};

static char *
keep(struct names *nm, char *s)
{
	if (!s)
		return NULL;
	if (nm->n == nm->cap) {
		size_t cap = nm->cap ? 2 * nm->cap : 64;
		char **v = realloc(nm->v, cap * sizeof *v);
		if (!v) {
			free(s);
			return NULL;
		}
		nm->v = v;
		nm->cap = cap;
	}
	return nm->v[nm->n++] = s;
}

#define OOM(x) do { if (!(x)) goto oom; } while (0)

/* The parameters of layer l, as a list of {name, kind, value}. */
static int
describe_params(struct tdata *d, struct tval *lv, const cr_layer *l, size_t coeff_index,
                caffeopt_error *err)
{
	const struct opdesc *od = &ops[l->op];
	union cr_params redo;
	struct tval *params;
	size_t i, k;

	memset(&redo, 0, sizeof redo);
	OOM(tv_str(d, tv_add(d, lv, "member"), od->member ? od->member : ""));
	OOM(params = tv_list(tv_add(d, lv, "params")));
	for (i = 0; i < od->nf; i++) {
		const struct pfield *f = &od->f[i];
		const unsigned char *src = (const unsigned char *)&l->p + f->off;
		struct tval *pv, *val;
		static const char *const kinds[] = {"int", "float", "ints", "floats", "coeff"};
		memcpy((unsigned char *)&redo + f->off, src, field_size(f));
		OOM(pv = tv_map(tv_add(d, params, NULL)));
		OOM(tv_str(d, tv_add(d, pv, "name"), f->name));
		OOM(tv_str(d, tv_add(d, pv, "kind"), kinds[f->kind]));
		OOM(val = tv_add(d, pv, "value"));
		switch (f->kind) {
		case P_I32: {
			int32_t x;
			memcpy(&x, src, sizeof x);
			OOM(tv_int(val, x));
			break;
		}
		case P_I32S:
			OOM(tv_list(val));
			for (k = 0; k < f->n; k++) {
				int32_t x;
				memcpy(&x, src + 4 * k, sizeof x);
				OOM(tv_int(tv_add(d, val, NULL), x));
			}
			break;
		case P_F32: case P_F32S: {
			unsigned char buf[4 * CR_PRIOR_MAX];
			float x[CR_PRIOR_MAX];
			memcpy(x, src, field_size(f));
			le_floats(buf, x, f->n);
			OOM(tv_bytes_dup(d, val, buf, 4 * f->n));
			break;
		}
		default: {
			const float *c;
			memcpy(&c, src, sizeof c);
			OOM(tv_int(val, c ? (long long)coeff_index : -1));
			break;
		}
		}
	}
	if (memcmp(&redo, &l->p, sizeof redo) != 0)
		return caffeopt_fail(err, NULL, 0, 0, "layer '%s' (%s): its runtime parameters hold values "
		                     "net mode does not describe (runtime.h changed?)", l->name, od->name);
	OOM(tv_int(tv_add(d, lv, "nparams"), (long long)od->nf));
	return 0;
oom:
	return caffeopt_fail(err, NULL, 0, 0, "out of memory");
}

int
embed_net_fill(struct tdata *d, struct tval *root, caffeopt_model *m, struct embed_pool *pl,
               struct embed_net *en, caffeopt_error *err)
{
	const cr_net *net;
	struct tval *layers, *list, *weights, *blobs, *names, *coeffs, *ins, *outs, *nv;
	struct wmap *wm = NULL;
	struct names nm = {0};
	struct ident *ids = NULL;
	size_t nwm = 0, capwm = 0, nidx = 0, nw = 0, ncoeff = 0, i, j, k;
	int rc = -1;

	if (!(net = en->net = netbuild(m, NULL, 0, 0, err)))
		return -1;
	OOM(nv = tv_map(tv_add(d, root, "net")));
	OOM(tv_str(d, tv_add(d, nv, "name"), net->name ? net->name : ""));
	OOM(tv_int(tv_add(d, root, "arena_floats"), net->arena_floats));
	OOM(tv_int(tv_add(d, root, "naive_floats"), net->naive_floats));
	OOM(tv_int(tv_add(d, root, "arena_bytes"), (long long)cr_arena_bytes(net)));
	OOM(tv_int(tv_add(d, root, "max_dims"), CR_MAX_DIMS));

	/* Layers, their index lists, their weights (pooled once each). */
	OOM(layers = tv_list(tv_add(d, root, "layers")));
	OOM(weights = tv_list(tv_add(d, root, "net_weights")));
	OOM(coeffs = tv_list(tv_add(d, root, "coeffs")));
	for (i = 0; i < net->nlayer; i++) {
		const cr_layer *l = &net->layer[i];
		struct tval *lv;
		char *id;
		if (l->op < 0 || l->op >= CR_OP_COUNT || !ops[l->op].name) {
			caffeopt_fail(err, NULL, 0, 0, "layer '%s': op %d is unknown to net mode", l->name, (int)l->op);
			goto out;
		}
		OOM(id = keep(&nm, embed_ident(l->name)));
		OOM(lv = tv_map(tv_add(d, layers, NULL)));
		OOM(tv_int(tv_add(d, lv, "index"), (long long)i));
		OOM(tv_str(d, tv_add(d, lv, "name"), l->name ? l->name : ""));
		OOM(tv_str(d, tv_add(d, lv, "ident"), id));
		OOM(tv_str(d, tv_add(d, lv, "op"), ops[l->op].name));
		OOM(tv_str(d, tv_add(d, lv, "type"), cr_op_name(l->op)));
		OOM(tv_int(tv_add(d, lv, "nbottom"), l->nbottom));
		OOM(tv_int(tv_add(d, lv, "ntop"), l->ntop));
		OOM(tv_int(tv_add(d, lv, "nweight"), l->nweight));
		OOM(tv_int(tv_add(d, lv, "bottom_at"), (long long)nidx));
		OOM(list = tv_list(tv_add(d, lv, "bottoms")));
		for (j = 0; j < l->nbottom; j++, nidx++)
			OOM(tv_int(tv_add(d, list, NULL), l->bottom[j]));
		OOM(tv_int(tv_add(d, lv, "top_at"), (long long)nidx));
		OOM(list = tv_list(tv_add(d, lv, "tops")));
		for (j = 0; j < l->ntop; j++, nidx++)
			OOM(tv_int(tv_add(d, list, NULL), l->top[j]));
		OOM(tv_int(tv_add(d, lv, "weight_at"), (long long)nw));
		for (j = 0; j < l->nweight; j++, nw++) {
			const cr_weight *w = &l->weight[j];
			struct tval *wv, *shape;
			size_t off = 0;
			for (k = 0; k < nwm; k++)
				if (wm[k].data == w->data && wm[k].count == w->count)
					break;
			if (k == nwm) {
				if (nwm == capwm) {
					size_t cap = capwm ? 2 * capwm : 64;
					struct wmap *x = realloc(wm, cap * sizeof *x);
					OOM(x);
					wm = x;
					capwm = cap;
				}
				if (embed_pool_add(pl, w->data, w->count, &off) < 0)
					goto oom;
				wm[nwm].data = w->data;
				wm[nwm].count = w->count;
				wm[nwm].offset = off;
				nwm++;
			}
			OOM(wv = tv_map(tv_add(d, weights, NULL)));
			OOM(tv_int(tv_add(d, wv, "index"), (long long)nw));
			OOM(tv_str(d, tv_add(d, wv, "layer"), l->name ? l->name : ""));
			OOM(tv_int(tv_add(d, wv, "offset"), (long long)wm[k].offset));
			OOM(tv_int(tv_add(d, wv, "count"), w->count));
			OOM(tv_int(tv_add(d, wv, "ndim"), w->ndim));
			OOM(shape = tv_list(tv_add(d, wv, "shape")));
			for (k = 0; k < 4; k++)
				OOM(tv_int(tv_add(d, shape, NULL), w->shape[k]));
		}
		OOM(tv_int(tv_add(d, lv, "scratch"), l->scratch));
		OOM(tv_int(tv_add(d, lv, "nscratch"), l->nscratch));
		if (l->op == CR_OP_ELTWISE && l->p.eltwise.coeff) {
			unsigned char *buf = malloc(4 * (size_t)l->nbottom + 1);
			struct tval *cv;
			OOM(buf);
			le_floats(buf, l->p.eltwise.coeff, l->nbottom);
			cv = tv_map(tv_add(d, coeffs, NULL));
			if (!cv || !tv_int(tv_add(d, cv, "index"), (long long)ncoeff) ||
			    !tv_str(d, tv_add(d, cv, "layer"), l->name ? l->name : "") ||
			    !tv_int(tv_add(d, cv, "n"), l->nbottom) ||
			    !tv_bytes_dup(d, tv_add(d, cv, "data"), buf, 4 * (size_t)l->nbottom)) {
				free(buf);
				goto oom;
			}
			free(buf);
		}
		if (describe_params(d, lv, l, ncoeff, err) < 0)
			goto out;
		if (l->op == CR_OP_ELTWISE && l->p.eltwise.coeff)
			ncoeff++;
	}
	OOM(tv_int(tv_add(d, root, "nlayers"), net->nlayer));
	OOM(tv_int(tv_add(d, root, "nindices"), (long long)nidx));
	OOM(tv_int(tv_add(d, root, "nnet_weights"), (long long)nw));

	/* Blobs; the enum names each blob name's last version. */
	OOM(blobs = tv_list(tv_add(d, root, "blobs")));
	OOM(names = tv_list(tv_add(d, root, "blob_names")));
	OOM(ids = calloc(net->nblob + net->nlayer + 1, sizeof *ids));
	for (i = 0, k = 0; i < net->nblob; i++) {
		const cr_blob *b = &net->blob[i];
		struct tval *bv, *shape;
		char *id;
		OOM(id = keep(&nm, embed_ident(b->name)));
		OOM(bv = tv_map(tv_add(d, blobs, NULL)));
		OOM(tv_int(tv_add(d, bv, "index"), (long long)i));
		OOM(tv_str(d, tv_add(d, bv, "name"), b->name ? b->name : ""));
		OOM(tv_str(d, tv_add(d, bv, "ident"), id));
		OOM(tv_int(tv_add(d, bv, "ndim"), b->ndim));
		OOM(shape = tv_list(tv_add(d, bv, "shape")));
		for (j = 0; j < (size_t)b->ndim && j < CR_MAX_DIMS; j++)
			OOM(tv_int(tv_add(d, shape, NULL), b->shape[j]));
		OOM(tv_int(tv_add(d, bv, "count"), b->count));
		OOM(tv_int(tv_add(d, bv, "offset"), b->offset));
		for (j = i + 1; j < net->nblob && strcmp(net->blob[j].name, b->name) != 0; j++)
			;
		if (j < net->nblob)
			continue;  /* a later version has this name */
		ids[k].c = id;
		ids[k++].orig = b->name;
		OOM(bv = tv_map(tv_add(d, names, NULL)));
		OOM(tv_int(tv_add(d, bv, "index"), (long long)i));
		OOM(tv_str(d, tv_add(d, bv, "name"), b->name ? b->name : ""));
		OOM(tv_str(d, tv_add(d, bv, "ident"), id));
		OOM(shape = tv_list(tv_add(d, bv, "shape")));
		for (j = 0; j < (size_t)b->ndim && j < CR_MAX_DIMS; j++)
			OOM(tv_int(tv_add(d, shape, NULL), b->shape[j]));
	}
	if (embed_idents_unique(ids, k, "blob", err) < 0)
		goto out;
	for (i = 0; i < net->nlayer; i++) {
		ids[i].c = nm.v[i];  /* the layer idents, kept first */
		ids[i].orig = net->layer[i].name;
	}
	if (embed_idents_unique(ids, net->nlayer, "layer", err) < 0)
		goto out;
	OOM(tv_int(tv_add(d, root, "nblobs"), net->nblob));

	OOM(ins = tv_list(tv_add(d, root, "inputs")));
	OOM(outs = tv_list(tv_add(d, root, "outputs")));
	for (i = 0; i < net->ninput + net->noutput; i++) {
		uint32_t b = i < net->ninput ? net->input[i] : net->output[i - net->ninput];
		struct tval *iv;
		char *id;
		OOM(id = keep(&nm, embed_ident(net->blob[b].name)));
		OOM(iv = tv_map(tv_add(d, i < net->ninput ? ins : outs, NULL)));
		OOM(tv_int(tv_add(d, iv, "index"), b));
		OOM(tv_str(d, tv_add(d, iv, "name"), net->blob[b].name));
		OOM(tv_str(d, tv_add(d, iv, "ident"), id));
	}
	OOM(tv_int(tv_add(d, root, "ninputs"), net->ninput));
	OOM(tv_int(tv_add(d, root, "noutputs"), net->noutput));
	rc = 0;
	goto out;
oom:
	caffeopt_fail(err, NULL, 0, 0, "out of memory");
out:
	for (i = 0; i < nm.n; i++)
		free(nm.v[i]);
	free(nm.v);
	free(ids);
	free(wm);
	return rc;
}

void
embed_net_free(struct embed_net *en)
{
	netbuild_free(en->net);
	en->net = NULL;
}
