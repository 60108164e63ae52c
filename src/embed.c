/* embed.c - a model as C sources: fill template values, render, write.
 * Requires: a loaded model with weights; a template folder.  Keeps: the
 * model (net mode builds the runtime's tables from it and frees them).
 * Decides no C text: every character of SYM.h/.c/.S comes from a template.
 * Speed (bench/embed.sh): a large model's files are written by a second
 * thread while the templates render, a large source is rendered straight
 * into its file through a small reused window, and other large buffers are
 * taken once, in huge pages: on the machines we measured, first touches of
 * fresh memory cost more than the rendering itself. */
#define _GNU_SOURCE  /* madvise's MADV_HUGEPAGE */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "embed.h"
#include "embed_net.h"
#include "fileio.h"
#include "model.h"
#include "template.h"

/* The names, in enum order (embed.h). */
static const char *const mode_names[] = {"blob", "weights", "net"};
static const char *const format_names[] = {"literal", "array", "incbin"};

/* The index of s in names[n], or -1. */
static int
name_index(const char *const *names, int n, const char *s)
{
	int i;

	for (i = 0; i < n; i++)
		if (strcmp(s, names[i]) == 0)
			return i;
	return -1;
}

int
embed_mode_parse(const char *s, enum embed_mode *mode)
{
	int i = name_index(mode_names, 3, s);

	if (i < 0)
		return -1;
	*mode = (enum embed_mode)i;
	return 0;
}

int
embed_format_parse(const char *s, enum embed_format *format)
{
	int i = name_index(format_names, 3, s);

	if (i < 0)
		return -1;
	*format = (enum embed_format)i;
	return 0;
}

static int
ident_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

char *
embed_ident(const char *s)
{
	char *r = strdup(s ? s : ""), *p;

	for (p = r; p && *p; p++)
		if (!ident_char((unsigned char)*p))
			*p = '_';
	return r;
}

char *
embed_symbol(const char *name, caffeopt_error *err)
{
	char *sym = embed_ident(name);

	if (!sym) {
		caffeopt_fail(err, NULL, 0, 0, "out of memory");
		return NULL;
	}
	if (!sym[0] || (sym[0] >= '0' && sym[0] <= '9') ||
	    (sym[0] == '_' && (sym[1] == '_' || (sym[1] >= 'A' && sym[1] <= 'Z')))) {
		caffeopt_fail(err, NULL, 0, 0, "--name '%s' does not make a C identifier: it must "
		              "start with a letter (or '_' and a lowercase letter)", name);
		free(sym);
		return NULL;
	}
	return sym;
}

/* --- Identifiers of layers, weights and blobs must stay unique. --- */

static int
ident_cmp(const void *a, const void *b)
{
	return strcmp(((const struct ident *)a)->c, ((const struct ident *)b)->c);
}

int
embed_idents_unique(struct ident *ids, size_t n, const char *what, caffeopt_error *err)
{
	size_t i;

	qsort(ids, n, sizeof *ids, ident_cmp);
	for (i = 1; i < n; i++)
		if (strcmp(ids[i - 1].c, ids[i].c) == 0)
			return caffeopt_fail(err, NULL, 0, 0, "%ss '%s' and '%s' both become the C name '%s'; "
			                     "rename one, or embed with --mode blob", what, ids[i - 1].orig,
			                     ids[i].orig, ids[i].c);
	return 0;
}

/* --- Large buffers. --- */

enum {
	HUGE_PAGE = 2 << 20,      /* transparent huge page size on x86-64 and arm64 */
	BIG_MIN = 4 << 20,        /* smaller buffers: plain malloc */
	WRITE_PIECE = 8 << 20     /* outputs go to the kernel this much at a time */
};

/* n bytes from malloc's family (free and realloc take them), aligned to a
 * huge page and advised to be backed by huge pages when large.  Writing
 * fresh memory costs one page fault per page touched, which on the virtual
 * machines we measured is most of the cost of rendering (bench/embed.sh):
 * one fault per 2 MiB instead of per 4 KiB.  NULL when out of memory. */
static void *
big_alloc(size_t n)
{
	void *p;

	if (n < BIG_MIN)
		return malloc(n ? n : 1);
	if (posix_memalign(&p, HUGE_PAGE, n) != 0)
		return NULL;
#if defined(MADV_HUGEPAGE)
	madvise(p, n, MADV_HUGEPAGE);  /* advice: failure only costs speed */
#endif
	return p;
}

/* --- The float pool of weights and net modes. --- */

/* Room for floats floats (and the padding of nblobs blobs) up front, in
 * one buffer. */
