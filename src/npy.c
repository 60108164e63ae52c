/* npy.c - NumPy .npy arrays in and out, as float32.
 *
 * The header is a Python dict literal; we parse the little of Python it
 * uses (quoted strings, True/False, a tuple of ints) rather than trust its
 * layout, so keys may come in any order with any spacing.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "npy.h"

#define MAGIC "\x93NUMPY"
#define MAGIC_LEN 6
#define ALIGN 64           /* numpy's ARRAY_ALIGN */
#define GROWTH_DIGITS 21   /* numpy's GROWTH_AXIS_MAX_DIGITS */
#define MAX_HEADER (1u << 20)
#define CHUNK 65536        /* bytes converted at a time; a multiple of 8 */

struct dtype {
	char kind;      /* 'b' bool, 'i' signed, 'u' unsigned, 'f' float */
	int size;       /* bytes per value */
	int big;        /* most significant byte first */
	char text[32];  /* descr as written, for messages */
};

struct header {
	struct dtype dt;
	int fortran;
	int ndim;
	int64_t shape[NPY_MAX_DIMS];
};

/* Where the header parser is, for messages. */
struct cursor {
	const char *s, *p, *end;
	const char *name;
	caffeopt_error *err;
};

static int
host_is_big(void)
{
	uint16_t one = 1;
	unsigned char b[2];

	memcpy(b, &one, 2);
	return b[0] == 0;
}

/* "()", "(3,)", "(3, 4)": Python's repr of the shape tuple. */
static void
format_shape(char *buf, size_t n, int ndim, const int64_t *shape)
{
	size_t at;
	int k;

	at = (size_t)snprintf(buf, n, "(");
	for (k = 0; k < ndim && at < n; k++)
		at += (size_t)snprintf(buf + at, n - at, "%s%" PRId64,
		                       k ? ", " : "", shape[k]);
	if (at < n)
		snprintf(buf + at, n - at, ndim == 1 ? ",)" : ")");
}

static int
header_fail(struct cursor *c, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	return caffeopt_fail(c->err, c->name, 0, 0,
	                     "npy header, at byte %d: %s",
	                     (int)(c->p - c->s), msg);
}

static void
skip_blanks(struct cursor *c)
{
	while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' ||
	                         *c->p == '\n' || *c->p == '\r'))
		c->p++;
}

static int
expect(struct cursor *c, char ch)
{
	skip_blanks(c);
	if (c->p >= c->end || *c->p != ch)
		return header_fail(c, "expected '%c'", ch);
	c->p++;
	return 0;
}

/* A '...' or "..." literal without escapes, into out[n]. */
static int
parse_string(struct cursor *c, char *out, size_t n)
{
	char q;
	size_t len = 0;

	skip_blanks(c);
	if (c->p >= c->end || (*c->p != '\'' && *c->p != '"'))
		return header_fail(c, "expected a quoted string");
	q = *c->p++;
	while (c->p < c->end && *c->p != q) {
		if (*c->p == '\\')
			return header_fail(c, "escapes in strings are not supported");
		if (len + 1 >= n)
			return header_fail(c, "string too long");
		out[len++] = *c->p++;
	}
	if (c->p >= c->end)
		return header_fail(c, "unterminated string");
	c->p++;
	out[len] = '\0';
	return 0;
}

static int
parse_bool(struct cursor *c, int *out)
{
	skip_blanks(c);
	if ((size_t)(c->end - c->p) >= 4 && memcmp(c->p, "True", 4) == 0) {
		c->p += 4;
		*out = 1;
	} else if ((size_t)(c->end - c->p) >= 5 && memcmp(c->p, "False", 5) == 0) {
		c->p += 5;
		*out = 0;
	} else {
		return header_fail(c, "expected True or False");
	}
	return 0;
}

/* A non-negative int, with Python 2's 'L' suffix allowed. */
static int
parse_dim(struct cursor *c, int64_t *out)
{
	int64_t v = 0;

	skip_blanks(c);
	if (c->p >= c->end || *c->p < '0' || *c->p > '9')
		return header_fail(c, "expected a dimension");
	while (c->p < c->end && *c->p >= '0' && *c->p <= '9') {
		int d = *c->p++ - '0';

		if (v > (INT64_MAX - d) / 10)
			return header_fail(c, "dimension too large");
		v = v * 10 + d;
	}
	if (c->p < c->end && (*c->p == 'L' || *c->p == 'l'))
		c->p++;
	*out = v;
	return 0;
}

