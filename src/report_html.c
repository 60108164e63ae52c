#define _POSIX_C_SOURCE 200809L
/* report_html.c - the one-page HTML report of an optimize run (see
 * report_html.h).  The pictures come from graphviz.c as SVG and are
 * inlined; everything else is tables.  No scripts: the page is read, not
 * run. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fileio.h"
#include "graph.h"
#include "graphviz.h"
#include "report_html.h"
#include "shape.h"

/* Activation memory as Caffe allocates it: one float blob per top that is
 * not written in place (top j named as bottom j), plus the net-level
 * inputs. */
struct activations {
	size_t blobs;        /* blobs allocated */
	size_t unknown;      /* of which caffeopt cannot tell the shape */
	unsigned long long bytes;  /* of the blobs whose shape is known */
};

struct figure {
	char *name, *value;
};

struct report_html {
	char *title;
	char *net_name;
	char *svg_before;
	struct activations act_before;
	size_t nfig;
	struct figure *fig;
	int verdict;          /* -1 no verification, 0 failed, 1 passed */
	char *verdict_text;
};

static void
activations_of(caffeopt_model *m, struct activations *a)
{
	caffeopt_error err;
	struct graph *g = graph_build(m, NULL, 0, &err);
	struct shape *s = g ? shape_infer(g, &err) : NULL;
	size_t v;

	memset(a, 0, sizeof *a);
	if (!g)
		return;
	for (v = 0; v < g->nver; v++) {
		const struct gver *gv = &g->ver[v];
		if (gv->producer >= 0) {
			const Caffe__LayerParameter *l = m->layers[gv->producer].p;
			int slot = gv->slot;
			if ((size_t)slot < l->n_bottom && strcmp(l->bottom[slot], l->top[slot]) == 0)
				continue;  /* in place: Caffe shares the bottom's blob */
		}
		a->blobs++;
		if (s && s[v].known && shape_count(&s[v]) >= 0)
			a->bytes += (unsigned long long)shape_count(&s[v]) * sizeof(float);
		else
			a->unknown++;
	}
	free(s);
	graph_free(g);
}

/* The SVG of m, without the XML prologue, its ids prefixed with `prefix`
 * so two pictures can share a page.  NULL with err. */
static char *
svg_of(caffeopt_model *m, const char *prefix, caffeopt_error *err)
{
	struct graphviz_options o = {"svg", NULL};
	char *svg, *start, *out, *w;
	const char *p;
	size_t len, n = 0, plen = strlen(prefix);

	if (graphviz_render(m, &o, &svg, &len, err) < 0)
		return NULL;
	if (!(start = strstr(svg, "<svg"))) {
		free(svg);
		caffeopt_fail(err, NULL, 0, 0, "graphviz: the SVG has no <svg> element");
		return NULL;
	}
	for (p = start; (p = strstr(p, " id=\"")); p += 5)
		n++;
	if (!(out = malloc(strlen(start) + n * plen + 1))) {
		free(svg);
		caffeopt_fail(err, NULL, 0, 0, "out of memory");
		return NULL;
	}
	for (w = out, p = start; *p;) {
		if (strncmp(p, " id=\"", 5) == 0) {
			memcpy(w, p, 5);
			memcpy(w + 5, prefix, plen);
			w += 5 + plen;
			p += 5;
		} else {
			*w++ = *p++;
		}
	}
	*w = '\0';
	free(svg);
	return out;
}

static char *
dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

struct report_html *
report_html_begin(caffeopt_model *m, const char *title, caffeopt_error *err)
{
	struct report_html *h = calloc(1, sizeof *h);

	if (!h) {
		caffeopt_fail(err, NULL, 0, 0, "out of memory");
		return NULL;
	}
	h->verdict = -1;
	h->title = dup_or_null(title);
	h->net_name = dup_or_null(m->net->name);
	if ((title && !h->title) || (m->net->name && !h->net_name)) {
		caffeopt_fail(err, NULL, 0, 0, "out of memory");
		report_html_free(h);
		return NULL;
	}
	if (!(h->svg_before = svg_of(m, "before-", err))) {
		report_html_free(h);
		return NULL;
	}
	activations_of(m, &h->act_before);
	return h;
}

