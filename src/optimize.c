/* optimize.c - caffeopt_optimize: run the selected passes and keep the
 * report (what fired, what was refused and why, totals before and after). */
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "passes.h"

struct caffeopt_report {
	struct caffeopt_stats before, after;
	size_t npasses;
	int *ran;
	struct pass_log *logs;
};

size_t
caffeopt_pass_count(void)
{
	size_t n = 0;

	while (pass_table[n].name)
		n++;
	return n;
}

const char *
caffeopt_pass_name(size_t i)
{
	return pass_table[i].name;
}

const char *
caffeopt_pass_summary(size_t i)
{
	return pass_table[i].summary;
}

int
caffeopt_pass_default(size_t i)
{
	return pass_table[i].on_by_default;
}

int
caffeopt_pass_index(const char *name)
{
	const struct pass_info *p = pass_find(name);

	return p ? (int)(p - pass_table) : -1;
}

int
caffeopt_optimize(caffeopt_model *m, const struct caffeopt_optimize_options *o,
                  caffeopt_report **rep, caffeopt_error *err)
{
	size_t n = caffeopt_pass_count();
	struct input_fold in = {0};
	caffeopt_report *r = calloc(1, sizeof *r);
	int rc;

	if (rep)
		*rep = NULL;
	if (!r || !(r->ran = calloc(n, sizeof *r->ran))) {
		free(r);
		return caffeopt_fail(err, NULL, 0, 0, "out of memory");
	}
	r->npasses = n;
	memcpy(r->ran, o->enabled, n * sizeof *r->ran);
	in.has_mean = o->nmean > 0;
	in.nmean = o->nmean;
	in.mean = (double *)o->mean;
	in.has_scale = o->has_input_scale;
	in.scale = o->input_scale;
	caffeopt_model_stats(m, &r->before);
	rc = passes_run(m, o->enabled, o->keep_blobs, o->nkeep_blobs, &in, &r->logs, err);
	if (rc < 0) {
		caffeopt_report_free(r);
		return -1;
	}
	caffeopt_model_stats(m, &r->after);
	if (rep)
		*rep = r;
	else
		caffeopt_report_free(r);
	return 0;
}

void
caffeopt_report_free(caffeopt_report *r)
{
	if (!r)
		return;
	if (r->logs)
		pass_logs_free(r->logs, r->npasses);
	free(r->ran);
	free(r);
}

void
caffeopt_report_stats(const caffeopt_report *r, struct caffeopt_stats *before,
                      struct caffeopt_stats *after)
{
	*before = r->before;
	*after = r->after;
}

size_t
caffeopt_report_npasses(const caffeopt_report *r)
{
	return r->npasses;
}

const char *
caffeopt_report_pass(const caffeopt_report *r, size_t i, int *ran, size_t *nnotes)
{
	*ran = r->ran[i];
	*nnotes = r->logs[i].nnotes;
	return r->logs[i].pass;
}

int
caffeopt_report_note(const caffeopt_report *r, size_t i, size_t k, const char **layer, const char **text)
{
	const struct pass_note *n = &r->logs[i].notes[k];

	*layer = n->layer;
	*text = n->text;
	return n->refused;
}

int
caffeopt_report_print(const caffeopt_report *r, FILE *out, int verbose)
{
	size_t i, k;

	fprintf(out, "  passes (in order):\n");
	for (i = 0; i < r->npasses; i++) {
		const struct pass_log *lg = &r->logs[i];
		if (!r->ran[i]) {
			fprintf(out, "    %-16s off\n", lg->pass);
			continue;
		}
		fprintf(out, "    %-16s %zu fired, %zu refused\n", lg->pass, lg->fired, lg->refused);
		for (k = 0; k < lg->nnotes; k++)
			if (verbose || lg->notes[k].refused)
				fprintf(out, "      %s %s: %s\n", lg->notes[k].refused ? "refused" : "fired  ",
				        lg->notes[k].layer, lg->notes[k].text);
	}
	fprintf(out, "  layers    %zu -> %zu\n", r->before.layers, r->after.layers);
	fprintf(out, "  params    %zu -> %zu\n", r->before.params, r->after.params);
	fprintf(out, "  weights   %zu -> %zu bytes\n", r->before.weight_bytes, r->after.weight_bytes);
	return ferror(out) ? -1 : 0;
}

static void
json_stats(FILE *f, const struct caffeopt_stats *s)
{
	fprintf(f, "{\"layers\": %zu, \"weight_blobs\": %zu, \"params\": %zu, \"weight_bytes\": %zu}",
	        s->layers, s->weight_blobs, s->params, s->weight_bytes);
}

int
caffeopt_report_json(const caffeopt_report *r, FILE *out)
{
	size_t i, k;

	fputs("{\n  \"before\": ", out);
	json_stats(out, &r->before);
	fputs(",\n  \"after\": ", out);
	json_stats(out, &r->after);
	fputs(",\n  \"passes\": [", out);
	for (i = 0; i < r->npasses; i++) {
		const struct pass_log *lg = &r->logs[i];
		fprintf(out, "%s\n    {\"name\": ", i ? "," : "");
		json_string(out, lg->pass);
		fprintf(out, ", \"ran\": %s, \"fired\": %zu, \"refused\": %zu, \"notes\": [",
		        r->ran[i] ? "true" : "false", lg->fired, lg->refused);
		for (k = 0; k < lg->nnotes; k++) {
			fprintf(out, "%s\n      {\"%s\": ", k ? "," : "", lg->notes[k].refused ? "refused" : "fired");
			json_string(out, lg->notes[k].layer);
			fputs(", \"why\": ", out);
			json_string(out, lg->notes[k].text);
			fputc('}', out);
		}
		fputs(lg->nnotes ? "\n    ]}" : "]}", out);
	}
	fputs("\n  ]\n}\n", out);
	return ferror(out) ? -1 : 0;
}
