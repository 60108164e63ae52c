/* model.h - a loaded model: the prototxt's layers with their bound weights.
 *
 * Internal to the library.  The layers' parameters stay protobuf-c
 * LayerParameters (the text file's); the weights are our own float blobs,
 * owned by the model. */
#ifndef CAFFEOPT_MODEL_H
#define CAFFEOPT_MODEL_H

#include <stdint.h>
#include "caffeopt/caffeopt.h"
#include "caffe.pb-c.h"

struct wsource;  /* below */

/* One weight blob.  Eager: its values in data.  Lazy (lazy != NULL, data
 * NULL): its values still in the caffemodel the model keeps open, with the
 * scalings passes asked for, applied when they are read (wblob.c).  Code
 * that reads a blob's values calls wblob_load first; the writer streams a
 * lazy blob from the file to the output instead. */
struct wblob {
	int ndim;
	int64_t shape[CAFFEOPT_MAX_DIMS];
	int legacy;        /* shape came from num/channels/height/width and its
	                      modern rank is unknown: written back in legacy form */
	size_t count;
	float *data;       /* count floats, writable: malloc'd, or borrowed;
	                      NULL while lazy */
	int borrowed;      /* data lies in the model's weight store (bind.c):
	                      freed with the model, never on its own.  A zeroed
	                      wblob is not borrowed: passes malloc new data. */
	struct wsource *lazy;  /* where a lazy blob's values are, or NULL */
};

/* A scaling of a blob by output channel (fold-affine's), deferred while
 * the blob is lazy: the value at index x becomes (float)(a[o] * value)
 * (a[0] when n is 1), computed in double as scaling in place does, for
 * the channel o = (q / per / inper) * per + q % per, q = x / sp.
 * Output-major weights (Convolution, InnerProduct): sp values per
 * channel, per = channels, inper 1; transposed InnerProduct: sp 1, per =
 * channels, inper = rows; Deconvolution (in x out/group x kernel): sp =
 * kernel size, per = out/group, inper = in/group. */
struct wscale {
	struct wscale *next;
	size_t sp, per, inper;
	size_t n;            /* factors: 1, or one per channel */
	const double *a;
};

/* A lazy blob's values: count little-endian floats at offset off of the
 * model's caffemodel (wfile), then its scalings in order.  Owned by the
 * model (its list `lazy`), freed with it. */
struct wsource {
	uint64_t off;
	struct wscale *ops;
	const char *layer, *type;  /* the layer as bound and the blob's index in
	                              it, which a NaN or infinity is reported as */
	size_t blob;
	struct wsource *next;
};

struct mlayer {
	Caffe__LayerParameter *p;  /* owned */
	size_t nblobs;
	struct wblob *blobs;       /* malloc'd array */
};

struct absorb_log;  /* absorb.h */
struct filemap;     /* fileio.h */

struct caffeopt_model {
	Caffe__NetParameter *net;  /* net-level fields; its layer array is empty
	                              while loaded: the layers live in `layers` */
	size_t nlayers;
	struct mlayer *layers;
	int has_weights;           /* a caffemodel was bound */
	/* bind.c: what the input caffemodel held, for prune-weights' report */
	size_t in_layers;          /* its layers */
	size_t in_weight_layers;   /* of them, layers with blobs */
	size_t in_params;          /* values in their blobs */
	size_t unbound_layers;     /* layers with blobs no prototxt layer took */
	size_t unbound_params;     /* values in those */
	char *prototxt_path;
	char *caffemodel_path;
	caffeopt_warn_fn warn;
	void *warn_ctx;
	struct absorb_log *absorbed;  /* layers folded into others (absorb.h), or NULL */
	void *wstore;              /* bind.c: the bound eager weights, one
	                              buffer (fileio.h bigbuf), or NULL */
	size_t wstore_len;
	struct wsource *lazy;      /* bind.c: the lazy blobs' sources */
	struct filemap *wfile;     /* the caffemodel they lie in, open (not
	                              mapped) while the model lives, or NULL */
	void *lstore;              /* wblob.c: the lazy blobs model_load_weights
	                              read, one buffer (bigbuf), or NULL */
	size_t lstore_len;
};

