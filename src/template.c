/* template.c - parse and render text templates (syntax in template.h).
 * Requires: UTF-8 or ASCII template text; values built with tv_*.
 * Keeps: templates and values read-only while rendering.  Breaks: nothing;
 * output only grows the caller's buffer (or passes through it to its
 * sink).  Bounds: blocks nest at most MAX_DEPTH deep; a render's work and
 * output grow at most linearly with its values (a floor for small ones),
 * else it is an error at the tag. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fileio.h"
#include "template.h"

/* --- One pool per value tree or template, freed in one call. --- */

struct block {
	struct block *next;
	size_t used, cap;
	_Alignas(max_align_t) unsigned char data[];
};

static void *
pool_alloc(struct block **pool, size_t n)
{
	struct block *b = *pool;
	void *p;

	n = (n + sizeof(max_align_t) - 1) & ~(sizeof(max_align_t) - 1);
	if (!b || b->cap - b->used < n) {
		size_t cap = n > 16384 ? n : 16384;
		if (!(b = malloc(sizeof *b + cap)))
			return NULL;
		b->used = 0;
		b->cap = cap;
		b->next = *pool;
		*pool = b;
	}
	p = b->data + b->used;
	b->used += n;
	return p;
}

static void
pool_free(struct block *b)
{
	while (b) {
		struct block *next = b->next;
		free(b);
		b = next;
	}
}

/* --- Values. --- */

struct tdata {
	struct block *pool;
	struct tval root;
};

struct tdata *
tdata_new(void)
{
	struct tdata *d = calloc(1, sizeof *d);

	if (d)
		d->root.kind = TV_MAP;
	return d;
}

void
tdata_free(struct tdata *d)
{
	if (d) {
		pool_free(d->pool);
		free(d);
	}
}

struct tval *
tdata_root(struct tdata *d)
{
	return &d->root;
}

struct tval *
tv_add(struct tdata *d, struct tval *c, const char *key)
{
	struct titem *it;

	if (!c || !(it = pool_alloc(&d->pool, sizeof *it)))
		return NULL;
	memset(it, 0, sizeof *it);
	it->key = key;
	if (c->tail)
		c->tail->next = it;
	else
		c->head = it;
	c->tail = it;
	c->n++;
	return &it->v;
}

struct tval *
tv_str(struct tdata *d, struct tval *v, const char *s)
{
	size_t n;
	char *copy;

	if (!v)
		return NULL;
	n = strlen(s);
	if (!(copy = pool_alloc(&d->pool, n + 1)))
		return NULL;
	memcpy(copy, s, n + 1);
	v->kind = TV_STR;
	v->s = copy;
	v->n = n;
	return v;
}

struct tval *
tv_int(struct tval *v, long long i)
{
	if (v) {
		v->kind = TV_INT;
		v->i = i;
	}
	return v;
}

struct tval *
tv_bytes(struct tval *v, const void *p, size_t n)
{
	if (v) {
		v->kind = TV_BYTES;
		v->s = p;
		v->n = n;
	}
	return v;
}

struct tval *
tv_bytes_dup(struct tdata *d, struct tval *v, const void *p, size_t n)
{
	void *copy;

	if (!v || !(copy = pool_alloc(&d->pool, n ? n : 1)))
		return NULL;
	memcpy(copy, p, n);
	return tv_bytes(v, copy, n);
}

struct tval *
tv_list(struct tval *v)
{
	if (v) {
		v->kind = TV_LIST;
		v->head = v->tail = NULL;
		v->n = 0;
	}
	return v;
}

struct tval *
tv_map(struct tval *v)
{
	if (v) {
		v->kind = TV_MAP;
		v->head = v->tail = NULL;
		v->n = 0;
	}
	return v;
}

/* --- Output buffer. --- */

static int
tbuf_reserve(struct tbuf *b, size_t n)
{
	size_t cap;
	char *p;

	if (b->oom)
		return -1;
	if (b->cap - b->len >= n)
		return 0;
	if (b->sink && b->cap >= TBUF_SINK_CHUNK) {
		tbuf_flush(b);
		if (b->cap >= n)
			return 0;
	}
	cap = b->cap ? b->cap : 4096;
	if (b->sink && cap < TBUF_SINK_CHUNK)
		cap = TBUF_SINK_CHUNK;
	while (cap - b->len < n) {
		if (cap > SIZE_MAX / 2) {
			b->oom = 1;
			return -1;
		}
		cap *= 2;
	}
	if (!(p = realloc(b->p, cap))) {
		b->oom = 1;
		return -1;
	}
	b->p = p;
	b->cap = cap;
	return 0;
}

void
tbuf_put(struct tbuf *b, const char *s, size_t n)
{
	if (n == 0 || tbuf_reserve(b, n) < 0)
		return;
	memcpy(b->p + b->len, s, n);
	b->len += n;
}

void
tbuf_flush(struct tbuf *b)
{
	if (b->sink && b->len) {
		b->sink(b->arg, b->p, b->len);
		b->flushed += b->len;
		b->len = 0;
	}
}

void
tbuf_free(struct tbuf *b)
{
	free(b->p);
	memset(b, 0, sizeof *b);
}

/* --- Templates. --- */

enum { X_PATH, X_STR, X_INT };

struct expr {
	int kind;
	const char **part;     /* X_PATH: npart names */
	size_t npart;
	const char *s;         /* X_STR */
	size_t n;
	long long i;           /* X_INT */
};

enum { C_TRUTH, C_NOT, C_EQ, C_NE };

struct cond {
	int op;
	struct expr a, b;
};

