/* deploy.c - turn a train/test net into a deploy net.
 * deploy_model: data layers become one Input layer placed first (shape from
 * the options), loss and accuracy layers go, and so do the label blobs only
 * they read.  input_fields_to_layer: the net-level input:/input_dim/
 * input_shape fields become an Input layer placed first. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "filter.h"
#include "kinds.h"
#include "model.h"

static char *
xstrdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *d = malloc(n);

	if (d)
		memcpy(d, s, n);
	return d;
}

/* A new Input layer named name with no tops yet. */
static Caffe__LayerParameter *
input_layer_new(const char *name)
{
	Caffe__LayerParameter *l = malloc(sizeof *l);
	Caffe__InputParameter *ip = malloc(sizeof *ip);

	if (!l || !ip) {
		free(l);
		free(ip);
		return NULL;
	}
	caffe__layer_parameter__init(l);
	caffe__input_parameter__init(ip);
	l->input_param = ip;
	l->name = xstrdup(name);
	l->type = xstrdup("Input");
	if (!l->name || !l->type) {
		protobuf_c_message_free_unpacked(&l->base, NULL);
		return NULL;
	}
	return l;
}

/* Append top `top` with shape dims[0..n) to Input layer l.  0 or -1. */
static int
input_layer_add(Caffe__LayerParameter *l, const char *top, const int64_t *dims, size_t n)
{
	Caffe__InputParameter *ip = l->input_param;
	char **tops = realloc(l->top, (l->n_top + 1) * sizeof *tops);
	Caffe__BlobShape **shapes;
	Caffe__BlobShape *s;

	if (!tops)
		return -1;
	l->top = tops;
	if (!(l->top[l->n_top] = xstrdup(top)))
		return -1;
	l->n_top++;
	shapes = realloc(ip->shape, (ip->n_shape + 1) * sizeof *shapes);
	if (!shapes)
		return -1;
	ip->shape = shapes;
	s = malloc(sizeof *s);
	if (!s)
		return -1;
	caffe__blob_shape__init(s);
	s->dim = malloc((n ? n : 1) * sizeof *s->dim);
	if (!s->dim) {
		free(s);
		return -1;
	}
	if (n)  /* an empty input_shape gives no dims array */
		memcpy(s->dim, dims, n * sizeof *dims);
	s->n_dim = n;
	ip->shape[ip->n_shape++] = s;
	return 0;
}

static void
free_strings(char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

int
input_fields_to_layer(caffeopt_model *m, caffeopt_error *err)
{
	Caffe__NetParameter *net = m->net;
	Caffe__LayerParameter *l;
	size_t i;

	if (net->n_input == 0)
		return 0;
	if (net->n_input_shape && net->n_input_shape != net->n_input)
		return caffeopt_fail(err, m->prototxt_path, 0, 0, "%zu inputs but %zu input_shape entries",
		                     net->n_input, net->n_input_shape);
	if (!net->n_input_shape && net->n_input_dim != 4 * net->n_input)
		return caffeopt_fail(err, m->prototxt_path, 0, 0, "%zu inputs need %zu input_dim values, found %zu",
		                     net->n_input, 4 * net->n_input, net->n_input_dim);
	if (!(l = input_layer_new("input")))
		return caffeopt_fail(err, NULL, 0, 0, "out of memory");
	for (i = 0; i < net->n_input; i++) {
		int64_t d4[4];
		const int64_t *dims = d4;
		size_t n = 4, j;

		if (net->n_input_shape) {
			dims = net->input_shape[i]->dim;
			n = net->input_shape[i]->n_dim;
		} else {
			for (j = 0; j < 4; j++)
				d4[j] = net->input_dim[4 * i + j];
		}
		if (input_layer_add(l, net->input[i], dims, n) < 0) {
			protobuf_c_message_free_unpacked(&l->base, NULL);
			return caffeopt_fail(err, NULL, 0, 0, "out of memory");
		}
	}
	if (model_insert_layer(m, 0, l) < 0) {
		protobuf_c_message_free_unpacked(&l->base, NULL);
		return caffeopt_fail(err, NULL, 0, 0, "out of memory");
	}
	free_strings(net->input, net->n_input);
	net->input = NULL;
	net->n_input = 0;
	for (i = 0; i < net->n_input_shape; i++)
		protobuf_c_message_free_unpacked(&net->input_shape[i]->base, NULL);
	free(net->input_shape);
	net->input_shape = NULL;
	net->n_input_shape = 0;
	free(net->input_dim);
	net->input_dim = NULL;
	net->n_input_dim = 0;
	return 0;
}

static int
in_list(char **v, size_t n, const char *s)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(v[i], s) == 0)
			return 1;
	return 0;
}