/* Report a warning through the model's callback, printf style. */
void model_warn(const caffeopt_model *m, const char *fmt, ...)
#if defined(__GNUC__)
	__attribute__((format(printf, 2, 3)))
#endif
	;

/* Insert p as layer i (0 <= i <= nlayers), taking ownership.  0 or -1. */
int model_insert_layer(caffeopt_model *m, size_t i, Caffe__LayerParameter *p);

/* Remove layer i, freeing it and its weights. */
void model_remove_layer(caffeopt_model *m, size_t i);

/* wblob.c: free a blob array of n blobs (their data unless borrowed). */
void wblobs_free(struct wblob *b, size_t n);

/* Give b new malloc'd data of b->count floats, freeing the old unless
 * borrowed.  b must not be lazy. */
void wblob_replace_data(struct wblob *b, float *data);

/* Product of a blob's dims; 0 when a dim is negative or it overflows. */
size_t wblob_count(const struct wblob *b);

/* The bytes of count floats in a weight store, rounded up to a cache line
 * (and AVX-512 vector): every blob starts aligned in the store. */
size_t wblob_store_size(size_t count);

/* Make b lazy: its count values are the little-endian floats at offset
 * off of m->wfile, blob k of layer `layer` of type `type` (copied).  0 or
 * -1 (out of memory). */
int wblob_make_lazy(caffeopt_model *m, struct wblob *b, uint64_t off, const char *layer,
                    const char *type, size_t k);

/* b's values, read: a lazy blob gets malloc'd data (its source values,
 * checked finite, then its scalings applied in order) and becomes eager.
 * NULL with err naming the layer and the index of the first NaN or
 * infinity, or a read error, or out of memory. */
float *wblob_load(const caffeopt_model *m, struct wblob *b, caffeopt_error *err);

/* wblob_load every lazy blob of m, into one store m owns.  0 or -1. */
int model_load_weights(caffeopt_model *m, caffeopt_error *err);

/* Scale b by output channel, as struct wscale describes with the factors
 * a[0..n): at once when b is eager, deferred (a copied) when lazy.  0 or
 * -1 (out of memory). */
int wblob_scale(struct wblob *b, size_t sp, size_t per, size_t inper, const double *a, size_t n);

/* Values [at, at+n) of lazy blob b into buf: read, checked finite (the
 * values in the file), scaled.  0, or -1 with err as wblob_load. */
int wblob_read(const caffeopt_model *m, const struct wblob *b, size_t at, size_t n, float *buf,
               caffeopt_error *err);

/* Refuse a NaN or infinity in blob k of layer ml, eager (a lazy blob is
 * checked when it is read).  0, or -1 with err as wblob_load. */
int wblob_check_finite(const caffeopt_model *m, const struct mlayer *ml, size_t k,
                       caffeopt_error *err);

/* Free m's lazy sources and close their caffemodel. */
void model_free_sources(caffeopt_model *m);

/* wstream.c: the values of the lazy blobs blob[0..nblob) of m, read ahead
 * on a second thread in pieces, in that order.  blob must stay valid until
 * wstream_end.  NULL with err (out of memory, no thread). */
struct wstream;
struct wstream *wstream_start(const caffeopt_model *m, const struct wblob *const *blob,
                              size_t nblob, caffeopt_error *err);

/* The next piece of w, which must be the blob the stream is at: *n values
 * (as wblob_read gives them), valid until the next call.  NULL with err as
 * wblob_read. */
const float *wstream_next(struct wstream *ws, const struct wblob *w, size_t *n,
                          caffeopt_error *err);

/* Stop the thread and free ws (NULL: nothing). */
void wstream_end(struct wstream *ws);

/* deploy.c: data layers -> one Input layer, loss/accuracy layers and the
 * label blobs only they read removed.  0 or -1. */