static int
pool_reserve(struct embed_pool *pl, size_t floats, size_t nblobs)
{
	size_t cap = floats + nblobs * pl->align_floats;

	if (cap < floats || cap > SIZE_MAX / 4)
		return -1;
	if (cap <= pl->cap)
		return 0;
	free(pl->bytes);
	pl->bytes = NULL;
	pl->cap = 0;
	if (!(pl->bytes = big_alloc(cap * 4)))
		return -1;
	pl->cap = cap;
	return 0;
}

#if defined(__BYTE_ORDER__) && defined(__ORDER_LITTLE_ENDIAN__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define HOST_LE 1
#else
#define HOST_LE 0
static void
put_le32(unsigned char *p, float x)
{
	uint32_t u;

	memcpy(&u, &x, sizeof u);
	p[0] = (unsigned char)u;
	p[1] = (unsigned char)(u >> 8);
	p[2] = (unsigned char)(u >> 16);
	p[3] = (unsigned char)(u >> 24);
}
#endif

int
embed_pool_add(struct embed_pool *pl, const float *data, size_t count, size_t *offset)
{
	size_t at = (pl->floats + pl->align_floats - 1) / pl->align_floats * pl->align_floats, i;

	if (at + count > pl->cap) {
		size_t cap = pl->cap ? pl->cap : 1024;
		unsigned char *b;
		while (cap < at + count)
			cap *= 2;
		if (cap > SIZE_MAX / 4 || !(b = realloc(pl->bytes, cap * 4)))
			return -1;
		pl->bytes = b;
		pl->cap = cap;
	}
	memset(pl->bytes + pl->floats * 4, 0, (at - pl->floats) * 4);
#if HOST_LE
	(void)i;
	if (count)
		memcpy(pl->bytes + at * 4, data, count * 4);  /* the host's floats are the pool's */
#else
	for (i = 0; i < count; i++)
		put_le32(pl->bytes + (at + i) * 4, data[i]);
#endif
	pl->floats = at + count;
	*offset = at;
	return 0;
}

/* --- Values for the templates. --- */

#define OOM(x) do { if (!(x)) goto oom; } while (0)

/* weights: the layer table and one pool entry per weight blob. */
static int
fill_weights(struct tdata *d, struct tval *root, caffeopt_model *m, struct embed_pool *pl,
             caffeopt_error *err)
{
	struct tval *layers, *weights, *v;
	struct ident *lids = NULL, *wids = NULL;
	char **names = NULL;
	size_t i, k, nw = 0, w = 0, nnames = 0, maxdims = 1;
	int rc = -1;

	for (i = 0; i < m->nlayers; i++)
		nw += m->layers[i].nblobs;
	lids = calloc(m->nlayers + 1, sizeof *lids);
	wids = calloc(nw + 1, sizeof *wids);
	names = calloc(m->nlayers + nw + 1, sizeof *names);
	if (!lids || !wids || !names)
		goto oom;
	OOM(layers = tv_list(tv_add(d, root, "layers")));
	OOM(weights = tv_list(tv_add(d, root, "weights")));
	for (i = 0; i < m->nlayers; i++) {
		const struct mlayer *l = &m->layers[i];
		const char *lname = l->p->name ? l->p->name : "";
		char *lid;
		OOM(lid = names[nnames++] = embed_ident(lname));
		lids[i].c = lid;
		lids[i].orig = lname;
		OOM(v = tv_map(tv_add(d, layers, NULL)));
		OOM(tv_int(tv_add(d, v, "index"), (long long)i));
		OOM(tv_str(d, tv_add(d, v, "name"), lname));
		OOM(tv_str(d, tv_add(d, v, "ident"), lid));
		OOM(tv_str(d, tv_add(d, v, "type"), l->p->type ? l->p->type : ""));
		OOM(tv_int(tv_add(d, v, "first_weight"), (long long)w));
		OOM(tv_int(tv_add(d, v, "nweights"), (long long)l->nblobs));
		for (k = 0; k < l->nblobs; k++, w++) {
			const struct wblob *b = &l->blobs[k];
			struct tval *wv, *shape;
			size_t off, dd;
			char *wid;
			if (!(wid = names[nnames++] = malloc(strlen(lid) + 24)))
				goto oom;
			sprintf(wid, "%s_%zu", lid, k);
			wids[w].c = wid;
			wids[w].orig = wid;  /* unique when the layers' are; checked anyway */
			if (embed_pool_add(pl, b->data, b->count, &off) < 0)
				goto oom;
			OOM(wv = tv_map(tv_add(d, weights, NULL)));
			OOM(tv_int(tv_add(d, wv, "index"), (long long)w));
			OOM(tv_str(d, tv_add(d, wv, "ident"), wid));
			OOM(tv_str(d, tv_add(d, wv, "layer"), lname));
			OOM(tv_str(d, tv_add(d, wv, "layer_ident"), lid));
			OOM(tv_int(tv_add(d, wv, "layer_index"), (long long)i));
			OOM(tv_int(tv_add(d, wv, "blob"), (long long)k));
			OOM(tv_int(tv_add(d, wv, "offset"), (long long)off));
			OOM(tv_int(tv_add(d, wv, "count"), (long long)b->count));
			OOM(tv_int(tv_add(d, wv, "ndim"), b->ndim));
			OOM(shape = tv_list(tv_add(d, wv, "shape")));
			for (dd = 0; dd < (size_t)b->ndim; dd++)
				OOM(tv_int(tv_add(d, shape, NULL), (long long)b->shape[dd]));
			if ((size_t)b->ndim > maxdims)
				maxdims = (size_t)b->ndim;
		}
	}
	OOM(tv_int(tv_add(d, root, "nlayers"), (long long)m->nlayers));
	OOM(tv_int(tv_add(d, root, "nweights"), (long long)nw));
	OOM(tv_int(tv_add(d, root, "max_dims"), (long long)maxdims));
	if (embed_idents_unique(lids, m->nlayers, "layer", err) < 0 ||
	    embed_idents_unique(wids, nw, "weight", err) < 0)
		goto out;
	rc = 0;
	goto out;
oom:
	rc = caffeopt_fail(err, NULL, 0, 0, "out of memory");
out:
	for (i = 0; i < nnames; i++)
		free(names[i]);
	free(names);
	free(lids);
	free(wids);
	return rc;
}

