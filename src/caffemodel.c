/* caffemodel.c - NetParameter files in and out: binary caffemodels through
 * protobuf-c and a reader of their layout that leaves the weights in the
 * file, text through textfmt; the writers encode a model, streaming the
 * weights from the model to the file. */
#include <stdlib.h>
#include <string.h>

#include "fileio.h"
#include "model.h"
#include "textfmt.h"

static const char not_caffemodel[] =
	"not a caffemodel: protobuf decoding of NetParameter failed (truncated or corrupt)";

Caffe__NetParameter *
netfile_read(const char *path, int binary,
             void (*warn)(void *, const char *, int, int, const char *), void *warn_ctx,
             caffeopt_error *err)
{
	size_t len;
	char *buf = file_read(path, &len, err);
	Caffe__NetParameter *net;

	if (!buf)
		return NULL;
	if (binary) {
		net = caffe__net_parameter__unpack(NULL, len, (const uint8_t *)buf);
		if (!net)
			caffeopt_fail(err, path, 0, 0, "%s", not_caffemodel);
	} else {
		net = (Caffe__NetParameter *)textfmt_parse(&caffe__net_parameter__descriptor, buf, len,
		                                           path, err, warn, warn_ctx);
	}
	free(buf);
	return net;
}

/* ---- the wire format, as far as the reader and the writer need it ---- */

enum { WT_VARINT = 0, WT_64BIT = 1, WT_LEN = 2, WT_32BIT = 5 };

/* The field numbers the reader and writer handle themselves. */
enum {
	NET_LAYERS_V1 = 2,    /* NetParameter.layers (V1): decoded whole */
	NET_LAYER = 100,      /* NetParameter.layer */
	LAYER_BLOBS = 7,      /* LayerParameter.blobs */
	BLOB_DATA = 5,        /* BlobProto.data, packed float */
	BLOB_DIFF = 6,        /* BlobProto.diff, packed float: never used */
	BLOB_DOUBLE_DIFF = 9  /* BlobProto.double_diff, packed double: never used */
};

/* One field of a message. */
struct field {
	uint32_t num;
	int wt;
	const uint8_t *start;  /* its tag */
	const uint8_t *val;    /* its value; for WT_LEN, the payload */
	size_t len;            /* WT_LEN: payload bytes */
	const uint8_t *end;    /* one past it */
};

/* A varint of at most max bytes at *p (< end): 1 and *p moved past it, or
 * 0 when it does not end within max bytes or the buffer. */
static int
get_varint(const uint8_t **p, const uint8_t *end, int max, uint64_t *v)
{
	uint64_t x = 0;
	int i;

	for (i = 0; i < max && *p + i < end; i++) {
		x |= (uint64_t)((*p)[i] & 0x7f) << (7 * i);
		if (!((*p)[i] & 0x80)) {
			*p += i + 1;
			*v = x;
			return 1;
		}
	}
	return 0;
}

/* Scan the field at p (< end).  1, or 0 for anything this reader leaves to
 * protobuf-c: framing protobuf-c refuses, and the corners where its
 * reading could differ from ours (tags over 4 bytes, lengths that do not
 * fit 32 bits, groups). */
static int
next_field(const uint8_t *p, const uint8_t *end, struct field *f)
{
	uint64_t tag, len, skip;

	f->start = p;
	if (!get_varint(&p, end, 4, &tag) || (tag >> 3) == 0)
		return 0;
	f->num = (uint32_t)(tag >> 3);
	f->wt = (int)(tag & 7);
	f->val = p;
	f->len = 0;
	switch (f->wt) {
	case WT_VARINT:
		if (!get_varint(&p, end, 10, &skip))
			return 0;
		break;
	case WT_64BIT:
		if (end - p < 8)
			return 0;
		p += 8;
		break;
	case WT_32BIT:
		if (end - p < 4)
			return 0;
		p += 4;
		break;
	case WT_LEN:
		if (!get_varint(&p, end, 5, &len) || len > 0xffffffffu || len > (uint64_t)(end - p))
			return 0;
		f->val = p;
		f->len = (size_t)len;
		p += len;
		break;
	default:
		return 0;
	}
	f->end = p;
	return 1;
}

/* Where the fields numbered above num begin in msg, which protobuf-c packed
 * (fields in number order, unknown fields, all numbered higher, last). */
static size_t
split_after(const uint8_t *msg, size_t n, uint32_t num)
{
	const uint8_t *p = msg, *end = msg + n;
	struct field f;

	while (p < end && next_field(p, end, &f) && f.num <= num)
		p = f.end;
	return (size_t)(p - msg);
}

