/* wblob.c - weight blobs, eager or lazy.  A lazy blob's values stay in the
 * caffemodel until something reads them: the scalings fold-affine makes
 * are recorded and applied on the way out, so a large model goes from its
 * input file to its output file in small pieces (wstream.c), never
 * whole in fresh memory.  Applying the recorded scalings in order, each
 * rounded to float, gives the bytes scaling in place would have.  The
 * pieces are read by pread, not from a mapping: page faults and the unmap
 * cost more than the copy (0.06 s against 0.10 s for ResNet-152's 241 MB).
 * The model holds the file open, so replacing it by rename (an output
 * over its own input) leaves the values readable.
 *
 * A NaN or infinity in a lazy blob is refused when its values are first
 * read (wblob_load, or the writer through wblob_read), with the message
 * shape_check gives for an eager blob.  So a command that never reads the
 * values (info, graph) or a lazy blob whose layer a pass removed no longer
 * reports it. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fileio.h"
#include "model.h"

size_t
wblob_count(const struct wblob *b)
{
	size_t c = 1;
	int i;

	for (i = 0; i < b->ndim; i++) {
		if (b->shape[i] < 0)
			return 0;
		if (b->shape[i] != 0 && c > SIZE_MAX / (size_t)b->shape[i])
			return 0;
		c *= (size_t)b->shape[i];
	}
	return c;
}

size_t
wblob_store_size(size_t count)
{
	return (count * sizeof(float) + 63) & ~(size_t)63;
}

void
wblobs_free(struct wblob *b, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!b[i].borrowed)
			free(b[i].data);
	free(b);
}

void
wblob_replace_data(struct wblob *b, float *data)
{
	if (!b->borrowed)
		free(b->data);
	b->data = data;
	b->borrowed = 0;
}

int
wblob_make_lazy(caffeopt_model *m, struct wblob *b, uint64_t off, const char *layer,
                const char *type, size_t k)
{
	size_t nl = strlen(layer) + 1, nt = strlen(type) + 1;
	struct wsource *s = malloc(sizeof *s + nl + nt);
	char *names;

	if (!s)
		return -1;
	names = (char *)(s + 1);
	memcpy(names, layer, nl);
	memcpy(names + nl, type, nt);
	s->off = off;
	s->ops = NULL;
	s->layer = names;
	s->type = names + nl;
	s->blob = k;
	s->next = m->lazy;
	m->lazy = s;
	b->lazy = s;
	b->data = NULL;
	b->borrowed = 0;
	return 0;
}

void
model_free_sources(caffeopt_model *m)
{
	struct wsource *s, *next;
	struct wscale *op, *nop;

	for (s = m->lazy; s; s = next) {
		next = s->next;
		for (op = s->ops; op; op = nop) {
			nop = op->next;
			free(op);
		}
		free(s);
	}
	m->lazy = NULL;
	bigbuf_free(m->lstore, m->lstore_len);
	m->lstore = NULL;
	if (m->wfile) {
		file_close(m->wfile);
		free(m->wfile);
		m->wfile = NULL;
	}
}

/* The index of the first NaN or infinity among the n floats at p, or n.
 * Blocks without one are scanned without a branch per value. */
static size_t
first_nonfinite(const void *p, size_t n)
{
	enum { BLOCK = 1024 };
	const unsigned char *q = p;
	size_t i, j, end;

	for (i = 0; i < n; i = end) {
		uint32_t bad = 0, u;

		end = n - i > BLOCK ? i + BLOCK : n;
		for (j = i; j < end; j++) {
			memcpy(&u, q + 4 * j, 4);
			bad |= (u & 0x7f800000u) == 0x7f800000u;
		}
		if (!bad)
			continue;
		for (j = i; j < end; j++) {
			memcpy(&u, q + 4 * j, 4);
			if ((u & 0x7f800000u) == 0x7f800000u)
				return j;
		}
	}
	return n;
}

/* Refuse the n values at p, from index at of blob k of layer (type), when
 * one is a NaN or an infinity.  0 or -1. */
static int
check_finite(const caffeopt_model *m, const char *layer, const char *type, size_t k,
             const void *p, size_t at, size_t n, caffeopt_error *err)
{
	size_t j = first_nonfinite(p, n);
	float x;

	if (j == n)
		return 0;
	memcpy(&x, (const unsigned char *)p + 4 * j, 4);
	return caffeopt_fail(err, m->caffemodel_path, 0, 0,
	                     "layer '%s' (%s): weight blob %zu holds %s at index %zu",
	                     layer, type, k, isnan(x) ? "NaN" : "an infinity", at + j);
}

int
wblob_check_finite(const caffeopt_model *m, const struct mlayer *ml, size_t k, caffeopt_error *err)
{
	const struct wblob *b = &ml->blobs[k];

	if (b->lazy)
		return 0;
	return check_finite(m, ml->p->name, ml->p->type, k, b->data, 0, b->count, err);
}

