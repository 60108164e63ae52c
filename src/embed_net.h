/* embed_net.h - embed's `net` mode: the runtime's tables (runtime.h) as
 * template values.  Shared by embed.c and embed_net.c only. */
#ifndef CAFFEOPT_EMBED_NET_H
#define CAFFEOPT_EMBED_NET_H

#include <stddef.h>

#include "caffeopt/runtime.h"
#include "model.h"
#include "template.h"

/* The weights as one little-endian float32 pool, each entry starting at a
 * multiple of align_floats floats (zeros between). */
struct embed_pool {
	unsigned char *bytes;
	size_t floats, cap;        /* used and allocated, in floats */
	size_t align_floats;
};

/* Append count floats; *offset receives where they start.  0 or -1 (out of
 * memory). */
int embed_pool_add(struct embed_pool *pl, const float *data, size_t count, size_t *offset);

/* s with every byte outside [A-Za-z0-9_] made '_' (NULL: ""); malloc'd. */
char *embed_ident(const char *s);

/* A C name and what it came from, for embed_idents_unique. */
struct ident {
	const char *c;
	const char *orig;
};

/* Sort ids[0..n) and fail, naming both, when two what-s ("layer") give the
 * same C name.  0 or -1. */
int embed_idents_unique(struct ident *ids, size_t n, const char *what, caffeopt_error *err);

/* What net mode keeps alive until the outputs are written. */
struct embed_net {
	const cr_net *net;
};

/* Build m's runtime net and describe it under root (names in
 * templates/README.md), its weights appended to pl.  0 or -1. */
int embed_net_fill(struct tdata *d, struct tval *root, caffeopt_model *m, struct embed_pool *pl,
                   struct embed_net *en, caffeopt_error *err);

void embed_net_free(struct embed_net *en);

#endif
