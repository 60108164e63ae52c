/* wstream.c - the values of a list of lazy blobs, in order and in pieces,
 * read ahead on a second thread: while the caller writes one piece, the
 * thread reads, checks and scales the next ones (wblob_read) into a ring
 * of buffers.  Reading and writing then overlap: on ResNet-152 (241 MB)
 * the write phase goes from about 0.10 s to 0.07 s on two cores.  Errors
 * come back with the piece they belong to, so the caller meets them in
 * the order a plain loop would. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"

/* Pieces of this many floats (256 KiB: reading, checking and scaling
 * one stays in a core's L2), NSLOT of them in flight. */
enum { PIECE = 1 << 16, NSLOT = 4 };

enum { EMPTY, FULL, FAILED };

struct wstream {
	const caffeopt_model *m;
	const struct wblob *const *blob;
	size_t nblob;
	float *buf[NSLOT];
	size_t len[NSLOT];
	int state[NSLOT];
	caffeopt_error err;    /* of the FAILED slot */
	int stop;              /* the caller is done: the thread ends */
	size_t take;           /* the slot the caller takes next */
	int held;              /* the caller holds the slot before take */
	size_t b, at;          /* the caller's position: blob, value */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_t th;
};

static void *
reader(void *arg)
{
	struct wstream *ws = arg;
	size_t i, at, n, slot = 0;

	for (i = 0; i < ws->nblob; i++)
		for (at = 0; at < ws->blob[i]->count; at += n) {
			caffeopt_error e = {0};
			int rc;

			n = ws->blob[i]->count - at < PIECE ? ws->blob[i]->count - at : PIECE;
			pthread_mutex_lock(&ws->mu);
			while (ws->state[slot] != EMPTY && !ws->stop)
				pthread_cond_wait(&ws->cv, &ws->mu);
			if (ws->stop) {
				pthread_mutex_unlock(&ws->mu);
				return NULL;
			}
			pthread_mutex_unlock(&ws->mu);
			rc = wblob_read(ws->m, ws->blob[i], at, n, ws->buf[slot], &e);
			pthread_mutex_lock(&ws->mu);
			ws->len[slot] = n;
			ws->state[slot] = rc < 0 ? FAILED : FULL;
			if (rc < 0)
				ws->err = e;
			pthread_cond_broadcast(&ws->cv);
			pthread_mutex_unlock(&ws->mu);
			if (rc < 0)
				return NULL;
			slot = (slot + 1) % NSLOT;
		}
	return NULL;
}

struct wstream *
wstream_start(const caffeopt_model *m, const struct wblob *const *blob, size_t nblob,
              caffeopt_error *err)
{
	struct wstream *ws = calloc(1, sizeof *ws);
	size_t i;

	if (!ws)
		goto oom;
	ws->m = m;
	ws->blob = blob;
	ws->nblob = nblob;
	for (i = 0; i < NSLOT; i++)
		if (!(ws->buf[i] = malloc(PIECE * sizeof(float))))
			goto oom;
	pthread_mutex_init(&ws->mu, NULL);
	pthread_cond_init(&ws->cv, NULL);
	if (pthread_create(&ws->th, NULL, reader, ws) != 0) {
		pthread_mutex_destroy(&ws->mu);
		pthread_cond_destroy(&ws->cv);
		for (i = 0; i < NSLOT; i++)
			free(ws->buf[i]);
		free(ws);
		caffeopt_fail(err, NULL, 0, 0, "cannot start the weight reader thread");
		return NULL;
	}
	return ws;
oom:
	if (ws)
		for (i = 0; i < NSLOT; i++)
			free(ws->buf[i]);
	free(ws);
	caffeopt_fail(err, NULL, 0, 0, "out of memory for the weight reader");
	return NULL;
}

const float *
wstream_next(struct wstream *ws, const struct wblob *w, size_t *n, caffeopt_error *err)
{
	size_t slot = ws->take;

	pthread_mutex_lock(&ws->mu);
	if (ws->held) {
		/* The previous piece is written: its slot is free again. */
		ws->state[(slot + NSLOT - 1) % NSLOT] = EMPTY;
		ws->held = 0;
		pthread_cond_broadcast(&ws->cv);
	}
	if (ws->b >= ws->nblob || ws->blob[ws->b] != w) {
		pthread_mutex_unlock(&ws->mu);
		caffeopt_fail(err, NULL, 0, 0, "internal error: lazy blobs written out of order");
		return NULL;
	}
	while (ws->state[slot] == EMPTY)
		pthread_cond_wait(&ws->cv, &ws->mu);
	if (ws->state[slot] == FAILED) {
		*err = ws->err;
		pthread_mutex_unlock(&ws->mu);
		return NULL;
	}
	ws->held = 1;
	pthread_mutex_unlock(&ws->mu);
	*n = ws->len[slot];
	ws->take = (slot + 1) % NSLOT;
	ws->at += *n;
	if (ws->at == w->count) {
		ws->b++;
		ws->at = 0;
	}
	return ws->buf[slot];
}

void
wstream_end(struct wstream *ws)
{
	size_t i;

	if (!ws)
		return;
	pthread_mutex_lock(&ws->mu);
	ws->stop = 1;
	pthread_cond_broadcast(&ws->cv);
	pthread_mutex_unlock(&ws->mu);
	pthread_join(ws->th, NULL);
	pthread_mutex_destroy(&ws->mu);
	pthread_cond_destroy(&ws->cv);
	for (i = 0; i < NSLOT; i++)
		free(ws->buf[i]);
	free(ws);
}