/* "()", "(3,)", "(3, 4, )"; also "(3)", which Python would call an int. */
static int
parse_shape(struct cursor *c, struct header *h)
{
	if (expect(c, '(') < 0)
		return -1;
	h->ndim = 0;
	for (;;) {
		skip_blanks(c);
		if (c->p < c->end && *c->p == ')')
			break;
		if (h->ndim == NPY_MAX_DIMS)
			return header_fail(c, "more than %d dimensions", NPY_MAX_DIMS);
		if (parse_dim(c, &h->shape[h->ndim++]) < 0)
			return -1;
		skip_blanks(c);
		if (c->p < c->end && *c->p == ',')
			c->p++;
		else if (c->p >= c->end || *c->p != ')')
			return header_fail(c, "expected ',' or ')' in the shape");
	}
	c->p++;
	return 0;
}

/* A descr such as '<f4', '|u1', '>i2' or 'f8' (native order). */
static int
parse_descr(struct cursor *c, const char *s, struct dtype *dt)
{
	const char *p = s;
	char order = '=';
	long size;
	char *end;
	int ok;

	snprintf(dt->text, sizeof dt->text, "%s", s);
	if (*p == '<' || *p == '>' || *p == '|' || *p == '=')
		order = *p++;
	dt->kind = *p ? *p++ : '\0';
	size = 0;
	end = (char *)p;
	if (*p >= '0' && *p <= '9')
		size = strtol(p, &end, 10);
	switch (dt->kind) {
	case 'b': ok = size == 1; break;
	case 'i': case 'u': ok = size == 1 || size == 2 || size == 4 || size == 8; break;
	case 'f': ok = size == 2 || size == 4 || size == 8; break;
	default: ok = 0; break;
	}
	if (!ok || *end != '\0' || (order == '|' && size != 1))
		return caffeopt_fail(c->err, c->name, 0, 0,
		                     "dtype '%s' not supported: caffeopt reads bool, "
		                     "integer and float arrays ('<f4', '<f8', '|u1', "
		                     "...)", s);
	dt->size = (int)size;
	dt->big = order == '>' || (order == '=' && host_is_big());
	return 0;
}

static int
parse_header(struct cursor *c, struct header *h)
{
	int have_descr = 0, have_fortran = 0, have_shape = 0;
	char key[32], descr[32];

	if (expect(c, '{') < 0)
		return -1;
	for (;;) {
		skip_blanks(c);
		if (c->p < c->end && *c->p == '}')
			break;
		if (parse_string(c, key, sizeof key) < 0 || expect(c, ':') < 0)
			return -1;
		if (strcmp(key, "descr") == 0 && !have_descr) {
			have_descr = 1;
			skip_blanks(c);
			if (c->p < c->end && *c->p == '[')
				return caffeopt_fail(c->err, c->name, 0, 0,
				                     "structured dtype not supported: "
				                     "caffeopt reads plain numeric arrays");
			if (parse_string(c, descr, sizeof descr) < 0 ||
			    parse_descr(c, descr, &h->dt) < 0)
				return -1;
		} else if (strcmp(key, "fortran_order") == 0 && !have_fortran) {
			have_fortran = 1;
			if (parse_bool(c, &h->fortran) < 0)
				return -1;
		} else if (strcmp(key, "shape") == 0 && !have_shape) {
			have_shape = 1;
			if (parse_shape(c, h) < 0)
				return -1;
		} else {
			return header_fail(c, "unexpected key '%s'", key);
		}
		skip_blanks(c);
		if (c->p < c->end && *c->p == ',')
			c->p++;
		else if (c->p >= c->end || *c->p != '}')
			return header_fail(c, "expected ',' or '}'");
	}
	c->p++;
	skip_blanks(c);
	if (c->p != c->end)
		return header_fail(c, "text after the header's '}'");
	if (!have_descr || !have_fortran || !have_shape)
		return header_fail(c, "missing '%s'", !have_descr ? "descr" :
		                   !have_fortran ? "fortran_order" : "shape");
	return 0;
}

static uint64_t
load_bytes(const unsigned char *b, int size, int big)
{
	uint64_t v = 0;
	int i;

	if (big)
		for (i = 0; i < size; i++)
			v = v << 8 | b[i];
	else
		for (i = size; i-- > 0;)
			v = v << 8 | b[i];
	return v;
}

