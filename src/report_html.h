/* report_html.h - `caffeopt optimize --report-html`: the run on one page.
 *
 * One self-contained HTML file (inline SVG and CSS, no scripts, no
 * external assets): the network before and after the passes side by side,
 * totals before and after (layers, weight blobs, parameters, weight bytes,
 * activation memory), the pass table (what fired, what was refused and
 * why), and the verification figures when a verification ran.
 *
 * Use: report_html_begin before the passes run, report_html_verify_* as
 * figures come in, report_html_write after, report_html_free.
 */
#ifndef CAFFEOPT_REPORT_HTML_H
#define CAFFEOPT_REPORT_HTML_H

#include "caffeopt/caffeopt.h"

struct report_html;

/* Snapshot m before the passes: its picture and activation memory.  title
 * names the run on the page (the input prototxt, say; NULL: the net's
 * name).  NULL with err (the net does not bind, Graphviz fails, no memory). */
struct report_html *report_html_begin(caffeopt_model *m, const char *title, caffeopt_error *err);

/* The verification hook (--verify): one figure per call, shown in order,
 * such as ("max |difference|", "3.1e-06").  0 or -1 when out of memory. */
int report_html_verify_row(struct report_html *h, const char *figure, const char *value);

/* The verification's verdict: passed 1 or 0, and a one-line summary
 * (may be NULL).  Without it the page says no verification ran. */
void report_html_verify_verdict(struct report_html *h, int passed, const char *summary);

/* Write the page for m after the passes, whose report is rep, to path:
 * through a temporary file renamed into place.  0 or -1 with err. */
int report_html_write(struct report_html *h, caffeopt_model *m, const caffeopt_report *rep,
                      const char *path, caffeopt_error *err);

/* Free h; NULL is a no-op. */
void report_html_free(struct report_html *h);

#endif