enum { F_UPPER, F_LOWER, F_CSTRING, F_COMMENT, F_HEXBYTES, F_CHARS, F_FLOATS, F_FLOAT };
static const char *const filter_names[] = {
	"upper", "lower", "cstring", "comment", "hexbytes", "chars", "floats", "float"
};
enum { MAX_FILTERS = 8 };

enum { N_TEXT, N_OUT, N_IF, N_EACH, N_CHUNKS, N_LINES };

struct node {
	int kind, line, col;
	struct node *next;
	const char *text;      /* N_TEXT */
	size_t len;
	struct expr e;         /* N_OUT: the value; loops: the source */
	struct expr size;      /* N_CHUNKS: bytes per chunk */
	int filter[MAX_FILTERS];
	int nfilter;
	struct cond c;         /* N_IF */
	struct node *body;     /* N_IF: then; loops: the body */
	struct node *els;      /* N_IF: else (an N_IF for elif) */
};

struct tpl {
	struct block *pool;
	char *path;
	char *text;
	size_t len;
	struct node *root;
};

/* Tag kinds. */
enum {
	T_EOF, T_OUT, T_COMMENT, T_IF, T_ELIF, T_ELSE, T_ENDIF, T_EACH, T_ENDEACH,
	T_CHUNKS, T_ENDCHUNKS, T_LINES, T_ENDLINES
};

struct tag {
	int kind, line, col;
	struct expr e, size;
	struct cond c;
	int filter[MAX_FILTERS];
	int nfilter;
};

struct parser {
	struct tpl *t;
	caffeopt_error *err;
	size_t pos;
	size_t loc_off;        /* where (loc_line, loc_col) was last computed */
	int loc_line, loc_col;
	const char *s, *end;   /* the tag being lexed */
	size_t s_off;          /* offset of s in the text */
	int depth;             /* blocks open around the current one */
};

/* Blocks nest at most this deep: parsing and rendering recurse per level. */
enum { MAX_DEPTH = 100 };

/* Line and column (1-based) of offset off. */
static void
where(struct parser *p, size_t off, int *line, int *col)
{
	if (off < p->loc_off) {
		p->loc_off = 0;
		p->loc_line = 1;
		p->loc_col = 1;
	}
	for (; p->loc_off < off; p->loc_off++) {
		if (p->t->text[p->loc_off] == '\n') {
			p->loc_line++;
			p->loc_col = 1;
		} else {
			p->loc_col++;
		}
	}
	*line = p->loc_line;
	*col = p->loc_col;
}

static int perr(struct parser *p, size_t off, const char *fmt, ...)
#if defined(__GNUC__)
	__attribute__((format(printf, 3, 4)))
#endif
	;

static int
perr(struct parser *p, size_t off, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	int line, col;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	where(p, off, &line, &col);
	return caffeopt_fail(p->err, p->t->path, line, col, "%s", msg);
}

static int
is_name_start(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == '@';
}

static int
is_name_char(int c)
{
	return is_name_start(c) || (c >= '0' && c <= '9') || c == '.';
}

static void
skip_blanks(struct parser *p)
{
	while (p->s < p->end && (*p->s == ' ' || *p->s == '\t' || *p->s == '\n' || *p->s == '\r'))
		p->s++;
}

static size_t
off_of(struct parser *p)
{
	return p->s_off + (size_t)(p->s - (p->t->text + p->s_off));
}

/* A word [A-Za-z_@][A-Za-z0-9_.@]* at p->s, copied into the pool. */
static const char *
lex_word(struct parser *p, size_t *n)
{
	const char *b = p->s;
	char *w;

	if (p->s >= p->end || !is_name_start((unsigned char)*p->s))
		return NULL;
	while (p->s < p->end && is_name_char((unsigned char)*p->s))
		p->s++;
	*n = (size_t)(p->s - b);
	if (!(w = pool_alloc(&p->t->pool, *n + 1)))
		return NULL;
	memcpy(w, b, *n);
	w[*n] = '\0';
	return w;
}

/* Peek at a word without consuming it: 1 when it is w. */
static int
peek_word(struct parser *p, const char *w)
{
	size_t n = strlen(w);

	return (size_t)(p->end - p->s) >= n && memcmp(p->s, w, n) == 0 &&
	       (p->s + n == p->end || !is_name_char((unsigned char)p->s[n]));
}