static float
half_to_float(unsigned h)
{
	unsigned e = (h >> 10) & 31, m = h & 1023;
	float v;

	if (e == 0)
		v = ldexpf((float)m, -24);
	else if (e == 31)
		v = m ? NAN : INFINITY;
	else
		v = ldexpf((float)(m + 1024), (int)e - 25);
	return (h & 0x8000) ? -v : v;
}

/* One value as float; -1 when an 'f8' is finite but beyond float. */
static int
convert(const struct dtype *dt, const unsigned char *b, float *out)
{
	uint64_t v = load_bytes(b, dt->size, dt->big);

	switch (dt->kind) {
	case 'b':
		*out = v != 0;
		return 0;
	case 'u':
		*out = (float)v;
		return 0;
	case 'i': {
		int64_t s;

		if (dt->size == 8)
			memcpy(&s, &v, 8);
		else if (v >> (8 * dt->size - 1))
			s = (int64_t)v - ((int64_t)1 << (8 * dt->size));
		else
			s = (int64_t)v;
		*out = (float)s;
		return 0;
	}
	default:
		break;
	}
	if (dt->size == 2) {
		*out = half_to_float((unsigned)v);
	} else if (dt->size == 4) {
		uint32_t u = (uint32_t)v;

		memcpy(out, &u, 4);
	} else {
		double d;

		memcpy(&d, &v, 8);
		if (isfinite(d) && fabs(d) > FLT_MAX)
			return -1;
		*out = (float)d;
	}
	return 0;
}

/* Read the data that follows the header into a->data, in C order. */
static int
read_data(FILE *f, const char *path, const struct header *h, struct npy *a,
          caffeopt_error *err)
{
	unsigned char buf[CHUNK];
	size_t cstride[NPY_MAX_DIMS], idx[NPY_MAX_DIMS] = { 0 };
	size_t left = a->count, off = 0, at = 0, j;
	int k, size = h->dt.size;

	if (a->ndim > 0) {
		cstride[a->ndim - 1] = 1;
		for (k = a->ndim - 2; k >= 0; k--)
			cstride[k] = cstride[k + 1] * (size_t)a->shape[k + 1];
	}
	while (left > 0) {
		size_t n = left < CHUNK / (size_t)size ? left : CHUNK / (size_t)size;

		if (fread(buf, (size_t)size, n, f) != n) {
			if (ferror(f))
				return caffeopt_fail(err, path, 0, 0, "cannot read: %s",
				                     strerror(errno));
			return caffeopt_fail(err, path, 0, 0, "truncated: the data "
			                     "ends early");
		}
		for (j = 0; j < n; j++, at++) {
			if (convert(&h->dt, buf + j * (size_t)size,
			            &a->data[h->fortran ? off : at]) < 0)
				return caffeopt_fail(err, path, 0, 0, "value %zu of the "
				                     "'%s' data is beyond float range",
				                     at, h->dt.text);
			if (!h->fortran)
				continue;
			/* Fortran order: the first index runs fastest. */
			for (k = 0; k < a->ndim; k++) {
				off += cstride[k];
				if (++idx[k] < (size_t)a->shape[k])
					break;
				off -= cstride[k] * (size_t)a->shape[k];
				idx[k] = 0;
			}
		}
		left -= n;
	}
	return 0;
}