static int
little_endian(void)
{
	const uint32_t one = 1;
	uint8_t b;

	memcpy(&b, &one, 1);
	return b == 1;
}

/* ---- reading ---- */

/* A growable byte buffer. */
struct bytes {
	uint8_t *p;
	size_t n, cap;
};

/* Room for n more bytes.  0 or -1. */
static int
bytes_reserve(struct bytes *b, size_t n)
{
	size_t cap = b->cap ? b->cap : 256;
	uint8_t *q;

	if (b->n + n <= b->cap)
		return 0;
	while (cap < b->n + n)
		cap *= 2;
	if (!(q = realloc(b->p, cap)))
		return -1;
	b->p = q;
	b->cap = cap;
	return 0;
}

static int
bytes_add(struct bytes *b, const void *p, size_t n)
{
	if (bytes_reserve(b, n) < 0)
		return -1;
	memcpy(b->p + b->n, p, n);
	b->n += n;
	return 0;
}

/* arr (of *cap elements of size sz, n used) with room for one more: arr
 * itself or a larger copy, NULL when out of memory (arr stays valid). */
static void *
grow(void *arr, size_t *cap, size_t n, size_t sz)
{
	size_t c = *cap ? *cap * 2 : 16;

	if (n < *cap)
		return arr;
	if (!(arr = realloc(arr, c * sz)))
		return NULL;
	*cap = c;
	return arr;
}

/* The reader's state: what it decoded so far. */
struct reader {
	struct cmfile *cf;
	const uint8_t *base;
	struct bytes net, layer, blob;  /* the shells: fields we do not read ourselves */
	Caffe__LayerParameter **layers;
	size_t nlayers, caplayers, capraw, capfirst;
	Caffe__BlobProto **blobs;       /* the current layer's */
	size_t nblobs, capblobs;
};

enum { READ_FALLBACK = 0, READ_OK = 1, READ_BAD = -1, READ_OOM = -2 };

static const uint8_t no_bytes[1];

/* One BlobProto: its data field recorded, the rest decoded by protobuf-c. */
static int
read_blob(struct reader *r, const uint8_t *p, const uint8_t *end)
{
	struct rawblob rb = {0, 0, 0}, *raw = NULL;
	Caffe__BlobProto *b, **blobs;
	struct field f;

	r->blob.n = 0;
	for (; p < end; p = f.end) {
		if (!next_field(p, end, &f))
			return READ_FALLBACK;
		if (f.num == BLOB_DATA) {
			if (f.wt != WT_LEN || rb.present || f.len % 4 != 0)
				return READ_FALLBACK;
			rb.off = (uint64_t)(f.val - r->base);
			rb.n = f.len / 4;
			rb.present = 1;
		} else if ((f.num == BLOB_DIFF && f.wt == WT_LEN && f.len % 4 == 0) ||
		           (f.num == BLOB_DOUBLE_DIFF && f.wt == WT_LEN && f.len % 8 == 0)) {
			/* Gradients: valid as protobuf-c checks them, and never used. */
		} else if (bytes_add(&r->blob, f.start, (size_t)(f.end - f.start)) < 0) {
			return READ_OOM;
		}
	}
	if (!(b = caffe__blob_proto__unpack(NULL, r->blob.n, r->blob.n ? r->blob.p : no_bytes)))
		return READ_BAD;
	if ((blobs = grow(r->blobs, &r->capblobs, r->nblobs, sizeof *blobs)))
		r->blobs = blobs;
	if (blobs && (raw = grow(r->cf->raw, &r->capraw, r->cf->nraw, sizeof *raw)))
		r->cf->raw = raw;
	if (!blobs || !raw) {
		caffe__blob_proto__free_unpacked(b, NULL);
		return READ_OOM;
	}
	r->blobs[r->nblobs++] = b;
	r->cf->raw[r->cf->nraw++] = rb;
	return READ_OK;
}

/* One LayerParameter: its blobs read by read_blob, the rest decoded by
 * protobuf-c. */
