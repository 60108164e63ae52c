/* textfmt.h - protobuf text format (prototxt), read and written by walking
 * protobuf-c descriptors; nothing here is written per message type.
 *
 * Parsed messages are ordinary protobuf-c messages on the default
 * allocator.  Fields the schema does not know are kept as their source
 * text in unknown-field entries with a reserved tag, printed back at the
 * end of their message, and must be stripped before binary packing.
 */
#ifndef CAFFEOPT_TEXTFMT_H
#define CAFFEOPT_TEXTFMT_H

#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "caffeopt/error.h"

/* textlex.c */

enum textlex_kind {
	TEXTLEX_EOF,
	TEXTLEX_IDENT,   /* [A-Za-z_][A-Za-z0-9_]* */
	TEXTLEX_INT,     /* 12, 0x1F, 017 (no sign) */
	TEXTLEX_FLOAT,   /* 1.5, .5, 1e-3, 2f (no sign) */
	TEXTLEX_STRING,  /* one quoted literal, escapes already checked */
	TEXTLEX_SYMBOL,  /* any other single printable character */
};

struct textlex_token {
	enum textlex_kind kind;
	const char *p;   /* first byte in the source */
	size_t len;      /* bytes in the source, quotes included */
	int line, col;   /* 1-based; col counts bytes */
};

struct textlex {
	const char *text, *file;
	size_t len, pos;           /* source and scan position */
	int line;
	size_t line_start;         /* offset of the current line */
	size_t prev_end;           /* offset just past the last consumed token */
	struct textlex_token tok;  /* the current, not yet consumed, token */
	caffeopt_error *err;
};

/* Start scanning text and read the first token; 0, or -1 with err filled. */
int textlex_init(struct textlex *lx, const char *text, size_t len,
                 const char *file, caffeopt_error *err);
/* Consume the current token and read the next; 0, or -1 with err filled. */
int textlex_next(struct textlex *lx);
/* Nonzero when the current token is the one-character symbol c. */
int textlex_is(const struct textlex *lx, char c);
/* Append the bytes string token t stands for to *buf (malloc'd, *n bytes,
 * always NUL-terminated); 0, or -1 when out of memory. */
int textlex_unquote(const struct textlex_token *t, char **buf, size_t *n);
/* Value of integer token t (decimal, 0x hex or 0 octal); 0, or -1 when it
 * does not fit in 64 bits. */
int textlex_uint(const struct textlex_token *t, uint64_t *v);
/* Value of decimal integer or float token t, as strtod rounds it; 0, or -1
 * when out of memory. */
int textlex_double(const struct textlex_token *t, double *v);

/* textfmt.c */

/* Called once per distinct unknown field name in a parse. */
typedef void textfmt_warn_fn(void *ctx, const char *file, int line, int col,
                             const char *field);

/* Parse len bytes of text (no NUL needed) as a desc message; the message
 * (free it with protobuf_c_message_free_unpacked), or NULL with err filled
 * as filename:line:col.  warn (may be NULL) hears of unknown fields. */
ProtobufCMessage *textfmt_parse(const ProtobufCMessageDescriptor *desc,
                                const char *text, size_t len,
                                const char *filename, caffeopt_error *err,
                                textfmt_warn_fn *warn, void *ctx);
/* msg as `protoc --decode` prints it, malloc'd and NUL-terminated, length
 * in *len when len is not NULL; NULL when out of memory. */
char *textfmt_print(const ProtobufCMessage *msg, size_t *len);
/* Remove the kept unknown-field text from msg and all its submessages. */
void textfmt_strip_unknown(ProtobufCMessage *msg);
/* Nonzero when msg or a submessage holds kept unknown-field text. */
int textfmt_has_unknown(const ProtobufCMessage *msg);

#endif