/* --- Files. --- */

/* 1 when the file at path holds exactly data[0..len).  Thread-safe: the
 * writer thread calls it too. */
static int
same_content(const char *path, const void *data, size_t len)
{
	enum { CHUNK = 1 << 16 };
	int fd = open(path, O_RDONLY);
	struct stat st;
	char *buf = NULL;
	size_t at = 0;
	int same = 0;

	if (fd < 0)
		return 0;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (size_t)st.st_size != len ||
	    !(buf = malloc(CHUNK)))
		goto out;
	while (at < len) {
		ssize_t r = read(fd, buf, len - at < CHUNK ? len - at : CHUNK);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0 || memcmp(buf, (const char *)data + at, (size_t)r) != 0)
			goto out;
		at += (size_t)r;
	}
	same = 1;
out:
	free(buf);
	close(fd);
	return same;
}

static char *
join(const char *dir, const char *file)
{
	size_t n = strlen(dir), f = strlen(file);
	char *p = malloc(n + f + 2);

	if (p) {
		memcpy(p, dir, n);
		if (n == 0 || dir[n - 1] != '/')
			p[n++] = '/';
		memcpy(p + n, file, f + 1);
	}
	return p;
}

/* The same file, however it is spelled: the real folder plus the name. */
static char *
canonical(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *dir, *real, *r;

	if (!slash)
		dir = strdup(".");
	else if (slash == path)
		dir = strdup("/");
	else if ((dir = malloc((size_t)(slash - path) + 1))) {
		memcpy(dir, path, (size_t)(slash - path));
		dir[slash - path] = '\0';
	}
	if (!dir)
		return NULL;
	real = realpath(dir, NULL);
	r = join(real ? real : dir, slash ? slash + 1 : path);
	free(real);
	free(dir);
	return r;
}

/* mkdir -p; *made is the length of the first folder of path it created
 * (0: none), so that unmake_dirs can take back exactly what it made. */
static int
make_dirs(const char *path, size_t *made, caffeopt_error *err)
{
	char *p = strdup(path), *s;
	struct stat st;

	*made = 0;
	if (!p)
		return caffeopt_fail(err, path, 0, 0, "out of memory");
	for (s = p + 1; ; s++) {
		if (*s == '/' || *s == '\0') {
			char c = *s;
			*s = '\0';
			if (stat(p, &st) < 0) {
				if (mkdir(p, 0777) < 0 && errno != EEXIST) {
					caffeopt_fail(err, p, 0, 0, "cannot create folder: %s", strerror(errno));
					free(p);
					return -1;
				}
				if (!*made)
					*made = (size_t)(s - p);
			} else if (!S_ISDIR(st.st_mode)) {
				caffeopt_fail(err, p, 0, 0, "not a folder");
				free(p);
				return -1;
			}
			*s = c;
			if (c == '\0')
				break;
		}
	}
	free(p);
	return 0;
}

/* Remove the folders make_dirs created for path, deepest first (they are
 * empty again when a run fails: every output is staged or aborted). */
