/* test_image.h - the example's embedded 32x32 test picture. */
#ifndef TEST_IMAGE_H
#define TEST_IMAGE_H

/* Pixel values 0..255, planes in B, G, R order (the model's input order). */
extern const unsigned char test_image[3][32][32];

#endif
