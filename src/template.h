/* template.h - a small text template engine: the C sources caffeopt emits
 * are written by templates (templates/), never by C code.
 *
 * Values are a tree (struct tval) of strings, integers, byte strings, lists
 * and maps, allocated in one pool (struct tdata) freed in one call.  A
 * template is text with tags:
 *
 *	{{expr}}  {{expr|filter|..}}    the value, through filters
 *	{{! comment }}                  nothing
 *	{{#if cond}} {{#elif cond}} {{#else}} {{/if}}
 *	{{#each list}} .. {{/each}}     per item: its fields, this, @index,
 *	                                @first, @last, @count
 *	{{#chunks bytes N}} .. {{/chunks}}  bytes in pieces of N: chunk,
 *	                                @index, @first, @last, @offset
 *	{{#lines bytes}} .. {{/lines}}  bytes cut after each newline: line, ..
 *
 *	expr:  a.b.c | this | @root | @index .. | "string" | 123
 *	cond:  expr | not expr | expr == expr | expr != expr
 *
 * Names resolve from the innermost loop outwards to the root.  Filters:
 * upper, lower (ASCII case), cstring (C string literal body: escapes,
 * octal for other bytes, \? against trigraphs), comment (safe inside a C
 * comment), hexbytes ("0x1f," per byte), chars ('a', or '\377', per
 * byte), floats (little-endian float32 -> "1.5f," per value, exact to 9
 * digits; NaN or infinity is an error), float (exactly one: "1.5f").
 * A line holding only a block tag or comment (and blanks) vanishes with
 * its newline.  "{{" always opens a tag: write { { in C, or {{"{{"}}.
 * Every error names the template file, line and column.
 */
#ifndef CAFFEOPT_TEMPLATE_H
#define CAFFEOPT_TEMPLATE_H

#include <stddef.h>
#include "caffeopt/error.h"

enum tkind { TV_NULL, TV_STR, TV_INT, TV_BYTES, TV_LIST, TV_MAP };

struct titem;

struct tval {
	enum tkind kind;
	long long i;                 /* TV_INT */
	const char *s;               /* TV_STR (pool copy) and TV_BYTES (borrowed) */
	size_t n;                    /* length of s; items of a list */
	struct titem *head, *tail;   /* TV_LIST items, TV_MAP fields */
};

struct titem {
	const char *key;             /* map field name; NULL in a list */
	struct tval v;
	struct titem *next;
};

struct tdata;

/* A new, empty pool whose root is a map.  NULL when out of memory. */
struct tdata *tdata_new(void);
void tdata_free(struct tdata *d);
struct tval *tdata_root(struct tdata *d);

/* Add a null value to container c under key (a map; key must outlive d,
 * e.g. a literal) or at the end (a list; key NULL).  Returns it, or NULL
 * when out of memory or when c is NULL, so calls chain. */
struct tval *tv_add(struct tdata *d, struct tval *c, const char *key);

/* Make v a string (copied), integer, byte string (borrowed: p must outlive
 * every render), empty list or empty map.  Return v, or NULL when v is NULL
 * or out of memory. */
struct tval *tv_str(struct tdata *d, struct tval *v, const char *s);
struct tval *tv_int(struct tval *v, long long i);
struct tval *tv_bytes(struct tval *v, const void *p, size_t n);
struct tval *tv_bytes_dup(struct tdata *d, struct tval *v, const void *p, size_t n);  /* copied */
struct tval *tv_list(struct tval *v);
struct tval *tv_map(struct tval *v);

/* A growable output buffer; oom is set (and writes dropped) when it could
 * not grow.  With a sink, the buffer is a window instead: when a write
 * does not fit, the bytes held so far go to sink(arg, p, len), flushed
 * counts them, and the buffer (grown to TBUF_SINK_CHUNK bytes first, and
 * further only for a single larger write) is reused.  flushed starts at 0. */
enum { TBUF_SINK_CHUNK = 4 << 20 };
struct tbuf {
	char *p;
	size_t len, cap;
	int oom;
	void (*sink)(void *arg, const char *p, size_t n);
	void *arg;
	size_t flushed;          /* bytes handed to sink */
};
void tbuf_put(struct tbuf *b, const char *s, size_t n);
/* Hand the bytes held to the sink (none: nothing). */
void tbuf_flush(struct tbuf *b);
void tbuf_free(struct tbuf *b);

struct tpl;

/* Parse text (len bytes; path names it in errors).  NULL on error. */
struct tpl *tpl_parse(const char *path, const char *text, size_t len, caffeopt_error *err);

/* Read and parse the file at path.  NULL on error. */
struct tpl *tpl_load(const char *path, caffeopt_error *err);

/* Append t rendered over root to out.  0, or -1 with err at the tag.
 * With a sink on out, every byte has gone to it when this returns 0; on
 * -1 some may have (the caller drops them).  The render's output budget
 * counts the bytes flushed as well as those held. */
int tpl_render(const struct tpl *t, const struct tval *root, struct tbuf *out,
               caffeopt_error *err);

void tpl_free(struct tpl *t);

#endif
