/* fileio.c - whole-file reads, mapped reads, large buffers and atomic
 * writes (temporary file + fsync + rename). */
#define _GNU_SOURCE  /* MAP_ANONYMOUS, MADV_HUGEPAGE, sync_file_range */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"

/* Open path for reading and check that it is a regular file.  The fd, or
 * -1 with err filled. */
static int
open_regular(const char *path, struct stat *st, caffeopt_error *err)
{
	int fd = open(path, O_RDONLY);

	if (fd < 0) {
		caffeopt_fail(err, path, 0, 0, "cannot open: %s", strerror(errno));
		return -1;
	}
	if (fstat(fd, st) < 0 || !S_ISREG(st->st_mode)) {
		caffeopt_fail(err, path, 0, 0, "not a regular file");
		close(fd);
		return -1;
	}
	return fd;
}

/* Read exactly n bytes at off.  0, or -1 with errno set (0: file shrank). */
static int
pread_all(int fd, void *dst, size_t n, uint64_t off)
{
	char *p = dst;

	while (n > 0) {
		ssize_t r = pread(fd, p, n, (off_t)off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			if (r == 0)
				errno = 0;
			return -1;
		}
		p += r;
		n -= (size_t)r;
		off += (uint64_t)r;
	}
	return 0;
}

char *
file_read(const char *path, size_t *len, caffeopt_error *err)
{
	struct stat st;
	int fd = open_regular(path, &st, err);
	char *buf;

	if (fd < 0)
		return NULL;
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		caffeopt_fail(err, path, 0, 0, "out of memory reading %lld bytes",
		              (long long)st.st_size);
		close(fd);
		return NULL;
	}
	if (pread_all(fd, buf, (size_t)st.st_size, 0) < 0) {
		caffeopt_fail(err, path, 0, 0, "read failed: %s",
		              errno ? strerror(errno) : "file shrank");
		free(buf);
		close(fd);
		return NULL;
	}
	close(fd);
	buf[st.st_size] = '\0';
	*len = (size_t)st.st_size;
	return buf;
}

int
file_map(struct filemap *f, const char *path, caffeopt_error *err)
{
	struct stat st;
	void *p;

	f->p = NULL;
	f->len = 0;
	f->heap = 0;
	if ((f->fd = open_regular(path, &st, err)) < 0)
		return -1;
	f->len = (size_t)st.st_size;
	if (f->len == 0)
		return 0;
#if defined(POSIX_FADV_SEQUENTIAL)
	posix_fadvise(f->fd, 0, 0, POSIX_FADV_SEQUENTIAL);  /* advice: larger readahead */
#endif
	p = mmap(NULL, f->len, PROT_READ, MAP_PRIVATE, f->fd, 0);
	if (p != MAP_FAILED) {
		f->p = p;
		return 0;
	}
	/* A file system that cannot map: read it. */
	if (!(p = malloc(f->len))) {
		caffeopt_fail(err, path, 0, 0, "out of memory reading %zu bytes", f->len);
		close(f->fd);
		f->fd = -1;
		return -1;
	}
	if (pread_all(f->fd, p, f->len, 0) < 0) {
		caffeopt_fail(err, path, 0, 0, "read failed: %s", errno ? strerror(errno) : "file shrank");
		free(p);
		close(f->fd);
		f->fd = -1;
		return -1;
	}
	f->p = p;
	f->heap = 1;
	return 0;
}

void
file_unmap(struct filemap *f)
{
	if (f->p && f->heap)
		free((void *)f->p);
	else if (f->p)
		munmap((void *)f->p, f->len);
	f->p = NULL;
	f->heap = 0;
}

int
file_pread(const struct filemap *f, uint64_t off, void *dst, size_t n, const char *path,
           caffeopt_error *err)
{
	if (pread_all(f->fd, dst, n, off) < 0)
		return caffeopt_fail(err, path, 0, 0, "read failed: %s",
		                     errno ? strerror(errno) : "file shrank");
	return 0;
}