static void
unmake_dirs(const char *path, size_t made)
{
	char *p = strdup(path), *s;

	if (!p || !made)
		goto out;
	while (strlen(p) >= made && rmdir(p) == 0) {
		if (!(s = strrchr(p, '/')) || s == p)
			break;
		*s = '\0';
	}
out:
	free(p);
}

/* A path in Make syntax: blanks, '#' and '$' escaped. */
static void
make_path(struct tbuf *b, const char *p)
{
	for (; *p; p++) {
		if (*p == ' ' || *p == '\t' || *p == '#' || *p == '\\')
			tbuf_put(b, "\\", 1);
		if (*p == '$')
			tbuf_put(b, "$", 1);
		tbuf_put(b, p, 1);
	}
}

/* --- The run. --- */

enum { MAX_OUT = 12, MAX_READ = 32 };

struct output {
	char *path;
	const char *tpl;          /* template file name, or NULL for data */
	const void *data;
	size_t len;
	struct tbuf buf;          /* rendered text */
	int always;               /* the stamp: written even when unchanged */
	int early;                /* data staged by the writer thread during rendering */
	int staged;               /* file holds its staged temporary */
	int unchanged;            /* left as it is: the file already holds data */
	int stream;               /* rendered straight to its staged file */
	struct outfile file;
};

struct run {
	struct output out[MAX_OUT];
	size_t nout;
	char *reads[MAX_READ];    /* template paths, for the depfile */
	size_t nreads;
};

/* Stage x beside its path, unless the file there already holds its bytes
 * (x->unchanged).  The bytes go to the kernel in pieces, so writeback
 * starts while the rest is written and the fsync waits for the tail only.
 * 0 or -1 (nothing left behind). */
static int
stage_output(struct output *x, caffeopt_error *err)
{
	struct outstream s;
	size_t at, n;

	if (!x->always && same_content(x->path, x->data, x->len)) {
		x->unchanged = 1;
		return 0;
	}
	if (file_stage_open(&x->file, &s, x->path, err) < 0)
		return -1;
	for (at = 0; at < x->len; at += n) {
		n = x->len - at < WRITE_PIECE ? x->len - at : WRITE_PIECE;
		outstream_write(&s, (const char *)x->data + at, n);
	}
	if (file_stage_close(&s, err) < 0)
		return -1;
	x->staged = 1;
	return 0;
}

/* A template output rendered straight into its staged file, a window of
 * TBUF_SINK_CHUNK bytes at a time, instead of into one buffer as large as
 * the text (281 MB for 100 MiB of weights in the literal format, most of
 * whose cost was the first touch of fresh pages).  While the text matches
 * the file already at the path, nothing is staged: an output whose bytes
 * have not changed is left untouched, and so is its folder.  At the first
 * difference the file is staged, starting with the matched bytes read back
 * from the old file. */
enum { CMP_PIECE = 1 << 20 };

struct streamed {
	struct output *x;
	struct outstream s;
	int open;                 /* s holds x's staged file */
	int failed;               /* staging failed: err says why; the rest is dropped */
	caffeopt_error err;
	int fd;                   /* the file at the path while it matches, or -1 */
	uint64_t at;              /* its bytes matched so far */
	uint64_t size;            /* its size */
	char *cmp;                /* CMP_PIECE bytes */
};

/* Start staging: the temporary file, then the at bytes matched so far. */
static void
stream_open(struct streamed *st)
{
	uint64_t off = 0;

	if (file_stage_open(&st->x->file, &st->s, st->x->path, &st->err) < 0) {
		st->failed = 1;
		return;
	}
	st->open = 1;
	while (off < st->at) {
		uint64_t left = st->at - off;
		ssize_t got = pread(st->fd, st->cmp, left < CMP_PIECE ? (size_t)left : CMP_PIECE, (off_t)off);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0) {
			caffeopt_fail(&st->err, st->x->path, 0, 0, "cannot read: %s",
			              got < 0 ? strerror(errno) : "file shrank while read");
			st->failed = 1;
			return;
		}
		outstream_write(&st->s, st->cmp, (size_t)got);
		off += (uint64_t)got;
	}
	if (st->fd >= 0)
		close(st->fd);
	st->fd = -1;
}

