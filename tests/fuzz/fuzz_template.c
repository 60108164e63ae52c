/* fuzz_template.c - the template engine as `caffeopt embed --template`
 * drives it: the input up to its first NUL byte is a template, read from
 * a file by tpl_load and rendered by tpl_render over values named and
 * shaped like embed's (templates/README.md); the bytes after the NUL,
 * when there are some, vary those values (list lengths, numbers, names
 * and the byte strings, NaN floats included).  Every failure must be an
 * error that names the template file with a line and a column (out of
 * memory excepted), and a render must give the same bytes twice. */
#include <limits.h>
#include <string.h>

#include "fuzz.h"
#include "template.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The bytes after the NUL, consumed from the front; zeros once used up. */
struct src {
	const uint8_t *p;
	size_t n;
	int given;
};

static unsigned
take(struct src *s)
{
	unsigned c = 0;

	if (s->n) {
		c = *s->p++;
		s->n--;
	}
	return c;
}

/* A byte string of up to max bytes: the next bytes, or the literal dflt
 * when no data was given. */
#define take_bytes(d, v, s, max, dflt) take_bytes_((d), (v), (s), (max), (dflt), sizeof(dflt) - 1)

static struct tval *
take_bytes_(struct tdata *d, struct tval *v, struct src *s, size_t max, const char *dflt, size_t dlen)
{
	size_t n;

	if (!s->given)
		return tv_bytes_dup(d, v, dflt, dlen);
	n = take(s) % (max + 1);
	if (n > s->n)
		n = s->n;
	v = tv_bytes_dup(d, v, s->p, n);
	s->p += n;
	s->n -= n;
	return v;
}

/* A short string (no NUL: tv_str copies C strings). */
static struct tval *
take_str(struct tdata *d, struct tval *v, struct src *s, const char *dflt)
{
	char buf[16];
	size_t n, i;

	if (!s->given)
		return tv_str(d, v, dflt);
	n = take(s) % sizeof buf;
	for (i = 0; i < n; i++)
		buf[i] = (char)(take(s) % 255 + 1);
	buf[n] = '\0';
	return tv_str(d, v, buf);
}

static long long
take_int(struct src *s, long long dflt)
{
	static const long long odd[] = { 0, 1, -1, 16, 4096, LLONG_MAX, LLONG_MIN, 1 << 20 };
	unsigned c;

	if (!s->given)
		return dflt;
	c = take(s);
	if (c >= 248)
		return odd[c - 248];
	return (long long)c - 8;
}

/* embed's values (the names of templates/README.md), one of each kind of
 * mode's lists at once, so that any template finds what it names. */
