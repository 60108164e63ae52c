/* bind.c - attach a caffemodel's weights to the prototxt's layers.
 * Requires: both nets upgraded to V2.  Caffe's rule: each caffemodel layer
 * goes to the prototxt layer of the same name (the last of equal names
 * wins); caffemodel layers with no such layer are ignored; blob counts must
 * match what the layer creates.  Shapes are checked where the layer's
 * parameters determine them; legacy num/channels/height/width blobs get
 * their modern rank where it is known.  Every check runs before a value is
 * read.  Then the weights of Convolution, Deconvolution and InnerProduct
 * layers (blob 0, most of a model's values) that lie packed in the file
 * stay there, lazy (wblob.c), and the model keeps the file open; the
 * other values are read, in file order, into one weight store the model
 * owns, which those blobs borrow. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fileio.h"
#include "kinds.h"
#include "model.h"

static void
shape_text(const struct wblob *b, char *buf, size_t n)
{
	size_t used = 0;
	int i;

	buf[0] = '\0';
	for (i = 0; i < b->ndim && used < n; i++)
		used += (size_t)snprintf(buf + used, n - used, "%s%lld", i ? "x" : "",
		                         (long long)b->shape[i]);
	if (b->ndim == 0)
		snprintf(buf, n, "(scalar)");
}

/* Values in blob p, whose packed data is r when not NULL. */
static size_t
proto_values(const Caffe__BlobProto *p, const struct rawblob *r)
{
	if (r)
		return r->n;
	return p->n_data ? p->n_data : p->n_double_data;
}

/* The shape of BlobProto p (its data is r when not NULL) into b, checked
 * against its values.  0 or -1. */
static int
blob_from_proto(struct wblob *b, const Caffe__BlobProto *p, const struct rawblob *r,
                const char *path, const char *layer, size_t idx, caffeopt_error *err)
{
	size_t i, n, have = proto_values(p, r), ndata = r ? r->n : p->n_data;

	memset(b, 0, sizeof *b);
	if (p->shape) {
		if (p->shape->n_dim > CAFFEOPT_MAX_DIMS)
			return caffeopt_fail(err, path, 0, 0, "layer '%s': blob %zu has %zu dims (at most %d)",
			                     layer, idx, p->shape->n_dim, CAFFEOPT_MAX_DIMS);
		b->ndim = (int)p->shape->n_dim;
		for (i = 0; i < p->shape->n_dim; i++)
			b->shape[i] = p->shape->dim[i];
	} else if (!p->has_num && !p->has_channels && !p->has_height && !p->has_width) {
		/* Caffe writes a 0-axis blob (a shared PReLU slope) with no shape
		 * at all: one value. */
		b->ndim = 0;
	} else {
		b->ndim = 4;
		b->legacy = 1;
		b->shape[0] = p->has_num ? p->num : 0;
		b->shape[1] = p->has_channels ? p->channels : 0;
		b->shape[2] = p->has_height ? p->height : 0;
		b->shape[3] = p->has_width ? p->width : 0;
	}
	n = wblob_count(b);
	if (n == 0 && b->ndim > 0) {
		for (i = 0; i < (size_t)b->ndim; i++)
			if (b->shape[i] < 0)
				return caffeopt_fail(err, path, 0, 0, "layer '%s': blob %zu has a negative dim",
				                     layer, idx);
	}
	if (p->n_double_data > 0 && ndata > 0)
		return caffeopt_fail(err, path, 0, 0, "layer '%s': blob %zu has both data and double_data",
		                     layer, idx);
	if (have != n) {
		char s[128];
		shape_text(b, s, sizeof s);
		return caffeopt_fail(err, path, 0, 0,
		                     "layer '%s': blob %zu holds %zu values, its shape %s needs %zu",
		                     layer, idx, have, s, n);
	}
	b->count = n;
	return 0;
}

/* Give a legacy 4-D blob the modern rank r: drop leading dims that are 1. */
static int
unlegacy(struct wblob *b, int r)
{
	int drop = b->ndim - r, i;

	if (!b->legacy || drop < 0)
		return 0;
	for (i = 0; i < drop; i++)
		if (b->shape[i] != 1)
			return -1;
	memmove(b->shape, b->shape + drop, (size_t)r * sizeof b->shape[0]);
	b->ndim = r;
	b->legacy = 0;
	return 0;
}

