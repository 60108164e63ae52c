/* config.c - read the original project's config.ini with inih.
 *
 * inih reads lines through our own reader (read_line) so that we know the
 * line each key is on (the library is built without handler line numbers)
 * and can refuse lines its fixed buffer would cut, before it cuts them.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ini.h>

#include "config.h"

enum key_kind { K_PATH, K_BOOL, K_NUMBER, K_COUNT, K_IGNORED };

enum key_id {
	KEY_PROTOTXT, KEY_MODEL, KEY_OUT_PROTOTXT, KEY_OUT_MODEL, KEY_MEAN_PATH,
	KEY_MERGE_BN_SCALE, KEY_MERGE_INPUT_SCALE, KEY_MERGE_INPUT_MEAN,
	KEY_MERGE_DROPOUT, KEY_MERGE_INPLACE_MEMORY,
	KEY_MEAN_R, KEY_MEAN_G, KEY_MEAN_B, KEY_INPUT_SCALE,
	KEY_H, KEY_W, KEY_C, KEY_PYCAFFE_PATH,
	NKEYS
};

#define FIELD(f) offsetof(struct config, f)

/* One row per key the original read; off is where it lands in struct config. */
static const struct key {
	const char *name;
	enum key_kind kind;
	size_t off;
} keys[NKEYS] = {
	[KEY_PROTOTXT]             = { "original_prototxt_path",  K_PATH,    FIELD(prototxt) },
	[KEY_MODEL]                = { "original_model_path",     K_PATH,    FIELD(model) },
	[KEY_OUT_PROTOTXT]         = { "optimized_prototxt_path", K_PATH,    FIELD(out_prototxt) },
	[KEY_OUT_MODEL]            = { "optimized_model_path",    K_PATH,    FIELD(out_model) },
	[KEY_MEAN_PATH]            = { "mean_proto_path",         K_PATH,    FIELD(mean_path) },
	[KEY_MERGE_BN_SCALE]       = { "merge_bn_scale",          K_BOOL,    FIELD(merge_bn_scale) },
	[KEY_MERGE_INPUT_SCALE]    = { "merge_input_scale",       K_BOOL,    FIELD(merge_input_scale) },
	[KEY_MERGE_INPUT_MEAN]     = { "merge_input_mean",        K_BOOL,    FIELD(merge_input_mean) },
	[KEY_MERGE_DROPOUT]        = { "merge_dropout",           K_BOOL,    FIELD(merge_dropout) },
	[KEY_MERGE_INPLACE_MEMORY] = { "merge_inplace_memory",    K_BOOL,    FIELD(merge_inplace_memory) },
	[KEY_MEAN_R]               = { "mean_R",                  K_NUMBER,  FIELD(mean_r) },
	[KEY_MEAN_G]               = { "mean_G",                  K_NUMBER,  FIELD(mean_g) },
	[KEY_MEAN_B]               = { "mean_B",                  K_NUMBER,  FIELD(mean_b) },
	[KEY_INPUT_SCALE]          = { "input_scale",             K_NUMBER,  FIELD(input_scale) },
	[KEY_H]                    = { "H",                       K_COUNT,   FIELD(h) },
	[KEY_W]                    = { "W",                       K_COUNT,   FIELD(w) },
	[KEY_C]                    = { "C",                       K_COUNT,   FIELD(c) },
	[KEY_PYCAFFE_PATH]         = { "pycaffe_path",            K_IGNORED, FIELD(saw_pycaffe) },
};

/* Python's configparser getboolean words. */
static const struct {
	const char *word;
	int value;
} bool_words[] = {
	{ "yes", 1 }, { "no", 0 }, { "true", 1 }, { "false", 0 },
	{ "on", 1 }, { "off", 0 }, { "1", 1 }, { "0", 0 },
};

struct parse {
	struct config *cfg;
	caffeopt_error *err;
	FILE *f;
	int line;              /* line of the text last handed to inih */
	int indented;          /* that line starts with a blank */
	int section_line;      /* line of the last [section] header */
	int failed;            /* err is filled; stop reading */
	int too_long;          /* first line inih would cut, 0 if none */
	size_t too_long_len;   /* its length, newline not counted */
	int too_long_cr;       /* that length counts a carriage return */
	int buf_size;          /* inih's line buffer, as it asked */
	int nul_line;          /* first line with a NUL byte, 0 if none */
	int seen[NKEYS];       /* line each key was set on, 0 if not */
	char other_section[64]; /* last section warned about */
};