static int
read_npy(FILE *f, const char *path, struct npy *a, caffeopt_error *err)
{
	unsigned char pre[12];
	struct stat st;
	struct header h;
	struct cursor c;
	char *text = NULL, shape[256];
	long long fsize = -1;
	unsigned long long have;
	size_t prefix, hlen, bytes;
	int k, rc = -1;

	if (fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode))
		fsize = (long long)st.st_size;
	if (fread(pre, 1, 10, f) != 10 || memcmp(pre, MAGIC, MAGIC_LEN) != 0) {
		if (ferror(f))
			return caffeopt_fail(err, path, 0, 0, "cannot read: %s",
			                     strerror(errno));
		return caffeopt_fail(err, path, 0, 0, "not a .npy file (it does not "
		                     "start with \\x93NUMPY)");
	}
	if ((pre[6] != 1 && pre[6] != 2 && pre[6] != 3) || pre[7] != 0)
		return caffeopt_fail(err, path, 0, 0, "unsupported .npy format "
		                     "version %d.%d (caffeopt reads 1.0, 2.0, 3.0)",
		                     pre[6], pre[7]);
	if (pre[6] == 1) {
		prefix = 10;
		hlen = (size_t)load_bytes(pre + 8, 2, 0);
	} else {
		if (fread(pre + 10, 1, 2, f) != 2)
			return caffeopt_fail(err, path, 0, 0, "truncated: the header "
			                     "length ends early");
		prefix = 12;
		hlen = (size_t)load_bytes(pre + 8, 4, 0);
	}
	if (hlen > MAX_HEADER || (fsize >= 0 &&
	                          (long long)(prefix + hlen) > fsize))
		return caffeopt_fail(err, path, 0, 0, "truncated or corrupt: a "
		                     "header of %zu bytes claimed, the file has %lld",
		                     hlen, fsize);
	text = malloc(hlen + 1);
	if (!text)
		return caffeopt_fail(err, path, 0, 0, "out of memory");
	if (fread(text, 1, hlen, f) != hlen) {
		caffeopt_fail(err, path, 0, 0, "truncated: the header ends early");
		goto out;
	}
	text[hlen] = '\0';
	memset(&h, 0, sizeof h);
	c.s = c.p = text;
	c.end = text + hlen;
	c.name = path;
	c.err = err;
	if (parse_header(&c, &h) < 0)
		goto out;

	a->ndim = h.ndim;
	a->count = 1;
	for (k = 0; k < h.ndim; k++) {
		a->shape[k] = h.shape[k];
		/* 8: the widest item, so that count * item size fits too. */
		if (h.shape[k] != 0 && a->count > SIZE_MAX / 8 /
		                                  (uint64_t)h.shape[k]) {
			caffeopt_fail(err, path, 0, 0, "shape too large");
			goto out;
		}
		a->count *= (size_t)h.shape[k];
	}
	bytes = a->count * (size_t)h.dt.size;
	format_shape(shape, sizeof shape, h.ndim, h.shape);
	have = fsize >= 0 ? (unsigned long long)fsize - prefix - hlen : 0;
	if (fsize >= 0 && have < bytes) {
		caffeopt_fail(err, path, 0, 0, "truncated: shape %s of '%s' needs "
		              "%zu bytes of data, the file has %llu", shape,
		              h.dt.text, bytes, have);
		goto out;
	}
	if (fsize >= 0 && have > bytes) {
		caffeopt_fail(err, path, 0, 0, "%llu bytes after the data of shape "
		              "%s of '%s' (more than one array?)", have - bytes,
		              shape, h.dt.text);
		goto out;
	}
	if (a->count > 0) {
		a->data = malloc(a->count * sizeof(float));
		if (!a->data) {
			caffeopt_fail(err, path, 0, 0, "out of memory for shape %s",
			              shape);
			goto out;
		}
	}
	if (read_data(f, path, &h, a, err) < 0)
		goto out;
	if (fsize < 0 && getc(f) != EOF) {
		caffeopt_fail(err, path, 0, 0, "bytes after the data of shape %s "
		              "of '%s' (more than one array?)", shape, h.dt.text);
		goto out;
	}
	rc = 0;
out:
	free(text);
	return rc;
}

int
npy_read(struct npy *a, const char *path, caffeopt_error *err)
{
	FILE *f;
	int rc;

	memset(a, 0, sizeof *a);
	f = fopen(path, "rb");
	if (!f)
		return caffeopt_fail(err, path, 0, 0, "cannot open: %s",
		                     strerror(errno));
	rc = read_npy(f, path, a, err);
	fclose(f);
	if (rc < 0)
		npy_free(a);
	return rc;
}

void
npy_free(struct npy *a)
{
	free(a->data);
	memset(a, 0, sizeof *a);
}

/* Check what the writers are given; *count gets the number of values. */
static int
check_array(const char *name, const float *data, int ndim,
            const int64_t *shape, size_t *count, caffeopt_error *err)
{
	int k;

	if (ndim < 0 || ndim > NPY_MAX_DIMS)
		return caffeopt_fail(err, name, 0, 0, "cannot write %d dimensions "
		                     "(at most %d)", ndim, NPY_MAX_DIMS);
	*count = 1;
	for (k = 0; k < ndim; k++) {
		if (shape[k] < 0)
			return caffeopt_fail(err, name, 0, 0, "negative dimension "
			                     "%" PRId64, shape[k]);
		if (shape[k] != 0 && *count > SIZE_MAX / sizeof(float) /
		                              (uint64_t)shape[k])
			return caffeopt_fail(err, name, 0, 0, "shape too large");
		*count *= (size_t)shape[k];
	}
	if (*count > 0 && !data)
		return caffeopt_fail(err, name, 0, 0, "no data for %zu values",
		                     *count);
	return 0;
}

