/* textlex.c - tokens of the protobuf text format.
 *
 * Requires: a buffer and its length; no NUL terminator (a NUL byte in the
 * text is an error like any other stray byte).
 * Keeps: every token points into the source, so a caller can copy a run of
 * tokens verbatim; string escapes are checked here and decoded on demand.
 * Follows the number and string rules of protoc's io::Tokenizer.
 */
#include <stdlib.h>
#include <string.h>

#include "textfmt.h"

static int
is_letter(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static int
is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static int
is_octal(int c)
{
	return c >= '0' && c <= '7';
}

static int
hex_value(int c)
{
	if (is_digit(c))
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Read n hex digits at s (checked by the scanner). */
static unsigned long
read_hex(const char *s, int n)
{
	unsigned long v = 0;

	for (int i = 0; i < n; i++)
		v = v << 4 | (unsigned long)hex_value((unsigned char)s[i]);
	return v;
}

/* The byte at pos + k, or 0 past the end. */
static int
peek(const struct textlex *lx, size_t k)
{
	return lx->pos + k < lx->len ? (unsigned char)lx->text[lx->pos + k] : 0;
}

static int
lex_fail(const struct textlex *lx, size_t at, const char *msg)
{
	return caffeopt_fail(lx->err, lx->file, lx->line,
	                     (int)(at - lx->line_start) + 1, "%s", msg);
}

static void
skip_space(struct textlex *lx)
{
	while (lx->pos < lx->len) {
		int c = peek(lx, 0);

		if (c == '\n') {
			lx->line++;
			lx->line_start = ++lx->pos;
		} else if (c == ' ' || c == '\t' || c == '\r' || c == '\v'
		           || c == '\f') {
			lx->pos++;
		} else if (c == '#') {
			while (lx->pos < lx->len && peek(lx, 0) != '\n')
				lx->pos++;
		} else {
			break;
		}
	}
}

static void
skip_while(struct textlex *lx, int (*pred)(int))
{
	while (lx->pos < lx->len && pred(peek(lx, 0)))
		lx->pos++;
}

static int
is_hex(int c)
{
	return hex_value(c) >= 0;
}

/* Scan a number as protoc does: 0x hex, 0-led octal, or decimal with
 * optional fraction, exponent and f suffix; sets *is_float. */
static int
scan_number(struct textlex *lx, int *is_float)
{
	int zero = peek(lx, 0) == '0';

	*is_float = 0;
	if (zero && (peek(lx, 1) == 'x' || peek(lx, 1) == 'X')) {
		lx->pos += 2;
		if (!is_hex(peek(lx, 0)))
			return lex_fail(lx, lx->pos, "\"0x\" must be followed by hex digits");
		skip_while(lx, is_hex);
	} else if (zero && is_digit(peek(lx, 1))) {
		lx->pos++;
		skip_while(lx, is_octal);
		if (is_digit(peek(lx, 0)))
			return lex_fail(lx, lx->pos, "numbers starting with 0 must be octal");
	} else {
		if (peek(lx, 0) == '.')
			*is_float = 1, lx->pos++;
		skip_while(lx, is_digit);
		if (!*is_float && peek(lx, 0) == '.') {
			*is_float = 1;
			lx->pos++;
			skip_while(lx, is_digit);
		}
		if (peek(lx, 0) == 'e' || peek(lx, 0) == 'E') {
			*is_float = 1;
			lx->pos++;
			if (peek(lx, 0) == '+' || peek(lx, 0) == '-')
				lx->pos++;
			if (!is_digit(peek(lx, 0)))
				return lex_fail(lx, lx->pos, "\"e\" must be followed by an exponent");
			skip_while(lx, is_digit);
		}
		if (peek(lx, 0) == 'f' || peek(lx, 0) == 'F')
			*is_float = 1, lx->pos++;
	}
	if (is_letter(peek(lx, 0)) || is_digit(peek(lx, 0)))
		return lex_fail(lx, lx->pos, "need space between number and identifier");
	if (peek(lx, 0) == '.')
		return lex_fail(lx, lx->pos, *is_float
		                ? "already saw decimal point or exponent"
		                : "hex and octal numbers must be integers");
	return 0;
}

/* Scan a quoted literal, checking escapes; the quote is at pos. */
static int
scan_string(struct textlex *lx)
{
	size_t start = lx->pos;
	int quote = peek(lx, 0);

	lx->pos++;
	for (;;) {
		int c = peek(lx, 0);

		if (lx->pos >= lx->len || c == '\n')
			return lex_fail(lx, start, "unterminated string");
		lx->pos++;
		if (c == quote)
			return 0;
		if (c != '\\')
			continue;
		if (lx->pos >= lx->len)
			return lex_fail(lx, start, "unterminated string");
		c = peek(lx, 0);
		if (c && strchr("abfnrtv\\?'\"", c)) {
			lx->pos++;
		} else if (is_octal(c)) {
			for (int i = 0; i < 3 && is_octal(peek(lx, 0)); i++)
				lx->pos++;
		} else if (c == 'x' || c == 'X') {
			lx->pos++;
			if (!is_hex(peek(lx, 0)))
				return lex_fail(lx, lx->pos - 2, "expected hex digits after \\x");
			for (int i = 0; i < 2 && is_hex(peek(lx, 0)); i++)
				lx->pos++;
		} else if (c == 'u' || c == 'U') {
			size_t esc = lx->pos - 1;
			int n = c == 'u' ? 4 : 8;

			lx->pos++;
			for (int i = 0; i < n; i++, lx->pos++)
				if (!is_hex(peek(lx, 0)))
					return lex_fail(lx, esc, c == 'u'
					                ? "expected 4 hex digits after \\u"
					                : "expected 8 hex digits after \\U");
			if (read_hex(lx->text + esc + 2, n) > 0x10ffff)
				return lex_fail(lx, esc, "\\U escape beyond 10ffff");
		} else {
			return lex_fail(lx, lx->pos - 1, "invalid escape sequence in string");
		}
	}
}

int
textlex_next(struct textlex *lx)
{
	struct textlex_token *t = &lx->tok;
	int c, is_float;

	lx->prev_end = lx->pos;
	skip_space(lx);
	t->p = lx->text + lx->pos;
	t->line = lx->line;
	t->col = (int)(lx->pos - lx->line_start) + 1;
	c = peek(lx, 0);
	if (lx->pos >= lx->len) {
		t->kind = TEXTLEX_EOF;
	} else if (is_letter(c)) {
		t->kind = TEXTLEX_IDENT;
		while (is_letter(peek(lx, 0)) || is_digit(peek(lx, 0)))
			lx->pos++;
	} else if (is_digit(c) || (c == '.' && is_digit(peek(lx, 1)))) {
		if (scan_number(lx, &is_float) < 0)
			return -1;
		t->kind = is_float ? TEXTLEX_FLOAT : TEXTLEX_INT;
	} else if (c == '"' || c == '\'') {
		t->kind = TEXTLEX_STRING;
		if (scan_string(lx) < 0)
			return -1;
	} else if (c > ' ' && c < 0x7f) {
		t->kind = TEXTLEX_SYMBOL;
		lx->pos++;
	} else {
		return caffeopt_fail(lx->err, lx->file, t->line, t->col,
		                     "unexpected byte 0x%02x", c);
	}
	t->len = (size_t)(lx->text + lx->pos - t->p);
	return 0;
}

int
textlex_init(struct textlex *lx, const char *text, size_t len,
             const char *file, caffeopt_error *err)
{
	memset(lx, 0, sizeof *lx);
	lx->text = text ? text : "";
	lx->len = len;
	lx->file = file;
	lx->err = err;
	lx->line = 1;
	return textlex_next(lx);
}

int
textlex_is(const struct textlex *lx, char c)
{
	return lx->tok.kind == TEXTLEX_SYMBOL && lx->tok.p[0] == c;
}

/* Write code point cp as UTF-8 at out; returns the bytes written. */
static size_t
put_utf8(char *out, unsigned long cp)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xc0 | cp >> 6);
		out[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xe0 | cp >> 12);
		out[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		out[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | (cp >> 18 & 0x07));
	out[1] = (char)(0x80 | (cp >> 12 & 0x3f));
	out[2] = (char)(0x80 | (cp >> 6 & 0x3f));
	out[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

int
textlex_unquote(const struct textlex_token *t, char **buf, size_t *n)
{
	const char *s = t->p + 1, *end = t->p + t->len - 1;
	char *out;

	/* Decoding never grows a literal: the worst, \U0010FFFF, is ten
	 * bytes for four. */
	out = realloc(*buf, *n + t->len + 1);
	if (!out)
		return -1;
	*buf = out;
	out += *n;
	while (s < end) {
		int c = (unsigned char)*s++;

		if (c != '\\') {
			*out++ = (char)c;
			continue;
		}
		c = (unsigned char)*s++;
		switch (c) {
		case 'a': *out++ = '\a'; break;
		case 'b': *out++ = '\b'; break;
		case 'f': *out++ = '\f'; break;
		case 'n': *out++ = '\n'; break;
		case 'r': *out++ = '\r'; break;
		case 't': *out++ = '\t'; break;
		case 'v': *out++ = '\v'; break;
		case 'x': case 'X': {
			int v = 0;

			for (int i = 0; i < 2 && s < end && hex_value((unsigned char)*s) >= 0; i++)
				v = v * 16 + hex_value((unsigned char)*s++);
			*out++ = (char)v;
			break;
		}
		case 'u': case 'U': {
			unsigned long cp = read_hex(s, c == 'u' ? 4 : 8);

			s += c == 'u' ? 4 : 8;
			/* A \u high surrogate followed by a \u low one is one
			 * code point, as in protoc. */
			if (cp >= 0xd800 && cp < 0xdc00 && end - s >= 6
			    && s[0] == '\\' && s[1] == 'u') {
				unsigned long lo = 0;
				int ok = 1;

				for (int i = 2; i < 6; i++)
					ok &= hex_value((unsigned char)s[i]) >= 0;
				if (ok)
					lo = read_hex(s + 2, 4);
				if (lo >= 0xdc00 && lo < 0xe000) {
					cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
					s += 6;
				}
			}
			out += put_utf8(out, cp);
			break;
		}
		default:
			if (is_octal(c)) {
				int v = c - '0';

				for (int i = 1; i < 3 && s < end && is_octal((unsigned char)*s); i++)
					v = v * 8 + (*s++ - '0');
				*out++ = (char)v;
			} else {
				*out++ = (char)c;  /* \\ \? \' \" */
			}
		}
	}
	*out = '\0';
	*n = (size_t)(out - *buf);
	return 0;
}

int
textlex_uint(const struct textlex_token *t, uint64_t *v)
{
	const char *s = t->p, *end = t->p + t->len;
	unsigned base = 10;
	uint64_t x = 0;

	if (t->len > 1 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		base = 16, s += 2;
	else if (t->len > 1 && s[0] == '0')
		base = 8, s++;
	for (; s < end; s++) {
		unsigned d = (unsigned)hex_value((unsigned char)*s);

		if (x > (UINT64_MAX - d) / base)
			return -1;
		x = x * base + d;
	}
	*v = x;
	return 0;
}

int
textlex_double(const struct textlex_token *t, double *v)
{
	char small[64], *buf = small;
	size_t n = t->len;

	if (n > 0 && (t->p[n - 1] == 'f' || t->p[n - 1] == 'F'))
		n--;
	if (n >= sizeof small && !(buf = malloc(n + 1)))
		return -1;
	memcpy(buf, t->p, n);
	buf[n] = '\0';
	*v = strtod(buf, NULL);
	if (buf != small)
		free(buf);
	return 0;
}