/* strcasecmp for ASCII, whatever the locale (configparser lowercases names). */
static int
ascii_casecmp(const char *a, const char *b)
{
	int ca, cb;

	do {
		ca = (unsigned char)*a++;
		cb = (unsigned char)*b++;
		if (ca >= 'A' && ca <= 'Z')
			ca += 'a' - 'A';
		if (cb >= 'A' && cb <= 'Z')
			cb += 'a' - 'A';
	} while (ca && ca == cb);
	return ca - cb;
}

static char *
copy_string(const char *s, size_t n)
{
	char *t = malloc(n + 1);

	if (t) {
		memcpy(t, s, n);
		t[n] = '\0';
	}
	return t;
}

/* An ini_reader with fgets's contract (at most size - 1 bytes, up to and
 * including a newline) that counts lines and stops, instead of returning a
 * piece, at a line that does not fit or holds a NUL. */
static char *
read_line(char *buf, int size, void *stream)
{
	struct parse *p = stream;
	int n = 0, ch = EOF;

	if (p->failed || p->too_long || p->nul_line || size < 2)
		return NULL;
	while (n < size - 1 && (ch = getc(p->f)) != EOF) {
		if (ch == '\0') {
			p->nul_line = p->line + 1;
			return NULL;
		}
		buf[n++] = (char)ch;
		if (ch == '\n')
			break;
	}
	if (n == 0)
		return NULL;
	buf[n] = '\0';
	p->line++;
	if (buf[n - 1] != '\n' && n == size - 1) {
		/* Measure the whole line for the message; inih never sees it. */
		size_t len = (size_t)n;
		int last = (unsigned char)buf[n - 1];

		while ((ch = getc(p->f)) != EOF && ch != '\n') {
			len++;
			last = ch;
		}
		p->too_long = p->line;
		p->too_long_len = len;
		p->too_long_cr = last == '\r';
		p->buf_size = size;
		return NULL;
	}
	p->indented = buf[0] == ' ' || buf[0] == '\t';
	if (buf[strspn(buf, " \t")] == '[')
		p->section_line = p->line;
	return buf;
}

/* Append "file:line: message" to cfg->warnings.  Returns 0 or -1. */
static int
warn_at(struct parse *p, int line, const char *fmt, ...)
{
	struct config *cfg = p->cfg;
	char msg[1024];
	char **w;
	int n;
	va_list ap;

	n = snprintf(msg, sizeof msg, "%s:%d: ", cfg->ini_path, line);
	if (n < 0 || (size_t)n >= sizeof msg)
		n = 0;
	va_start(ap, fmt);
	vsnprintf(msg + n, sizeof msg - (size_t)n, fmt, ap);
	va_end(ap);
	w = realloc(cfg->warnings, (cfg->nwarnings + 1) * sizeof *w);
	if (!w)
		return -1;
	cfg->warnings = w;
	w[cfg->nwarnings] = copy_string(msg, strlen(msg));
	if (!w[cfg->nwarnings])
		return -1;
	cfg->nwarnings++;
	return 0;
}

/* value joined to the ini's folder when relative; a malloc'd string. */
static char *
resolve_path(const char *ini, const char *value)
{
	const char *slash = strrchr(ini, '/');
	size_t dirlen, vlen;
	char *s;

	if (value[0] == '/' || !slash)
		return copy_string(value, strlen(value));
	/* "./model/x" from "dir/config.ini" reads better as "dir/model/x". */
	while (value[0] == '.' && value[1] == '/' && value[2] != '\0') {
		value += 2;
		while (value[0] == '/' && value[1] != '\0')
			value++;
	}
	dirlen = slash == ini ? 1 : (size_t)(slash - ini);
	vlen = strlen(value);
	s = malloc(dirlen + 1 + vlen + 1);
	if (!s)
		return NULL;
	memcpy(s, ini, dirlen);
	if (s[dirlen - 1] != '/')
		s[dirlen++] = '/';
	memcpy(s + dirlen, value, vlen + 1);
	return s;
}

/* A hint for values that carry a '#' comment, which inih keeps. */
static const char *
comment_hint(const char *value)
{
	const char *h = strchr(value, '#');

	if (h && h > value && (h[-1] == ' ' || h[-1] == '\t'))
		return " (comments after a value start with ';', not '#')";
	return "";
}