/* Give the net's single declared input the shape from the options. */
static int
reshape_declared_input(caffeopt_model *m, const int64_t *dims, caffeopt_error *err)
{
	Caffe__NetParameter *net = m->net;
	size_t i, inputs = net->n_input, at = 0;

	for (i = 0; i < m->nlayers; i++)
		if (kind_of(m->layers[i].p->type) == KIND_INPUT) {
			inputs += m->layers[i].p->n_top;
			at = i;
		}
	if (inputs != 1)
		return caffeopt_fail(err, m->prototxt_path, 0, 0,
		                     "--input-shape given but the net has %zu inputs (needs exactly one)", inputs);
	if (net->n_input) {
		if (net->n_input_shape) {
			int64_t *d = realloc(net->input_shape[0]->dim, 4 * sizeof *d);
			if (!d)
				return caffeopt_fail(err, NULL, 0, 0, "out of memory");
			memcpy(d, dims, 4 * sizeof *d);
			net->input_shape[0]->dim = d;
			net->input_shape[0]->n_dim = 4;
		} else {
			int32_t *d = realloc(net->input_dim, 4 * sizeof *d);
			if (!d)
				return caffeopt_fail(err, NULL, 0, 0, "out of memory");
			for (i = 0; i < 4; i++)
				d[i] = (int32_t)dims[i];
			net->input_dim = d;
			net->n_input_dim = 4;
		}
		return 0;
	} else {
		Caffe__InputParameter *ip = m->layers[at].p->input_param;
		int64_t *d;
		if (!ip || ip->n_shape < 1)
			return caffeopt_fail(err, m->prototxt_path, 0, 0, "Input layer '%s' has no shape",
			                     m->layers[at].p->name);
		d = realloc(ip->shape[0]->dim, 4 * sizeof *d);
		if (!d)
			return caffeopt_fail(err, NULL, 0, 0, "out of memory");
		memcpy(d, dims, 4 * sizeof *d);
		ip->shape[0]->dim = d;
		ip->shape[0]->n_dim = 4;
	}
	return 0;
}

int
deploy_model(caffeopt_model *m, const struct caffeopt_load_options *o, caffeopt_error *err)
{
	char **labels = NULL, *data = NULL;
	size_t nlabels = 0, i, j, first = (size_t)-1;
	int64_t dims[4];
	Caffe__LayerParameter *in;
	int rc = -1;

	for (i = 0; i < 4; i++)
		dims[i] = o->input_shape[i];
	/* Collect the data layers' tops: the first is the data, the rest labels. */
	for (i = 0; i < m->nlayers; i++) {
		Caffe__LayerParameter *l = m->layers[i].p;
		if (!(kind_flags(kind_of(l->type)) & K_DATA))
			continue;
		if (l->n_top == 0)
			continue;
		if (first == (size_t)-1) {
			first = i;
			data = xstrdup(l->top[0]);
			if (!data)
				goto oom;
		} else if (strcmp(l->top[0], data) != 0) {
			caffeopt_fail(err, m->prototxt_path, 0, 0,
			              "--deploy: data layers '%s' and '%s' feed different blobs; give the net an Input layer",
			              m->layers[first].p->name, l->name);
			goto out;
		}
		for (j = 1; j < l->n_top; j++) {
			char **v;
			if (in_list(labels, nlabels, l->top[j]))
				continue;
			v = realloc(labels, (nlabels + 1) * sizeof *v);
			if (!v)
				goto oom;
			labels = v;
			if (!(labels[nlabels] = xstrdup(l->top[j])))
				goto oom;
			nlabels++;
		}
		if (l->transform_param && (l->transform_param->has_scale || l->transform_param->n_mean_value ||
		                           l->transform_param->mean_file))
			model_warn(m, "%s: data layer '%s' had a transform_param (mean/scale); "
			           "the deploy net expects input that is already preprocessed",
			           m->prototxt_path, l->name);
	}
	if (first == (size_t)-1) {
		if (o->has_input_shape)
			rc = reshape_declared_input(m, dims, err);
		else
			rc = 0;
		if (rc < 0)
			goto out;
	} else {
		if (!o->has_input_shape) {
			caffeopt_fail(err, m->prototxt_path, 0, 0,
			              "--deploy: data layer '%s' needs an input shape: give --input-shape N,C,H,W "
			              "(or H, W and C in the config)", m->layers[first].p->name);
			goto out;
		}
		for (i = m->nlayers; i-- > 0;)
			if (kind_flags(kind_of(m->layers[i].p->type)) & K_DATA)
				model_remove_layer(m, i);
		if (!(in = input_layer_new("input")))
			goto oom;
		if (input_layer_add(in, data, dims, 4) < 0 || model_insert_layer(m, 0, in) < 0) {
			protobuf_c_message_free_unpacked(&in->base, NULL);
			goto oom;
		}
	}
	for (i = m->nlayers; i-- > 0;)
		if (kind_flags(kind_of(m->layers[i].p->type)) & K_LOSS)
			model_remove_layer(m, i);
	for (i = 0; i < m->nlayers; i++) {
		Caffe__LayerParameter *l = m->layers[i].p;
		for (j = 0; j < l->n_bottom; j++)
			if (in_list(labels, nlabels, l->bottom[j])) {
				caffeopt_fail(err, m->prototxt_path, 0, 0,
				              "--deploy: layer '%s' reads label blob '%s', which a deploy net does not have",
				              l->name, l->bottom[j]);
				goto out;
			}
	}
	rc = 0;
	goto out;
oom:
	caffeopt_fail(err, NULL, 0, 0, "out of memory");
out:
	free_strings(labels, nlabels);
	free(data);
	return rc;
}