static int
lex_expr(struct parser *p, struct expr *e)
{
	size_t at;

	skip_blanks(p);
	at = off_of(p);
	memset(e, 0, sizeof *e);
	if (p->s >= p->end)
		return perr(p, at, "expected a name, string or number");
	if (*p->s == '"') {
		char *out = pool_alloc(&p->t->pool, (size_t)(p->end - p->s));
		size_t n = 0;
		if (!out)
			return perr(p, at, "out of memory");
		for (p->s++; p->s < p->end && *p->s != '"'; p->s++) {
			if (*p->s == '\\' && p->s + 1 < p->end) {
				char c = p->s[1];
				if (c != 'n' && c != 't' && c != '"' && c != '\\') {
					if (c > 0x20 && c < 0x7f)
						return perr(p, off_of(p), "unknown escape '\\%c' in a string (\\n \\t \\\" \\\\)", c);
					return perr(p, off_of(p), "unknown escape in a string (\\n \\t \\\" \\\\)");
				}
				p->s++;
				out[n++] = c == 'n' ? '\n' : c == 't' ? '\t' : c;
			} else {
				out[n++] = *p->s;
			}
		}
		if (p->s >= p->end)
			return perr(p, at, "string not closed");
		p->s++;
		out[n] = '\0';
		e->kind = X_STR;
		e->s = out;
		e->n = n;
		return 0;
	}
	if ((*p->s >= '0' && *p->s <= '9') || *p->s == '-') {
		char *end;
		e->kind = X_INT;
		errno = 0;
		e->i = strtoll(p->s, &end, 10);
		if (end == p->s || end > p->end)
			return perr(p, at, "bad number");
		if (errno == ERANGE)
			return perr(p, at, "number out of range (a 64-bit signed integer)");
		p->s = end;
		return 0;
	}
	{
		size_t n, k = 1, i;
		const char *w = lex_word(p, &n), *q;
		char *copy;
		if (!w)
			return perr(p, at, "expected a name, string or number");
		for (q = w; *q; q++)
			k += *q == '.';
		e->kind = X_PATH;
		e->part = pool_alloc(&p->t->pool, k * sizeof *e->part);
		if (!e->part || !(copy = pool_alloc(&p->t->pool, n + 1)))
			return perr(p, at, "out of memory");
		memcpy(copy, w, n + 1);
		e->npart = 0;
		e->part[e->npart++] = copy;
		for (i = 0; i < n; i++)
			if (copy[i] == '.') {
				copy[i] = '\0';
				e->part[e->npart++] = copy + i + 1;
			}
		for (i = 0; i < e->npart; i++)
			if (!e->part[i][0])
				return perr(p, at, "empty name in '%s'", w);
		return 0;
	}
}

static int
lex_cond(struct parser *p, struct cond *c)
{
	skip_blanks(p);
	memset(c, 0, sizeof *c);
	c->op = C_TRUTH;
	if (peek_word(p, "not")) {
		p->s += 3;
		c->op = C_NOT;
		return lex_expr(p, &c->a);
	}
	if (lex_expr(p, &c->a) < 0)
		return -1;
	skip_blanks(p);
	if (p->end - p->s >= 2 && (memcmp(p->s, "==", 2) == 0 || memcmp(p->s, "!=", 2) == 0)) {
		c->op = p->s[0] == '=' ? C_EQ : C_NE;
		p->s += 2;
		return lex_expr(p, &c->b);
	}
	return 0;
}

static int
lex_filters(struct parser *p, struct tag *tg)
{
	for (;;) {
		size_t at, n, i;
		const char *w;
		skip_blanks(p);
		if (p->s >= p->end || *p->s != '|')
			return 0;
		p->s++;
		skip_blanks(p);
		at = off_of(p);
		if (!(w = lex_word(p, &n)))
			return perr(p, at, "expected a filter name after '|'");
		for (i = 0; i < sizeof filter_names / sizeof filter_names[0]; i++)
			if (strcmp(w, filter_names[i]) == 0)
				break;
		if (i == sizeof filter_names / sizeof filter_names[0])
			return perr(p, at, "unknown filter '%s' (upper, lower, cstring, comment, hexbytes, chars, floats, float)", w);
		if (tg->nfilter == MAX_FILTERS)
			return perr(p, at, "too many filters");
		tg->filter[tg->nfilter++] = (int)i;
	}
}

/* Lex the tag whose "{{" is at off; set *end past its "}}". */
static int
lex_tag(struct parser *p, size_t off, struct tag *tg, size_t *end)
{
	const char *text = p->t->text, *q;
	size_t close;
	int inq = 0;

	memset(tg, 0, sizeof *tg);
	where(p, off, &tg->line, &tg->col);
	/* Find the closing "}}", skipping string literals. */
	for (close = off + 2; close < p->t->len; close++) {
		char c = text[close];
		if (inq) {
			if (c == '\\')
				close++;
			else if (c == '"')
				inq = 0;
		} else if (c == '"') {
			inq = 1;
		} else if (c == '}' && close + 1 < p->t->len && text[close + 1] == '}') {
			break;
		}
	}
	if (close >= p->t->len)
		return perr(p, off, "'{{' is not closed by '}}'");
	*end = close + 2;
	p->s = text + off + 2;
	p->s_off = off + 2;
	p->end = text + close;
	skip_blanks(p);
	if (p->s < p->end && *p->s == '!') {
		tg->kind = T_COMMENT;
		return 0;
	}
	if (p->s < p->end && (*p->s == '#' || *p->s == '/')) {
		static const struct { const char *w; int open, close; } kw[] = {
			{"if", T_IF, T_ENDIF}, {"elif", T_ELIF, -1}, {"else", T_ELSE, -1},
			{"each", T_EACH, T_ENDEACH}, {"chunks", T_CHUNKS, T_ENDCHUNKS},
			{"lines", T_LINES, T_ENDLINES},
		};
		int opening = *p->s == '#';
		size_t n, i, at;
		const char *w;
		p->s++;
		at = off_of(p);
		w = lex_word(p, &n);
		for (i = 0; w && i < sizeof kw / sizeof kw[0]; i++)
			if (strcmp(w, kw[i].w) == 0 && (opening || kw[i].close >= 0))
				break;
		if (!w || i == sizeof kw / sizeof kw[0])
			return perr(p, at, "unknown block '%s%s' (#if #elif #else /if #each /each #chunks /chunks #lines /lines)",
			            opening ? "#" : "/", w ? w : "");
		tg->kind = opening ? kw[i].open : kw[i].close;
		switch (tg->kind) {
		case T_IF: case T_ELIF:
			if (lex_cond(p, &tg->c) < 0)
				return -1;
			break;
		case T_EACH: case T_LINES:
			if (lex_expr(p, &tg->e) < 0)
				return -1;
			break;
		case T_CHUNKS:
			if (lex_expr(p, &tg->e) < 0 || lex_expr(p, &tg->size) < 0)
				return -1;
			break;
		default:
			break;
		}
	} else {
		tg->kind = T_OUT;
		if (lex_expr(p, &tg->e) < 0 || lex_filters(p, tg) < 0)
			return -1;
	}
	skip_blanks(p);
	if (p->s < p->end) {
		char extra[32];
		size_t n = (size_t)(p->end - p->s) < sizeof extra - 1 ? (size_t)(p->end - p->s) : sizeof extra - 1;
		memcpy(extra, p->s, n);
		extra[n] = '\0';
		for (q = extra; *q; q++)
			if (*q == '\n')
				extra[q - extra] = '\0';
			else if ((unsigned char)*q < 0x20 || *q == 0x7f)
				extra[q - extra] = '?';  /* one printable error line */
		return perr(p, off_of(p), "unexpected '%s' in tag", extra);
	}
	return 0;
}

