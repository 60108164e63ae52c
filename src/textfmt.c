/* textfmt.c - parse and print the protobuf text format by walking
 * protobuf-c descriptors.
 *
 * Requires: descriptors from protoc-c (fields sorted by number, names
 * indexed), the C locale for numbers.
 * Keeps: parsed messages are plain protobuf-c messages on the default
 * allocator; the printer writes byte for byte what protoc 3.21 --decode
 * prints for the bytes protobuf_c_message_pack would write.
 * Breaks: fields the schema does not know are kept as source text in
 * unknown-field entries tagged UNKNOWN_TEXT_TAG, which pack would write as
 * garbage; textfmt_strip_unknown removes them.
 */
#include <errno.h>
#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "textfmt.h"

enum {
	UNKNOWN_TEXT_TAG = 19999,  /* protobuf reserves 19000-19999 */
	MAX_DEPTH = 100,           /* nested messages below the top one */
	WIRE_BUDGET = 10,          /* protoc's kUnknownFieldRecursionLimit */
};

#define MEMBER(type, msg, off) ((type)((const char *)(msg) + (off)))

struct parser {
	struct textlex lx;
	caffeopt_error *err;
	textfmt_warn_fn *warn;
	void *ctx;
	char **warned;   /* unknown field names already reported */
	size_t nwarned;
};

/* One field value on its way into a message; the first elem_size()
 * bytes are what the message stores. */
union value {
	int32_t i32;
	int64_t i64;
	uint32_t u32;
	uint64_t u64;
	float f;
	double d;
	protobuf_c_boolean b;
	int e;
	char *s;
	ProtobufCBinaryData bytes;
	ProtobufCMessage *m;
};

static size_t
elem_size(ProtobufCType type)
{
	switch (type) {
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		return sizeof(uint64_t);
	case PROTOBUF_C_TYPE_FLOAT:
		return sizeof(float);
	case PROTOBUF_C_TYPE_DOUBLE:
		return sizeof(double);
	case PROTOBUF_C_TYPE_BOOL:
		return sizeof(protobuf_c_boolean);
	case PROTOBUF_C_TYPE_STRING:
		return sizeof(char *);
	case PROTOBUF_C_TYPE_BYTES:
		return sizeof(ProtobufCBinaryData);
	case PROTOBUF_C_TYPE_MESSAGE:
		return sizeof(ProtobufCMessage *);
	default:  /* 32-bit integers and enums */
		return sizeof(uint32_t);
	}
}

/* Whether protobuf_c_message_pack would write non-repeated field f of msg. */
static int
is_present(const ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f)
{
	const void *member = MEMBER(const void *, msg, f->offset);
	const void *ptr = NULL;

	if (f->type == PROTOBUF_C_TYPE_STRING || f->type == PROTOBUF_C_TYPE_MESSAGE)
		ptr = *(const void *const *)member;
	if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
		if (*MEMBER(const uint32_t *, msg, f->quantifier_offset) != f->id)
			return 0;
		return ptr || (f->type != PROTOBUF_C_TYPE_STRING
		               && f->type != PROTOBUF_C_TYPE_MESSAGE);
	}
	switch (f->label) {
	case PROTOBUF_C_LABEL_REQUIRED:
		return ptr || (f->type != PROTOBUF_C_TYPE_STRING
		               && f->type != PROTOBUF_C_TYPE_MESSAGE);
	case PROTOBUF_C_LABEL_OPTIONAL:
		if (f->type == PROTOBUF_C_TYPE_STRING || f->type == PROTOBUF_C_TYPE_MESSAGE)
			return ptr && ptr != f->default_value;
		return *MEMBER(const protobuf_c_boolean *, msg, f->quantifier_offset);
	case PROTOBUF_C_LABEL_NONE:  /* proto3: present when not zero */
		switch (f->type) {
		case PROTOBUF_C_TYPE_STRING:
			return ptr && *(const char *)ptr;
		case PROTOBUF_C_TYPE_MESSAGE:
			return ptr && ptr != f->default_value;
		case PROTOBUF_C_TYPE_BYTES:
			return ((const ProtobufCBinaryData *)member)->len != 0;
		case PROTOBUF_C_TYPE_FLOAT:
			return *(const float *)member != 0;
		case PROTOBUF_C_TYPE_DOUBLE:
			return *(const double *)member != 0;
		default:
			if (elem_size(f->type) == sizeof(uint64_t))
				return *(const uint64_t *)member != 0;
			return *(const uint32_t *)member != 0;
		}
	default:
		return 0;
	}
}

/* ---- parsing ---- */

static int
fail_at(struct parser *p, const struct textlex_token *t, const char *fmt, ...)
#if defined(__GNUC__)
	__attribute__((format(printf, 3, 4)))
#endif
	;

static int
fail_at(struct parser *p, const struct textlex_token *t, const char *fmt, ...)
{
	char msg[sizeof p->err->msg];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	return caffeopt_fail(p->err, p->lx.file, t->line, t->col, "%s", msg);
}

static int
fail_oom(struct parser *p)
{
	return fail_at(p, &p->lx.tok, "out of memory");
}

/* A short description of token t for "got ..." in messages. */
static const char *
describe(const struct textlex_token *t, char *buf, size_t n)
{
	if (t->kind == TEXTLEX_EOF)
		return "end of file";
	if (t->kind == TEXTLEX_STRING)
		return "a string";
	snprintf(buf, n, "\"%.*s\"", t->len > 40 ? 40 : (int)t->len, t->p);
	return buf;
}