static int
read_layer(struct reader *r, const uint8_t *p, const uint8_t *end)
{
	Caffe__LayerParameter *l, **layers;
	struct field f;
	size_t first = r->cf->nraw, k, *firsts = NULL;
	int rc;

	r->layer.n = 0;
	r->nblobs = 0;
	for (; p < end; p = f.end) {
		if (!next_field(p, end, &f)) {
			rc = READ_FALLBACK;
			goto fail;
		}
		if (f.num == LAYER_BLOBS && f.wt == WT_LEN) {
			if ((rc = read_blob(r, f.val, f.val + f.len)) != READ_OK)
				goto fail;
		} else if (bytes_add(&r->layer, f.start, (size_t)(f.end - f.start)) < 0) {
			rc = READ_OOM;
			goto fail;
		}
	}
	rc = READ_OOM;
	if (!(l = caffe__layer_parameter__unpack(NULL, r->layer.n, r->layer.n ? r->layer.p : no_bytes))) {
		rc = READ_BAD;
		goto fail;
	}
	if (r->nblobs) {
		/* The protobuf-c layout: a malloc'd array, freed with l. */
		if (!(l->blobs = malloc(r->nblobs * sizeof *l->blobs))) {
			caffe__layer_parameter__free_unpacked(l, NULL);
			goto fail;
		}
		memcpy(l->blobs, r->blobs, r->nblobs * sizeof *l->blobs);
		l->n_blobs = r->nblobs;
		r->nblobs = 0;
	}
	if ((layers = grow(r->layers, &r->caplayers, r->nlayers, sizeof *layers)))
		r->layers = layers;
	if (layers && (firsts = grow(r->cf->first, &r->capfirst, r->nlayers, sizeof *firsts)))
		r->cf->first = firsts;
	if (!layers || !firsts) {
		caffe__layer_parameter__free_unpacked(l, NULL);
		return READ_OOM;
	}
	r->cf->first[r->nlayers] = first;
	r->layers[r->nlayers++] = l;
	return READ_OK;
fail:
	for (k = 0; k < r->nblobs; k++)
		caffe__blob_proto__free_unpacked(r->blobs[k], NULL);
	r->nblobs = 0;
	return rc;
}

/* Read a caffemodel's layout from its bytes.  A READ_ code. */
static int
read_fast(struct reader *r, const uint8_t *p, size_t len)
{
	const uint8_t *end = p + len;
	Caffe__NetParameter *net;
	struct field f;
	int rc;

	if (!little_endian() || len > 0x7fffffffu)
		return READ_FALLBACK;
	for (; p < end; p = f.end) {
		if (!next_field(p, end, &f) || f.num == NET_LAYERS_V1)
			return READ_FALLBACK;
		if (f.num == NET_LAYER && f.wt == WT_LEN) {
			if ((rc = read_layer(r, f.val, f.val + f.len)) != READ_OK)
				return rc;
		} else if (bytes_add(&r->net, f.start, (size_t)(f.end - f.start)) < 0) {
			return READ_OOM;
		}
	}
	if (!(net = caffe__net_parameter__unpack(NULL, r->net.n, r->net.n ? r->net.p : no_bytes)))
		return READ_BAD;
	net->layer = r->layers;
	net->n_layer = r->nlayers;
	r->layers = NULL;
	r->nlayers = 0;
	r->cf->net = net;
	r->cf->nlayers = net->n_layer;
	return READ_OK;
}

static void
reader_free(struct reader *r)
{
	size_t k;

	for (k = 0; k < r->nlayers; k++)
		caffe__layer_parameter__free_unpacked(r->layers[k], NULL);
	free(r->layers);
	free(r->net.p);
	free(r->layer.p);
	free(r->blob.p);
	free(r->blobs);
}

struct cmfile *
cmfile_open(const char *path, caffeopt_error *err)
{
	struct cmfile *cf = calloc(1, sizeof *cf);
	struct reader r;
	int rc;

	if (!cf || !(cf->map = malloc(sizeof *cf->map))) {
		free(cf);
		caffeopt_fail(err, path, 0, 0, "out of memory");
		return NULL;
	}
	cf->path = path;
	if (file_map(cf->map, path, err) < 0) {
		free(cf->map);
		free(cf);
		return NULL;
	}
	memset(&r, 0, sizeof r);
	r.cf = cf;
	r.base = cf->map->p;
	rc = read_fast(&r, cf->map->p ? cf->map->p : no_bytes, cf->map->len);
	reader_free(&r);
	if (rc == READ_FALLBACK) {
		/* protobuf-c decides, and holds every value. */
		free(cf->first);
		free(cf->raw);
		cf->first = NULL;
		cf->raw = NULL;
		cf->nraw = 0;
		cf->net = caffe__net_parameter__unpack(NULL, cf->map->len, cf->map->p ? cf->map->p : no_bytes);
		rc = cf->net ? READ_OK : READ_BAD;
	}
	/* Only the layout was read.  The mapping stays until bind_weights
	 * has copied the small blobs out of it (cmfile_read_floats); the large
	 * ones come by pread later.  protobuf-c's decode holds its own copy. */
	if (!cf->first)
		file_unmap(cf->map);
	if (rc != READ_OK) {
		caffeopt_fail(err, path, 0, 0, "%s", rc == READ_OOM ? "out of memory" : not_caffemodel);
		cmfile_close(cf);
		return NULL;
	}
	return cf;
}