static struct node *
new_node(struct parser *p, int kind, int line, int col)
{
	struct node *n = pool_alloc(&p->t->pool, sizeof *n);

	if (n) {
		memset(n, 0, sizeof *n);
		n->kind = kind;
		n->line = line;
		n->col = col;
	}
	return n;
}

static const char *
tag_name(int kind)
{
	switch (kind) {
	case T_IF: return "{{#if}}";
	case T_ELIF: return "{{#elif}}";
	case T_ELSE: return "{{#else}}";
	case T_ENDIF: return "{{/if}}";
	case T_EACH: return "{{#each}}";
	case T_ENDEACH: return "{{/each}}";
	case T_CHUNKS: return "{{#chunks}}";
	case T_ENDCHUNKS: return "{{/chunks}}";
	case T_LINES: return "{{#lines}}";
	case T_ENDLINES: return "{{/lines}}";
	default: return "end of file";
	}
}

/* Parse nodes up to the end or to an else/elif/close tag, which is left in
 * *stop.  Returns 0 or -1; the list goes to *out. */
static int
parse_list(struct parser *p, struct node **out, struct tag *stop)
{
	struct node head = {0}, *last = &head;
	const char *text = p->t->text;
	size_t len = p->t->len;

	for (;;) {
		size_t at, seg_end, end = len;
		const char *hit = NULL;
		struct tag tg;
		struct node *n;
		int tline, tcol;

		where(p, p->pos, &tline, &tcol);  /* of the text, for render errors */
		if (p->pos < len)
			hit = strstr(text + p->pos, "{{");
		at = hit ? (size_t)(hit - text) : len;
		seg_end = at;
		if (at < len) {
			if (lex_tag(p, at, &tg, &end) < 0)
				return -1;
			if (tg.kind != T_OUT) {
				/* A standalone block tag takes its whole line. */
				size_t ls = at, e = end;
				while (ls > 0 && (text[ls - 1] == ' ' || text[ls - 1] == '\t'))
					ls--;
				while (e < len && (text[e] == ' ' || text[e] == '\t' || text[e] == '\r'))
					e++;
				if ((ls == 0 || text[ls - 1] == '\n') && (e == len || text[e] == '\n')) {
					seg_end = ls;
					end = e < len ? e + 1 : e;
				}
			}
		} else {
			tg.kind = T_EOF;
			end = len;
		}
		if (seg_end > p->pos) {
			if (!(n = new_node(p, N_TEXT, tline, tcol)))
				return perr(p, at, "out of memory");
			n->text = text + p->pos;
			n->len = seg_end - p->pos;
			last = last->next = n;
		}
		p->pos = end;
		switch (tg.kind) {
		case T_COMMENT:
			continue;
		case T_OUT:
			if (!(n = new_node(p, N_OUT, tg.line, tg.col)))
				return perr(p, at, "out of memory");
			n->e = tg.e;
			n->nfilter = tg.nfilter;
			memcpy(n->filter, tg.filter, sizeof tg.filter);
			last = last->next = n;
			continue;
		case T_IF: {
			struct node *cur;
			struct tag st;
			if (p->depth == MAX_DEPTH)
				return perr(p, at, "blocks nested more than %d deep", MAX_DEPTH);
			if (!(n = new_node(p, N_IF, tg.line, tg.col)))
				return perr(p, at, "out of memory");
			n->c = tg.c;
			p->depth++;
			last = last->next = n;
			cur = n;
			if (parse_list(p, &cur->body, &st) < 0)
				return -1;
			while (st.kind == T_ELIF) {
				struct node *e = new_node(p, N_IF, st.line, st.col);
				if (!e)
					return perr(p, at, "out of memory");
				e->c = st.c;
				cur->els = e;
				cur = e;
				if (parse_list(p, &cur->body, &st) < 0)
					return -1;
			}
			if (st.kind == T_ELSE && parse_list(p, &cur->els, &st) < 0)
				return -1;
			if (st.kind != T_ENDIF)
				return perr(p, at, "{{#if}} is not closed by {{/if}} (found %s)",
				            tag_name(st.kind));
			p->depth--;
			continue;
		}
		case T_EACH: case T_CHUNKS: case T_LINES: {
			int want = tg.kind + 1;
			struct tag st;
			if (p->depth == MAX_DEPTH)
				return perr(p, at, "blocks nested more than %d deep", MAX_DEPTH);
			if (!(n = new_node(p, tg.kind == T_EACH ? N_EACH : tg.kind == T_CHUNKS ? N_CHUNKS : N_LINES,
			                   tg.line, tg.col)))
				return perr(p, at, "out of memory");
			n->e = tg.e;
			n->size = tg.size;
			last = last->next = n;
			p->depth++;
			if (parse_list(p, &n->body, &st) < 0)
				return -1;
			if (st.kind != want)
				return perr(p, at, "%s is not closed by %s", tag_name(tg.kind), tag_name(want));
			p->depth--;
			continue;
		}
		default:
			*stop = tg;
			*out = head.next;
			return 0;
		}
	}
}

