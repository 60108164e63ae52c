/* passes.h - running the pass table. */
#ifndef CAFFEOPT_PASSES_H
#define CAFFEOPT_PASSES_H

#include "pass.h"

struct pass_info {
	const char *name;      /* CLI and report identifier */
	int (*run)(struct pass_ctx *);
	int on_by_default;
	const char *summary;
};

/* The passes in run order, ending with a NULL name. */
extern const struct pass_info pass_table[];

/* The pass called name, or NULL. */
const struct pass_info *pass_find(const char *name);

/* Run the passes with enabled[i] set, in table order, checking the graph
 * after each.  On success *logs holds one log per table entry (free with
 * pass_logs_free).  0 or -1. */
int passes_run(caffeopt_model *m, const int *enabled, const char *const *pinned, size_t npinned,
               const struct input_fold *input, struct pass_log **logs, caffeopt_error *err);

void pass_logs_free(struct pass_log *logs, size_t n);

#endif
