/* plan.c - cr_plan: one arena for every activation and scratch space.
 * Storage buffers are found from lifetimes in layer order (views share,
 * in-place capable layers write over a bottom that dies there), then placed
 * greedily by size, largest first, each in the tightest gap left by the
 * buffers it lives beside.
 * Requires: layers in execution order; blob counts filled.  Keeps: the
 * tables' shapes.  Fills: blob offsets, layer scratch offsets. */
#include <stdint.h>
#include <stdlib.h>

#include "kernels.h"

struct buf {
	uint64_t size;        /* floats, rounded up to CR_ALIGN */
	int32_t start, end;   /* first and last time it is alive (inclusive) */
	uint64_t offset;
};

static uint64_t
round_up(uint64_t n)
{
	return (n + CR_ALIGN - 1) / CR_ALIGN * CR_ALIGN;
}

/* Buffers in placing order: by size, largest first, then by birth. */
struct key {
	uint64_t size;
	int32_t start;
	uint32_t id;
};

struct span {
	uint64_t offset, size;
};

static int
by_size(const void *a, const void *b)
{
	const struct key *x = a, *y = b;

	if (x->size != y->size)
		return x->size > y->size ? -1 : 1;
	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return x->id < y->id ? -1 : x->id > y->id;
}

static int
by_offset(const void *a, const void *b)
{
	const struct span *x = a, *y = b;

	return x->offset < y->offset ? -1 : x->offset > y->offset;
}

/* Place every buffer; returns the arena size in floats. */
static uint64_t
place(struct buf *buf, uint32_t nbuf, struct key *order, struct span *near)
{
	uint64_t arena = 0;
	uint32_t i, j, k, nnear;

	for (i = 0; i < nbuf; i++) {
		order[i].size = buf[i].size;
		order[i].start = buf[i].start;
		order[i].id = i;
	}
	qsort(order, nbuf, sizeof *order, by_size);
	for (i = 0; i < nbuf; i++) {
		struct buf *b = &buf[order[i].id];
		uint64_t prev = 0, best = UINT64_MAX, at = UINT64_MAX;
		nnear = 0;
		for (j = 0; j < i; j++) {
			struct buf *o = &buf[order[j].id];
			if (o->start <= b->end && b->start <= o->end && o->size > 0) {
				near[nnear].offset = o->offset;
				near[nnear].size = o->size;
				nnear++;
			}
		}
		qsort(near, nnear, sizeof *near, by_offset);
		for (k = 0; k < nnear; k++) {
			if (near[k].offset > prev && near[k].offset - prev >= b->size &&
			    near[k].offset - prev < best) {
				best = near[k].offset - prev;
				at = prev;
			}
			if (near[k].offset + near[k].size > prev)
				prev = near[k].offset + near[k].size;
		}
		b->offset = at != UINT64_MAX ? at : prev;
		if (b->offset + b->size > arena)
			arena = b->offset + b->size;
	}
	return arena;
}

int
cr_plan(cr_layer *layer, uint32_t nlayer, cr_blob *blob, uint32_t nblob,
        const uint32_t *input, uint32_t ninput, const uint32_t *output, uint32_t noutput,
        uint32_t *arena_floats)
{
	/* Times: 0 is before the first layer (inputs), layer i runs at i + 1,
	 * nlayer + 1 is after the last (outputs). */
	int32_t *def = malloc((nblob + 1) * sizeof *def);
	int32_t *last = malloc((nblob + 1) * sizeof *last);
	uint32_t *bufof = malloc((nblob + 1) * sizeof *bufof);
	struct buf *buf = calloc((size_t)nblob + nlayer + 1, sizeof *buf);
	struct key *order = malloc(((size_t)nblob + nlayer + 1) * sizeof *order);
	struct span *near = malloc(((size_t)nblob + nlayer + 1) * sizeof *near);
	uint32_t nbuf = 0, i, j, b;
	uint64_t arena;
	int rc = -1;

	if (!def || !last || !bufof || !buf || !order || !near)
		goto out;
	for (b = 0; b < nblob; b++) {
		def[b] = 0;
		last[b] = -1;
		bufof[b] = UINT32_MAX;
	}
	for (i = 0; i < nlayer; i++) {
		for (j = 0; j < layer[i].nbottom; j++)
			last[layer[i].bottom[j]] = (int32_t)i + 1;
		for (j = 0; j < layer[i].ntop; j++)
			def[layer[i].top[j]] = (int32_t)i + 1;
	}
	for (i = 0; i < noutput; i++)
		last[output[i]] = (int32_t)nlayer + 1;
	for (b = 0; b < nblob; b++)
		if (last[b] < def[b])
			last[b] = def[b];   /* made, never read: alive while made */
	for (i = 0; i < ninput; i++) {
		struct buf *nb = &buf[nbuf];
		b = input[i];
		nb->size = round_up(blob[b].count);
		nb->start = 0;
		nb->end = last[b];
		bufof[b] = nbuf++;
	}
	for (i = 0; i < nlayer; i++) {
		cr_layer *l = &layer[i];
		int flags = cr_op_flags(l->op);
		int32_t t = (int32_t)i + 1;
		for (j = 0; j < l->ntop; j++) {
			uint32_t top = l->top[j], share = UINT32_MAX;
			if (l->nbottom > 0 && bufof[l->bottom[0]] != UINT32_MAX) {
				uint32_t bb = bufof[l->bottom[0]], k;
				if (flags & CR_VIEW)
					share = bb;
				else if ((flags & CR_INPLACE) && j == 0 &&
				         blob[top].count == blob[l->bottom[0]].count && buf[bb].end == t) {
					share = bb;
					for (k = 1; k < l->nbottom; k++)
						if (bufof[l->bottom[k]] == bb)
							share = UINT32_MAX;
				}
			}
			if (share != UINT32_MAX) {
				bufof[top] = share;
				if (last[top] > buf[share].end)
					buf[share].end = last[top];
				if (round_up(blob[top].count) > buf[share].size)
					buf[share].size = round_up(blob[top].count);
				continue;
			}
			buf[nbuf].size = round_up(blob[top].count);
			buf[nbuf].start = t;
			buf[nbuf].end = last[top];
			bufof[top] = nbuf++;
		}
	}
	/* Blobs no layer makes and no input names (a malformed table) still
	 * get storage of their own, alive throughout. */
	for (b = 0; b < nblob; b++)
		if (bufof[b] == UINT32_MAX) {
			buf[nbuf].size = round_up(blob[b].count);
			buf[nbuf].start = 0;
			buf[nbuf].end = (int32_t)nlayer + 1;
			bufof[b] = nbuf++;
		}
	/* Scratch spaces live while their layer runs. */
	{
		uint32_t first_scratch = nbuf;
		for (i = 0; i < nlayer; i++) {
			buf[nbuf].size = round_up(layer[i].nscratch);
			buf[nbuf].start = buf[nbuf].end = (int32_t)i + 1;
			nbuf++;
		}
		arena = place(buf, nbuf, order, near);
		if (arena > UINT32_MAX)
			goto out;
		for (b = 0; b < nblob; b++)
			blob[b].offset = (uint32_t)buf[bufof[b]].offset;
		for (i = 0; i < nlayer; i++)
			layer[i].scratch = layer[i].nscratch ? (uint32_t)buf[first_scratch + i].offset : 0;
	}
	*arena_floats = (uint32_t)arena;
	rc = 0;
out:
	free(def);
	free(last);
	free(bufof);
	free(buf);
	free(order);
	free(near);
	return rc;
}