struct tpl *
tpl_parse(const char *path, const char *text, size_t len, caffeopt_error *err)
{
	struct tpl *t = calloc(1, sizeof *t);
	struct parser p = {0};
	struct tag st;
	const char *nul;

	if (!t) {
		caffeopt_fail(err, path, 0, 0, "out of memory");
		return NULL;
	}
	t->path = strdup(path);
	t->text = malloc(len + 1);
	if (!t->path || !t->text) {
		caffeopt_fail(err, path, 0, 0, "out of memory");
		tpl_free(t);
		return NULL;
	}
	memcpy(t->text, text, len);
	t->text[len] = '\0';
	t->len = len;
	p.t = t;
	p.err = err;
	p.loc_line = p.loc_col = 1;
	if ((nul = memchr(text, '\0', len)) != NULL) {
		perr(&p, (size_t)(nul - text), "template holds a NUL byte (a binary file?)");
		tpl_free(t);
		return NULL;
	}
	if (parse_list(&p, &t->root, &st) < 0) {
		tpl_free(t);
		return NULL;
	}
	if (st.kind != T_EOF) {
		caffeopt_fail(err, path, st.line, st.col, "%s without its opening tag", tag_name(st.kind));
		tpl_free(t);
		return NULL;
	}
	return t;
}

struct tpl *
tpl_load(const char *path, caffeopt_error *err)
{
	size_t len;
	char *text = file_read(path, &len, err);
	struct tpl *t;

	if (!text)
		return NULL;
	t = tpl_parse(path, text, len, err);
	free(text);
	return t;
}

void
tpl_free(struct tpl *t)
{
	if (t) {
		pool_free(t->pool);
		free(t->path);
		free(t->text);
		free(t);
	}
}

/* --- Rendering. --- */

struct frame {
	const struct tval *v;      /* the item: its fields are names; `this` */
	const char *var;           /* chunks/lines: the name bound to `bound` */
	struct tval bound;
	size_t index, count, offset;
	int last;
	const struct frame *up;
};

struct render {
	const struct tpl *t;
	const struct tval *root;
	struct tbuf *out;
	caffeopt_error *err;
	struct tbuf scratch[2];
	size_t out_start;          /* out->flushed + out->len when the render began */
	size_t steps, max_steps;   /* nodes and loop rounds done, and allowed */
	size_t max_out;            /* bytes the render may append */
};

/* What a render may cost grows with its values, so that loops nested over
 * loops or values repeated in a loop end with an error instead of running
 * for hours or filling memory: a floor, plus so much per value and byte. */
enum { STEP_FLOOR = 1 << 21, STEPS_PER_UNIT = 16 };
#define OUT_FLOOR ((size_t)1 << 24)
#define OUT_PER_UNIT ((size_t)64)

static size_t
add_sat(size_t a, size_t b)
{
	return a > SIZE_MAX - b ? SIZE_MAX : a + b;
}

static size_t
mul_sat(size_t a, size_t b)
{
	return b && a > SIZE_MAX / b ? SIZE_MAX : a * b;
}

/* The size of a value tree: one per value, plus the bytes of strings. */
static size_t
data_units(const struct tval *v)
{
	const struct titem *it;
	size_t u = 1;

	switch (v->kind) {
	case TV_STR: case TV_BYTES:
		return add_sat(u, v->n);
	case TV_LIST: case TV_MAP:
		for (it = v->head; it; it = it->next)
			u = add_sat(u, data_units(&it->v));
		return u;
	default:
		return u;
	}
}

static int rerr(struct render *r, const struct node *n, const char *fmt, ...)
#if defined(__GNUC__)
	__attribute__((format(printf, 3, 4)))
#endif
	;

static int
rerr(struct render *r, const struct node *n, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	return caffeopt_fail(r->err, r->t->path, n->line, n->col, "%s", msg);
}

/* Count one step of work at n; an error past the budget. */
static int
step(struct render *r, const struct node *n)
{
	if (++r->steps > r->max_steps)
		return rerr(r, n, "too much work for these values (more than %zu steps): loops nested "
		            "over large lists or bytes?", r->max_steps);
	return 0;
}

/* Whether need more bytes may go to o: an error past the output budget. */
static int
room(struct render *r, const struct node *n, const struct tbuf *o, size_t need)
{
	size_t used = o == r->out ? o->flushed + o->len - r->out_start : 0;

	if (used > r->max_out || need > r->max_out - used)
		return rerr(r, n, "too much output for these values (more than %zu bytes): large "
		            "values repeated in a loop or through filters?", r->max_out);
	return 0;
}

static const struct tval *
map_get(const struct tval *m, const char *key)
{
	const struct titem *it;

	for (it = m->head; it; it = it->next)
		if (strcmp(it->key, key) == 0)
			return &it->v;
	return NULL;
}

static int
eval(struct render *r, const struct node *n, const struct frame *fr, const struct expr *e,
     struct tval *out)
{
	const struct tval *v = NULL;
	const char *w;
	size_t i;