int deploy_model(caffeopt_model *m, const struct caffeopt_load_options *o,
                 caffeopt_error *err);

/* deploy.c: input:/input_dim/input_shape fields -> an Input layer first. */
int input_fields_to_layer(caffeopt_model *m, caffeopt_error *err);

/* caffemodel.c: a caffemodel opened for binding.  net holds the file's
 * net-level fields and its layers with every field decoded by protobuf-c,
 * except that the packed float data of the blobs stays in the file: blob k
 * of layer j then has n_data 0 and its values described by
 * raw[first[j] + k]: bind_weights leaves the large blobs there (lazy)
 * and reads the others into the model's weight store.  A file the fast
 * reader does not take (V1 `layers`, unpacked floats, a repeated data
 * field, a big-endian host) is decoded
 * whole by protobuf-c instead: then first is NULL and every blob holds its
 * data.  Either way the file is accepted or refused exactly as protobuf-c
 * would. */
struct rawblob {
	uint64_t off;  /* file offset of the first value */
	size_t n;      /* packed float values there */
	int present;   /* 0: the blob had no packed data field */
};

struct cmfile {
	Caffe__NetParameter *net;
	size_t nlayers;            /* net->n_layer as read, for first */
	size_t *first;             /* per layer: index in raw, or NULL */
	struct rawblob *raw;
	size_t nraw;
	const char *path;
	struct filemap *map;       /* fileio.h; the descriptor stays open; NULL
	                              once bind_weights gave it to the model */
};

/* Open and decode path's structure.  NULL with err filled. */
struct cmfile *cmfile_open(const char *path, caffeopt_error *err);

/* Close the file and free net. */
void cmfile_close(struct cmfile *cf);

/* The packed data of blob k of layer j, or NULL (then the BlobProto holds
 * the values). */
const struct rawblob *cmfile_raw(const struct cmfile *cf, size_t j, size_t k);

/* Read n floats of r into dst: from the mapping while the file is mapped,
 * else by pread.  0 or -1. */
int cmfile_read_floats(const struct cmfile *cf, const struct rawblob *r, float *dst,
                       caffeopt_error *err);

/* bind.c: bind the weights of caffemodel cf (its net upgraded, V2) to m's
 * layers by layer name as Caffe does.  The weights of Convolution,
 * Deconvolution and InnerProduct layers (blob 0) that lie packed in the
 * file stay there, lazy: m takes cf's open file.  The other blobs go into
 * one weight store that m owns.  path names the caffemodel in errors.
 * 0 or -1. */
int bind_weights(caffeopt_model *m, struct cmfile *cf, const char *path,
                 caffeopt_error *err);

/* caffemodel.c: decode a NetParameter from text or binary by extension. */
Caffe__NetParameter *netfile_read(const char *path, int binary,
                                  void (*warn)(void *, const char *, int, int, const char *),
                                  void *warn_ctx, caffeopt_error *err);

/* caffemodel.c: encode m's weights as a caffemodel: V2 layers with name,
 * type and blobs (packed float data, modern shape), or every field when
 * keep_params.  Returns a malloc'd buffer and its length in *len, or NULL
 * with err (out of memory, a NaN or infinity in a lazy blob). */
uint8_t *caffemodel_encode(const caffeopt_model *m, int keep_params, size_t *len,
                           caffeopt_error *err);

struct outstream;  /* fileio.h */

/* caffemodel.c: the same bytes as caffemodel_encode, written to s as they
 * are made: the blobs' floats go from the model to the file without a
 * copy, lazy blobs in pieces from the file.  0 or -1 (out of memory, a
 * NaN or infinity in a lazy blob; write errors stay in s). */
int caffemodel_write(const caffeopt_model *m, int keep_params, struct outstream *s,
                     caffeopt_error *err);

/* caffemodel.c: the prototxt text of m.  malloc'd, NUL-terminated. */
char *prototxt_encode(const caffeopt_model *m, size_t *len, caffeopt_error *err);

#endif