#define GOT(t) describe((t), (char[48]){0}, 48)

static int
next(struct parser *p)
{
	return textlex_next(&p->lx);
}

/* Consume symbol c when it is the current token; nonzero if it was. */
static int
accept(struct parser *p, char c, int *rc)
{
	if (!textlex_is(&p->lx, c))
		return 0;
	*rc = next(p);
	return 1;
}

static const ProtobufCFieldDescriptor *
find_field(const ProtobufCMessageDescriptor *d, const char *name, size_t len)
{
	unsigned lo = 0, hi = d->n_fields;

	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;
		const ProtobufCFieldDescriptor *f = &d->fields[d->fields_sorted_by_name[mid]];
		int c = strncmp(f->name, name, len);

		if (c == 0 && f->name[len] == '\0')
			return f;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static const ProtobufCEnumValue *
find_enum_name(const ProtobufCEnumDescriptor *d, const char *name, size_t len)
{
	unsigned lo = 0, hi = d->n_value_names;

	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;
		const ProtobufCEnumValueIndex *v = &d->values_by_name[mid];
		int c = strncmp(v->name, name, len);

		if (c == 0 && v->name[len] == '\0')
			return &d->values[v->index];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static int
token_is(const struct textlex_token *t, const char *word)
{
	return t->kind == TEXTLEX_IDENT && strlen(word) == t->len
	       && memcmp(t->p, word, t->len) == 0;
}

static int
token_is_nocase(const struct textlex_token *t, const char *word)
{
	if (t->kind != TEXTLEX_IDENT || strlen(word) != t->len)
		return 0;
	for (size_t i = 0; i < t->len; i++)
		if ((t->p[i] | 0x20) != word[i])
			return 0;
	return 1;
}

static int64_t
negate(uint64_t mag)
{
	return mag == 0 ? 0 : -(int64_t)(mag - 1) - 1;
}

/* Store v as (the next element of) field f of msg and mark it set. */
static int
store(ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f, const union value *v)
{
	size_t size = elem_size(f->type);
	char *member = MEMBER(char *, msg, f->offset);

	if (f->label == PROTOBUF_C_LABEL_REPEATED) {
		size_t *n = MEMBER(size_t *, msg, f->quantifier_offset);
		char **arr = (char **)member;

		/* The capacity is the next power of two, so grow at them. */
		if ((*n & (*n - 1)) == 0) {
			char *a = realloc(*arr, (*n ? 2 * *n : 1) * size);

			if (!a)
				return -1;
			*arr = a;
		}
		memcpy(*arr + *n * size, v, size);
		(*n)++;
		return 0;
	}
	memcpy(member, v, size);
	if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
		*MEMBER(uint32_t *, msg, f->quantifier_offset) = f->id;
	else if (f->label == PROTOBUF_C_LABEL_OPTIONAL && f->type != PROTOBUF_C_TYPE_STRING
	         && f->type != PROTOBUF_C_TYPE_MESSAGE)
		*MEMBER(protobuf_c_boolean *, msg, f->quantifier_offset) = 1;
	return 0;
}

static int
parse_integer(struct parser *p, const ProtobufCFieldDescriptor *f, union value *v)
{
	struct textlex_token at = p->lx.tok;
	const struct textlex_token *t = &p->lx.tok;
	int is_signed = 1, wide = elem_size(f->type) == sizeof(uint64_t);
	uint64_t mag, max = wide ? INT64_MAX : INT32_MAX;
	int neg, rc = 0;

	if (f->type == PROTOBUF_C_TYPE_UINT32 || f->type == PROTOBUF_C_TYPE_FIXED32
	    || f->type == PROTOBUF_C_TYPE_UINT64 || f->type == PROTOBUF_C_TYPE_FIXED64) {
		is_signed = 0;
		max = wide ? UINT64_MAX : UINT32_MAX;
	}
	neg = accept(p, '-', &rc);
	if (rc < 0)
		return -1;
	if (neg && !is_signed)
		return fail_at(p, &at, "negative value for unsigned field \"%s\"", f->name);
	if (t->kind != TEXTLEX_INT)
		return fail_at(p, t, "expected integer for field \"%s\", got %s", f->name, GOT(t));
	if (textlex_uint(t, &mag) < 0 || mag > max + (uint64_t)neg)
		return fail_at(p, &at, "integer out of range for field \"%s\"", f->name);
	if (!is_signed && wide)
		v->u64 = mag;
	else if (!is_signed)
		v->u32 = (uint32_t)mag;
	else if (wide)
		v->i64 = neg ? negate(mag) : (int64_t)mag;
	else
		v->i32 = (int32_t)(neg ? negate(mag) : (int64_t)mag);
	return next(p);
}

/* A float or double: decimal integers, floats, inf, infinity, nan. */
static int
parse_real(struct parser *p, const ProtobufCFieldDescriptor *f, double *d)
{
	const struct textlex_token *t = &p->lx.tok;
	int neg, rc = 0;

	neg = accept(p, '-', &rc);
	if (rc < 0)
		return -1;
	if (token_is_nocase(t, "inf") || token_is_nocase(t, "infinity")) {
		*d = INFINITY;
	} else if (token_is_nocase(t, "nan")) {
		*d = NAN;
	} else if (t->kind == TEXTLEX_FLOAT
	           || (t->kind == TEXTLEX_INT && (t->len == 1 || t->p[0] != '0'))) {
		if (textlex_double(t, d) < 0)
			return fail_oom(p);
	} else {
		return fail_at(p, t, "expected number for field \"%s\", got %s", f->name, GOT(t));
	}
	if (neg)
		*d = -*d;
	return next(p);
}

static int
parse_bool(struct parser *p, const ProtobufCFieldDescriptor *f, union value *v)
{
	const struct textlex_token *t = &p->lx.tok;
	uint64_t x;

	if (token_is(t, "true") || token_is(t, "True") || token_is(t, "t"))
		v->b = 1;
	else if (token_is(t, "false") || token_is(t, "False") || token_is(t, "f"))
		v->b = 0;
	else if (t->kind == TEXTLEX_INT && textlex_uint(t, &x) == 0 && x <= 1)
		v->b = (protobuf_c_boolean)x;
	else
		return fail_at(p, t, "expected true or false for field \"%s\", got %s",
		               f->name, GOT(t));
	return next(p);
}

static int
parse_enum(struct parser *p, const ProtobufCFieldDescriptor *f, union value *v)
{
	const ProtobufCEnumDescriptor *ed = f->descriptor;
	struct textlex_token at = p->lx.tok;
	const struct textlex_token *t = &p->lx.tok;
	const ProtobufCEnumValue *ev = NULL;
	uint64_t mag;
	int neg, rc = 0;

	neg = accept(p, '-', &rc);
	if (rc < 0)
		return -1;
	if (t->kind == TEXTLEX_IDENT && !neg) {
		ev = find_enum_name(ed, t->p, t->len);
		if (!ev)
			return fail_at(p, t, "unknown enum value \"%.*s\" for field \"%s\"",
			               (int)t->len, t->p, f->name);
	} else if (t->kind == TEXTLEX_INT) {
		if (textlex_uint(t, &mag) == 0 && mag <= (uint64_t)INT32_MAX + (uint64_t)neg)
			ev = protobuf_c_enum_descriptor_get_value(ed, (int)(neg ? negate(mag) : (int64_t)mag));
		if (!ev)
			return fail_at(p, &at, "unknown enum value %s%.*s for field \"%s\"",
			               neg ? "-" : "", (int)t->len, t->p, f->name);
	} else {
		return fail_at(p, t, "expected enum value for field \"%s\", got %s", f->name, GOT(t));
	}
	v->e = ev->value;
	return next(p);
}

/* One or more adjacent string literals, concatenated. */
static int
parse_string(struct parser *p, const ProtobufCFieldDescriptor *f, union value *v)
{
	struct textlex_token at = p->lx.tok;
	char *buf = NULL;
	size_t n = 0;

	if (at.kind != TEXTLEX_STRING)
		return fail_at(p, &at, "expected string for field \"%s\", got %s", f->name, GOT(&at));
	while (p->lx.tok.kind == TEXTLEX_STRING) {
		if (textlex_unquote(&p->lx.tok, &buf, &n) < 0) {
			free(buf);
			return fail_oom(p);
		}
		if (next(p) < 0) {
			free(buf);
			return -1;
		}
	}
	if (f->type == PROTOBUF_C_TYPE_STRING) {
		if (memchr(buf, '\0', n)) {
			free(buf);
			return fail_at(p, &at, "string field \"%s\" cannot hold a NUL byte", f->name);
		}
		v->s = buf;
	} else if (n == 0) {
		free(buf);  /* protobuf-c keeps empty bytes as NULL */
		v->bytes.len = 0;
		v->bytes.data = NULL;
	} else {
		v->bytes.len = n;
		v->bytes.data = (uint8_t *)buf;
	}
	return 0;
}

static int
parse_scalar(struct parser *p, ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f)
{
	union value v;
	double d;
	int rc;

	memset(&v, 0, sizeof v);
	switch (f->type) {
	case PROTOBUF_C_TYPE_FLOAT:
	case PROTOBUF_C_TYPE_DOUBLE:
		rc = parse_real(p, f, &d);
		if (f->type == PROTOBUF_C_TYPE_FLOAT)
			v.f = (float)d;  /* as protoc: through double */
		else
			v.d = d;
		break;
	case PROTOBUF_C_TYPE_BOOL:
		rc = parse_bool(p, f, &v);
		break;
	case PROTOBUF_C_TYPE_ENUM:
		rc = parse_enum(p, f, &v);
		break;
	case PROTOBUF_C_TYPE_STRING:
	case PROTOBUF_C_TYPE_BYTES:
		rc = parse_string(p, f, &v);
		break;
	default:
		rc = parse_integer(p, f, &v);
	}
	if (rc < 0)
		return -1;
	if (store(msg, f, &v) < 0) {
		if (f->type == PROTOBUF_C_TYPE_STRING)
			free(v.s);
		else if (f->type == PROTOBUF_C_TYPE_BYTES)
			free(v.bytes.data);
		return fail_oom(p);
	}
	return 0;
}

static int parse_fields(struct parser *p, ProtobufCMessage *msg, char close, int depth,
                        const struct textlex_token *open);

/* A submessage of field f between { } or < >, the current token; at is
 * where required-field errors point. */
static int
parse_submessage(struct parser *p, ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f,
                 const struct textlex_token *at, int depth)
{
	const ProtobufCMessageDescriptor *sd = f->descriptor;
	char close = textlex_is(&p->lx, '<') ? '>' : '}';
	union value v;

	if (depth + 1 > MAX_DEPTH)
		return fail_at(p, &p->lx.tok, "nesting too deep");
	memset(&v, 0, sizeof v);
	v.m = malloc(sd->sizeof_message);
	if (!v.m)
		return fail_oom(p);
	protobuf_c_message_init(sd, v.m);
	if (store(msg, f, &v) < 0) {
		free(v.m);
		return fail_oom(p);
	}
	if (next(p) < 0 || parse_fields(p, v.m, close, depth + 1, at) < 0)
		return -1;
	return next(p);
}

static int
is_open_brace(struct parser *p)
{
	return textlex_is(&p->lx, '{') || textlex_is(&p->lx, '<');
}

/* Values of repeated field f in [a, b, ...]; the '[' is current. */
static int
parse_list(struct parser *p, ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f, int depth)
{
	int rc = 0;

	if (next(p) < 0)
		return -1;
	if (accept(p, ']', &rc))
		return rc;
	for (;;) {
		struct textlex_token at = p->lx.tok;

		if (f->type != PROTOBUF_C_TYPE_MESSAGE)
			rc = parse_scalar(p, msg, f);
		else if (is_open_brace(p))
			rc = parse_submessage(p, msg, f, &at, depth);
		else
			rc = fail_at(p, &at, "expected '{' for message field \"%s\", got %s",
			             f->name, GOT(&at));
		if (rc < 0)
			return -1;
		if (accept(p, ']', &rc))
			return rc;
		if (!accept(p, ',', &rc))
			return fail_at(p, &p->lx.tok, "expected ',' or ']' in list for field \"%s\", got %s",
			               f->name, GOT(&p->lx.tok));
		if (rc < 0)
			return -1;
	}
}

/* Known field f of msg: `name: value`, `name { ... }`, `name: [ ... ]`. */
static int
parse_field(struct parser *p, ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f,
            unsigned char *seen, int depth)
{
	const ProtobufCMessageDescriptor *d = msg->descriptor;
	struct textlex_token name = p->lx.tok;
	const struct textlex_token *t = &p->lx.tok;
	size_t idx = (size_t)(f - d->fields);
	int colon, rc = 0;

	if (f->label != PROTOBUF_C_LABEL_REPEATED) {
		if (seen[idx])
			return fail_at(p, &name, "non-repeated field \"%s\" is specified multiple times",
			               f->name);
		for (size_t i = 0; i < d->n_fields && (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF); i++)
			if (seen[i] && (d->fields[i].flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
			    && d->fields[i].quantifier_offset == f->quantifier_offset)
				return fail_at(p, &name, "field \"%s\" is specified along with field \"%s\", "
				               "another member of the same oneof", f->name, d->fields[i].name);
		seen[idx] = 1;
	}
	if (next(p) < 0)
		return -1;
	colon = accept(p, ':', &rc);
	if (rc < 0)
		return -1;
	if (!colon && f->type != PROTOBUF_C_TYPE_MESSAGE)
		return fail_at(p, t, "expected ':' after field name \"%s\"", f->name);
	if (textlex_is(&p->lx, '[')) {
		if (f->label != PROTOBUF_C_LABEL_REPEATED)
			return fail_at(p, t, "list value for non-repeated field \"%s\"", f->name);
		return parse_list(p, msg, f, depth);
	}
	if (f->type != PROTOBUF_C_TYPE_MESSAGE)
		return parse_scalar(p, msg, f);
	if (!is_open_brace(p)) {
		if (colon)
			return fail_at(p, t, "expected '{' for message field \"%s\", got %s",
			               f->name, GOT(t));
		return fail_at(p, t, "expected ':' or '{' after field name \"%s\"", f->name);
	}
	return parse_submessage(p, msg, f, &name, depth);
}

/* Report unknown field name t once per parse. */
static int
warn_once(struct parser *p, const struct textlex_token *t)
{
	char **w, *name;

	if (!p->warn)
		return 0;
	for (size_t i = 0; i < p->nwarned; i++)
		if (strlen(p->warned[i]) == t->len && memcmp(p->warned[i], t->p, t->len) == 0)
			return 0;
	w = realloc(p->warned, (p->nwarned + 1) * sizeof *w);
	if (!w)
		return fail_oom(p);
	p->warned = w;
	name = malloc(t->len + 1);
	if (!name)
		return fail_oom(p);
	memcpy(name, t->p, t->len);
	name[t->len] = '\0';
	p->warned[p->nwarned++] = name;
	p->warn(p->ctx, p->lx.file, t->line, t->col, name);
	return 0;
}

static int skip_message(struct parser *p, int depth);

/* A scalar value of an unknown field: [-] word or number, or strings. */
static int
skip_scalar(struct parser *p, const struct textlex_token *name)
{
	const struct textlex_token *t = &p->lx.tok;
	int neg, rc = 0;

	neg = accept(p, '-', &rc);
	if (rc < 0)
		return -1;
	if (t->kind == TEXTLEX_STRING && !neg) {
		while (p->lx.tok.kind == TEXTLEX_STRING)
			if (next(p) < 0)
				return -1;
		return 0;
	}
	if (t->kind == TEXTLEX_IDENT || t->kind == TEXTLEX_INT || t->kind == TEXTLEX_FLOAT)
		return next(p);
	return fail_at(p, t, "expected value for field \"%.*s\", got %s",
	               (int)name->len, name->p, GOT(t));
}

/* The value of an unknown field after its name: the same forms as known
 * fields, checked for shape only. */
static int
skip_value(struct parser *p, const struct textlex_token *name, int depth)
{
	int colon, rc = 0;

	colon = accept(p, ':', &rc);
	if (rc < 0)
		return -1;
	if (is_open_brace(p))
		return skip_message(p, depth + 1);
	if (textlex_is(&p->lx, '[')) {
		if (next(p) < 0)
			return -1;
		if (accept(p, ']', &rc))
			return rc;
		for (;;) {
			if ((is_open_brace(p) ? skip_message(p, depth + 1) : skip_scalar(p, name)) < 0)
				return -1;
			if (accept(p, ']', &rc))
				return rc;
			if (!accept(p, ',', &rc))
				return fail_at(p, &p->lx.tok, "expected ',' or ']' in list for field \"%.*s\", got %s",
				               (int)name->len, name->p, GOT(&p->lx.tok));
			if (rc < 0)
				return -1;
		}
	}
	if (!colon)
		return fail_at(p, &p->lx.tok, "expected ':' or '{' after field name \"%.*s\"",
		               (int)name->len, name->p);
	return skip_scalar(p, name);
}

/* The { ... } or < ... > of an unknown field; the brace is current. */
static int
skip_message(struct parser *p, int depth)
{
	char close = textlex_is(&p->lx, '<') ? '>' : '}';
	int rc = 0;

	if (depth > MAX_DEPTH)
		return fail_at(p, &p->lx.tok, "nesting too deep");
	if (next(p) < 0)
		return -1;
	while (!textlex_is(&p->lx, close)) {
		struct textlex_token name = p->lx.tok;

		if (name.kind == TEXTLEX_EOF)
			return fail_at(p, &name, "unexpected end of file, expected '%c'", close);
		if (name.kind != TEXTLEX_IDENT)
			return fail_at(p, &name, "expected field name or '%c', got %s", close, GOT(&name));
		if (next(p) < 0 || skip_value(p, &name, depth) < 0)
			return -1;
		if ((accept(p, ';', &rc) || accept(p, ',', &rc)) && rc < 0)
			return -1;
	}
	return next(p);
}

/* A field msg's schema does not have: keep its source text. */
static int
parse_unknown(struct parser *p, ProtobufCMessage *msg, int depth)
{
	struct textlex_token name = p->lx.tok;
	ProtobufCMessageUnknownField *u;
	size_t start = (size_t)(name.p - p->lx.text), n;

	if (warn_once(p, &name) < 0 || next(p) < 0 || skip_value(p, &name, depth) < 0)
		return -1;
	n = p->lx.prev_end - start;
	u = realloc(msg->unknown_fields, (msg->n_unknown_fields + 1) * sizeof *u);
	if (!u)
		return fail_oom(p);
	msg->unknown_fields = u;
	u += msg->n_unknown_fields;
	u->tag = UNKNOWN_TEXT_TAG;
	u->wire_type = PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED;
	u->len = n;
	u->data = malloc(n);
	if (!u->data)
		return fail_oom(p);
	memcpy(u->data, p->lx.text + start, n);
	msg->n_unknown_fields++;
	return 0;
}

static int
check_required(struct parser *p, const ProtobufCMessage *msg, const unsigned char *seen,
               const struct textlex_token *at)
{
	const ProtobufCMessageDescriptor *d = msg->descriptor;
	char names[512] = "";
	size_t used = 0;

	for (size_t i = 0; i < d->n_fields; i++) {
		if (d->fields[i].label != PROTOBUF_C_LABEL_REQUIRED || seen[i])
			continue;
		if (used < sizeof names)
			used += (size_t)snprintf(names + used, sizeof names - used, "%s%s",
			                         used ? ", " : "", d->fields[i].name);
	}
	if (used == 0)
		return 0;
	return fail_at(p, at, "message %s missing required fields: %s", d->name, names);
}

/* Fields of msg up to close ('}' or '>', left current) or, when close is
 * 0, the end of the text; open is where the message starts, NULL for the
 * top one. */
static int
parse_fields(struct parser *p, ProtobufCMessage *msg, char close, int depth,
             const struct textlex_token *open)
{
	const ProtobufCMessageDescriptor *d = msg->descriptor;
	unsigned char *seen = calloc(d->n_fields + 1, 1);
	int rc = -1;

	if (!seen)
		return fail_oom(p);
	for (;;) {
		const struct textlex_token *t = &p->lx.tok;
		const ProtobufCFieldDescriptor *f;
		int sep = 0;

		if (close && textlex_is(&p->lx, close))
			break;
		if (t->kind == TEXTLEX_EOF && !close)
			break;
		if (t->kind == TEXTLEX_EOF) {
			fail_at(p, t, "unexpected end of file, expected '%c'", close);
			goto out;
		}
		if (t->kind != TEXTLEX_IDENT) {
			if (close)
				fail_at(p, t, "expected field name or '%c', got %s", close, GOT(t));
			else
				fail_at(p, t, "expected field name, got %s", GOT(t));
			goto out;
		}
		f = find_field(d, t->p, t->len);
		if ((f ? parse_field(p, msg, f, seen, depth) : parse_unknown(p, msg, depth)) < 0)
			goto out;
		if ((accept(p, ';', &sep) || accept(p, ',', &sep)) && sep < 0)
			goto out;
	}
	rc = check_required(p, msg, seen, open ? open : &p->lx.tok);
out:
	free(seen);
	return rc;
}

ProtobufCMessage *
textfmt_parse(const ProtobufCMessageDescriptor *desc, const char *text, size_t len,
              const char *filename, caffeopt_error *err, textfmt_warn_fn *warn, void *ctx)
{
	struct parser p;
	ProtobufCMessage *msg;
	int rc;

	memset(&p, 0, sizeof p);
	p.err = err;
	p.warn = warn;
	p.ctx = ctx;
	msg = malloc(desc->sizeof_message);
	if (!msg) {
		caffeopt_fail(err, filename, 0, 0, "out of memory");
		return NULL;
	}
	protobuf_c_message_init(desc, msg);
	rc = textlex_init(&p.lx, text, len, filename, err);
	if (rc == 0)
		rc = parse_fields(&p, msg, 0, 0, NULL);
	for (size_t i = 0; i < p.nwarned; i++)
		free(p.warned[i]);
	free(p.warned);
	if (rc < 0) {
		protobuf_c_message_free_unpacked(msg, NULL);
		return NULL;
	}
	return msg;
}

/* ---- printing ---- */

struct out {
	char *p;
	size_t len, cap;
	int oom;
};

static void
put(struct out *o, const char *s, size_t n)
{
	if (o->oom)
		return;
	if (o->len + n + 1 > o->cap) {
		size_t cap = o->cap ? o->cap : 256;
		char *np;

		while (cap < o->len + n + 1)
			cap *= 2;
		np = realloc(o->p, cap);
		if (!np) {
			o->oom = 1;
			return;
		}
		o->p = np;
		o->cap = cap;
	}
	memcpy(o->p + o->len, s, n);
	o->len += n;
}

static void
put_str(struct out *o, const char *s)
{
	put(o, s, strlen(s));
}

static void
put_fmt(struct out *o, const char *fmt, ...)
#if defined(__GNUC__)
	__attribute__((format(printf, 2, 3)))
#endif
	;

static void
put_fmt(struct out *o, const char *fmt, ...)
{
	char buf[64];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	put(o, buf, n < 0 ? 0 : (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1);
}

static void
put_indent(struct out *o, int depth)
{
	for (int i = 0; i < depth; i++)
		put(o, "  ", 2);
}

/* protoc's CEscape between double quotes: C escapes for \n \r \t " ' \,
 * three-digit octal for other bytes outside 0x20-0x7e. */
static void
put_quoted(struct out *o, const uint8_t *s, size_t n)
{
	put(o, "\"", 1);
	for (size_t i = 0; i < n; i++) {
		switch (s[i]) {
		case '\n': put(o, "\\n", 2); break;
		case '\r': put(o, "\\r", 2); break;
		case '\t': put(o, "\\t", 2); break;
		case '"': put(o, "\\\"", 2); break;
		case '\'': put(o, "\\'", 2); break;
		case '\\': put(o, "\\\\", 2); break;
		default:
			if (s[i] < 0x20 || s[i] >= 0x7f)
				put_fmt(o, "\\%03o", s[i]);
			else
				put(o, (const char *)s + i, 1);
		}
	}
	put(o, "\"", 1);
}

/* protobuf's SimpleFtoa: %.6g when strtof reads it back exactly (and
 * without a range error), else %.9g. */
static void
put_float(struct out *o, float v)
{
	char buf[32], *end;
	int saved = errno;
	float back;

	if (isnan(v) || isinf(v)) {
		put_str(o, isnan(v) ? "nan" : v > 0 ? "inf" : "-inf");
		return;
	}
	snprintf(buf, sizeof buf, "%.*g", FLT_DIG, (double)v);
	errno = 0;
	back = strtof(buf, &end);
	if (*end || errno || back != v)
		snprintf(buf, sizeof buf, "%.*g", FLT_DIG + 3, (double)v);
	errno = saved;
	put_str(o, buf);
}

/* protobuf's SimpleDtoa: %.15g when strtod reads it back exactly, else
 * %.17g. */
static void
put_double(struct out *o, double v)
{
	char buf[40];

	if (isnan(v) || isinf(v)) {
		put_str(o, isnan(v) ? "nan" : v > 0 ? "inf" : "-inf");
		return;
	}
	snprintf(buf, sizeof buf, "%.*g", DBL_DIG, v);
	if (strtod(buf, NULL) != v)
		snprintf(buf, sizeof buf, "%.*g", DBL_DIG + 2, v);
	put_str(o, buf);
}

static void
put_scalar(struct out *o, const ProtobufCFieldDescriptor *f, const void *v)
{
	const ProtobufCEnumValue *ev;

	switch (f->type) {
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
		put_fmt(o, "%" PRId32, *(const int32_t *)v);
		break;
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
		put_fmt(o, "%" PRId64, *(const int64_t *)v);
		break;
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
		put_fmt(o, "%" PRIu32, *(const uint32_t *)v);
		break;
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		put_fmt(o, "%" PRIu64, *(const uint64_t *)v);
		break;
	case PROTOBUF_C_TYPE_FLOAT:
		put_float(o, *(const float *)v);
		break;
	case PROTOBUF_C_TYPE_DOUBLE:
		put_double(o, *(const double *)v);
		break;
	case PROTOBUF_C_TYPE_BOOL:
		put_str(o, *(const protobuf_c_boolean *)v ? "true" : "false");
		break;
	case PROTOBUF_C_TYPE_ENUM:
		ev = protobuf_c_enum_descriptor_get_value(f->descriptor, *(const int *)v);
		if (ev)
			put_str(o, ev->name);
		else
			put_fmt(o, "%d", *(const int *)v);
		break;
	case PROTOBUF_C_TYPE_STRING:
		put_quoted(o, *(const uint8_t *const *)v, strlen(*(const char *const *)v));
		break;
	case PROTOBUF_C_TYPE_BYTES:
		put_quoted(o, ((const ProtobufCBinaryData *)v)->data,
		           ((const ProtobufCBinaryData *)v)->len);
		break;
	case PROTOBUF_C_TYPE_MESSAGE:
		break;
	}
}

/* Kept source text of an unknown field: its first line at depth, the
 * others too after removing the indentation they share. */
static void
put_kept_text(struct out *o, const char *s, size_t n, int depth)
{
	size_t common = (size_t)-1;
	const char *end = s + n, *line, *nl;

	for (line = memchr(s, '\n', n); line; line = memchr(line, '\n', (size_t)(end - line))) {
		size_t ws = 0;

		/* A lone '\r' is a blank to the lexer: indentation here too, so
		 * that "\r}" keeps its brace (found by fuzz_prototxt). */
		line++;
		while (line + ws < end && (line[ws] == ' ' || line[ws] == '\t' || line[ws] == '\r'))
			ws++;
		if (line + ws < end && line[ws] != '\n' && ws < common)
			common = ws;
	}
	for (line = s;; line = nl + 1) {
		const char *from = line, *stop;

		nl = memchr(line, '\n', (size_t)(end - line));
		stop = nl ? nl : end;
		while (stop > from && (stop[-1] == ' ' || stop[-1] == '\t' || stop[-1] == '\r'))
			stop--;
		if (from != s)
			from += (size_t)(stop - from) < common ? (size_t)(stop - from) : common;
		if (from < stop) {
			put_indent(o, depth);
			put(o, from, (size_t)(stop - from));
		}
		put(o, "\n", 1);
		if (!nl)
			return;
	}
}

/* Wire-format bytes of an unknown field, as protoc's UnknownFieldSet. */
struct wire {
	const uint8_t *p, *end;
};

static int
wire_varint(struct wire *w, uint64_t *v)
{
	*v = 0;
	for (int shift = 0; shift < 70 && w->p < w->end; shift += 7) {
		uint8_t b = *w->p++;

		if (shift < 64)
			*v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80))
			return 0;
	}
	return -1;
}

static int
wire_take(struct wire *w, uint64_t n, struct wire *part)
{
	if (n > (uint64_t)(w->end - w->p))
		return -1;
	part->p = w->p;
	part->end = w->p + n;
	w->p += n;
	return 0;
}

/* Read one value of wire type wt into part; -1 when malformed. */
static int
wire_value(struct wire *w, unsigned wt, struct wire *part)
{
	uint64_t n;

	switch (wt) {
	case PROTOBUF_C_WIRE_TYPE_VARINT:
		part->p = w->p;
		if (wire_varint(w, &n) < 0)
			return -1;
		part->end = w->p;
		return 0;
	case PROTOBUF_C_WIRE_TYPE_64BIT:
		return wire_take(w, 8, part);
	case PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED:
		if (wire_varint(w, &n) < 0)
			return -1;
		return wire_take(w, n, part);
	case PROTOBUF_C_WIRE_TYPE_32BIT:
		return wire_take(w, 4, part);
	default:
		return -1;
	}
}

/* Check fields up to the end of w or, when group is not 0, to the end
 * of that group; 0 when they all parse. */
static int
wire_check(struct wire *w, uint64_t group, int budget)
{
	while (w->p < w->end) {
		struct wire part;
		uint64_t tag;

		if (wire_varint(w, &tag) < 0 || tag >> 3 == 0 || tag >> 3 > 0x1fffffff)
			return -1;
		if ((tag & 7) == 4)
			return group == tag >> 3 ? 0 : -1;
		if ((tag & 7) == 3) {
			if (budget <= 0 || wire_check(w, tag >> 3, budget - 1) < 0)
				return -1;
		} else if (wire_value(w, (unsigned)(tag & 7), &part) < 0) {
			return -1;
		}
	}
	return group ? -1 : 0;
}

static void put_wire_fields(struct out *o, struct wire *w, int depth, int budget);

/* Unknown field number with wire type wt and the value in part. */
static void
put_wire_field(struct out *o, uint64_t number, unsigned wt, struct wire *part, int depth,
               int budget)
{
	struct wire probe = *part;
	uint64_t x = 0;
	size_t n = (size_t)(part->end - part->p);

	put_indent(o, depth);
	put_fmt(o, "%" PRIu64, number);
	switch (wt) {
	case PROTOBUF_C_WIRE_TYPE_VARINT:
		wire_varint(&probe, &x);
		put_fmt(o, ": %" PRIu64 "\n", x);
		return;
	case PROTOBUF_C_WIRE_TYPE_64BIT:
	case PROTOBUF_C_WIRE_TYPE_32BIT:
		for (size_t i = n; i-- > 0;)
			x = x << 8 | part->p[i];
		put_fmt(o, n == 8 ? ": 0x%016" PRIx64 "\n" : ": 0x%08" PRIx64 "\n", x);
		return;
	default:  /* length-delimited or group */
		if (wt == 3 || (n > 0 && budget > 0 && wire_check(&probe, 0, budget) == 0)) {
			put(o, " {\n", 3);
			put_wire_fields(o, part, depth + 1, budget - 1);
			put_indent(o, depth);
			put(o, "}\n", 2);
		} else {
			put(o, ": ", 2);
			put_quoted(o, part->p, n);
			put(o, "\n", 1);
		}
	}
}

/* Print checked wire fields up to the end of w or of the current group. */
static void
put_wire_fields(struct out *o, struct wire *w, int depth, int budget)
{
	while (w->p < w->end) {
		struct wire part;
		uint64_t tag;

		wire_varint(w, &tag);
		if ((tag & 7) == 4)
			return;
		if ((tag & 7) == 3) {
			part = *w;
			put_wire_field(o, tag >> 3, 3, &part, depth, budget);
			*w = part;
		} else {
			wire_value(w, (unsigned)(tag & 7), &part);
			put_wire_field(o, tag >> 3, (unsigned)(tag & 7), &part, depth, budget);
		}
	}
}

static void
put_unknown(struct out *o, const ProtobufCMessageUnknownField *u, int depth)
{
	struct wire w = { u->data, u->data + u->len }, part;

	if (u->tag == UNKNOWN_TEXT_TAG && u->wire_type == PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED) {
		put_kept_text(o, (const char *)u->data, u->len, depth);
		return;
	}
	if (wire_value(&w, u->wire_type, &part) == 0)
		put_wire_field(o, u->tag, u->wire_type, &part, depth, WIRE_BUDGET);
}

static void put_message(struct out *o, const ProtobufCMessage *msg, int depth);

static void
put_field(struct out *o, const ProtobufCFieldDescriptor *f, const void *v, int depth)
{
	put_indent(o, depth);
	put_str(o, f->name);
	if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
		put(o, " {\n", 3);
		put_message(o, *(const ProtobufCMessage *const *)v, depth + 1);
		put_indent(o, depth);
		put(o, "}\n", 2);
	} else {
		put(o, ": ", 2);
		put_scalar(o, f, v);
		put(o, "\n", 1);
	}
}

static void
put_message(struct out *o, const ProtobufCMessage *msg, int depth)
{
	const ProtobufCMessageDescriptor *d = msg->descriptor;

	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		const char *member = MEMBER(const char *, msg, f->offset);

		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			size_t n = *MEMBER(const size_t *, msg, f->quantifier_offset);
			const char *arr = *(const char *const *)member;

			for (size_t j = 0; j < n; j++)
				put_field(o, f, arr + j * elem_size(f->type), depth);
		} else if (is_present(msg, f)) {
			put_field(o, f, member, depth);
		}
	}
	for (unsigned i = 0; i < msg->n_unknown_fields; i++)
		put_unknown(o, &msg->unknown_fields[i], depth);
}