static int
parse_bool(const char *value, int *out)
{
	size_t i;

	for (i = 0; i < sizeof bool_words / sizeof bool_words[0]; i++)
		if (ascii_casecmp(value, bool_words[i].word) == 0) {
			*out = bool_words[i].value;
			return 0;
		}
	return -1;
}

/* A finite double using the whole of value.  Returns 0, or -1 with why. */
static int
parse_number(const char *value, double *out, const char **why)
{
	char *end;
	double d;

	*why = "expected a number";
	if (!value[0])
		return -1;
	errno = 0;
	d = strtod(value, &end);
	if (end == value || *end != '\0')
		return -1;
	if (errno == ERANGE || !isfinite(d)) {
		*why = "expected a finite number in double range";
		return -1;
	}
	*out = d;
	return 0;
}

/* A positive int in decimal using the whole of value. */
static int
parse_count(const char *value, int *out)
{
	char *end;
	long v;

	if (value[0] < '0' || value[0] > '9')
		return -1;
	errno = 0;
	v = strtol(value, &end, 10);
	if (*end != '\0' || errno == ERANGE || v <= 0 || v > INT_MAX)
		return -1;
	*out = (int)v;
	return 0;
}

static int
fail_value(struct parse *p, const char *name, const char *expected,
           const char *value)
{
	p->failed = 1;
	caffeopt_fail(p->err, p->cfg->ini_path, p->line, 0, "%s: %s, got '%s'%s",
	              name, expected, value, comment_hint(value));
	return 0;
}

/* Store one key's value; returns 1 to go on, 0 (p->failed set) to stop. */
static int
set_key(struct parse *p, const struct key *k, const char *name,
        const char *value)
{
	char *base = (char *)p->cfg;
	const char *why;
	int b;

	switch (k->kind) {
	case K_PATH: {
		char **slot = (char **)(void *)(base + k->off);

		if (!value[0]) {
			if (k == &keys[KEY_MEAN_PATH])
				return 1;  /* "no mean file" */
			return fail_value(p, name, "expected a path", value);
		}
		*slot = resolve_path(p->cfg->ini_path, value);
		if (!*slot)
			break;
		return 1;
	}
	case K_BOOL:
		if (parse_bool(value, &b) < 0)
			return fail_value(p, name, "expected yes or no", value);
		*(int *)(void *)(base + k->off) = b;
		return 1;
	case K_NUMBER:
		if (parse_number(value, (double *)(void *)(base + k->off), &why) < 0)
			return fail_value(p, name, why, value);
		return 1;
	case K_COUNT:
		if (parse_count(value, (int *)(void *)(base + k->off)) < 0)
			return fail_value(p, name, "expected a positive whole number",
			                  value);
		return 1;
	case K_IGNORED:
		*(int *)(void *)(base + k->off) = 1;
		return 1;
	}
	p->failed = 1;
	caffeopt_fail(p->err, p->cfg->ini_path, p->line, 0, "out of memory");
	return 0;
}

/* inih's handler: one name = value pair. */
static int
on_pair(void *user, const char *section, const char *name, const char *value)
{
	struct parse *p = user;
	size_t i;

	if (p->failed)
		return 0;
	if (!value) {
		/* only if someone turned on inih's ini_allow_no_value */
		p->failed = 1;
		caffeopt_fail(p->err, p->cfg->ini_path, p->line, 0,
		              "expected 'name = value', '[section]' or a comment");
		return 0;
	}
	if (p->indented) {
		p->failed = 1;
		caffeopt_fail(p->err, p->cfg->ini_path, p->line, 0,
		              "line starts with blanks, which inih reads as more of "
		              "the value above; remove the indentation");
		return 0;
	}
	if (section[0] && strcmp(section, "DEFAULT") != 0) {
		if (strcmp(section, p->other_section) != 0) {
			snprintf(p->other_section, sizeof p->other_section, "%s",
			         section);
			if (warn_at(p, p->section_line, "section [%s] ignored: "
			            "caffeopt reads only "
			            "[DEFAULT]", section) < 0)
				goto oom;
		}
		return 1;
	}
	for (i = 0; i < NKEYS; i++)
		if (ascii_casecmp(name, keys[i].name) == 0)
			break;
	if (i == NKEYS) {
		if (warn_at(p, p->line, "unknown key '%s' ignored", name) < 0)
			goto oom;
		return 1;
	}
	if (p->seen[i]) {
		p->failed = 1;
		caffeopt_fail(p->err, p->cfg->ini_path, p->line, 0,
		              "%s: already set on line %d", name, p->seen[i]);
		return 0;
	}
	p->seen[i] = p->line;
	return set_key(p, &keys[i], name, value);
oom:
	p->failed = 1;
	caffeopt_fail(p->err, p->cfg->ini_path, p->line, 0, "out of memory");
	return 0;
}

