/* main.c - the example firmware: classify the embedded 32x32 test picture
 * with the embedded CIFAR-10 net and caffeopt's runtime.  No file, no
 * parser, no allocation: the net is const tables (cifar10.h, generated at
 * build time from model/ and config.ini), the activations live in one
 * static arena whose layout the tool planned. */
#include <stdio.h>

#include "caffeopt/runtime.h"
#include "cifar10.h"
#include "test_image.h"

static const char *const classes[] = {
	"airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck",
};

/* Every activation and every layer's scratch space. */
static _Alignas(64) float arena[CIFAR10_ARENA_BYTES / sizeof(float)];

int
main(void)
{
	float *x = cr_blob_data(&cifar10_net, arena, CIFAR10_INPUT);
	const float *y;
	uint32_t n, i, best = 0;
	int c, h, w;

	/* The model folded its mean and scale: it takes raw 0..255 pixels. */
	for (c = 0; c < 3; c++)
		for (h = 0; h < 32; h++)
			for (w = 0; w < 32; w++)
				x[(c * 32 + h) * 32 + w] = test_image[c][h][w];
	if (cr_forward(&cifar10_net, arena) != 0) {
		printf("cr_forward failed\n");
		return 1;
	}
	y = cr_blob_data(&cifar10_net, arena, CIFAR10_OUTPUT);
	n = cifar10_net.blob[CIFAR10_OUTPUT].count;
	printf("cifar10: %u layers, arena %u bytes, weights %u floats\n", (unsigned)cifar10_net.nlayer,
	       (unsigned)CIFAR10_ARENA_BYTES, (unsigned)CIFAR10_WEIGHT_FLOATS);
	printf("scores:");
	for (i = 0; i < n; i++) {
		printf(" %.6g", (double)y[i]);
		if (y[i] > y[best])
			best = i;
	}
	printf("\nclass: %u %s\n", (unsigned)best, best < 10 ? classes[best] : "?");
	return 0;
}