int
report_html_verify_row(struct report_html *h, const char *figure, const char *value)
{
	struct figure *v = realloc(h->fig, (h->nfig + 1) * sizeof *v);

	if (!v)
		return -1;
	h->fig = v;
	v[h->nfig].name = strdup(figure ? figure : "");
	v[h->nfig].value = strdup(value ? value : "");
	if (!v[h->nfig].name || !v[h->nfig].value) {
		free(v[h->nfig].name);
		free(v[h->nfig].value);
		return -1;
	}
	h->nfig++;
	return 0;
}

void
report_html_verify_verdict(struct report_html *h, int passed, const char *summary)
{
	h->verdict = passed != 0;
	free(h->verdict_text);
	h->verdict_text = dup_or_null(summary);
}

void
report_html_free(struct report_html *h)
{
	size_t i;

	if (!h)
		return;
	for (i = 0; i < h->nfig; i++) {
		free(h->fig[i].name);
		free(h->fig[i].value);
	}
	free(h->fig);
	free(h->verdict_text);
	free(h->svg_before);
	free(h->net_name);
	free(h->title);
	free(h);
}

/* ---- The page ---- */

static void
html(FILE *f, const char *s)
{
	for (; s && *s; s++) {
		switch (*s) {
		case '&': fputs("&amp;", f); break;
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '"': fputs("&quot;", f); break;
		default: fputc(*s, f);
		}
	}
}

/* n with thousands separators: 25,557,032. */
static void
count(FILE *f, unsigned long long n)
{
	char d[32];
	int len = snprintf(d, sizeof d, "%llu", n), i;

	for (i = 0; i < len; i++) {
		if (i > 0 && (len - i) % 3 == 0)
			fputc(',', f);
		fputc(d[i], f);
	}
}

/* One totals row: name, before, after, change. */
static void
total_row(FILE *f, const char *name, unsigned long long before, unsigned long long after,
          const char *unit, const char *note)
{
	fprintf(f, "<tr><th>%s</th><td class=\"n\">", name);
	count(f, before);
	fputs("</td><td class=\"n\">", f);
	count(f, after);
	fputs("</td><td class=\"n\">", f);
	if (after == before) {
		fputs("=", f);
	} else {
		fputs(after < before ? "&minus;" : "+", f);
		count(f, after < before ? before - after : after - before);
		if (before > 0)
			fprintf(f, " (%s%.1f%%)", after < before ? "&minus;" : "+",
			        100.0 * (double)(after < before ? before - after : after - before) / (double)before);
	}
	fprintf(f, "</td><td>%s", unit);
	if (note && *note)
		fprintf(f, " <span class=\"note\">%s</span>", note);
	fputs("</td></tr>\n", f);
}

static const char css[] =
	"body{font-family:Helvetica,Arial,sans-serif;margin:24px;color:#222;background:#fff}\n"
	"h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px}\n"
	"summary{cursor:pointer}summary h2{display:inline-block}\n"
	"p.sub{color:#555;margin:0 0 16px}\n"
	"table{border-collapse:collapse;font-size:13px}\n"
	"th,td{border:1px solid #ccc;padding:3px 8px;text-align:left;vertical-align:top}\n"
	"thead th{background:#f0f0f0}td.n{text-align:right;font-variant-numeric:tabular-nums}\n"
	".fired{color:#1b5e20;font-weight:bold}.refused{color:#b71c1c;font-weight:bold}\n"
	".off{color:#888}.note{color:#777;font-size:12px}\n"
	".pass{color:#1b5e20;font-weight:bold}.fail{color:#b71c1c;font-weight:bold}\n"
	".pics{display:flex;gap:16px;align-items:flex-start}\n"
	".pic{flex:1 1 0;min-width:0;border:1px solid #ddd;padding:8px}\n"
	".pic h3{font-size:15px;margin:0 0 8px}\n"
	".pic svg{max-width:100%;height:auto}\n";