/* After the last line: what needs the whole file. */
static int
check_whole(struct parse *p)
{
	struct config *cfg = p->cfg;
	static const int mean_keys[] = { KEY_MEAN_R, KEY_MEAN_G, KEY_MEAN_B };
	char missing[64] = "";
	int i, given = 0, first = 0;

	for (i = 0; i < 3; i++) {
		int line = p->seen[mean_keys[i]];

		if (line) {
			given++;
			if (!first || line < first)
				first = line;
		} else {
			if (missing[0])
				strcat(missing, " and ");
			strcat(missing, keys[mean_keys[i]].name);
		}
	}
	if (given == 3)
		cfg->has_mean_rgb = 1;
	else if (given > 0)
		return caffeopt_fail(p->err, cfg->ini_path, first, 0,
		                     "mean_R, mean_G and mean_B go together; "
		                     "missing %s", missing);
	cfg->has_input_scale = p->seen[KEY_INPUT_SCALE] != 0;
	return 0;
}

static void
config_reset(struct config *cfg)
{
	memset(cfg, 0, sizeof *cfg);
	cfg->merge_bn_scale = -1;
	cfg->merge_input_scale = -1;
	cfg->merge_input_mean = -1;
	cfg->merge_dropout = -1;
	cfg->merge_inplace_memory = -1;
}

int
config_read(struct config *cfg, const char *path, caffeopt_error *err)
{
	struct parse p;
	int r, read_errno;

	config_reset(cfg);
	memset(&p, 0, sizeof p);
	p.cfg = cfg;
	p.err = err;
	cfg->ini_path = copy_string(path, strlen(path));
	if (!cfg->ini_path)
		return caffeopt_fail(err, path, 0, 0, "out of memory");
	p.f = fopen(path, "r");
	if (!p.f) {
		caffeopt_fail(err, path, 0, 0, "cannot open: %s", strerror(errno));
		goto fail;
	}
	r = ini_parse_stream(read_line, &p, on_pair, &p);
	read_errno = errno;
	if (ferror(p.f)) {
		caffeopt_fail(err, path, 0, 0, "cannot read: %s",
		              strerror(read_errno));
		fclose(p.f);
		goto fail;
	}
	fclose(p.f);
	if (p.failed)
		goto fail;
	if (p.too_long) {
		caffeopt_fail(err, path, p.too_long, 0,
		              "line longer than %d characters, which Debian's inih "
		              "cuts (this one has %zu%s; inih reads lines through "
		              "a %d-byte buffer)", p.buf_size - 2, p.too_long_len,
		              p.too_long_cr ? ", counting its carriage return" : "",
		              p.buf_size);
		goto fail;
	}
	if (p.nul_line) {
		caffeopt_fail(err, path, p.nul_line, 0, "NUL byte in line");
		goto fail;
	}
	if (r == -2) {
		caffeopt_fail(err, path, 0, 0, "out of memory");
		goto fail;
	}
	if (r != 0) {
		/* Every line reached inih whole, so r is the real line. */
		caffeopt_fail(err, path, r > 0 ? r : 0, 0,
		              "expected 'name = value', '[section]' or a comment");
		goto fail;
	}
	if (check_whole(&p) < 0)
		goto fail;
	return 0;
fail:
	config_free(cfg);
	return -1;
}

void
config_free(struct config *cfg)
{
	size_t i;

	free(cfg->ini_path);
	free(cfg->prototxt);
	free(cfg->model);
	free(cfg->out_prototxt);
	free(cfg->out_model);
	free(cfg->mean_path);
	for (i = 0; i < cfg->nwarnings; i++)
		free(cfg->warnings[i]);
	free(cfg->warnings);
	config_reset(cfg);
}
