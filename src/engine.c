/* engine.c - feeding, comparing and describing engine nets (engine.h).
 * Requires: models that netbuild accepts.  Keeps: the models unchanged. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "netbuild.h"

char *
engine_shape(const cr_blob *b, char *buf, size_t n)
{
	size_t at = 0;
	int k;

	buf[0] = '\0';
	for (k = 0; k < b->ndim && at < n; k++)
		at += (size_t)snprintf(buf + at, n - at, "%s%d", k ? "x" : "", b->shape[k]);
	if (b->ndim == 0)
		snprintf(buf, n, "scalar");
	return buf;
}

static void
npy_shape(const struct npy *a, char *buf, size_t n)
{
	size_t at = 0;
	int k;

	buf[0] = '\0';
	for (k = 0; k < a->ndim && at < n; k++)
		at += (size_t)snprintf(buf + at, n - at, "%s%lld", k ? "x" : "", (long long)a->shape[k]);
	if (a->ndim == 0)
		snprintf(buf, n, "scalar");
}

/* Equal dims once leading 1s are dropped from both. */
static int
fits(const cr_blob *b, const struct npy *a)
{
	int i = 0, j = 0;

	while (i < b->ndim && b->shape[i] == 1 && b->ndim - i > a->ndim - j)
		i++;
	while (j < a->ndim && a->shape[j] == 1 && a->ndim - j > b->ndim - i)
		j++;
	if (b->ndim - i != a->ndim - j)
		return 0;
	for (; i < b->ndim; i++, j++)
		if (b->shape[i] != a->shape[j])
			return 0;
	return 1;
}

int
engine_set_inputs(const cr_net *net, float *arena, const struct engine_input *in, size_t n,
                  caffeopt_error *err)
{
	char *taken = calloc(net->ninput + 1, 1);
	size_t i;
	uint32_t k;
	int rc = -1;

	if (!taken)
		return caffeopt_fail(err, NULL, 0, 0, "out of memory");
	for (i = 0; i < n; i++) {
		uint32_t b = UINT32_MAX;
		char s1[128], s2[128];
		if (in[i].name) {
			for (k = 0; k < net->ninput; k++)
				if (strcmp(net->blob[net->input[k]].name, in[i].name) == 0)
					break;
			if (k == net->ninput) {
				caffeopt_fail(err, in[i].path, 0, 0, "the net has no input named '%s'", in[i].name);
				goto out;
			}
		} else {
			/* the first input no named array claims */
			for (k = 0; k < net->ninput; k++) {
				size_t j;
				int named = 0;
				for (j = 0; j < n; j++)
					named |= in[j].name && strcmp(in[j].name, net->blob[net->input[k]].name) == 0;
				if (!taken[k] && !named)
					break;
			}
			if (k == net->ninput) {
				caffeopt_fail(err, in[i].path, 0, 0, "more input arrays than the net's %u inputs",
				              net->ninput);
				goto out;
			}
		}
		if (taken[k]) {
			caffeopt_fail(err, in[i].path, 0, 0, "input '%s' is given twice",
			              net->blob[net->input[k]].name);
			goto out;
		}
		taken[k] = 1;
		b = net->input[k];
		if (!fits(&net->blob[b], in[i].a)) {
			npy_shape(in[i].a, s1, sizeof s1);
			caffeopt_fail(err, in[i].path, 0, 0, "array of shape %s does not fit input '%s' of shape %s",
			              s1, net->blob[b].name, engine_shape(&net->blob[b], s2, sizeof s2));
			goto out;
		}
		memcpy(cr_blob_data(net, arena, b), in[i].a->data, (size_t)net->blob[b].count * sizeof(float));
	}
	rc = 0;
out:
	free(taken);
	return rc;
}

/* splitmix64: small, seeded, the same everywhere. */
static uint64_t
next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

void
engine_random_input(const cr_net *net, float *arena, uint32_t b, uint64_t seed, float lo, float hi)
{
	float *x = cr_blob_data(net, arena, b);
	uint32_t i;

	for (i = 0; i < net->blob[b].count; i++)
		x[i] = lo + (hi - lo) * (float)((next(&seed) >> 40) * (1.0 / 16777216.0));
}

static int
is_detection(const cr_net *net, uint32_t b)
{
	uint32_t i, j;

	for (i = 0; i < net->nlayer; i++)
		if (net->layer[i].op == CR_OP_DETECTION_OUTPUT)
			for (j = 0; j < net->layer[i].ntop; j++)
				if (net->layer[i].top[j] == b)
					return 1;
	return 0;
}

uint32_t
engine_output_count(const cr_net *net, uint32_t b, const float *arena)
{
	const cr_blob *bl = &net->blob[b];
	uint32_t rows;

	if (!is_detection(net, b))
		return bl->count;
	rows = cr_detections(bl, arena + bl->offset);
	return 7 * (rows ? rows : 1);
}