void
cmfile_close(struct cmfile *cf)
{
	if (!cf)
		return;
	if (cf->net)
		caffe__net_parameter__free_unpacked(cf->net, NULL);
	if (cf->map)
		file_close(cf->map);
	free(cf->map);
	free(cf->first);
	free(cf->raw);
	free(cf);
}

const struct rawblob *
cmfile_raw(const struct cmfile *cf, size_t j, size_t k)
{
	const struct rawblob *r;

	if (!cf->first || j >= cf->nlayers)
		return NULL;
	r = &cf->raw[cf->first[j] + k];
	return r->present ? r : NULL;
}

int
cmfile_read_floats(const struct cmfile *cf, const struct rawblob *r, float *dst,
                   caffeopt_error *err)
{
	if (cf->map->p) {
		/* Within the file: the layout scan checked every length. */
		memcpy(dst, cf->map->p + r->off, r->n * sizeof(float));
		return 0;
	}
	return file_pread(cf->map, r->off, dst, r->n * sizeof(float), cf->path, err);
}

/* ---- writing ---- */

char *
prototxt_encode(const caffeopt_model *m, size_t *len, caffeopt_error *err)
{
	Caffe__LayerParameter **layers = malloc((m->nlayers + 1) * sizeof *layers);
	Caffe__NetParameter net;
	char *text;
	size_t i;

	if (!layers) {
		caffeopt_fail(err, NULL, 0, 0, "out of memory");
		return NULL;
	}
	/* A shallow NetParameter whose layer array points at m's layers. */
	net = *m->net;
	for (i = 0; i < m->nlayers; i++)
		layers[i] = m->layers[i].p;
	net.n_layer = m->nlayers;
	net.layer = layers;
	text = textfmt_print(&net.base, len);
	free(layers);
	if (!text)
		caffeopt_fail(err, NULL, 0, 0, "out of memory printing the prototxt");
	return text;
}

/* Where the encoder puts bytes: a stream, a buffer being filled, or
 * nowhere (counting). */
struct sink {
	struct outstream *s;
	uint8_t *buf;
	size_t n;
};

static void
put(struct sink *k, const void *p, size_t n)
{
	if (k->s)
		outstream_write(k->s, p, n);
	else if (k->buf && n)
		memcpy(k->buf + k->n, p, n);
	k->n += n;
}