static void
stream_sink(void *arg, const char *p, size_t n)
{
	struct streamed *st = arg;

	while (!st->open && !st->failed && n > 0) {
		ssize_t got = -1;
		if (st->fd >= 0 && st->at < st->size)
			got = pread(st->fd, st->cmp, n < CMP_PIECE ? n : CMP_PIECE, (off_t)st->at);
		if (got < 0 && st->fd >= 0 && st->at < st->size && errno == EINTR)
			continue;
		if (got > 0) {
			size_t k = 0;
			if (memcmp(st->cmp, p, (size_t)got) == 0)
				k = (size_t)got;
			while (k < (size_t)got && st->cmp[k] == p[k])
				k++;
			st->at += k;
			p += k;
			n -= k;
			if (k == (size_t)got)
				continue;
		}
		stream_open(st);  /* a difference, or the end of the old file */
	}
	if (st->open && !st->failed)
		outstream_write(&st->s, p, n);
}

/* Render t into x's staged file; x->staged, or x->unchanged when the file
 * at the path already holds exactly those bytes.  0 or -1 (nothing left
 * behind). */
static int
render_streamed(struct output *x, const struct tpl *t, const struct tval *root,
                caffeopt_error *err)
{
	struct streamed st;
	struct stat sb;
	int rc = -1;

	memset(&st, 0, sizeof st);
	st.x = x;
	if (!(st.cmp = malloc(CMP_PIECE)))
		return caffeopt_fail(err, NULL, 0, 0, "out of memory");
	st.fd = open(x->path, O_RDONLY | O_CLOEXEC);
	if (st.fd >= 0 && (fstat(st.fd, &sb) < 0 || !S_ISREG(sb.st_mode))) {
		close(st.fd);
		st.fd = -1;
	}
	if (st.fd >= 0)
		st.size = (uint64_t)sb.st_size;
	x->buf.sink = stream_sink;
	x->buf.arg = &st;
	if (tpl_render(t, root, &x->buf, err) < 0)
		goto out;
	if (!st.open && !st.failed && st.fd >= 0 && st.at == st.size) {
		x->unchanged = 1;
		rc = 0;
		goto out;
	}
	if (!st.open && !st.failed)
		stream_open(&st);  /* the old file is longer, or there is none */
	if (st.failed) {
		*err = st.err;
		goto out;
	}
	st.open = 0;
	if (file_stage_close(&st.s, err) < 0)
		goto out;
	x->staged = 1;
	rc = 0;
out:
	if (st.open)
		file_stage_discard(&st.s);
	x->buf.sink = NULL;
	x->buf.arg = NULL;
	if (st.fd >= 0)
		close(st.fd);
	free(st.cmp);
	return rc;
}

/* The writer thread: stages the outputs whose bytes are known before
 * rendering (the model files, the weight pool) while the main thread
 * renders the templates, which on a large model is most of the run. */
struct writer {
	struct run *r;
	int rc;
	caffeopt_error err;
	pthread_t thread;
	int running;
};

static void *
writer_main(void *arg)
{
	struct writer *w = arg;
	size_t i;

	for (i = 0; i < w->r->nout && w->rc == 0; i++)
		if (w->r->out[i].early)
			w->rc = stage_output(&w->r->out[i], &w->err);
	return NULL;
}

/* Stage the early outputs: on the writer thread, or here when there is
 * little to write or no thread to be had.  0 or -1. */
static int
writer_start(struct writer *w, struct run *r, caffeopt_error *err)
{
	size_t i, bytes = 0;

	memset(w, 0, sizeof *w);
	w->r = r;
	for (i = 0; i < r->nout; i++)
		if (r->out[i].early)
			bytes += r->out[i].len;
	if (bytes >= BIG_MIN && pthread_create(&w->thread, NULL, writer_main, w) == 0) {
		w->running = 1;
		return 0;
	}
	writer_main(w);
	if (w->rc < 0)
		*err = w->err;
	return w->rc;
}

/* Wait for the writer; 0, or -1 with its error in err. */
static int
writer_join(struct writer *w, caffeopt_error *err)
{
	if (!w->running)
		return w->rc;
	pthread_join(w->thread, NULL);
	w->running = 0;
	if (w->rc < 0 && err)
		*err = w->err;
	return w->rc;
}

static struct output *
add_output(struct run *r, const char *dir, const char *file)
{
	struct output *o = &r->out[r->nout];

	memset(o, 0, sizeof *o);
	if (!(o->path = dir ? join(dir, file) : strdup(file)))
		return NULL;
	r->nout++;
	return o;
}

static char *
file_name(const char *sym, const char *ext)
{
	char *p = malloc(strlen(sym) + strlen(ext) + 1);

	if (p) {
		strcpy(p, sym);
		strcat(p, ext);
	}
	return p;
}

