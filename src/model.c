/* model.c - load a model (read, upgrade, filter, bind, deploy), save it,
 * and the small operations every later stage uses on it. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "absorb.h"
#include "filter.h"
#include "graph.h"
#include "fileio.h"
#include "model.h"
#include "shape.h"
#include "upgrade.h"

const char *
caffeopt_version(void)
{
	return CAFFEOPT_VERSION;
}

void
model_warn(const caffeopt_model *m, const char *fmt, ...)
{
	char msg[2048];
	va_list ap;

	if (!m->warn)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	m->warn(m->warn_ctx, msg);
}

int
model_insert_layer(caffeopt_model *m, size_t i, Caffe__LayerParameter *p)
{
	struct mlayer *v = realloc(m->layers, (m->nlayers + 1) * sizeof *v);

	if (!v)
		return -1;
	m->layers = v;
	memmove(&v[i + 1], &v[i], (m->nlayers - i) * sizeof *v);
	memset(&v[i], 0, sizeof v[i]);
	v[i].p = p;
	m->nlayers++;
	return 0;
}

void
model_remove_layer(caffeopt_model *m, size_t i)
{
	protobuf_c_message_free_unpacked(&m->layers[i].p->base, NULL);
	wblobs_free(m->layers[i].blobs, m->layers[i].nblobs);
	memmove(&m->layers[i], &m->layers[i + 1], (m->nlayers - i - 1) * sizeof m->layers[0]);
	m->nlayers--;
}

void
caffeopt_model_free(caffeopt_model *m)
{
	if (!m)
		return;
	while (m->nlayers > 0)
		model_remove_layer(m, m->nlayers - 1);
	free(m->layers);
	bigbuf_free(m->wstore, m->wstore_len);
	model_free_sources(m);
	absorb_free(m->absorbed);
	if (m->net)
		protobuf_c_message_free_unpacked(&m->net->base, NULL);
	free(m->prototxt_path);
	free(m->caffemodel_path);
	free(m);
}

/* textfmt reports unknown fields through this. */
static void
unknown_field_warning(void *ctx, const char *file, int line, int col, const char *field)
{
	const caffeopt_model *m = ctx;

	model_warn(m, "%s:%d:%d: unknown field '%s' kept as text; layers carrying it are never rewritten",
	           file, line, col, field);
}

static char *
dup_or_null(const char *s)
{
	char *d;

	if (!s)
		return NULL;
	d = malloc(strlen(s) + 1);
	if (d)
		strcpy(d, s);
	return d;
}

caffeopt_model *
caffeopt_model_load(const struct caffeopt_load_options *o, caffeopt_error *err)
{
	caffeopt_model *m = calloc(1, sizeof *m);
	struct cmfile *bin = NULL;
	struct graph *g;
	struct net_state st;
	size_t i;

	if (!m) {
		caffeopt_fail(err, NULL, 0, 0, "out of memory");
		return NULL;
	}
	m->warn = o->warn;
	m->warn_ctx = o->warn_ctx;
	m->prototxt_path = dup_or_null(o->prototxt);
	m->caffemodel_path = dup_or_null(o->caffemodel);
	if (!m->prototxt_path || (o->caffemodel && !m->caffemodel_path)) {
		caffeopt_fail(err, NULL, 0, 0, "out of memory");
		goto fail;
	}
	m->net = (Caffe__NetParameter *)netfile_read(o->prototxt, 0, unknown_field_warning, m, err);
	if (!m->net)
		goto fail;
	if (upgrade_net(m->net, o->prototxt, o->warn, o->warn_ctx, err) < 0)
		goto fail;

	st.train = o->train;
	st.level = o->level;
	st.stages = (char **)o->stages;
	st.nstages = o->nstages;
	if (m->net->state) {
		if (!o->level && m->net->state->has_level)
			st.level = m->net->state->level;
		if (!o->nstages) {
			st.stages = m->net->state->stage;
			st.nstages = m->net->state->n_stage;
		}
	}
	filter_net(m->net, &st);

	m->layers = calloc(m->net->n_layer + 1, sizeof *m->layers);
	if (!m->layers) {
		caffeopt_fail(err, NULL, 0, 0, "out of memory");
		goto fail;
	}
	for (i = 0; i < m->net->n_layer; i++)
		m->layers[i].p = m->net->layer[i];
	m->nlayers = m->net->n_layer;
	free(m->net->layer);
	m->net->layer = NULL;
	m->net->n_layer = 0;
	/* Caffe's blob rules: the graph refuses what Caffe would. */
	if (!(g = graph_build(m, NULL, 0, err)))
		goto fail;
	graph_free(g);

	if (o->caffemodel) {
		if (!(bin = cmfile_open(o->caffemodel, err)))
			goto fail;
		if (upgrade_net(bin->net, o->caffemodel, o->warn, o->warn_ctx, err) < 0)
			goto fail;
		if (bind_weights(m, bin, o->caffemodel, err) < 0)
			goto fail;
		cmfile_close(bin);
		bin = NULL;
	}
	if (o->input_layer && input_fields_to_layer(m, err) < 0)
		goto fail;
	if (o->deploy && deploy_model(m, o, err) < 0)
		goto fail;
	/* What Caffe's Reshape would refuse, weights of the wrong shape and
	 * NaN/infinite weights stop here, naming the layer. */
	if (shape_check(m, err) < 0)
		goto fail;
	return m;
fail:
	cmfile_close(bin);
	caffeopt_model_free(m);
	return NULL;
}

int
caffeopt_model_save(const caffeopt_model *m, const struct caffeopt_save_options *o,
                    caffeopt_error *err)
{
	struct outfile out[2];
	struct outstream s;
	size_t nout = 0, len;
	char *text;

	if (o->caffemodel && !m->has_weights)
		return caffeopt_fail(err, o->caffemodel, 0, 0, "no caffemodel was loaded, so none can be written");
	if (o->prototxt) {
		if (!(text = prototxt_encode(m, &len, err)))
			return -1;
		if (file_stage(&out[nout], o->prototxt, text, len, err) < 0) {
			free(text);
			return -1;
		}
		nout++;
		free(text);
	}
	if (o->caffemodel) {
		/* Streamed: the weights go from the model to the file, no
		 * caffemodel-sized buffer in between. */
		if (file_stage_open(&out[nout], &s, o->caffemodel, err) < 0) {
			file_abort(out, nout);
			return -1;
		}
		if (caffemodel_write(m, o->keep_layer_params, &s, err) < 0) {
			file_stage_discard(&s);
			file_abort(out, nout);
			return -1;
		}
		if (file_stage_close(&s, err) < 0) {
			file_abort(out, nout);
			return -1;
		}
		nout++;
	}
	return file_commit(out, nout, err);
}

void
caffeopt_model_stats(const caffeopt_model *m, struct caffeopt_stats *s)
{
	size_t i, k;

	memset(s, 0, sizeof *s);
	s->layers = m->nlayers;
	for (i = 0; i < m->nlayers; i++)
		for (k = 0; k < m->layers[i].nblobs; k++) {
			s->weight_blobs++;
			s->params += m->layers[i].blobs[k].count;
		}
	s->weight_bytes = s->params * sizeof(float);
}