static int
fill(struct tdata *d, struct src *s)
{
	static const char *const modes[] = { "blob", "weights", "net" };
	static const char *const formats[] = { "literal", "array", "incbin" };
	static const char *const kinds[] = { "int", "float", "ints", "floats", "coeff" };
	static const unsigned char pool[] = {
		0, 0, 0x80, 0x3f, 0, 0, 0xc0, 0xbf, 0xcd, 0xcc, 0xcc, 0x3d, 0, 0, 0, 0x80,
		1, 0, 0, 0, 0xff, 0xff, 0x7f, 0x7f, 0, 0, 0, 0, 0, 0, 0x20, 0x41,
	};
	struct tval *root = tdata_root(d), *l, *m, *x, *y;
	unsigned nl, i, k, nk;

#define OK(e) do { if (!(e)) return -1; } while (0)
	OK(tv_str(d, tv_add(d, root, "version"), "0.0.0-fuzz"));
	OK(take_str(d, tv_add(d, root, "name"), s, "cifar10 \"quick\" */"));
	OK(tv_str(d, tv_add(d, root, "sym"), "cifar10"));
	OK(tv_str(d, tv_add(d, root, "mode"), modes[take(s) % 3]));
	OK(tv_str(d, tv_add(d, root, "format"), formats[take(s) % 3]));
	OK(tv_int(tv_add(d, root, "align"), take_int(s, 16)));
	OK(take_str(d, tv_add(d, root, "section"), s, ""));
	OK(take_str(d, tv_add(d, root, "net_name"), s, "CIFAR10_quick"));
	OK(tv_str(d, tv_add(d, root, "header"), "cifar10.h"));
	OK(tv_str(d, tv_add(d, root, "source"), "cifar10.c"));
	OK(x = take_bytes(d, tv_add(d, root, "prototxt"), s, 200,
	                  "name: \"tiny\"\nlayer {\n  name: \"data\"\n}\n\\\"?\?=\t\x7f\xff"));
	OK(tv_int(tv_add(d, root, "prototxt_size"), (long long)x->n));
	OK(tv_str(d, tv_add(d, root, "prototxt_file"), "cifar10.prototxt"));
	OK(x = take_bytes(d, tv_add(d, root, "caffemodel"), s, 255, "\n\x04tiny\x12\x10\n\x04" "data\x01\x02"));
	OK(tv_int(tv_add(d, root, "caffemodel_size"), (long long)x->n));
	OK(tv_str(d, tv_add(d, root, "caffemodel_file"), "cifar10.caffemodel"));
	if (s->given) {
		OK(x = take_bytes(d, tv_add(d, root, "pool"), s, 64, ""));
	} else {
		OK(x = tv_bytes(tv_add(d, root, "pool"), pool, sizeof pool));
	}
	OK(tv_int(tv_add(d, root, "pool_floats"), (long long)(x->n / 4)));
	OK(tv_int(tv_add(d, root, "pool_size"), (long long)x->n));
	OK(tv_str(d, tv_add(d, root, "pool_file"), "cifar10.weights"));
	/* Odd values embed could give: null, empty bytes without storage. */
	OK(tv_add(d, root, "nothing"));
	OK(tv_bytes(tv_add(d, root, "no_bytes"), NULL, 0));
	OK(tv_list(tv_add(d, root, "empty_list")));
	OK(tv_int(tv_add(d, root, "arena_floats"), take_int(s, 23552)));
	OK(tv_int(tv_add(d, root, "max_dims"), take_int(s, 4)));
	OK(m = tv_map(tv_add(d, root, "net")));
	OK(take_str(d, tv_add(d, m, "name"), s, "CIFAR10_quick"));
	OK(m = tv_map(tv_add(d, m, "inner")));
	OK(tv_int(tv_add(d, m, "depth"), 2));

	nl = s->given ? take(s) % 6 : 3;
	OK(tv_int(tv_add(d, root, "nlayers"), nl));
	OK(l = tv_list(tv_add(d, root, "layers")));
	for (i = 0; i < nl; i++) {
		OK(m = tv_map(tv_add(d, l, NULL)));
		OK(tv_int(tv_add(d, m, "index"), i));
		OK(take_str(d, tv_add(d, m, "name"), s, i ? "conv/1" : "data"));
		OK(tv_str(d, tv_add(d, m, "ident"), i ? "conv_1" : "data"));
		OK(tv_str(d, tv_add(d, m, "op"), "CR_OP_CONV"));
		OK(x = tv_list(tv_add(d, m, "bottoms")));
		OK(y = tv_list(tv_add(d, m, "shape")));
		nk = s->given ? take(s) % 5 : i + 1;
		for (k = 0; k < nk; k++) {
			OK(tv_int(tv_add(d, x, NULL), take_int(s, k)));
			OK(tv_int(tv_add(d, y, NULL), take_int(s, 8 * (k + 1))));
		}
		OK(tv_str(d, tv_add(d, m, "member"), i % 2 ? "conv" : ""));
		OK(x = tv_list(tv_add(d, m, "params")));
		nk = s->given ? take(s) % 6 : 5;
		for (k = 0; k < nk; k++) {
			unsigned kind = s->given ? take(s) % 5 : k;
			OK(y = tv_map(tv_add(d, x, NULL)));
			OK(tv_str(d, tv_add(d, y, "name"), "field"));
			OK(tv_str(d, tv_add(d, y, "kind"), kinds[kind]));
			OK(y = tv_add(d, y, "value"));
			switch (kind) {
			case 1: OK(take_bytes(d, y, s, 4, "\0\0\x80\x3f")); break;
			case 2:
				OK(tv_list(y));
				OK(tv_int(tv_add(d, y, NULL), take_int(s, 3)));
				OK(tv_int(tv_add(d, y, NULL), take_int(s, -1)));
				break;
			case 3: OK(take_bytes(d, y, s, 16, "\0\0\0\x40\0\0\0\xc0")); break;
			default: OK(tv_int(y, take_int(s, kind == 4 ? -1 : 7))); break;
			}
		}
	}
	return 0;
#undef OK
}

/* An error must name the template, with a line and a column unless it is
 * about memory. */
static void
check_error(const caffeopt_error *err, const char *path)
{
	if (strcmp(err->file, path) != 0 || !err->msg[0] || strchr(err->msg, '\n'))
		abort();
	if ((err->line < 1 || err->col < 1) && !strstr(err->msg, "out of memory"))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nul = memchr(data, 0, size);
	size_t tsize = nul ? (size_t)(nul - data) : size;
	struct src s = { 0 };
	caffeopt_error err;
	struct tdata *d;
	struct tpl *t;
	struct tbuf a = { 0 }, b = { 0 };
	const char *path;
	int ra, rb;

	if (size > 64 * 1024)
		return 0;
	if (nul) {
		s.p = nul + 1;
		s.n = size - tsize - 1;
		s.given = 1;
	}
	path = fuzz_file(0, "model.h.in", data, tsize);
	memset(&err, 0, sizeof err);
	t = tpl_load(path, &err);
	unlink(path);
	if (!t) {
		check_error(&err, path);
		return 0;
	}
	if (!(d = tdata_new()) || fill(d, &s) < 0)
		abort();
	ra = tpl_render(t, tdata_root(d), &a, &err);
	if (ra < 0)
		check_error(&err, path);
	/* Again, after some text: the same outcome, the same bytes. */
	tbuf_put(&b, "prefix", 6);
	rb = tpl_render(t, tdata_root(d), &b, &err);
	if (rb < 0)
		check_error(&err, path);
	if (ra != rb || (ra == 0 && (a.oom || b.len != a.len + 6 ||
	                             (a.len && memcmp(a.p, b.p + 6, a.len) != 0))))
		abort();
	tbuf_free(&a);
	tbuf_free(&b);
	tdata_free(d);
	tpl_free(t);
	return 0;
}