static size_t
varint_size(uint64_t v)
{
	size_t n = 1;

	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

static void
put_varint(struct sink *k, uint64_t v)
{
	uint8_t b[10];
	size_t n = 0;

	while (v >= 0x80) {
		b[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	b[n++] = (uint8_t)v;
	put(k, b, n);
}

/* A length-delimited field's tag, as a varint value. */
#define LEN_TAG(num) (((uint64_t)(num) << 3) | WT_LEN)

/* n floats in the wire's byte order (little-endian). */
static void
put_floats(struct sink *k, const float *v, size_t n)
{
	uint8_t tmp[4096];
	size_t i, j;

	if (little_endian()) {
		put(k, v, n * sizeof *v);
		return;
	}
	for (i = 0; i < n; i += j) {
		for (j = 0; j < sizeof tmp / 4 && i + j < n; j++) {
			uint32_t u;
			memcpy(&u, &v[i + j], 4);
			tmp[4 * j] = (uint8_t)u;
			tmp[4 * j + 1] = (uint8_t)(u >> 8);
			tmp[4 * j + 2] = (uint8_t)(u >> 16);
			tmp[4 * j + 3] = (uint8_t)(u >> 24);
		}
		put(k, tmp, 4 * j);
	}
}

/* A message packed by protobuf-c into a reused buffer. */
static const uint8_t *
pack(const ProtobufCMessage *msg, struct bytes *b, size_t *n)
{
	*n = protobuf_c_message_get_packed_size(msg);
	b->n = 0;
	if (bytes_reserve(b, *n ? *n : 1) < 0)
		return NULL;
	protobuf_c_message_pack(msg, b->p);
	return b->p;
}

/* A deep copy of l without the text kept from unknown fields; NULL when
 * out of memory. */
static Caffe__LayerParameter *
strip_copy(const Caffe__LayerParameter *l)
{
	size_t n = caffe__layer_parameter__get_packed_size(l);
	uint8_t *buf = malloc(n ? n : 1);
	Caffe__LayerParameter *c;

	if (!buf)
		return NULL;
	caffe__layer_parameter__pack(l, buf);
	c = caffe__layer_parameter__unpack(NULL, n, buf);
	free(buf);
	if (c)
		textfmt_strip_unknown(&c->base);
	return c;
}

/* Blob w as protobuf-c packs a BlobProto of it (shape or legacy dims, then
 * data), but with the data field written from w itself: the shell (every
 * field but data) is packed into *shell and split where data belongs. */
struct blobenc {
	const uint8_t *shell;
	size_t shell_len, split;
	size_t len;               /* the whole BlobProto */
};

static int
blob_shell(const struct wblob *w, struct bytes *buf, struct blobenc *e)
{
	Caffe__BlobProto b = CAFFE__BLOB_PROTO__INIT;
	Caffe__BlobShape shape = CAFFE__BLOB_SHAPE__INIT;

	if (w->legacy) {
		b.has_num = b.has_channels = b.has_height = b.has_width = 1;
		b.num = (int32_t)w->shape[0];
		b.channels = (int32_t)w->shape[1];
		b.height = (int32_t)w->shape[2];
		b.width = (int32_t)w->shape[3];
	} else {
		shape.n_dim = (size_t)w->ndim;
		shape.dim = (int64_t *)w->shape;
		b.shape = &shape;
	}
	if (!(e->shell = pack(&b.base, buf, &e->shell_len)))
		return -1;
	e->split = split_after(e->shell, e->shell_len, BLOB_DATA);
	e->len = e->shell_len;
	if (w->count)
		e->len += varint_size(LEN_TAG(BLOB_DATA)) + varint_size(w->count * 4) + w->count * 4;
	return 0;
}

/* What encoding a model needs besides the sink. */
struct enc {
	const caffeopt_model *m;
	int keep_params;
	struct bytes lbuf, bbuf;  /* a layer's and a blob's shell */
	struct wstream *ahead;    /* the lazy blobs, read ahead, or NULL */
	const struct wblob **lazy;  /* their list, for ahead */
};

/* The values of lazy blob w, streamed (little-endian: lazy blobs exist
 * only on such hosts) in the pieces a second thread has read, checked and
 * scaled ahead of the writer (wstream.c).  0 or -1 (a NaN or infinity, a
 * read error). */
static int
put_lazy(struct sink *k, struct enc *en, const struct wblob *w, caffeopt_error *err)
{
	const float *p;
	size_t at, n;

	if (!k->s && !k->buf) {
		k->n += w->count * 4;  /* counting: nothing to read */
		return 0;
	}
	for (at = 0; at < w->count; at += n) {
		if (!(p = wstream_next(en->ahead, w, &n, err)))
			return -1;
		put(k, p, n * 4);
	}
	return 0;
}

/* Start reading m's lazy blobs ahead, in the order encode writes them
 * (none: no thread).  0 or -1. */
static int
start_ahead(struct enc *en, const caffeopt_model *m, caffeopt_error *err)
{
	size_t i, j, n = 0;

	for (i = 0; i < m->nlayers; i++)
		for (j = 0; j < m->layers[i].nblobs; j++)
			n += m->layers[i].blobs[j].lazy != NULL;
	if (n == 0)
		return 0;
	if (!(en->lazy = malloc(n * sizeof *en->lazy)))
		return caffeopt_fail(err, NULL, 0, 0, "out of memory encoding the caffemodel");
	n = 0;
	for (i = 0; i < m->nlayers; i++)
		for (j = 0; j < m->layers[i].nblobs; j++)
			if (m->layers[i].blobs[j].lazy)
				en->lazy[n++] = &m->layers[i].blobs[j];
	return (en->ahead = wstream_start(m, en->lazy, n, err)) ? 0 : -1;
}

static int
put_blob(struct sink *k, struct enc *en, const struct wblob *w, const struct blobenc *e,
         caffeopt_error *err)
{
	put(k, e->shell, e->split);
	if (w->count) {
		put_varint(k, LEN_TAG(BLOB_DATA));
		put_varint(k, w->count * 4);
		if (!w->lazy)
			put_floats(k, w->data, w->count);
		else if (put_lazy(k, en, w, err) < 0)
			return -1;
	}
	put(k, e->shell + e->split, e->shell_len - e->split);
	return 0;
}

/* Encode one layer: the shell as the old whole-net pack would have written
 * it, with the blobs where field 7 goes. */
static int
encode_layer(struct sink *k, struct enc *en, const struct mlayer *ml, caffeopt_error *err)
{
	Caffe__LayerParameter shell, *copy = NULL;
	struct blobenc be;
	const uint8_t *ls;
	size_t ls_len, split, len, i;
	int rc = -1;

	if (en->keep_params && textfmt_has_unknown(&ml->p->base)) {
		/* Text kept verbatim from unknown fields never goes to binary:
		 * a stripped deep copy (packed and unpacked) stands in. */
		if (!(copy = strip_copy(ml->p)))
			goto oom;
		shell = *copy;
	} else if (en->keep_params) {
		shell = *ml->p;
	} else {
		caffe__layer_parameter__init(&shell);
		shell.name = ml->p->name;
		shell.type = ml->p->type;
	}
	shell.n_blobs = 0;
	shell.blobs = NULL;
	if (!(ls = pack(&shell.base, &en->lbuf, &ls_len)))
		goto oom;
	split = split_after(ls, ls_len, LAYER_BLOBS);
	len = ls_len;
	for (i = 0; i < ml->nblobs; i++) {
		if (blob_shell(&ml->blobs[i], &en->bbuf, &be) < 0)
			goto oom;
		len += varint_size(LEN_TAG(LAYER_BLOBS)) + varint_size(be.len) + be.len;
	}
	put_varint(k, LEN_TAG(NET_LAYER));
	put_varint(k, len);
	put(k, ls, split);
	for (i = 0; i < ml->nblobs; i++) {
		blob_shell(&ml->blobs[i], &en->bbuf, &be);  /* fits: packed above */
		put_varint(k, LEN_TAG(LAYER_BLOBS));
		put_varint(k, be.len);
		if (put_blob(k, en, &ml->blobs[i], &be, err) < 0)
			goto out;
	}
	put(k, ls + split, ls_len - split);
	rc = 0;
	goto out;
oom:
	caffeopt_fail(err, NULL, 0, 0, "out of memory encoding the caffemodel");
out:
	if (copy)
		caffe__layer_parameter__free_unpacked(copy, NULL);
	return rc;
}

/* The caffemodel of m into k: NetParameter { name, layer... }, byte for
 * byte what protobuf-c packs for it. */
static int
encode(struct sink *k, const caffeopt_model *m, int keep_params, caffeopt_error *err)
{
	Caffe__NetParameter net = CAFFE__NET_PARAMETER__INIT;
	struct enc en = {m, keep_params, {0}, {0}, NULL, NULL};
	const uint8_t *head;
	size_t n, i;
	int rc = -1;

	net.name = m->net->name;
	if (!(head = pack(&net.base, &en.lbuf, &n))) {
		caffeopt_fail(err, NULL, 0, 0, "out of memory encoding the caffemodel");
		goto out;
	}
	put(k, head, n);
	if ((k->s || k->buf) && start_ahead(&en, m, err) < 0)
		goto out;
	for (i = 0; i < m->nlayers; i++) {
		if (!keep_params && m->layers[i].nblobs == 0)
			continue;
		if (encode_layer(k, &en, &m->layers[i], err) < 0)
			goto out;
	}
	rc = 0;
out:
	free(en.lbuf.p);
	free(en.bbuf.p);
	wstream_end(en.ahead);
	free(en.lazy);
	return rc;
}

uint8_t *
caffemodel_encode(const caffeopt_model *m, int keep_params, size_t *len, caffeopt_error *err)
{
	struct sink k = {NULL, NULL, 0};

	if (encode(&k, m, keep_params, err) < 0)
		return NULL;
	*len = k.n;
	if (!(k.buf = malloc(k.n ? k.n : 1))) {
		caffeopt_fail(err, NULL, 0, 0, "out of memory: caffemodel of %zu bytes", k.n);
		return NULL;
	}
	k.n = 0;
	if (encode(&k, m, keep_params, err) < 0) {
		free(k.buf);
		return NULL;
	}
	return k.buf;
}

int
caffemodel_write(const caffeopt_model *m, int keep_params, struct outstream *s,
                 caffeopt_error *err)
{
	struct sink k = {s, NULL, 0};

	return encode(&k, m, keep_params, err);
}