/* The template values of the run (mode, format, names, data). */
static int
fill_values(struct tdata *d, caffeopt_model *m, const struct embed_options *o, const char *sym,
            char *const *names, unsigned long align, const char *text, size_t tlen,
            const uint8_t *bin, size_t blen, struct embed_pool *pl, struct embed_net *net,
            caffeopt_error *err)
{
	struct tval *root = tdata_root(d);

	OOM(tv_str(d, tv_add(d, root, "version"), caffeopt_version()));
	OOM(tv_str(d, tv_add(d, root, "name"), o->name));
	OOM(tv_str(d, tv_add(d, root, "sym"), sym));
	OOM(tv_str(d, tv_add(d, root, "mode"), mode_names[o->mode]));
	OOM(tv_str(d, tv_add(d, root, "format"), format_names[o->format]));
	OOM(tv_int(tv_add(d, root, "align"), (long long)align));
	OOM(tv_str(d, tv_add(d, root, "section"), o->section ? o->section : ""));
	OOM(tv_str(d, tv_add(d, root, "net_name"), m->net && m->net->name ? m->net->name : ""));
	OOM(tv_str(d, tv_add(d, root, "header"), names[0]));
	OOM(tv_str(d, tv_add(d, root, "source"), names[1]));
	OOM(tv_bytes(tv_add(d, root, "prototxt"), text, tlen));
	OOM(tv_int(tv_add(d, root, "prototxt_size"), (long long)tlen));
	OOM(tv_str(d, tv_add(d, root, "prototxt_file"), names[3]));
	OOM(tv_bytes(tv_add(d, root, "caffemodel"), bin, blen));
	OOM(tv_int(tv_add(d, root, "caffemodel_size"), (long long)blen));
	OOM(tv_str(d, tv_add(d, root, "caffemodel_file"), names[4]));
	if (o->mode == EMBED_WEIGHTS && fill_weights(d, root, m, pl, err) < 0)
		return -1;
	if (o->mode == EMBED_NET && embed_net_fill(d, root, m, pl, net, err) < 0)
		return -1;
	if (o->mode != EMBED_BLOB) {
		OOM(tv_bytes(tv_add(d, root, "pool"), pl->bytes, pl->floats * 4));
		OOM(tv_int(tv_add(d, root, "pool_floats"), (long long)pl->floats));
		OOM(tv_int(tv_add(d, root, "pool_size"), (long long)pl->floats * 4));
		OOM(tv_str(d, tv_add(d, root, "pool_file"), names[5]));
	}
	return 0;
oom:
	return caffeopt_fail(err, NULL, 0, 0, "out of memory");
}

/* A guess at the size of what model.c.in renders, so the text goes into one
 * buffer taken once (and backed by huge pages) instead of one grown by
 * doubling: the literal format writes at most 4 bytes per data byte, the
 * array format about 5 (hexbytes, floats) or 8 (chars).  Too little only
 * costs a realloc; too much, untouched address space. */
static size_t
render_guess(const struct embed_options *o, size_t tlen, size_t blen, size_t pool)
{
	size_t data = pool, k;

	if (o->mode == EMBED_BLOB)
		data = blen + tlen;
	if (o->format == EMBED_INCBIN)
		return 0;
	k = o->format == EMBED_LITERAL ? 4 : 6;
	if (data > (SIZE_MAX - (1 << 20)) / 8)
		return 0;
	return data * k + (o->format == EMBED_ARRAY ? tlen * 2 : 0) + (1 << 20);
}

/* The number of floats and of blobs in m's weights: the pool's size. */
static void
count_weights(const caffeopt_model *m, size_t *floats, size_t *nblobs)
{
	size_t i, k;

	*floats = *nblobs = 0;
	for (i = 0; i < m->nlayers; i++)
		for (k = 0; k < m->layers[i].nblobs; k++) {
			*floats += m->layers[i].blobs[k].count;
			(*nblobs)++;
		}
}