	memset(out, 0, sizeof *out);
	if (e->kind == X_STR) {
		out->kind = TV_STR;
		out->s = e->s;
		out->n = e->n;
		return 0;
	}
	if (e->kind == X_INT) {
		out->kind = TV_INT;
		out->i = e->i;
		return 0;
	}
	w = e->part[0];
	if (w[0] == '@') {
		const struct frame *f = fr;
		if (strcmp(w, "@root") == 0) {
			v = r->root;
		} else {
			if (!f)
				return rerr(r, n, "'%s' outside a loop", w);
			out->kind = TV_INT;
			if (strcmp(w, "@index") == 0)
				out->i = (long long)f->index;
			else if (strcmp(w, "@first") == 0)
				out->i = f->index == 0;
			else if (strcmp(w, "@last") == 0)
				out->i = f->last;
			else if (strcmp(w, "@count") == 0)
				out->i = (long long)f->count;
			else if (strcmp(w, "@offset") == 0)
				out->i = (long long)f->offset;
			else
				return rerr(r, n, "unknown name '%s' (@root @index @first @last @count @offset)", w);
			if (e->npart > 1)
				return rerr(r, n, "'%s' has no fields", w);
			return 0;
		}
	} else if (strcmp(w, "this") == 0) {
		if (!fr)
			v = r->root;
		else
			v = fr->var ? &fr->bound : fr->v;
	} else {
		const struct frame *f;
		for (f = fr; f && !v; f = f->up) {
			if (f->var && strcmp(f->var, w) == 0)
				v = &f->bound;
			else if (f->v && f->v->kind == TV_MAP)
				v = map_get(f->v, w);
		}
		if (!v)
			v = map_get(r->root, w);
		if (!v)
			return rerr(r, n, "unknown name '%s'", w);
	}
	for (i = 1; i < e->npart; i++) {
		const struct tval *f;
		if (v->kind != TV_MAP)
			return rerr(r, n, "'%s' is not a map", e->part[i - 1]);
		if (!(f = map_get(v, e->part[i])))
			return rerr(r, n, "no field '%s'", e->part[i]);
		v = f;
	}
	*out = *v;
	return 0;
}

static int
truthy(const struct tval *v)
{
	switch (v->kind) {
	case TV_STR: case TV_BYTES: case TV_LIST: return v->n > 0;
	case TV_INT: return v->i != 0;
	case TV_MAP: return 1;
	default: return 0;
	}
}

/* The text of a scalar: its bytes, or an integer printed into buf. */
static int
scalar_text(const struct tval *v, char *buf, size_t bufn, const char **s, size_t *n)
{
	switch (v->kind) {
	case TV_STR: case TV_BYTES:
		*s = v->s;
		*n = v->n;
		return 0;
	case TV_INT:
		*n = (size_t)snprintf(buf, bufn, "%lld", v->i);
		*s = buf;
		return 0;
	default:
		return -1;
	}
}

static const char *
kind_name(enum tkind k)
{
	switch (k) {
	case TV_LIST: return "a list";
	case TV_MAP: return "a map";
	case TV_NULL: return "null";
	default: return "a value";
	}
}

static int
test(struct render *r, const struct node *n, const struct frame *fr, const struct cond *c)
{
	struct tval a, b;
	char ba[32], bb[32];
	const char *sa, *sb;
	size_t na, nb;
	int eq;

	if (eval(r, n, fr, &c->a, &a) < 0)
		return -1;
	if (c->op == C_TRUTH)
		return truthy(&a);
	if (c->op == C_NOT)
		return !truthy(&a);
	if (eval(r, n, fr, &c->b, &b) < 0)
		return -1;
	if (a.kind == TV_INT && b.kind == TV_INT) {
		eq = a.i == b.i;
	} else {
		if (scalar_text(&a, ba, sizeof ba, &sa, &na) < 0)
			return rerr(r, n, "cannot compare %s", kind_name(a.kind));
		if (scalar_text(&b, bb, sizeof bb, &sb, &nb) < 0)
			return rerr(r, n, "cannot compare %s", kind_name(b.kind));
		eq = na == nb && (na == 0 || memcmp(sa, sb, na) == 0);
	}
	return c->op == C_EQ ? eq : !eq;
}

/* The C string literal body of each byte, built once: the byte itself,
 * a named escape, or the shortest octal escape (oct set).  An octal escape
 * shorter than 3 digits must not be followed by a digit that would extend
 * it: then full[] has the 3-digit form. */
static struct cesc {
	char s[4], full[4];
	unsigned char n, oct;
} cesc[256];

static void
cesc_init(void)
{
	static const char oct[] = "01234567";
	int c;

	for (c = 0; c < 256; c++) {
		struct cesc *e = &cesc[c];
		e->full[0] = '\\';
		e->full[1] = oct[c >> 6];
		e->full[2] = oct[(c >> 3) & 7];
		e->full[3] = oct[c & 7];
		e->s[0] = '\\';
		switch (c) {
		case '"': case '\\': case '?': e->s[1] = (char)c; e->n = 2; continue;
		case '\n': e->s[1] = 'n'; e->n = 2; continue;
		case '\t': e->s[1] = 't'; e->n = 2; continue;
		default: break;
		}
		if (c >= 0x20 && c < 0x7f) {
			e->s[0] = (char)c;
			e->n = 1;
		} else if (c >= 64) {
			memcpy(e->s, e->full, 4);
			e->n = 4;
		} else {
			e->oct = 1;
			e->n = c >= 8 ? 3 : 2;
			memcpy(e->s + 1, e->full + 4 - (e->n - 1), (size_t)e->n - 1);
		}
	}
}