static void
totals(FILE *f, const struct report_html *h, const caffeopt_report *rep, const struct activations *after)
{
	struct caffeopt_stats b, a;
	char note[160] = "";

	caffeopt_report_stats(rep, &b, &a);
	fputs("<h2>Totals</h2>\n<table>\n<thead><tr><th></th><th>before</th><th>after</th><th>change</th>"
	      "<th></th></tr></thead>\n<tbody>\n", f);
	total_row(f, "layers", b.layers, a.layers, "", NULL);
	total_row(f, "weight blobs", b.weight_blobs, a.weight_blobs, "", NULL);
	total_row(f, "parameters", b.params, a.params, "values", NULL);
	total_row(f, "weight bytes", b.weight_bytes, a.weight_bytes, "bytes", NULL);
	total_row(f, "activation blobs", h->act_before.blobs, after->blobs, "",
	          "blobs Caffe allocates: in-place tops share their bottom's");
	if (h->act_before.unknown || after->unknown)
		snprintf(note, sizeof note, "float32; without %zu blob%s before and %zu after whose shape caffeopt "
		         "cannot tell (data layers: give --deploy --input-shape)", h->act_before.unknown,
		         h->act_before.unknown == 1 ? "" : "s", after->unknown);
	else
		snprintf(note, sizeof note, "float32, every blob's shape known");
	total_row(f, "activation memory", h->act_before.bytes, after->bytes, "bytes", note);
	fputs("</tbody>\n</table>\n", f);
}

static void
passes(FILE *f, const caffeopt_report *rep)
{
	size_t n = caffeopt_report_npasses(rep), i, k, nnotes, fired, refused, total = 0;
	const char *layer, *text;
	int ran;

	fputs("<h2>Passes</h2>\n<table>\n<thead><tr><th>pass</th><th>ran</th><th>fired</th><th>refused</th>"
	      "<th>what it does</th></tr></thead>\n<tbody>\n", f);
	for (i = 0; i < n; i++) {
		const char *name = caffeopt_report_pass(rep, i, &ran, &nnotes);
		int idx = caffeopt_pass_index(name);
		fired = refused = 0;
		for (k = 0; k < nnotes; k++) {
			if (caffeopt_report_note(rep, i, k, &layer, &text))
				refused++;
			else
				fired++;
		}
		total += nnotes;
		fprintf(f, "<tr%s><td>", ran ? "" : " class=\"off\"");
		html(f, name);
		fprintf(f, "</td><td>%s</td><td class=\"n\">%zu</td><td class=\"n\">%zu</td><td>",
		        ran ? "yes" : "off", fired, refused);
		if (idx >= 0)
			html(f, caffeopt_pass_summary((size_t)idx));
		fputs("</td></tr>\n", f);
	}
	fputs("</tbody>\n</table>\n", f);
	fprintf(f, "<p class=\"note\">%s</p>\n", total == 0 ? "No pass fired or refused anything."
	        : "What each pass did and refused, layer by layer, follows the pictures.");
}

enum { OPEN_NOTES = 40 };  /* longer note lists start folded */

/* Every note of every pass, in run order: what fired, what was refused
 * and why.  A <details> element, so long lists fold without scripts. */
