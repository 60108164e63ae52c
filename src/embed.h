/* embed.h - a model as C sources, through templates: `caffeopt embed` and
 * `caffeopt optimize --emit-c`.
 *
 * A run writes into out_dir, for --name NAME (sanitized to the C
 * identifier SYM):
 *	SYM.prototxt, SYM.caffemodel  the model as caffeopt writes it
 *	SYM.h                         always (template model.h.in)
 *	SYM.c                         unless mode blob + format incbin (model.c.in)
 *	SYM.S                         format incbin (model.S.in); it .incbin's
 *	                              SYM.caffemodel and SYM.prototxt (blob) or
 *	SYM.weights                   (weights, net: the float pool)
 * plus the optional depfile and stamp.  Which C text those files hold is
 * the templates' business alone; embed only fills in values (the names
 * templates may use are listed in templates/README.md).
 *
 * Every output is staged beside its target and renamed into place only
 * when all were written; an output whose bytes did not change is left
 * untouched (same inode, same mtime).  The stamp, when asked for, is
 * rewritten on every successful run, last, so build systems can depend on
 * it.  The same model and options give the same bytes: no timestamps, no
 * host paths (incbin names its data files relative to out_dir, which the
 * build puts on the include path).
 */
#ifndef CAFFEOPT_EMBED_H
#define CAFFEOPT_EMBED_H

#include <stddef.h>

#include "caffeopt/caffeopt.h"

enum embed_mode { EMBED_BLOB, EMBED_WEIGHTS, EMBED_NET };
enum embed_format { EMBED_LITERAL, EMBED_ARRAY, EMBED_INCBIN };

struct embed_options {
	const char *name;             /* --name; required */
	const char *out_dir;          /* required; created when missing */
	enum embed_mode mode;
	enum embed_format format;
	unsigned long align;          /* bytes, a power of two <= 4096; 0: 16 */
	const char *section;          /* NULL: the compiler's own */
	const char *template_dir;     /* folder of model.{h,c,S}.in; required */
	const char *depfile;          /* Make-syntax list of the files read; NULL: none */
	const char *stamp;            /* rewritten after every success; NULL: none */
	const char *const *inputs;    /* files the caller read (prototxt, caffemodel,
	                                 ini, mean file), for the depfile */
	size_t ninputs;
	const char *out_prototxt;     /* optimize's -o and -W, committed with the rest; */
	const char *out_caffemodel;   /* NULL: none */
	int keep_layer_params;        /* caffemodels keep every layer field */
};

struct embed_result {
	size_t written;               /* outputs whose content changed (or new) */
	size_t unchanged;             /* outputs left untouched */
};

/* "blob" -> EMBED_BLOB etc.; -1 when unknown. */
int embed_mode_parse(const char *s, enum embed_mode *mode);
int embed_format_parse(const char *s, enum embed_format *format);

/* The C identifier --name gives: bytes other than [A-Za-z0-9_] become
 * '_'.  Returns a malloc'd string, or NULL (err says why) when the result
 * is empty, starts with a digit or is reserved (_X, __x). */
char *embed_symbol(const char *name, caffeopt_error *err);

/* Write m's sources (and the other outputs above).  m must have weights.
 * 0, or -1 with err naming the file, template location or layer; on error
 * no output is created or changed.  res may be NULL. */
int embed_write(caffeopt_model *m, const struct embed_options *o, struct embed_result *res,
                caffeopt_error *err);

#endif