/* The body of a C string literal holding s[0..len) at w (room for 4 * len
 * bytes); returns the end. */
static char *
cstring_put(char *w, const unsigned char *s, size_t len)
{
	size_t i;

	if (!cesc['a'].n)
		cesc_init();
	for (i = 0; i < len; i++) {
		const struct cesc *e = &cesc[s[i]];
		if (e->oct && i + 1 < len && s[i + 1] >= '0' && s[i + 1] <= '7') {
			memcpy(w, e->full, 4);
			w += 4;
		} else {
			memcpy(w, e->s, 4);
			w += e->n;
		}
	}
	return w;
}

static int
apply_filter(struct render *r, const struct node *n, int f, const char *s, size_t len,
             struct tbuf *o)
{
	/* Output bytes per input byte, at most. */
	static const unsigned char grow[] = {
		[F_UPPER] = 1, [F_LOWER] = 1, [F_CSTRING] = 4, [F_COMMENT] = 2,
		[F_HEXBYTES] = 5, [F_CHARS] = 8, [F_FLOATS] = 5, [F_FLOAT] = 5,
	};
	size_t i;
	char *w;

	if (f < 0 || (size_t)f >= sizeof grow)
		return rerr(r, n, "bad filter");
	/* Nothing to write (and o->p may still be NULL); float wants 4 bytes. */
	if (len == 0 && f != F_FLOAT)
		return 0;
	if (room(r, n, o, mul_sat(len, grow[f])) < 0)
		return -1;
	switch (f) {
	case F_UPPER: case F_LOWER:
		if (tbuf_reserve(o, len) < 0)
			return 0;
		w = o->p + o->len;
		for (i = 0; i < len; i++) {
			char c = s[i];
			if (f == F_UPPER && c >= 'a' && c <= 'z')
				c = (char)(c - 'a' + 'A');
			else if (f == F_LOWER && c >= 'A' && c <= 'Z')
				c = (char)(c - 'A' + 'a');
			w[i] = c;
		}
		o->len += len;
		return 0;
	case F_CSTRING:
		if (len > SIZE_MAX / 4 || tbuf_reserve(o, len * 4) < 0)
			return 0;
		w = cstring_put(o->p + o->len, (const unsigned char *)s, len);
		o->len = (size_t)(w - o->p);
		return 0;
	case F_COMMENT:
		if (tbuf_reserve(o, len * 2) < 0)
			return 0;
		w = o->p + o->len;
		for (i = 0; i < len; i++) {
			unsigned char c = (unsigned char)s[i];
			if (c < 0x20 || c == 0x7f)
				c = ' ';
			*w++ = (char)c;
			/* Never close or open a comment, nor splice a line. */
			if ((c == '*' && i + 1 < len && s[i + 1] == '/') ||
			    (c == '/' && i + 1 < len && s[i + 1] == '*') || c == '\\')
				*w++ = ' ';
		}
		o->len = (size_t)(w - o->p);
		return 0;
	case F_HEXBYTES: {
		static const char hex[] = "0123456789abcdef";
		if (len > SIZE_MAX / 5 || tbuf_reserve(o, len * 5) < 0)
			return 0;
		w = o->p + o->len;
		for (i = 0; i < len; i++) {
			unsigned char c = (unsigned char)s[i];
			w[0] = '0';
			w[1] = 'x';
			w[2] = hex[c >> 4];
			w[3] = hex[c & 15];
			w[4] = ',';
			w += 5;
		}
		o->len += len * 5;
		return 0;
	}
	case F_CHARS:
		if (len > SIZE_MAX / 8 || tbuf_reserve(o, len * 8) < 0)
			return 0;
		w = o->p + o->len;
		for (i = 0; i < len; i++) {
			unsigned char c = (unsigned char)s[i];
			*w++ = '\'';
			if (c == '\'' || c == '\\') {
				*w++ = '\\';
				*w++ = (char)c;
			} else if (c == '\n') {
				*w++ = '\\';
				*w++ = 'n';
			} else if (c >= 0x20 && c < 0x7f) {
				*w++ = (char)c;
			} else {
				*w++ = '\\';
				*w++ = (char)('0' + (c >> 6));
				*w++ = (char)('0' + ((c >> 3) & 7));
				*w++ = (char)('0' + (c & 7));
			}
			*w++ = '\'';
			*w++ = ',';
		}
		o->len = (size_t)(w - o->p);
		return 0;
	case F_FLOATS: case F_FLOAT:
		if (len % 4 || (f == F_FLOAT && len != 4))
			return rerr(r, n, "%s: %zu bytes are not %s", filter_names[f], len,
			            f == F_FLOAT ? "one float32" : "a whole number of float32 values");
		if (tbuf_reserve(o, len / 4 * 20) < 0)
			return 0;
		for (i = 0; i < len; i += 4) {
			const unsigned char *b = (const unsigned char *)s + i;
			uint32_t u = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
			float x;
			char num[32];
			int k;
			memcpy(&x, &u, sizeof x);
			if (!isfinite(x))
				return rerr(r, n, "%s: %s cannot be written as a C literal", filter_names[f],
				            isnan(x) ? "NaN" : "infinity");
			k = snprintf(num, sizeof num, "%.9g", (double)x);
			if (!strpbrk(num, ".e")) {
				num[k++] = '.';
				num[k++] = '0';
			}
			num[k++] = 'f';
			if (f == F_FLOATS)
				num[k++] = ',';
			tbuf_put(o, num, (size_t)k);
		}
		return 0;
	default:
		return rerr(r, n, "bad filter");
	}
}