int
embed_write(caffeopt_model *m, const struct embed_options *o, struct embed_result *res,
            caffeopt_error *err)
{
	struct run r = {0};
	struct tdata *d = NULL;
	struct embed_pool pl = {0};
	struct embed_net net = {0};
	struct outfile staged[MAX_OUT];
	struct writer w = {0};
	struct output *x;
	char *canon[MAX_OUT] = {0};
	size_t nstaged = 0, ndedup, i, j, tlen = 0, blen = 0;
	unsigned long align = o->align ? o->align : 16;
	char *sym = NULL, *text = NULL, *names[6] = {0};
	uint8_t *bin = NULL;
	int rc = -1;
	size_t made_dir = 0;
	struct embed_result dummy;

	if (!res)
		res = &dummy;
	memset(res, 0, sizeof *res);
	if (o->out_dir && (!o->name || !o->template_dir))
		return caffeopt_fail(err, NULL, 0, 0, "embed needs a name and a template folder");
	if (align > 4096 || (align & (align - 1)))
		return caffeopt_fail(err, NULL, 0, 0, "--align %lu is not a power of two up to 4096", align);
	if ((o->out_dir || o->out_caffemodel) && !m->has_weights)
		return caffeopt_fail(err, o->out_dir ? m->prototxt_path : o->out_caffemodel, 0, 0,
		                     o->out_dir ? "embedding needs the caffemodel's weights (-w)" :
		                     "no caffemodel was loaded, so none can be written");
	if (o->section && (!o->section[0] || strpbrk(o->section, "\"\\\n, \t")))
		return caffeopt_fail(err, NULL, 0, 0, "--section '%s' is not a plain section name", o->section);
	if (o->out_dir && !(sym = embed_symbol(o->name, err)))
		return -1;
	if ((o->out_dir || o->out_prototxt) && !(text = prototxt_encode(m, &tlen, err)))
		goto out;
	if ((o->out_dir || o->out_caffemodel) && !(bin = caffemodel_encode(m, o->keep_layer_params, &blen, err)))
		goto out;

	/* The outputs, in commit order: data, sources, header, depfile, stamp. */
	if (o->out_dir) {
		static const char *const ext[] = {".h", ".c", ".S", ".prototxt", ".caffemodel", ".weights"};
		if (o->mode != EMBED_BLOB && align < 4)
			align = 4;  /* floats: the C type's own alignment is the least */
		pl.align_floats = align / 4 ? align / 4 : 1;
		if (o->mode != EMBED_BLOB) {
			size_t floats, nblobs;
			count_weights(m, &floats, &nblobs);
			if (pool_reserve(&pl, floats, nblobs) < 0)
				goto oom;
		}
		for (i = 0; i < 6; i++)
			OOM(names[i] = file_name(sym, ext[i]));
		if (!(d = tdata_new()))
			goto oom;
		if (fill_values(d, m, o, sym, names, align, text, tlen, bin, blen, &pl, &net, err) < 0)
			goto out;
		OOM(x = add_output(&r, o->out_dir, names[3]));
		x->data = text;
		x->len = tlen;
		OOM(x = add_output(&r, o->out_dir, names[4]));
		x->data = bin;
		x->len = blen;
		if (o->format == EMBED_INCBIN && o->mode != EMBED_BLOB) {
			OOM(x = add_output(&r, o->out_dir, names[5]));
			x->data = pl.bytes ? (const void *)pl.bytes : "";
			x->len = pl.floats * 4;
		}
	}
	if (o->out_prototxt) {
		OOM(x = add_output(&r, NULL, o->out_prototxt));
		x->data = text;
		x->len = tlen;
	}
	if (o->out_caffemodel) {
		OOM(x = add_output(&r, NULL, o->out_caffemodel));
		x->data = bin;
		x->len = blen;
	}
	if (o->out_dir) {
		if (o->format != EMBED_INCBIN || o->mode != EMBED_BLOB) {
			OOM(x = add_output(&r, o->out_dir, names[1]));
			x->tpl = "model.c.in";
		}
		if (o->format == EMBED_INCBIN) {
			OOM(x = add_output(&r, o->out_dir, names[2]));
			x->tpl = "model.S.in";
		}
		OOM(x = add_output(&r, o->out_dir, names[0]));
		x->tpl = "model.h.in";
	}
	/* -o/-W may name the files out_dir gets anyway: those are written once.
	 * A data output that shares its file with no other is staged now, on
	 * the writer thread, while the templates render. */
	ndedup = r.nout;
	for (i = 0; i < ndedup; i++)
		OOM(canon[i] = canonical(r.out[i].path));
	for (i = 0; i < ndedup; i++) {
		int shared = 0;
		for (j = 0; j < ndedup; j++)
			shared |= j != i && strcmp(canon[i], canon[j]) == 0;
		r.out[i].early = !r.out[i].tpl && !shared;
		/* A large text is rendered into its file; one that shares its path
		 * must be compared with the other in memory. */
		r.out[i].stream = r.out[i].tpl && !shared && strcmp(r.out[i].tpl, "model.c.in") == 0 &&
		                  render_guess(o, tlen, blen, pl.floats * 4) >= BIG_MIN;
	}
	if (o->out_dir && make_dirs(o->out_dir, &made_dir, err) < 0)
		goto out;
	if (writer_start(&w, &r, err) < 0)
		goto out;
	/* Render every template. */
	for (i = 0; i < r.nout; i++) {
		struct tpl *t;
		char *path;
		size_t guess;
		if (!r.out[i].tpl)
			continue;
		OOM(path = join(o->template_dir, r.out[i].tpl));
		r.reads[r.nreads++] = path;
		if (!(t = tpl_load(path, err)))
			goto out;
		if (r.out[i].stream) {
			int failed = render_streamed(&r.out[i], t, tdata_root(d), err) < 0;
			tpl_free(t);
			if (failed)
				goto out;
			continue;  /* no data: staged, or unchanged */
		}
		guess = strcmp(r.out[i].tpl, "model.c.in") == 0 ? render_guess(o, tlen, blen, pl.floats * 4) : 0;
		if (guess >= BIG_MIN && (r.out[i].buf.p = big_alloc(guess)))
			r.out[i].buf.cap = guess;
		if (tpl_render(t, tdata_root(d), &r.out[i].buf, err) < 0) {
			tpl_free(t);
			goto out;
		}
		tpl_free(t);
		r.out[i].data = r.out[i].buf.p ? r.out[i].buf.p : "";
		r.out[i].len = r.out[i].buf.len;
	}
	for (i = 0; i < ndedup; i++)
		for (j = i + 1; j < ndedup; j++) {
			if (strcmp(canon[i], canon[j]) != 0 || !r.out[j].data)
				continue;
			if (r.out[i].len != r.out[j].len || memcmp(r.out[i].data, r.out[j].data, r.out[i].len)) {
				caffeopt_fail(err, r.out[j].path, 0, 0, "two different outputs would be written to this file");
				goto out;
			}
			r.out[j].data = NULL;  /* written as out[i] */
		}
	if (o->depfile) {
		size_t nout = r.nout;
		OOM(x = add_output(&r, NULL, o->depfile));
		if (o->stamp) {
			make_path(&x->buf, o->stamp);
		} else {
			for (i = 0; i < nout; i++) {
				if (i)
					tbuf_put(&x->buf, " \\\n ", 4);
				make_path(&x->buf, r.out[i].path);
			}
		}
		tbuf_put(&x->buf, ":", 1);
		for (i = 0; i < o->ninputs + r.nreads; i++) {
			tbuf_put(&x->buf, " \\\n ", 4);
			make_path(&x->buf, i < o->ninputs ? o->inputs[i] : r.reads[i - o->ninputs]);
		}
		tbuf_put(&x->buf, "\n", 1);
		/* Like gcc -MP: a rule per input, so a deleted one is no error. */
		for (i = 0; i < o->ninputs + r.nreads; i++) {
			tbuf_put(&x->buf, "\n", 1);
			make_path(&x->buf, i < o->ninputs ? o->inputs[i] : r.reads[i - o->ninputs]);
			tbuf_put(&x->buf, ":\n", 2);
		}
		if (x->buf.oom)
			goto oom;
		x->data = x->buf.p;
		x->len = x->buf.len;
	}
	if (o->stamp) {
		OOM(x = add_output(&r, NULL, o->stamp));
		x->data = "caffeopt stamp\n";
		x->len = strlen(x->data);
		x->always = 1;
	}
	for (i = 0; i < r.nout; i++)
		if (r.out[i].data && !r.out[i].early && stage_output(&r.out[i], err) < 0)
			goto out;
	if (writer_join(&w, err) < 0)
		goto out;
	/* Commit in output order: file_commit renames staged[0] last, so the
	 * outputs go in backwards and the stamp, the last output and what a
	 * build checks, is renamed after every other one. */
	for (i = r.nout; i-- > 0;) {
		if (r.out[i].staged) {
			staged[nstaged++] = r.out[i].file;
			r.out[i].staged = 0;
			res->written++;
		} else if (r.out[i].unchanged) {
			res->unchanged++;
		}
	}
	rc = file_commit(staged, nstaged, err);
	nstaged = 0;
	goto out;
oom:
	caffeopt_fail(err, NULL, 0, 0, "out of memory");
out:
	writer_join(&w, NULL);
	for (i = 0; i < r.nout; i++)
		if (r.out[i].staged)
			file_abort(&r.out[i].file, 1);
	file_abort(staged, nstaged);
	if (rc < 0)
		unmake_dirs(o->out_dir, made_dir);
	if (rc < 0)
		res->written = res->unchanged = 0;
	for (i = 0; i < r.nout; i++) {
		free(r.out[i].path);
		tbuf_free(&r.out[i].buf);
	}
	for (i = 0; i < MAX_OUT; i++)
		free(canon[i]);
	for (i = 0; i < r.nreads; i++)
		free(r.reads[i]);
	for (i = 0; i < 6; i++)
		free(names[i]);
	embed_net_free(&net);
	tdata_free(d);
	free(pl.bytes);
	free(text);
	free(bin);
	free(sym);
	return rc;
}
