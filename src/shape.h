/* shape.h - blob shapes as Caffe's Reshape() computes them.
 *
 * shape_infer walks a graph in layer order and gives every version the
 * shape Caffe would give it: Input shapes and the net-level input fields
 * to start, then each layer kind's own rule (Caffe's ceil rule for
 * Pooling, 0/-1 in Reshape, ...).  A shape caffeopt cannot know (data
 * layers, unknown kinds, data-dependent outputs such as DetectionOutput)
 * is marked unknown and so is everything computed from it; that is not an
 * error.  Geometry Caffe would reject (a kernel wider than the padded
 * input, channels not divisible by group, mismatched Eltwise or Concat
 * inputs, a Reshape that changes the count, a blob over 2^31-1 values) is
 * an error naming the layer.
 */
#ifndef CAFFEOPT_SHAPE_H
#define CAFFEOPT_SHAPE_H

#include <stddef.h>
#include <stdint.h>

#include "graph.h"

struct shape {
	int known;                     /* 0: caffeopt cannot tell */
	int ndim;                      /* 0 is a scalar (losses) */
	int64_t d[CAFFEOPT_MAX_DIMS];
};

/* The shape of every version of g: a malloc'd array of g->nver (free it).
 * NULL with err naming the layer on geometry Caffe would reject, or on
 * running out of memory. */
struct shape *shape_infer(const struct graph *g, caffeopt_error *err);

/* The shapes of the weight blobs layer `layer` of g expects given the
 * inferred shapes of its bottoms, into out[0..max).  Returns how many
 * blobs the layer has (as kind_weight_blobs), each out[k] marked unknown
 * when its inputs are; -1 when the kind's blobs are not known to caffeopt
 * or there are more than max. */
int shape_weights(const struct graph *g, const struct shape *shapes, int layer,
                  struct shape *out, int max);

/* The checks a loaded model passes before anything rewrites it: 0, or -1
 * with err naming the layer when its geometry is one Caffe's Reshape would
 * reject (shape_infer), a bound weight blob's dims differ from those the
 * layer's input shapes give (leading 1s aside, as Caffe's legacy blob
 * check allows), a weight is NaN or infinite, or a float parameter is NaN
 * (BatchNorm eps, Power scale, ...).  Layers whose shapes
 * caffeopt cannot tell are not shape-checked. */
int shape_check(caffeopt_model *m, caffeopt_error *err);

/* The product of s's dims; -1 when s is unknown or the product overflows
 * int64. */
int64_t shape_count(const struct shape *s);

/* 1 when a and b are both known and have the same dims. */
int shape_equal(const struct shape *a, const struct shape *b);

/* s as "1x3x224x224", "scalar" or "?" into buf of size n; returns buf. */
char *shape_format(const struct shape *s, char *buf, size_t n);

#endif
