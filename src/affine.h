/* affine.h - the per-channel affine map of BatchNorm, Scale, Bias and
 * Power layers at TEST, shared by fold-affine and merge-affine. */
#ifndef CAFFEOPT_AFFINE_H
#define CAFFEOPT_AFFINE_H

#include <stddef.h>
#include "model.h"

/* y[c] = a[c] * x[c] + b[c] over axis 1; n == 1 is a scalar map that
 * applies to every channel. */
struct affine {
	size_t n;
	double *a, *b;       /* n each, malloc'd */
};

/* The affine map of layer i of m: BatchNorm with global statistics, Scale
 * or Bias with one bottom that is per-channel on axis 1 or scalar, Power
 * with power 1.  Returns 1 with *f filled (free with affine_free); 0 when
 * the layer is not such a layer, with why[] saying why when it is one of
 * these kinds but cannot be used (why[0] == 0 when there is nothing worth
 * reporting: another kind, a two-bottom Scale, a Power with power != 1);
 * -1 when out of memory. */
int affine_of(const caffeopt_model *m, size_t i, struct affine *f, char *why, size_t nwhy);

/* acc = g applied after acc; a scalar side broadcasts.  0, 1 when both
 * are per-channel with different channel counts (acc unchanged), -1 when
 * out of memory. */
int affine_then(struct affine *acc, const struct affine *g);

/* 1 when j is one of chain[0..n). */
int affine_chain_has(const int *chain, int n, int j);

/* The names of layers chain[0..n) of m, joined by ", " into buf (cut
 * with "..." when it does not fit). */
void affine_chain_names(char *buf, size_t size, const caffeopt_model *m, const int *chain, int n);

/* 1 when layer l is of a kind affine_of may accept. */
int affine_kind(const Caffe__LayerParameter *l);

void affine_free(struct affine *f);

#endif
