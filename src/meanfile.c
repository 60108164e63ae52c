/* meanfile.c - a mean image (.npy or .binaryproto) as one value per
 * channel (see meanfile.h). */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "caffe.pb-c.h"
#include "fileio.h"
#include "meanfile.h"
#include "npy.h"

void
meanfile_free(struct meanfile *mf)
{
	free(mf->mean);
	memset(mf, 0, sizeof *mf);
}

/* Average count values (float or, when f is NULL, double) of shape dims
 * into mf, per channel.  0 or -1. */
static int
average(struct meanfile *mf, int ndim, const int64_t *dims, const float *f, const double *d,
        size_t count, const char *path, caffeopt_error *err)
{
	int64_t c, hw, k;
	double biggest = 0;
	int given = ndim;

	if (ndim == 4 && dims[0] == 1) {
		dims++;
		ndim--;
	}
	if (ndim == 1) {
		c = dims[0];
		mf->height = mf->width = 1;
	} else if (ndim == 3) {
		c = dims[0];
		/* Declared dims are the file's word: refuse a product that
		 * overflows before it is compared with the values present. */
		if (dims[1] <= 0 || dims[2] <= 0 || dims[1] > INT64_MAX / dims[2])
			return caffeopt_fail(err, path, 0, 0, "the mean's shape %lldx%lldx%lld is out of range",
			                     (long long)dims[0], (long long)dims[1], (long long)dims[2]);
		mf->height = (size_t)dims[1];
		mf->width = (size_t)dims[2];
	} else {
		return caffeopt_fail(err, path, 0, 0,
		                     "a mean must be C, C x H x W or 1 x C x H x W, this one has %d dims%s",
		                     given, given == 4 ? " and a batch of more than one" : "");
	}
	hw = (int64_t)(mf->height * mf->width);
	if (c <= 0 || hw <= 0 || (size_t)c > count / (size_t)hw || (size_t)(c * hw) != count)
		return caffeopt_fail(err, path, 0, 0, "the mean holds %zu values for %lld channels of %lld",
		                     count, (long long)c, (long long)hw);
	if (!(mf->mean = calloc((size_t)c, sizeof *mf->mean)))
		return caffeopt_fail(err, path, 0, 0, "out of memory");
	mf->channels = (size_t)c;
	for (k = 0; k < c * hw; k++) {
		double x = f ? f[k] : d[k];
		if (!isfinite(x)) {
			meanfile_free(mf);
			return caffeopt_fail(err, path, 0, 0, "the mean holds a value that is not finite");
		}
		mf->mean[k / hw] += x;
	}
	for (c = 0; c < (int64_t)mf->channels; c++) {
		mf->mean[c] /= (double)hw;
		if (fabs(mf->mean[c]) > biggest)
			biggest = fabs(mf->mean[c]);
	}
	for (k = 0; k < (int64_t)mf->channels * hw; k++) {
		double dev = fabs((f ? f[k] : d[k]) - mf->mean[k / hw]);
		if (dev > mf->max_dev)
			mf->max_dev = dev;
	}
	/* The values are floats: a constant image averages to itself within
	 * a few float ulps. */
	mf->constant = mf->max_dev <= 1e-6 * (biggest > 1 ? biggest : 1);
	return 0;
}

static int
read_blobproto(struct meanfile *mf, const char *path, const uint8_t *buf, size_t len,
               caffeopt_error *err)
{
	Caffe__BlobProto *b = caffe__blob_proto__unpack(NULL, len, buf);
	int64_t dims[4];
	size_t k, ndim, count;
	int rc;

	if (!b)
		return caffeopt_fail(err, path, 0, 0, "neither a .npy array nor a BlobProto (.binaryproto)");
	if (b->n_data && b->n_double_data) {
		caffe__blob_proto__free_unpacked(b, NULL);
		return caffeopt_fail(err, path, 0, 0, "the BlobProto has both data and double_data");
	}
	count = b->n_data ? b->n_data : b->n_double_data;
	if (b->shape) {
		ndim = b->shape->n_dim;
		if (ndim > 4) {
			caffe__blob_proto__free_unpacked(b, NULL);
			return caffeopt_fail(err, path, 0, 0, "a mean must be C, C x H x W or 1 x C x H x W, this "
			                     "one has %zu dims", ndim);
		}
		for (k = 0; k < ndim; k++)
			dims[k] = b->shape->dim[k];
	} else {
		/* Legacy num, channels, height, width; proto2 defaults are 0. */
		ndim = 4;
		dims[0] = b->num;
		dims[1] = b->channels;
		dims[2] = b->height;
		dims[3] = b->width;
	}
	if (count == 0) {
		caffe__blob_proto__free_unpacked(b, NULL);
		return caffeopt_fail(err, path, 0, 0, "the BlobProto holds no data");
	}
	rc = average(mf, (int)ndim, dims, b->n_data ? b->data : NULL, b->double_data, count, path, err);
	caffe__blob_proto__free_unpacked(b, NULL);
	return rc;
}

int
meanfile_read(struct meanfile *mf, const char *path, caffeopt_error *err)
{
	size_t len;
	char *buf;
	int rc;

	memset(mf, 0, sizeof *mf);
	if (!(buf = file_read(path, &len, err)))
		return -1;
	if (len >= 6 && memcmp(buf, "\x93NUMPY", 6) == 0) {
		struct npy a;

		free(buf);
		if (npy_read(&a, path, err) < 0)
			return -1;
		if (a.ndim < 1 || a.count == 0)
			rc = caffeopt_fail(err, path, 0, 0, "the mean array is %s", a.ndim < 1 ? "a scalar" : "empty");
		else
			rc = average(mf, a.ndim, a.shape, a.data, NULL, a.count, path, err);
		npy_free(&a);
		return rc;
	}
	rc = read_blobproto(mf, path, (const uint8_t *)buf, len, err);
	free(buf);
	return rc;
}
