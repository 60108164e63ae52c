/* meanfile.h - a mean image as one value per channel, for fold-input.
 *
 * Reads a NumPy .npy array or a Caffe .binaryproto (a BlobProto, the
 * format compute_image_mean writes), told apart by the .npy magic, not by
 * the name.  Accepted shapes: C (already per channel), C x H x W, and
 * 1 x C x H x W; a legacy BlobProto gives num x channels x height x width
 * with num 1.  Each channel's mean is the average over H and W; since a
 * folded mean is one number per channel, max_dev says how far the image
 * strays from that (0 when it is constant per channel), so the caller can
 * warn.
 */
#ifndef CAFFEOPT_MEANFILE_H
#define CAFFEOPT_MEANFILE_H

#include <stddef.h>

#include "caffeopt/error.h"

struct meanfile {
	size_t channels;
	double *mean;        /* channels values, malloc'd; Caffe (BGR) order as stored */
	size_t height, width; /* what was averaged over; 1 x 1 for a vector */
	double max_dev;      /* largest |x - mean[c]| over the image */
	int constant;        /* max_dev is within float rounding of 0 */
};

/* Read the mean in path into mf (all of mf is overwritten).  0, or -1 with
 * err naming the file; on failure mf owns nothing. */
int meanfile_read(struct meanfile *mf, const char *path, caffeopt_error *err);

/* Free what mf owns and reset it. */
void meanfile_free(struct meanfile *mf);

#endif