static int
expect_shape(const struct wblob *b, int rank, int dim, int64_t want, const char *what,
             const char *path, const char *layer, size_t idx, caffeopt_error *err)
{
	char s[128];

	if (b->ndim == rank && (dim < 0 || b->shape[dim] == want))
		return 0;
	shape_text(b, s, sizeof s);
	if (b->ndim != rank)
		return caffeopt_fail(err, path, 0, 0, "layer '%s': blob %zu has shape %s, expected %d dims",
		                     layer, idx, s, rank);
	return caffeopt_fail(err, path, 0, 0, "layer '%s': blob %zu has shape %s, expected %s %lld in dim %d",
	                     layer, idx, s, what, (long long)want, dim);
}

/* Convert legacy shapes and check the shapes the parameters determine. */
static int
check_shapes(struct mlayer *ml, const char *path, caffeopt_error *err)
{
	const Caffe__LayerParameter *l = ml->p;
	struct wblob *b = ml->blobs;
	size_t i;

	switch (kind_of(l->type)) {
	case KIND_CONVOLUTION:
	case KIND_CONVOLUTION_DEPTHWISE:
	case KIND_DEPTHWISE_CONVOLUTION:
	case KIND_DECONVOLUTION: {
		const Caffe__ConvolutionParameter *c = l->convolution_param;
		int64_t nout = c && c->has_num_output ? c->num_output : 0;
		int64_t group = c && c->has_group && c->group > 0 ? c->group : 1;
		int nsp = c && c->n_kernel_size > 2 ? (int)c->n_kernel_size : 2;
		int deconv = kind_of(l->type) == KIND_DECONVOLUTION;

		if (unlegacy(&b[0], 2 + nsp) < 0 || (ml->nblobs > 1 && unlegacy(&b[1], 1) < 0))
			return caffeopt_fail(err, path, 0, 0, "layer '%s': legacy blob shape does not fit a %s",
			                     l->name, l->type);
		if (deconv) {
			if (b[0].ndim == 2 + nsp && b[0].shape[1] * group != nout)
				return caffeopt_fail(err, path, 0, 0,
				                     "layer '%s': weight dim 1 (%lld) x group %lld != num_output %lld",
				                     l->name, (long long)b[0].shape[1], (long long)group,
				                     (long long)nout);
			if (expect_shape(&b[0], 2 + nsp, -1, 0, "", path, l->name, 0, err) < 0)
				return -1;
		} else if (expect_shape(&b[0], 2 + nsp, 0, nout, "num_output", path, l->name, 0, err) < 0)
			return -1;
		if (ml->nblobs > 1 && expect_shape(&b[1], 1, 0, nout, "num_output", path, l->name, 1, err) < 0)
			return -1;
		return 0;
	}
	case KIND_INNER_PRODUCT: {
		const Caffe__InnerProductParameter *ip = l->inner_product_param;
		int64_t nout = ip && ip->has_num_output ? ip->num_output : 0;
		int tr = ip && ip->has_transpose && ip->transpose;

		if (unlegacy(&b[0], 2) < 0 || (ml->nblobs > 1 && unlegacy(&b[1], 1) < 0))
			return caffeopt_fail(err, path, 0, 0, "layer '%s': legacy blob shape does not fit an InnerProduct",
			                     l->name);
		if (expect_shape(&b[0], 2, tr ? 1 : 0, nout, "num_output", path, l->name, 0, err) < 0)
			return -1;
		if (ml->nblobs > 1 && expect_shape(&b[1], 1, 0, nout, "num_output", path, l->name, 1, err) < 0)
			return -1;
		return 0;
	}
	case KIND_BATCH_NORM:
		for (i = 0; i < 3; i++)
			if (unlegacy(&b[i], 1) < 0 || b[i].ndim != 1)
				return caffeopt_fail(err, path, 0, 0, "layer '%s': BatchNorm blob %zu is not 1-D",
				                     l->name, i);
		if (b[0].count != b[1].count || b[2].count != 1)
			return caffeopt_fail(err, path, 0, 0,
			                     "layer '%s': BatchNorm blobs hold %zu means, %zu variances and %zu factors (want C, C, 1)",
			                     l->name, b[0].count, b[1].count, b[2].count);
		return 0;
	default:
		/* A blob whose modern rank we cannot derive keeps its legacy form,
		 * which Caffe matches against any shape of equal 4-D padding. */
		return 0;
	}
}

/* Layer names sorted (then by index), to find layers by name in
 * O(log n): ResNet-152's 670 layers made the pairwise searches a third of
 * loading. */
struct byname {
	const char *name;
	size_t i;
};

static int
byname_order(const void *x, const void *y)
{
	const struct byname *a = x, *b = y;
	int c = strcmp(a->name, b->name);

	return c ? c : (a->i > b->i) - (a->i < b->i);
}