/* A's input from the raw x: (x - mean[c]) * scale over channel axis 1. */
static void
preprocess(const cr_blob *b, float *x, const struct engine_verify *o)
{
	uint32_t N = b->ndim > 0 ? (uint32_t)b->shape[0] : 1;
	uint32_t C = b->ndim > 1 ? (uint32_t)b->shape[1] : 1;
	uint32_t inner = N * C != 0 ? b->count / (N * C) : 0, n, c, i;
	double s = o->has_input_scale ? o->input_scale : 1;

	for (n = 0; n < N; n++)
		for (c = 0; c < C; c++) {
			double m = o->nmean ? o->mean[o->nmean == 1 ? 0 : c] : 0;
			for (i = 0; i < inner; i++, x++)
				*x = (float)((*x - m) * s);
		}
}

struct side {
	const cr_net *net;
	float *arena;
};

/* Compare outputs; track per output the worst errors over all samples. */
struct worst {
	double abs, rel, maxa;
};

int
engine_verify(caffeopt_model *ma, caffeopt_model *mb, const struct engine_verify *o,
              caffeopt_error *err)
{
	struct side a = {0}, b = {0};
	struct worst *w = NULL;
	uint32_t *bout = NULL, k, i;
	unsigned s, nsamples = o->samples + (o->ninputs ? 1 : 0);
	int rc = -1, fold = o->nmean || o->has_input_scale;
	char sh[128];

	if (!(a.net = netbuild(ma, NULL, 0, 0, err)) || !(b.net = netbuild(mb, NULL, 0, 0, err)))
		goto out;
	if (a.net->ninput != b.net->ninput) {
		caffeopt_fail(err, mb->prototxt_path, 0, 0, "%u inputs, the reference has %u",
		              b.net->ninput, a.net->ninput);
		goto out;
	}
	for (k = 0; k < a.net->ninput; k++) {
		const cr_blob *x = &a.net->blob[a.net->input[k]], *y = &b.net->blob[b.net->input[k]];
		if (x->count != y->count) {
			caffeopt_fail(err, mb->prototxt_path, 0, 0, "input '%s' has %u values, the reference's '%s' %u",
			              y->name, y->count, x->name, x->count);
			goto out;
		}
	}
	if (fold && o->nmean > 1 && a.net->ninput > 0 &&
	    (a.net->blob[a.net->input[0]].ndim < 2 ||
	     (size_t)a.net->blob[a.net->input[0]].shape[1] != o->nmean)) {
		caffeopt_fail(err, ma->prototxt_path, 0, 0, "%zu mean values for input '%s' of shape %s",
		              o->nmean, a.net->blob[a.net->input[0]].name,
		              engine_shape(&a.net->blob[a.net->input[0]], sh, sizeof sh));
		goto out;
	}
	bout = calloc(a.net->noutput + 1, sizeof *bout);
	w = calloc(a.net->noutput + 1, sizeof *w);
	if (!bout || !w) {
		caffeopt_fail(err, NULL, 0, 0, "out of memory");
		goto out;
	}
	for (k = 0; k < a.net->noutput; k++) {
		const cr_blob *x = &a.net->blob[a.net->output[k]];
		for (i = 0; i < b.net->noutput; i++)
			if (strcmp(b.net->blob[b.net->output[i]].name, x->name) == 0)
				break;
		if (i == b.net->noutput) {
			caffeopt_fail(err, mb->prototxt_path, 0, 0, "no output named '%s' as the reference has",
			              x->name);
			goto out;
		}
		bout[k] = b.net->output[i];
		if (b.net->blob[bout[k]].count != x->count) {
			caffeopt_fail(err, mb->prototxt_path, 0, 0, "output '%s' has %u values, the reference %u",
			              x->name, b.net->blob[bout[k]].count, x->count);
			goto out;
		}
	}
	if (!(a.arena = netbuild_arena(a.net)) || !(b.arena = netbuild_arena(b.net))) {
		caffeopt_fail(err, NULL, 0, 0, "out of memory for the arenas");
		goto out;
	}
	for (s = 0; s < nsamples; s++) {
		int user = o->ninputs && s == 0;
		if (user) {
			if (engine_set_inputs(b.net, b.arena, o->inputs, o->ninputs, err) < 0)
				goto out;
		}
		for (k = 0; k < b.net->ninput; k++) {
			uint32_t xb = b.net->input[k];
			if (!user)
				engine_random_input(b.net, b.arena, xb, 1000 + 17 * s + k, fold ? 0 : -2,
				                    fold ? 255 : 2);
			memcpy(cr_blob_data(a.net, a.arena, a.net->input[k]), cr_blob_data(b.net, b.arena, xb),
			       (size_t)b.net->blob[xb].count * sizeof(float));
		}
		if (fold && a.net->ninput > 0)
			preprocess(&a.net->blob[a.net->input[0]], cr_blob_data(a.net, a.arena, a.net->input[0]), o);
		if (cr_forward(a.net, a.arena) < 0 || cr_forward(b.net, b.arena) < 0) {
			caffeopt_fail(err, NULL, 0, 0, "forward failed: a corrupt net table");
			goto out;
		}
		for (k = 0; k < a.net->noutput; k++) {
			const float *x = cr_blob_data(a.net, a.arena, a.net->output[k]);
			const float *y = cr_blob_data(b.net, b.arena, bout[k]);
			uint32_t n = a.net->blob[a.net->output[k]].count;
			double maxa = 0, d = 0;
			for (i = 0; i < n; i++) {
				double e = fabs((double)x[i] - y[i]);
				if (fabs(x[i]) > maxa)
					maxa = fabs(x[i]);
				if (e > d || e != e)
					d = e != e ? INFINITY : e;
			}
			if (d > w[k].abs)
				w[k].abs = d;
			if (maxa > w[k].maxa)
				w[k].maxa = maxa;
			if (d / (maxa > 0 ? maxa : 1) > w[k].rel)
				w[k].rel = d / (maxa > 0 ? maxa : 1);
		}
	}
	rc = 0;
	for (k = 0; k < a.net->noutput; k++) {
		const cr_blob *x = &a.net->blob[a.net->output[k]];
		int bad = !(w[k].rel <= o->tol);
		if (o->out)
			fprintf(o->out, "  %-24s %-16s max|A| %-11.5g max abs err %-10.3g max rel err %-10.3g %s\n",
			        x->name, engine_shape(x, sh, sizeof sh), w[k].maxa, w[k].abs, w[k].rel,
			        bad ? "FAIL" : "ok");
		if (o->figure)
			o->figure(o->figure_ctx, x->name, engine_shape(x, sh, sizeof sh), w[k].maxa, w[k].abs,
			          w[k].rel, !bad);
		if (bad)
			rc = 1;
	}
	if (o->out)
		fprintf(o->out, "  %u sample%s (%s%u random), tolerance %.3g relative to max|A|: %s\n",
		        nsamples, nsamples == 1 ? "" : "s", o->ninputs ? "yours + " : "", o->samples, o->tol,
		        rc ? "FAILED" : "ok");
out:
	free(a.arena);
	free(b.arena);
	free(w);
	free(bout);
	netbuild_free(a.net);
	netbuild_free(b.net);
	return rc;
}

