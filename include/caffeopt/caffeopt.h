/* caffeopt.h - read, rewrite and write Caffe models.
 *
 * The library never exits and never prints on its own: failures return -1
 * or NULL and fill a caffeopt_error (error.h); warnings go to the callback
 * given in the options.  A model is owned by the caller and freed with
 * caffeopt_model_free.
 */
#ifndef CAFFEOPT_H
#define CAFFEOPT_H

#include <stdio.h>
#include "caffeopt/error.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CAFFEOPT_MAX_DIMS 8

typedef struct caffeopt_model caffeopt_model;

/* Called once per warning; msg is one line such as "file:3:5: unknown
 * field 'interp_param' kept as text". */
typedef void (*caffeopt_warn_fn)(void *ctx, const char *msg);

struct caffeopt_load_options {
	const char *prototxt;        /* required */
	const char *caffemodel;      /* may be NULL: structure only */
	int train;                   /* 0: TEST phase (default), 1: TRAIN */
	int level;                   /* NetState level */
	const char *const *stages;   /* NetState stages */
	size_t nstages;
	int deploy;                  /* data layers -> Input; drop loss/accuracy */
	int has_input_shape;         /* input_shape below is set */
	long input_shape[4];         /* N, C, H, W for --deploy */
	int input_layer;             /* input:/input_dim fields -> Input layer */
	caffeopt_warn_fn warn;       /* may be NULL */
	void *warn_ctx;
};

/* Load, upgrade, filter and bind a model.  NULL on error. */
caffeopt_model *caffeopt_model_load(const struct caffeopt_load_options *o,
                                    caffeopt_error *err);

struct caffeopt_save_options {
	const char *prototxt;        /* output prototxt path, may be NULL */
	const char *caffemodel;      /* output caffemodel path, may be NULL */
	int keep_layer_params;       /* caffemodel layers keep every field */
};

/* Write the model's prototxt and/or caffemodel.  Both are written to
 * temporary files and renamed into place only when both succeeded; on
 * error no output path is created or changed.  Returns 0 or -1. */
int caffeopt_model_save(const caffeopt_model *m, const struct caffeopt_save_options *o,
                        caffeopt_error *err);

/* Print a table of the model: layers, types, bottoms -> tops, weight
 * shapes and parameter counts, then totals.  Returns 0 or -1. */
int caffeopt_model_info(const caffeopt_model *m, FILE *out);

/* Totals of a model, for reports. */
struct caffeopt_stats {
	size_t layers;
	size_t weight_blobs;
	size_t params;               /* weight values */
	size_t weight_bytes;         /* params * sizeof(float) */
};
void caffeopt_model_stats(const caffeopt_model *m, struct caffeopt_stats *s);

void caffeopt_model_free(caffeopt_model *m);

/* The rewrite passes, in the fixed order they run. */
size_t caffeopt_pass_count(void);
const char *caffeopt_pass_name(size_t i);     /* e.g. "fold-affine" */
const char *caffeopt_pass_summary(size_t i);  /* one line */
int caffeopt_pass_default(size_t i);          /* 1 when on by default */
int caffeopt_pass_index(const char *name);    /* -1 when unknown */

struct caffeopt_optimize_options {
	const int *enabled;             /* caffeopt_pass_count() flags */
	const char *const *keep_blobs;  /* blob names kept as outputs (--keep-blob) */
	size_t nkeep_blobs;
	const double *mean;             /* per-channel input mean, Caffe (BGR) order */
	size_t nmean;                   /* 0: no mean to fold */
	int has_input_scale;
	double input_scale;
};

typedef struct caffeopt_report caffeopt_report;

/* Run the enabled passes over m in order.  On success *rep (when rep is
 * not NULL) receives what each pass did and refused, and the totals before
 * and after; free it with caffeopt_report_free.  0 or -1; on -1 m may be
 * partly rewritten and must not be saved. */
int caffeopt_optimize(caffeopt_model *m, const struct caffeopt_optimize_options *o,
                      caffeopt_report **rep, caffeopt_error *err);

/* The report as text (the CLI's) or as JSON.  0 or -1 on a write error. */
int caffeopt_report_print(const caffeopt_report *r, FILE *out, int verbose);
int caffeopt_report_json(const caffeopt_report *r, FILE *out);
void caffeopt_report_stats(const caffeopt_report *r, struct caffeopt_stats *before,
                           struct caffeopt_stats *after);
void caffeopt_report_free(caffeopt_report *r);

/* The report pass by pass, for callers that lay it out themselves (the
 * HTML report): how many passes (all of the table, run or not); pass i's
 * name, whether it ran and how many notes it left; note k of pass i, 1 when
 * it is a refusal, with the layer it is about and what happened or why
 * not.  Strings belong to r. */
size_t caffeopt_report_npasses(const caffeopt_report *r);
const char *caffeopt_report_pass(const caffeopt_report *r, size_t i, int *ran, size_t *nnotes);
int caffeopt_report_note(const caffeopt_report *r, size_t i, size_t k, const char **layer,
                         const char **text);

enum caffeopt_format { CAFFEOPT_AUTO, CAFFEOPT_TEXT, CAFFEOPT_BINARY };

/* Convert a NetParameter (or BlobProto for .binaryproto) between text and
 * binary, upgrading legacy nets.  Formats are chosen by extension unless
 * to is given.  Returns 0 or -1; out is written atomically. */
int caffeopt_convert(const char *in, const char *out, enum caffeopt_format to,
                     caffeopt_warn_fn warn, void *warn_ctx, caffeopt_error *err);

/* The library version, "MAJOR.MINOR.PATCH". */
const char *caffeopt_version(void);

#ifdef __cplusplus
}
#endif

#endif
