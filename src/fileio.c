/* fileio.c - whole-file reads and atomic writes (temporary file + rename). */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"

char *
file_read(const char *path, size_t *len, caffeopt_error *err)
{
	int fd = open(path, O_RDONLY);
	struct stat st;
	char *buf;
	size_t got = 0;

	if (fd < 0) {
		caffeopt_fail(err, path, 0, 0, "cannot open: %s", strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		caffeopt_fail(err, path, 0, 0, "not a regular file");
		close(fd);
		return NULL;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		caffeopt_fail(err, path, 0, 0, "out of memory reading %lld bytes",
		              (long long)st.st_size);
		close(fd);
		return NULL;
	}
	while (got < (size_t)st.st_size) {
		ssize_t r = read(fd, buf + got, (size_t)st.st_size - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			caffeopt_fail(err, path, 0, 0, "read failed: %s",
			              r < 0 ? strerror(errno) : "file shrank");
			free(buf);
			close(fd);
			return NULL;
		}
		got += (size_t)r;
	}
	close(fd);
	buf[got] = '\0';
	*len = got;
	return buf;
}

/* The process umask, read without changing it for long. */
static mode_t
umask_get(void)
{
	mode_t m = umask(022);
	umask(m);
	return m;
}

static int
write_all(int fd, const char *p, size_t n)
{
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
file_stage(struct outfile *o, const char *path, const void *data, size_t len,
           caffeopt_error *err)
{
	size_t n = strlen(path);
	char *tmp = malloc(n + sizeof ".tmp-XXXXXX");
	int fd;

	o->path = NULL;
	o->tmp = NULL;
	if (!tmp)
		return caffeopt_fail(err, path, 0, 0, "out of memory");
	memcpy(tmp, path, n);
	memcpy(tmp + n, ".tmp-XXXXXX", sizeof ".tmp-XXXXXX");
	fd = mkstemp(tmp);
	if (fd < 0) {
		caffeopt_fail(err, path, 0, 0, "cannot create temporary file: %s",
		              strerror(errno));
		free(tmp);
		return -1;
	}
	/* mkstemp makes 0600; outputs are ordinary files. */
	fchmod(fd, 0644 & ~umask_get());
	if (write_all(fd, data, len) < 0 || fsync(fd) < 0) {
		caffeopt_fail(err, path, 0, 0, "write failed: %s", strerror(errno));
		close(fd);
		unlink(tmp);
		free(tmp);
		return -1;
	}
	if (close(fd) < 0) {
		caffeopt_fail(err, path, 0, 0, "write failed: %s", strerror(errno));
		unlink(tmp);
		free(tmp);
		return -1;
	}
	o->path = strdup(path);
	o->tmp = tmp;
	if (!o->path) {
		unlink(tmp);
		free(tmp);
		o->tmp = NULL;
		return caffeopt_fail(err, path, 0, 0, "out of memory");
	}
	return 0;
}

int
file_commit(struct outfile *o, size_t n, caffeopt_error *err)
{
	size_t i;

	for (i = 0; i < n; i++) {
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