int
engine_info(caffeopt_model *m, FILE *out, caffeopt_error *err)
{
	const cr_net *net = netbuild(m, NULL, 0, m->has_weights ? NETBUILD_NO_VALUES : NETBUILD_NO_WEIGHTS, err);
	uint64_t total = 0;
	uint32_t i, k;
	char sh[128];

	if (!net)
		return -1;
	fprintf(out, "engine: %u layers, %u blobs\n", net->nlayer, net->nblob);
	for (k = 0; k < net->ninput; k++)
		fprintf(out, "  input  %-24s %s\n", net->blob[net->input[k]].name,
		        engine_shape(&net->blob[net->input[k]], sh, sizeof sh));
	fprintf(out, "%-4s %-24s %-16s %-24s %-18s %s\n", "#", "layer", "op", "top", "shape", "MACs");
	for (i = 0; i < net->nlayer; i++) {
		const cr_layer *l = &net->layer[i];
		uint64_t macs = cr_layer_macs(net, i);
		total += macs;
		for (k = 0; k < l->ntop; k++)
			fprintf(out, "%-4u %-24s %-16s %-24s %-18s %llu\n", i, k ? "" : l->name,
			        k ? "" : cr_op_name(l->op), net->blob[l->top[k]].name,
			        engine_shape(&net->blob[l->top[k]], sh, sizeof sh),
			        (unsigned long long)(k ? 0 : macs));
	}
	for (k = 0; k < net->noutput; k++)
		fprintf(out, "  output %-24s %s\n", net->blob[net->output[k]].name,
		        engine_shape(&net->blob[net->output[k]], sh, sizeof sh));
	fprintf(out, "total: %llu MACs; arena %zu bytes planned, %llu bytes naive (one buffer per blob name; planned is %.1f%%)\n",
	        (unsigned long long)total, cr_arena_bytes(net),
	        (unsigned long long)net->naive_floats * sizeof(float),
	        net->naive_floats ? 100.0 * net->arena_floats / net->naive_floats : 0.0);
	netbuild_free(net);
	return ferror(out) ? caffeopt_fail(err, NULL, 0, 0, "write error") : 0;
}