void
file_close(struct filemap *f)
{
	file_unmap(f);
	if (f->fd >= 0)
		close(f->fd);
	f->fd = -1;
}

/* 2 MiB: the x86-64 and arm64 huge page, the alignment THP needs. */
#define HUGE_ALIGN ((size_t)2 << 20)

void *
bigbuf_alloc(size_t n)
{
#if defined(MAP_ANONYMOUS)
	size_t len = (n + HUGE_ALIGN - 1) & ~(HUGE_ALIGN - 1), head;
	unsigned char *p, *a;

	if (n == 0 || len < n || len + HUGE_ALIGN < len)
		return NULL;
	/* Map one huge page more and trim, so the buffer starts on a huge page
	 * boundary: the kernel backs only aligned 2 MiB ranges by huge pages. */
	p = mmap(NULL, len + HUGE_ALIGN, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	a = (unsigned char *)(((uintptr_t)p + HUGE_ALIGN - 1) & ~(uintptr_t)(HUGE_ALIGN - 1));
	head = (size_t)(a - p);
	if (head)
		munmap(p, head);
	munmap(a + len, HUGE_ALIGN - head);
#if defined(MADV_HUGEPAGE)
	madvise(a, len, MADV_HUGEPAGE);  /* advice: failure only costs speed */
#endif
	return a;
#else
	return n ? calloc(1, n) : NULL;
#endif
}

void
bigbuf_free(void *p, size_t n)
{
	if (!p)
		return;
#if defined(MAP_ANONYMOUS)
	if (n) {
		munmap(p, (n + HUGE_ALIGN - 1) & ~(HUGE_ALIGN - 1));
		return;
	}
#endif
	free(p);
}

/* Whether outputs are fsynced before the rename (file_set_durable). */
static int durable = 1;

void
file_set_durable(int on)
{
	durable = on != 0;
}

/* The process umask.  umask() can only be read by setting it, so the
 * set-and-restore is serialized: two threads staging files at once (embed
 * does) must not read each other's 022. */
static mode_t
umask_get(void)
{
	static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	mode_t m;

	pthread_mutex_lock(&lock);
	m = umask(022);
	umask(m);
	pthread_mutex_unlock(&lock);
	return m;
}

static int
write_all(int fd, const void *data, size_t n)
{
	const char *p = data;

	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int
file_stage_open(struct outfile *o, struct outstream *s, const char *path, caffeopt_error *err)
{
	size_t n = strlen(path);
	const char *slash = strrchr(path, '/');
	size_t dir = slash ? (size_t)(slash - path) + 1 : 0;
	/* ".name.tmp-XXXXXX" beside the target: same file system, so rename is
	 * atomic; hidden, so a kill that leaves it behind does not leave a file
	 * a glob over outputs ("*.caffemodel") would pick up. */
	char *tmp = malloc(n + 1 + sizeof ".tmp-XXXXXX");

	memset(s, 0, sizeof *s);
	s->fd = -1;
	o->path = NULL;
	o->tmp = NULL;
	if (!tmp || !(s->buf = malloc(OUTSTREAM_BUF)) || !(o->path = strdup(path))) {
		free(tmp);
		free(s->buf);
		s->buf = NULL;
		return caffeopt_fail(err, path, 0, 0, "out of memory");
	}
	memcpy(tmp, path, dir);
	tmp[dir] = '.';
	memcpy(tmp + dir + 1, path + dir, n - dir);
	memcpy(tmp + n + 1, ".tmp-XXXXXX", sizeof ".tmp-XXXXXX");
	s->fd = mkstemp(tmp);
	if (s->fd < 0) {
		caffeopt_fail(err, path, 0, 0, "cannot create temporary file: %s",
		              strerror(errno));
		free(tmp);
		free(s->buf);
		s->buf = NULL;
		free(o->path);
		o->path = NULL;
		return -1;
	}
	/* mkstemp makes 0600; outputs are ordinary files. */
	fchmod(s->fd, 0644 & ~umask_get());
	o->tmp = tmp;
	s->o = o;
	return 0;
}

/* Start writeback of what was written since the last call, once enough has
 * gathered: the disk then works while we encode, and the fsync at the end
 * waits for the tail only.  Advice: an error shows again at fsync. */
static void
start_writeback(struct outstream *s)
{
#if defined(SYNC_FILE_RANGE_WRITE)
	if (durable && s->written - s->synced >= ((uint64_t)8 << 20)) {
		sync_file_range(s->fd, (off_t)s->synced, (off_t)(s->written - s->synced),
		                SYNC_FILE_RANGE_WRITE);
		s->synced = s->written;
	}
#else
	(void)s;
#endif
}

static void
out_raw(struct outstream *s, const void *p, size_t n)
{
	if (s->errnum || n == 0)
		return;
	if (write_all(s->fd, p, n) < 0) {
		s->errnum = errno;
		return;
	}
	s->written += n;
	start_writeback(s);
}

static void
out_flush(struct outstream *s)
{
	out_raw(s, s->buf, s->used);
	s->used = 0;
}

void
outstream_write(struct outstream *s, const void *p, size_t n)
{
	if (s->used + n <= OUTSTREAM_BUF) {
		memcpy(s->buf + s->used, p, n);
		s->used += n;
		return;
	}
	out_flush(s);
	if (n < OUTSTREAM_BUF / 2) {
		memcpy(s->buf, p, n);
		s->used = n;
	} else {
		out_raw(s, p, n);
	}
}

void
file_stage_discard(struct outstream *s)
{
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
	free(s->buf);
	s->buf = NULL;
	file_abort(s->o, 1);
}

int
file_stage_close(struct outstream *s, caffeopt_error *err)
{
	struct outfile *o = s->o;

	out_flush(s);
	/* fsync before the rename: a crash then leaves the old file or the
	 * complete new one, never a renamed empty file. */
	if (s->errnum || (durable && fsync(s->fd) < 0)) {
		caffeopt_fail(err, o->path, 0, 0, "write failed: %s", strerror(s->errnum ? s->errnum : errno));
		file_stage_discard(s);
		return -1;
	}
	if (close(s->fd) < 0) {
		s->fd = -1;
		caffeopt_fail(err, o->path, 0, 0, "write failed: %s", strerror(errno));
		file_stage_discard(s);
		return -1;
	}
	s->fd = -1;
	free(s->buf);
	s->buf = NULL;
	return 0;
}

int
file_stage(struct outfile *o, const char *path, const void *data, size_t len,
           caffeopt_error *err)
{
	struct outstream s;

	if (file_stage_open(o, &s, path, err) < 0)
		return -1;
	out_raw(&s, data, len);
	return file_stage_close(&s, err);
}

int
file_commit(struct outfile *o, size_t n, caffeopt_error *err)
{
	size_t i;

	/* Last first: two renames are never one step, and a kill between them
	 * leaves the outputs renamed so far new and the others old.  GNU Make
	 * 4.3 decides whether a grouped rule (`a b &: ...`) is out of date by
	 * its first target alone; renaming the first output (the one users
	 * name first, o[0]) last keeps it old until every other one is new. */
	for (i = n; i-- > 0;) {
		if (rename(o[i].tmp, o[i].path) < 0) {
			caffeopt_fail(err, o[i].path, 0, 0, "cannot rename into place: %s",
			              strerror(errno));
			file_abort(o, n);
			return -1;
		}
		free(o[i].tmp);
		o[i].tmp = NULL;
	}
	file_abort(o, n);
	return 0;
}

void
file_abort(struct outfile *o, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (o[i].tmp) {
			unlink(o[i].tmp);
			free(o[i].tmp);
			o[i].tmp = NULL;
		}
		free(o[i].path);
		o[i].path = NULL;
	}
}