static void
pass_notes(FILE *f, const caffeopt_report *rep)
{
	size_t n = caffeopt_report_npasses(rep), i, k, nnotes, total = 0, refused = 0;
	const char *layer, *text;
	int ran;

	for (i = 0; i < n; i++) {
		caffeopt_report_pass(rep, i, &ran, &nnotes);
		for (k = 0; k < nnotes; k++)
			refused += (size_t)caffeopt_report_note(rep, i, k, &layer, &text);
		total += nnotes;
	}
	if (total == 0)
		return;
	fprintf(f, "<details%s>\n<summary><h2>What each pass did, and refused: %zu note%s, %zu refused</h2>"
	        "</summary>\n<table>\n<thead><tr><th>pass</th><th></th><th>layer</th>"
	        "<th>what happened, or why not</th></tr></thead>\n<tbody>\n",
	        total <= OPEN_NOTES ? " open" : "", total, total == 1 ? "" : "s", refused);
	for (i = 0; i < n; i++) {
		const char *name = caffeopt_report_pass(rep, i, &ran, &nnotes);
		for (k = 0; k < nnotes; k++) {
			int r = caffeopt_report_note(rep, i, k, &layer, &text);
			fputs("<tr><td>", f);
			html(f, name);
			fprintf(f, "</td><td class=\"%s\">%s</td><td>", r ? "refused" : "fired", r ? "refused" : "fired");
			html(f, layer);
			fputs("</td><td>", f);
			html(f, text);
			fputs("</td></tr>\n", f);
		}
	}
	fputs("</tbody>\n</table>\n</details>\n", f);
}

static void
verification(FILE *f, const struct report_html *h)
{
	size_t i;

	fputs("<h2>Verification</h2>\n", f);
	if (h->verdict < 0 && h->nfig == 0) {
		fputs("<p class=\"note\">No verification ran (<code>--verify</code>).</p>\n", f);
		return;
	}
	if (h->verdict >= 0) {
		fprintf(f, "<p><span class=\"%s\">%s</span>", h->verdict ? "pass" : "fail",
		        h->verdict ? "passed" : "FAILED");
		if (h->verdict_text) {
			fputs(": ", f);
			html(f, h->verdict_text);
		}
		fputs("</p>\n", f);
	}
	if (h->nfig == 0)
		return;
	fputs("<table>\n<tbody>\n", f);
	for (i = 0; i < h->nfig; i++) {
		fputs("<tr><th>", f);
		html(f, h->fig[i].name);
		fputs("</th><td class=\"n\">", f);
		html(f, h->fig[i].value);
		fputs("</td></tr>\n", f);
	}
	fputs("</tbody>\n</table>\n", f);
}

int
report_html_write(struct report_html *h, caffeopt_model *m, const caffeopt_report *rep, const char *path,
                  caffeopt_error *err)
{
	struct activations after;
	struct outfile of = {0};
	char *svg_after, *page = NULL;
	size_t len = 0;
	FILE *f;
	int rc;

	if (!(svg_after = svg_of(m, "after-", err)))
		return -1;
	activations_of(m, &after);
	if (!(f = open_memstream(&page, &len))) {
		free(svg_after);
		return caffeopt_fail(err, path, 0, 0, "out of memory");
	}
	fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>caffeopt report: ", f);
	html(f, h->title ? h->title : h->net_name ? h->net_name : "net");
	fprintf(f, "</title>\n<style>\n%s</style>\n</head>\n<body>\n<h1>caffeopt optimization report</h1>\n", css);
	fputs("<p class=\"sub\">", f);
	if (h->title) {
		html(f, h->title);
		fputs(" &middot; ", f);
	}
	fputs("net <b>", f);
	html(f, h->net_name ? h->net_name : "(unnamed)");
	fprintf(f, "</b> &middot; caffeopt %s</p>\n", caffeopt_version());
	totals(f, h, rep, &after);
	passes(f, rep);
	verification(f, h);
	fputs("<h2>Network</h2>\n<div class=\"pics\">\n<div class=\"pic\"><h3>before the passes</h3>\n", f);
	fputs(h->svg_before, f);
	fputs("</div>\n<div class=\"pic\"><h3>after the passes</h3>\n", f);
	fputs(svg_after, f);
	fputs("</div>\n</div>\n", f);
	pass_notes(f, rep);
	fputs("</body>\n</html>\n", f);
	free(svg_after);
	if (fclose(f) != 0 || !page) {
		free(page);
		return caffeopt_fail(err, path, 0, 0, "out of memory writing the report");
	}
	rc = file_stage(&of, path, page, len, err) < 0 || file_commit(&of, 1, err) < 0 ? -1 : 0;
	free(page);
	return rc;
}
