/* npy.h - NumPy .npy arrays in and out, as float32.
 *
 * Reading takes format versions 1.0, 2.0 and 3.0 and dtypes bool ('|b1'),
 * integers ('i1' 'u1' 'i2' 'u2' 'i4' 'u4' 'i8' 'u8'), and floats ('f2' 'f4'
 * 'f8'), little- or big-endian; every value is converted to float (an 'f8'
 * beyond float range is an error, not an infinity).  A Fortran-order array
 * is transposed so that data is always in C order.  The header's claimed
 * size is checked against the file before anything is allocated, and the
 * file must end where the data does.
 *
 * Writing produces what numpy.save (numpy 1.24) writes for a float32 C-order
 * array, byte for byte: version 1.0, descr '<f4', the header dict in sorted
 * key order followed by numpy's growth spaces, padded with spaces and a
 * newline so that the data starts at a multiple of 64 bytes.
 */
#ifndef CAFFEOPT_NPY_H
#define CAFFEOPT_NPY_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "caffeopt/error.h"

#define NPY_MAX_DIMS 8

struct npy {
	int ndim;                      /* 0 for a scalar */
	int64_t shape[NPY_MAX_DIMS];   /* ndim of them, each >= 0 */
	size_t count;                  /* product of shape; 1 for a scalar */
	float *data;                   /* count values in C order; NULL if 0 */
};

/* Read the array in path into a (all of a is overwritten).  Returns 0, or -1
 * with err naming the file; on failure a owns nothing. */
int npy_read(struct npy *a, const char *path, caffeopt_error *err);

/* Free a's data and reset a to an empty array. */
void npy_free(struct npy *a);

/* The .npy bytes of a float32 array of ndim (0..NPY_MAX_DIMS) dims, in a
 * malloc'd buffer of *len bytes the caller frees.  data holds the product
 * of shape floats in C order (it may be NULL when that is 0).  Returns NULL
 * with err on bad shapes or no memory. */
unsigned char *npy_encode(const float *data, int ndim, const int64_t *shape,
                          size_t *len, caffeopt_error *err);

/* Write the same bytes to f; name is the file for messages.  f is left
 * open.  Returns 0 or -1. */
int npy_write_file(FILE *f, const char *name, const float *data, int ndim,
                   const int64_t *shape, caffeopt_error *err);

/* Create or truncate path and write the array there, not atomically (use
 * npy_encode with file_stage for that); a failed write removes path.
 * Returns 0 or -1. */
int npy_write(const char *path, const float *data, int ndim,
              const int64_t *shape, caffeopt_error *err);

#endif