/* numpy.save's header for a '<f4' C-order array into buf; returns its
 * length, always a multiple of ALIGN. */
static size_t
build_header(unsigned char buf[512], int ndim, const int64_t *shape)
{
	char dict[400], tuple[256];
	size_t n, hlen, pad, total;
	int growth = 0;

	format_shape(tuple, sizeof tuple, ndim, shape);
	if (ndim > 0) {
		char first[24];

		growth = GROWTH_DIGITS - snprintf(first, sizeof first, "%" PRId64,
		                                  shape[0]);
	}
	n = (size_t)snprintf(dict, sizeof dict,
	                     "{'descr': '<f4', 'fortran_order': False, "
	                     "'shape': %s, }%*s", tuple, growth, "");
	hlen = n + 1;  /* the newline */
	pad = ALIGN - (MAGIC_LEN + 4 + hlen) % ALIGN;
	total = MAGIC_LEN + 4 + hlen + pad;
	memcpy(buf, MAGIC, MAGIC_LEN);
	buf[6] = 1;
	buf[7] = 0;
	buf[8] = (unsigned char)((hlen + pad) & 0xff);
	buf[9] = (unsigned char)((hlen + pad) >> 8);
	memcpy(buf + 10, dict, n);
	memset(buf + 10 + n, ' ', pad);
	buf[total - 1] = '\n';
	return total;
}

/* n floats as little-endian bytes. */
static void
store_floats(unsigned char *out, const float *data, size_t n)
{
	size_t i;
	uint32_t u;

	for (i = 0; i < n; i++) {
		memcpy(&u, &data[i], 4);
		out[4 * i] = (unsigned char)u;
		out[4 * i + 1] = (unsigned char)(u >> 8);
		out[4 * i + 2] = (unsigned char)(u >> 16);
		out[4 * i + 3] = (unsigned char)(u >> 24);
	}
}

unsigned char *
npy_encode(const float *data, int ndim, const int64_t *shape, size_t *len,
           caffeopt_error *err)
{
	unsigned char head[512], *out;
	size_t count, hsize;

	if (check_array(NULL, data, ndim, shape, &count, err) < 0)
		return NULL;
	hsize = build_header(head, ndim, shape);
	if (count > (SIZE_MAX - hsize) / 4) {
		caffeopt_fail(err, NULL, 0, 0, "shape too large");
		return NULL;
	}
	out = malloc(hsize + 4 * count);
	if (!out) {
		caffeopt_fail(err, NULL, 0, 0, "out of memory");
		return NULL;
	}
	memcpy(out, head, hsize);
	if (count > 0)
		store_floats(out + hsize, data, count);
	*len = hsize + 4 * count;
	return out;
}

int
npy_write_file(FILE *f, const char *name, const float *data, int ndim,
               const int64_t *shape, caffeopt_error *err)
{
	unsigned char head[512], buf[CHUNK];
	size_t count, hsize, at, n;

	if (check_array(name, data, ndim, shape, &count, err) < 0)
		return -1;
	hsize = build_header(head, ndim, shape);
	if (fwrite(head, 1, hsize, f) != hsize)
		goto fail;
	for (at = 0; at < count; at += n) {
		n = count - at < CHUNK / 4 ? count - at : CHUNK / 4;
		store_floats(buf, data + at, n);
		if (fwrite(buf, 4, n, f) != n)
			goto fail;
	}
	if (fflush(f) != 0)
		goto fail;
	return 0;
fail:
	return caffeopt_fail(err, name, 0, 0, "cannot write: %s", strerror(errno));
}

int
npy_write(const char *path, const float *data, int ndim, const int64_t *shape,
          caffeopt_error *err)
{
	FILE *f;
	size_t count;

	if (check_array(path, data, ndim, shape, &count, err) < 0)
		return -1;  /* before fopen, so a bad call leaves path alone */
	f = fopen(path, "wb");
	if (!f)
		return caffeopt_fail(err, path, 0, 0, "cannot create: %s",
		                     strerror(errno));
	if (npy_write_file(f, path, data, ndim, shape, err) < 0) {
		fclose(f);
		remove(path);
		return -1;
	}
	if (fclose(f) != 0) {
		caffeopt_fail(err, path, 0, 0, "cannot write: %s", strerror(errno));
		remove(path);
		return -1;
	}
	return 0;
}
