/* caffemodel.c - NetParameter files in and out: binary caffemodels through
 * protobuf-c, text through textfmt; the writers encode a model. */
#include <stdlib.h>
#include <string.h>

#include "fileio.h"
#include "model.h"
#include "textfmt.h"

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
			caffeopt_fail(err, path, 0, 0,
			              "not a caffemodel: protobuf decoding of NetParameter failed (truncated or corrupt)");
	} else {
		net = (Caffe__NetParameter *)textfmt_parse(&caffe__net_parameter__descriptor, buf, len,
		                                           path, err, warn, warn_ctx);
	}
	free(buf);
	return net;
}

Caffe__NetParameter *
caffemodel_read(const char *path, caffeopt_error *err)
{
	return netfile_read(path, 1, NULL, NULL, err);
}

/* A shallow NetParameter whose layer array points at m's layers. */
static Caffe__NetParameter
shallow_net(const caffeopt_model *m, Caffe__LayerParameter **layers)
{
	Caffe__NetParameter net = *m->net;
	size_t i;

	for (i = 0; i < m->nlayers; i++)
		layers[i] = m->layers[i].p;
	net.n_layer = m->nlayers;
	net.layer = layers;
	return net;
}

char *
prototxt_encode(const caffeopt_model *m, size_t *len, caffeopt_error *err)
{
	Caffe__LayerParameter **layers = malloc((m->nlayers + 1) * sizeof *layers);
	Caffe__NetParameter net;
	char *text;

	if (!layers) {
		caffeopt_fail(err, NULL, 0, 0, "out of memory");
		return NULL;
	}
	net = shallow_net(m, layers);
	text = textfmt_print(&net.base, len);
	free(layers);
	if (!text)
		caffeopt_fail(err, NULL, 0, 0, "out of memory printing the prototxt");
	return text;
}

/* Everything caffemodel_encode points at, freed together. */
struct encoding {
	Caffe__LayerParameter *layers;
	Caffe__LayerParameter **layerp;
	Caffe__BlobProto *blobs;
	Caffe__BlobProto **blobp;
	Caffe__BlobShape *shapes;
	Caffe__LayerParameter **copies;  /* stripped copies for keep_params */
	size_t ncopies;
};

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

static void
encoding_free(struct encoding *e)
{
	size_t i;

	free(e->layers);
	free(e->layerp);
	free(e->blobs);
	free(e->blobp);
	free(e->shapes);
	for (i = 0; i < e->ncopies; i++)
		if (e->copies[i])
			caffe__layer_parameter__free_unpacked(e->copies[i], NULL);
	free(e->copies);
}

uint8_t *
caffemodel_encode(const caffeopt_model *m, int keep_params, size_t *len, caffeopt_error *err)
{
	Caffe__NetParameter net = CAFFE__NET_PARAMETER__INIT;
	struct encoding e = {0};
	size_t i, k, nblobs = 0, nl = 0, nb = 0;
	uint8_t *buf = NULL;

	for (i = 0; i < m->nlayers; i++)
		nblobs += m->layers[i].nblobs;
	e.layers = calloc(m->nlayers + 1, sizeof *e.layers);
	e.layerp = calloc(m->nlayers + 1, sizeof *e.layerp);
	e.blobs = calloc(nblobs + 1, sizeof *e.blobs);
	e.blobp = calloc(nblobs + 1, sizeof *e.blobp);
	e.shapes = calloc(nblobs + 1, sizeof *e.shapes);
	e.copies = calloc(m->nlayers + 1, sizeof *e.copies);
	e.ncopies = m->nlayers;
	if (!e.layers || !e.layerp || !e.blobs || !e.blobp || !e.shapes || !e.copies) {
		caffeopt_fail(err, NULL, 0, 0, "out of memory encoding the caffemodel");
		goto out;
	}
	net.name = m->net->name;
	for (i = 0; i < m->nlayers; i++) {
		const struct mlayer *ml = &m->layers[i];
		Caffe__LayerParameter *l = &e.layers[nl];

		if (!keep_params && ml->nblobs == 0)
			continue;
		if (keep_params && textfmt_has_unknown(&ml->p->base)) {
			/* Text kept verbatim from unknown fields never goes to binary:
			 * a stripped deep copy (packed and unpacked) stands in. */
			if (!(e.copies[nl] = strip_copy(ml->p))) {
				caffeopt_fail(err, NULL, 0, 0, "out of memory encoding the caffemodel");
				goto out;
			}
			*l = *e.copies[nl];
		} else if (keep_params) {
			*l = *ml->p;
		} else {
			caffe__layer_parameter__init(l);
			l->name = ml->p->name;
			l->type = ml->p->type;
		}
		l->n_blobs = ml->nblobs;
		l->blobs = &e.blobp[nb];
		for (k = 0; k < ml->nblobs; k++, nb++) {
			const struct wblob *w = &ml->blobs[k];
			Caffe__BlobProto *b = &e.blobs[nb];

			caffe__blob_proto__init(b);
			if (w->legacy) {
				b->has_num = b->has_channels = b->has_height = b->has_width = 1;
				b->num = (int32_t)w->shape[0];
				b->channels = (int32_t)w->shape[1];
				b->height = (int32_t)w->shape[2];
				b->width = (int32_t)w->shape[3];
			} else {
				caffe__blob_shape__init(&e.shapes[nb]);
				e.shapes[nb].n_dim = (size_t)w->ndim;
				e.shapes[nb].dim = (int64_t *)w->shape;
				b->shape = &e.shapes[nb];
			}
			b->n_data = w->count;
			b->data = w->data;
			e.blobp[nb] = b;
		}
		e.layerp[nl++] = l;
	}
	net.n_layer = nl;
	net.layer = e.layerp;
	*len = caffe__net_parameter__get_packed_size(&net);
	buf = malloc(*len ? *len : 1);
	if (!buf) {
		caffeopt_fail(err, NULL, 0, 0, "out of memory: caffemodel of %zu bytes", *len);
		goto out;
	}
	caffe__net_parameter__pack(&net, buf);
out:
	encoding_free(&e);
	return buf;
}