/* The index of the last layer named name, or -1. */
static long
byname_last(const struct byname *v, size_t n, const char *name)
{
	size_t lo = 0, hi = n;

	/* The first entry past every one named name. */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (strcmp(v[mid].name, name) <= 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo > 0 && strcmp(v[lo - 1].name, name) == 0 ? (long)v[lo - 1].i : -1;
}

/* Totals of the input caffemodel, for prune-weights' report. */
static void
count_input(caffeopt_model *m, const struct cmfile *cf, const struct byname *mv, size_t nmv,
            const struct byname *bv, size_t nbv)
{
	const Caffe__NetParameter *bin = cf->net;
	size_t j, k;

	m->in_layers = bin->n_layer;
	for (j = 0; j < bin->n_layer; j++) {
		const Caffe__LayerParameter *l = bin->layer[j];
		size_t n = 0;

		if (l->n_blobs == 0)
			continue;
		for (k = 0; k < l->n_blobs; k++)
			n += proto_values(l->blobs[k], cmfile_raw(cf, j, k));
		m->in_weight_layers++;
		m->in_params += n;
		/* Bound: the last caffemodel layer of a name some prototxt
		 * layer has. */
		if (!l->name || byname_last(bv, nbv, l->name) != (long)j ||
		    byname_last(mv, nmv, l->name) < 0) {
			m->unbound_layers++;
			m->unbound_params += n;
		}
	}
}

/* Where one bound blob's values come from. */
struct load {
	struct wblob *b;
	const Caffe__BlobProto *p;  /* when r is NULL */
	const struct rawblob *r;    /* packed in the file */
	const Caffe__LayerParameter *l;
	size_t k;                   /* b is blob k of l */
};

/* Whether ld's values stay in the file: the weights of the layers that
 * hold most of a model's values, packed there. */
static int
stays_lazy(const struct load *ld)
{
	if (!ld->r || ld->k != 0 || ld->b->count == 0)
		return 0;
	switch (kind_of(ld->l->type)) {
	case KIND_CONVOLUTION:
	case KIND_CONVOLUTION_DEPTHWISE:
	case KIND_DEPTHWISE_CONVOLUTION:
	case KIND_DECONVOLUTION:
	case KIND_INNER_PRODUCT:
		return 1;
	default:
		return 0;
	}
}

static int
load_order(const void *x, const void *y)
{
	const struct load *a = x, *b = y;
	uint64_t ka = a->r ? a->r->off : 0, kb = b->r ? b->r->off : 0;

	return ka < kb ? -1 : ka > kb;
}

/* Leave the lazy blobs in the file, give every other bound blob its
 * place in one new store and fill it: the file's packed floats by pread in
 * file order, decoded values by copy.  0 or -1. */
static int
fill_store(caffeopt_model *m, const struct cmfile *cf, struct load *ld, size_t n,
           const char *path, caffeopt_error *err)
{
	static float none[1];  /* the data of empty blobs */
	size_t i, k, total = 0, at = 0;
	unsigned char *store;

	for (i = 0; i < n; i++) {
		if (stays_lazy(&ld[i])) {
			if (wblob_make_lazy(m, ld[i].b, ld[i].r->off, ld[i].l->name,
			                    ld[i].l->type, ld[i].k) < 0)
				return caffeopt_fail(err, path, 0, 0, "out of memory");
			continue;
		}
		if (ld[i].b->count > (SIZE_MAX - total - 64) / sizeof(float))
			return caffeopt_fail(err, path, 0, 0, "out of memory: weights too large");
		total += wblob_store_size(ld[i].b->count);
	}
	if (total && !(store = bigbuf_alloc(total)))
		return caffeopt_fail(err, path, 0, 0, "out of memory for %zu bytes of weights", total);
	if (!total)
		store = NULL;
	m->wstore = store;
	m->wstore_len = total;
	for (i = 0; i < n; i++) {
		struct wblob *b = ld[i].b;

		if (b->lazy)
			continue;
		b->data = b->count ? (float *)(void *)(store + at) : none;
		b->borrowed = 1;
		at += wblob_store_size(b->count);
	}
	if (n > 1)
		qsort(ld, n, sizeof *ld, load_order);
	for (i = 0; i < n; i++) {
		struct wblob *b = ld[i].b;
		const Caffe__BlobProto *p = ld[i].p;

		if (b->count == 0 || b->lazy)
			continue;
		if (ld[i].r) {
			if (cmfile_read_floats(cf, ld[i].r, b->data, err) < 0)
				return -1;
		} else if (p->n_data) {
			memcpy(b->data, p->data, b->count * sizeof(float));
		} else {
			for (k = 0; k < b->count; k++)
				b->data[k] = (float)p->double_data[k];
		}
	}
	return 0;
}

int
bind_weights(caffeopt_model *m, struct cmfile *cf, const char *path, caffeopt_error *err)
{
	const Caffe__NetParameter *bin = cf->net;
	struct load *ld = NULL;
	struct byname *mv, *bv;
	size_t i, j, k, nld = 0, capld = 0, nmv = m->nlayers, nbv = 0, dup = SIZE_MAX;
	int rc = -1;
	long at;

	mv = malloc((nmv ? nmv : 1) * sizeof *mv);
	bv = malloc((bin->n_layer ? bin->n_layer : 1) * sizeof *bv);
	if (!mv || !bv)
		goto oom;
	for (i = 0; i < nmv; i++) {
		mv[i].name = m->layers[i].p->name;
		mv[i].i = i;
	}
	for (j = 0; j < bin->n_layer; j++)
		if (bin->layer[j]->name) {
			bv[nbv].name = bin->layer[j]->name;
			bv[nbv++].i = j;
		}
	qsort(mv, nmv, sizeof *mv, byname_order);
	qsort(bv, nbv, sizeof *bv, byname_order);
	/* Of the names two layers share, the first layer's. */
	for (i = 1; i < nmv; i++)
		if (strcmp(mv[i - 1].name, mv[i].name) == 0 && mv[i - 1].i < dup)
			dup = mv[i - 1].i;
	if (dup != SIZE_MAX) {
		caffeopt_fail(err, m->prototxt_path, 0, 0, "two layers are named '%s'; weights bind by name",
		              m->layers[dup].p->name);
		goto out;
	}
	for (i = 0; i < m->nlayers; i++) {
		struct mlayer *ml = &m->layers[i];
		const Caffe__LayerParameter *src = NULL;
		int want = kind_weight_blobs(ml->p);

		if ((at = byname_last(bv, nbv, ml->p->name)) >= 0) {
			j = (size_t)at;
			src = bin->layer[j];
		}
		if (!src) {
			if (want > 0) {
				caffeopt_fail(err, path, 0, 0, "layer '%s' (%s) has no weights in this caffemodel",
				              ml->p->name, ml->p->type);
				goto out;
			}
			continue;
		}
		if (want >= 0 && (size_t)want != src->n_blobs) {
			caffeopt_fail(err, path, 0, 0, "layer '%s' (%s): caffemodel has %zu blobs, the layer needs %d",
			              ml->p->name, ml->p->type, src->n_blobs, want);
			goto out;
		}
		if (src->n_blobs == 0)
			continue;
		ml->blobs = calloc(src->n_blobs, sizeof *ml->blobs);
		if (!ml->blobs) {
			caffeopt_fail(err, path, 0, 0, "out of memory");
			goto out;
		}
		for (k = 0; k < src->n_blobs; k++) {
			const struct rawblob *r = cmfile_raw(cf, j, k);

			if (blob_from_proto(&ml->blobs[k], src->blobs[k], r, path, ml->p->name, k, err) < 0) {
				wblobs_free(ml->blobs, k + 1);
				ml->blobs = NULL;
				goto out;
			}
			if (nld == capld) {
				struct load *q = realloc(ld, (capld ? capld * 2 : 64) * sizeof *ld);
				if (!q) {
					wblobs_free(ml->blobs, k + 1);
					ml->blobs = NULL;
					caffeopt_fail(err, path, 0, 0, "out of memory");
					goto out;
				}
				ld = q;
				capld = capld ? capld * 2 : 64;
			}
			ld[nld].b = &ml->blobs[k];
			ld[nld].p = src->blobs[k];
			ld[nld].r = r;
			ld[nld].l = ml->p;
			ld[nld].k = k;
			nld++;
		}
		ml->nblobs = src->n_blobs;
		if (check_shapes(ml, path, err) < 0)
			goto out;
	}
	if (fill_store(m, cf, ld, nld, path, err) < 0)
		goto out;
	file_unmap(cf->map);  /* what stays lazy is read by pread */
	if (m->lazy) {
		/* The lazy blobs' values stay where they are. */
		m->wfile = cf->map;
		cf->map = NULL;
	}
	count_input(m, cf, mv, nmv, bv, nbv);
	m->has_weights = 1;
	rc = 0;
	goto out;
oom:
	caffeopt_fail(err, path, 0, 0, "out of memory");
out:
	free(ld);
	free(mv);
	free(bv);
	return rc;
}