char *
textfmt_print(const ProtobufCMessage *msg, size_t *len)
{
	struct out o = { NULL, 0, 0, 0 };

	put_message(&o, msg, 0);
	put(&o, "", 0);  /* an empty message still gets a buffer */
	if (o.oom) {
		free(o.p);
		return NULL;
	}
	o.p[o.len] = '\0';
	if (len)
		*len = o.len;
	return o.p;
}

/* ---- kept unknown text ---- */

/* The submessages field f of msg holds: their count, the array in *arr. */
static size_t
submessages(const ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f,
            ProtobufCMessage *const **arr)
{
	const char *member = MEMBER(const char *, msg, f->offset);

	if (f->type != PROTOBUF_C_TYPE_MESSAGE)
		return 0;
	if (f->label == PROTOBUF_C_LABEL_REPEATED) {
		*arr = *(ProtobufCMessage *const *const *)member;
		return *MEMBER(const size_t *, msg, f->quantifier_offset);
	}
	*arr = (ProtobufCMessage *const *)member;
	return (size_t)is_present(msg, f);
}

static int
is_kept_text(const ProtobufCMessageUnknownField *u)
{
	return u->tag == UNKNOWN_TEXT_TAG && u->wire_type == PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED;
}

void
textfmt_strip_unknown(ProtobufCMessage *msg)
{
	const ProtobufCMessageDescriptor *d = msg->descriptor;
	unsigned kept = 0;

	for (unsigned i = 0; i < msg->n_unknown_fields; i++) {
		if (is_kept_text(&msg->unknown_fields[i]))
			free(msg->unknown_fields[i].data);
		else
			msg->unknown_fields[kept++] = msg->unknown_fields[i];
	}
	msg->n_unknown_fields = kept;
	if (kept == 0) {
		free(msg->unknown_fields);
		msg->unknown_fields = NULL;
	}
	for (unsigned i = 0; i < d->n_fields; i++) {
		ProtobufCMessage *const *arr;
		size_t n = submessages(msg, &d->fields[i], &arr);

		for (size_t j = 0; j < n; j++)
			textfmt_strip_unknown(arr[j]);
	}
}

int
textfmt_has_unknown(const ProtobufCMessage *msg)
{
	const ProtobufCMessageDescriptor *d = msg->descriptor;

	for (unsigned i = 0; i < msg->n_unknown_fields; i++)
		if (is_kept_text(&msg->unknown_fields[i]))
			return 1;
	for (unsigned i = 0; i < d->n_fields; i++) {
		ProtobufCMessage *const *arr;
		size_t n = submessages(msg, &d->fields[i], &arr);

		for (size_t j = 0; j < n; j++)
			if (textfmt_has_unknown(arr[j]))
				return 1;
	}
	return 0;
}