static int
output(struct render *r, const struct node *n, const struct frame *fr)
{
	struct tval v;
	char buf[32];
	const char *s;
	size_t len;
	int i, cur = 0;

	if (eval(r, n, fr, &n->e, &v) < 0)
		return -1;
	if (scalar_text(&v, buf, sizeof buf, &s, &len) < 0)
		return rerr(r, n, "cannot print %s (loop over it with #each)", kind_name(v.kind));
	if (n->nfilter == 0) {
		tbuf_put(r->out, s, len);
		return 0;
	}
	for (i = 0; i < n->nfilter; i++) {
		struct tbuf *o = i == n->nfilter - 1 ? r->out : &r->scratch[cur];
		if (o != r->out)
			o->len = 0;
		if (apply_filter(r, n, n->filter[i], s, len, o) < 0)
			return -1;
		if (o->oom)
			return rerr(r, n, "out of memory");
		s = o->p;
		len = o->len;
		cur ^= 1;
	}
	return 0;
}

static int render_list(struct render *r, const struct node *n, const struct frame *fr);

static int
render_loop(struct render *r, const struct node *n, const struct frame *fr)
{
	struct tval src, size;
	struct frame f = {0};

	if (eval(r, n, fr, &n->e, &src) < 0)
		return -1;
	f.up = fr;
	if (n->kind == N_EACH) {
		const struct titem *it;
		if (src.kind != TV_LIST)
			return rerr(r, n, "#each wants a list, got %s", src.kind == TV_NULL ? "null" :
			            src.kind == TV_MAP ? "a map" : "a scalar");
		f.count = src.n;
		for (it = src.head; it; it = it->next, f.index++) {
			if (step(r, n) < 0)
				return -1;
			f.v = &it->v;
			f.last = it->next == NULL;
			if (render_list(r, n->body, &f) < 0)
				return -1;
		}
		return 0;
	}
	if (src.kind != TV_BYTES && src.kind != TV_STR)
		return rerr(r, n, "%s wants bytes or a string", n->kind == N_CHUNKS ? "#chunks" : "#lines");
	f.bound.kind = TV_BYTES;
	if (n->kind == N_CHUNKS) {
		size_t stride;
		if (eval(r, n, fr, &n->size, &size) < 0)
			return -1;
		if (size.kind != TV_INT || size.i <= 0)
			return rerr(r, n, "#chunks wants a positive chunk size");
		stride = (unsigned long long)size.i > SIZE_MAX ? SIZE_MAX : (size_t)size.i;
		f.var = "chunk";
		f.count = src.n / stride + (src.n % stride != 0);
		for (f.offset = 0; f.offset < src.n; f.offset += f.bound.n, f.index++) {
			if (step(r, n) < 0)
				return -1;
			f.bound.s = src.s + f.offset;
			f.bound.n = src.n - f.offset < stride ? src.n - f.offset : stride;
			f.last = f.offset + f.bound.n == src.n;
			if (render_list(r, n->body, &f) < 0)
				return -1;
		}
		return 0;
	}
	f.var = "line";
	{
		size_t i;
		for (i = 0; i < src.n; i++)
			f.count += src.s[i] == '\n';
		if (src.n && src.s[src.n - 1] != '\n')
			f.count++;
	}
	for (f.offset = 0; f.offset < src.n; f.offset += f.bound.n, f.index++) {
		const char *nl;
		if (step(r, n) < 0)
			return -1;
		nl = memchr(src.s + f.offset, '\n', src.n - f.offset);
		f.bound.s = src.s + f.offset;
		f.bound.n = nl ? (size_t)(nl - f.bound.s) + 1 : src.n - f.offset;
		f.last = f.offset + f.bound.n == src.n;
		if (render_list(r, n->body, &f) < 0)
			return -1;
	}
	return 0;
}

static int
render_list(struct render *r, const struct node *n, const struct frame *fr)
{
	for (; n; n = n->next) {
		if (step(r, n) < 0)
			return -1;
		switch (n->kind) {
		case N_TEXT:
			tbuf_put(r->out, n->text, n->len);
			break;
		case N_OUT:
			if (output(r, n, fr) < 0)
				return -1;
			break;
		case N_IF: {
			int t = test(r, n, fr, &n->c);
			if (t < 0)
				return -1;
			if (render_list(r, t ? n->body : n->els, fr) < 0)
				return -1;
			break;
		}
		default:
			if (render_loop(r, n, fr) < 0)
				return -1;
			break;
		}
		if (r->out->oom)
			return rerr(r, n, "out of memory");
		if (room(r, n, r->out, 0) < 0)
			return -1;
	}
	return 0;
}

int
tpl_render(const struct tpl *t, const struct tval *root, struct tbuf *out, caffeopt_error *err)
{
	struct render r = {0};
	size_t units;
	int rc;

	r.t = t;
	r.root = root;
	r.out = out;
	r.err = err;
	r.out_start = out->flushed + out->len;
	units = data_units(root);
	r.max_steps = add_sat(STEP_FLOOR, mul_sat(units, STEPS_PER_UNIT));
	r.max_out = add_sat(OUT_FLOOR, mul_sat(units, OUT_PER_UNIT));
	rc = render_list(&r, t->root, NULL);
	tbuf_free(&r.scratch[0]);
	tbuf_free(&r.scratch[1]);
	if (rc == 0 && out->oom)
		rc = caffeopt_fail(err, t->path, 0, 0, "out of memory");
	if (rc == 0)
		tbuf_flush(out);
	return rc;
}
