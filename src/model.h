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

/* One weight blob. */
struct wblob {
	int ndim;
	int64_t shape[CAFFEOPT_MAX_DIMS];
	int legacy;        /* shape came from num/channels/height/width and its
	                      modern rank is unknown: written back in legacy form */
	size_t count;
	float *data;       /* count floats, malloc'd */
};

struct mlayer {
	Caffe__LayerParameter *p;  /* owned */
	size_t nblobs;
	struct wblob *blobs;       /* malloc'd array */
};

struct absorb_log;  /* absorb.h */

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

/* Free a blob array of n blobs. */
void wblobs_free(struct wblob *b, size_t n);

/* Product of a blob's dims; 0 when a dim is negative or it overflows. */
size_t wblob_count(const struct wblob *b);

/* deploy.c: data layers -> one Input layer, loss/accuracy layers and the
 * label blobs only they read removed.  0 or -1. */
int deploy_model(caffeopt_model *m, const struct caffeopt_load_options *o,
                 caffeopt_error *err);

/* deploy.c: input:/input_dim/input_shape fields -> an Input layer first. */
int input_fields_to_layer(caffeopt_model *m, caffeopt_error *err);

/* bind.c: bind the weights of caffemodel net bin (upgraded, V2) to m's
 * layers by layer name as Caffe does.  path names bin in errors.  0 or -1. */
int bind_weights(caffeopt_model *m, Caffe__NetParameter *bin, const char *path,
                 caffeopt_error *err);

/* caffemodel.c: decode a binary NetParameter from path.  NULL on error. */
Caffe__NetParameter *caffemodel_read(const char *path, caffeopt_error *err);

/* caffemodel.c: decode a NetParameter from text or binary by extension. */
Caffe__NetParameter *netfile_read(const char *path, int binary,
                                  void (*warn)(void *, const char *, int, int, const char *),
                                  void *warn_ctx, caffeopt_error *err);

/* caffemodel.c: encode m's weights as a caffemodel: V2 layers with name,
 * type and blobs (packed float data, modern shape), or every field when
 * keep_params.  Returns a malloc'd buffer and its length in *len. */
uint8_t *caffemodel_encode(const caffeopt_model *m, int keep_params, size_t *len,
                           caffeopt_error *err);

/* caffemodel.c: the prototxt text of m.  malloc'd, NUL-terminated. */
char *prototxt_encode(const caffeopt_model *m, size_t *len, caffeopt_error *err);

#endif