/* x[0..n) *= a, each product rounded from double to float.  On x86-64
 * with glibc (whose ifuncs pick the clone at load time) also built for
 * AVX2, four doubles a step instead of two; the products are exact IEEE
 * operations either way, so the bytes are the same. */
#if defined(__x86_64__) && defined(__GLIBC__) && defined(__has_attribute)
#if __has_attribute(target_clones)
__attribute__((target_clones("avx2", "default")))
#endif
#endif
static void
scale_run(float *x, size_t n, double a)
{
	size_t e;

	for (e = 0; e < n; e++)
		x[e] = (float)(a * x[e]);
}

/* Apply op to x[0..n), the values from index at of its blob. */
static void
scale_apply(const struct wscale *op, size_t at, float *x, size_t n)
{
	size_t i = 0;

	while (i < n) {
		size_t idx = at + i, q = idx / op->sp, run = op->sp - idx % op->sp;
		size_t o = q / op->per / op->inper * op->per + q % op->per;

		if (run > n - i)
			run = n - i;
		scale_run(x + i, run, op->a[op->n == 1 ? 0 : o]);
		i += run;
	}
}

int
wblob_scale(struct wblob *b, size_t sp, size_t per, size_t inper, const double *a, size_t n)
{
	struct wscale *op, **tail;
	double *copy;

	if (!b->lazy) {
		struct wscale now = {NULL, sp, per, inper, n, a};
		scale_apply(&now, 0, b->data, b->count);
		return 0;
	}
	if (!(op = malloc(sizeof *op + n * sizeof *a)))
		return -1;
	copy = (double *)(void *)(op + 1);
	memcpy(copy, a, n * sizeof *a);
	op->next = NULL;
	op->sp = sp;
	op->per = per;
	op->inper = inper;
	op->n = n;
	op->a = copy;
	for (tail = &b->lazy->ops; *tail; tail = &(*tail)->next)
		;
	*tail = op;
	return 0;
}

int
wblob_read(const caffeopt_model *m, const struct wblob *b, size_t at, size_t n, float *buf,
           caffeopt_error *err)
{
	const struct wsource *s = b->lazy;
	const struct wscale *op;

	if (file_pread(m->wfile, s->off + 4 * (uint64_t)at, buf, 4 * n, m->caffemodel_path, err) < 0 ||
	    check_finite(m, s->layer, s->type, s->blob, buf, at, n, err) < 0)
		return -1;
	for (op = s->ops; op; op = op->next)
		scale_apply(op, at, buf, n);
	return 0;
}

/* Read lazy b's values into data (b->count floats) and make b eager,
 * its data borrowed when it lies in a store.  0 or -1. */
static int
load_into(const caffeopt_model *m, struct wblob *b, float *data, int borrowed, caffeopt_error *err)
{
	if (wblob_read(m, b, 0, b->count, data, err) < 0)
		return -1;
	b->data = data;
	b->borrowed = borrowed;
	b->lazy = NULL;  /* its source stays on m's list until m goes */
	return 0;
}

float *
wblob_load(const caffeopt_model *m, struct wblob *b, caffeopt_error *err)
{
	float *data;

	if (!b->lazy)
		return b->data;
	if (!(data = malloc(b->count * sizeof *data))) {
		caffeopt_fail(err, NULL, 0, 0, "out of memory for %zu weights", b->count);
		return NULL;
	}
	if (load_into(m, b, data, 0, err) < 0) {
		free(data);
		return NULL;
	}
	return data;
}

int
model_load_weights(caffeopt_model *m, caffeopt_error *err)
{
	size_t i, k, total = 0, at = 0;
	unsigned char *store;

	for (i = 0; i < m->nlayers; i++)
		for (k = 0; k < m->layers[i].nblobs; k++)
			if (m->layers[i].blobs[k].lazy)
				total += wblob_store_size(m->layers[i].blobs[k].count);
	if (total == 0)
		return 0;
	if (m->lstore) {
		/* Loaded once already: the rest one by one. */
		for (i = 0; i < m->nlayers; i++)
			for (k = 0; k < m->layers[i].nblobs; k++)
				if (m->layers[i].blobs[k].lazy && !wblob_load(m, &m->layers[i].blobs[k], err))
					return -1;
		return 0;
	}
	/* One store in huge pages, as bind's: first touches of 4 KiB pages
	 * made loading ResNet-50 for the engine 0.3 s slower. */
	if (!(store = bigbuf_alloc(total)))
		return caffeopt_fail(err, m->caffemodel_path, 0, 0, "out of memory for %zu bytes of weights",
		                     total);
	m->lstore = store;
	m->lstore_len = total;
	for (i = 0; i < m->nlayers; i++)
		for (k = 0; k < m->layers[i].nblobs; k++) {
			struct wblob *b = &m->layers[i].blobs[k];

			if (!b->lazy)
				continue;
			if (load_into(m, b, (float *)(void *)(store + at), 1, err) < 0)
				return -1;
			at += wblob_store_size(b->count);
		}
	return 0;
}
