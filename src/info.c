#define _POSIX_C_SOURCE 200809L
/* info.c - the `caffeopt info` table: layers, types, bottoms -> tops, weight
 * shapes and parameter counts, then totals. */
#include <stdio.h>
#include <string.h>

#include "model.h"

static void
print_names(FILE *out, char **v, size_t n)
{
	size_t i;

	if (n == 0)
		fputs("-", out);
	for (i = 0; i < n; i++)
		fprintf(out, "%s%s", i ? "," : "", v[i]);
}

int
caffeopt_model_info(const caffeopt_model *m, FILE *out)
{
	const Caffe__NetParameter *net = m->net;
	struct caffeopt_stats st;
	size_t i, k;

	fprintf(out, "net: %s\n", net->name ? net->name : "(unnamed)");
	for (i = 0; i < net->n_input; i++) {
		fprintf(out, "input: %s", net->input[i]);
		if (i < net->n_input_shape) {
			for (k = 0; k < net->input_shape[i]->n_dim; k++)
				fprintf(out, "%s%lld", k ? "x" : " ", (long long)net->input_shape[i]->dim[k]);
		} else if (net->n_input_dim >= 4 * (i + 1)) {
			for (k = 0; k < 4; k++)
				fprintf(out, "%s%d", k ? "x" : " ", net->input_dim[4 * i + k]);
		}
		fputc('\n', out);
	}
	fprintf(out, "%-4s %-24s %-20s %-40s %-24s %s\n", "#", "layer", "type", "bottoms -> tops",
	        "weights", "params");
	for (i = 0; i < m->nlayers; i++) {
		const struct mlayer *ml = &m->layers[i];
		size_t params = 0;
		char io[256], w[256];
		FILE *s;

		s = fmemopen(io, sizeof io, "w");
		if (s) {
			print_names(s, ml->p->bottom, ml->p->n_bottom);
			fputs(" -> ", s);
			print_names(s, ml->p->top, ml->p->n_top);
			fclose(s);
		} else
			strcpy(io, "?");
		io[sizeof io - 1] = '\0';
		w[0] = '\0';
		s = fmemopen(w, sizeof w, "w");
		if (s) {
			for (k = 0; k < ml->nblobs; k++) {
				int d;
				fputs(k ? " " : "", s);
				for (d = 0; d < ml->blobs[k].ndim; d++)
					fprintf(s, "%s%lld", d ? "x" : "", (long long)ml->blobs[k].shape[d]);
				params += ml->blobs[k].count;
			}
			if (ml->nblobs == 0)
				fputs("-", s);
			fclose(s);
		}
		w[sizeof w - 1] = '\0';
		fprintf(out, "%-4zu %-24s %-20s %-40s %-24s %zu\n", i, ml->p->name ? ml->p->name : "",
		        ml->p->type ? ml->p->type : "", io, w, params);
	}
	caffeopt_model_stats(m, &st);
	fprintf(out, "total: %zu layers, %zu weight blobs, %zu parameters, %zu weight bytes\n",
	        st.layers, st.weight_blobs, st.params, st.weight_bytes);
	return ferror(out) ? -1 : 0;
}
