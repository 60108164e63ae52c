/* config.h - the original project's config.ini, read with inih.
 *
 * The file is the one the original Python tool read, accepted unchanged.
 * Keys (section [DEFAULT], or before any section; names compare without
 * regard to case, as Python's configparser lowercases them):
 *
 *   original_prototxt_path   input prototxt                      -> prototxt
 *   original_model_path      input .caffemodel                   -> model
 *   optimized_prototxt_path  output prototxt                     -> out_prototxt
 *   optimized_model_path     output .caffemodel                  -> out_model
 *   mean_proto_path          .npy of shape CxHxW; its average    -> mean_path
 *                            over H and W is the per-channel mean
 *                            (empty value: no file)
 *   merge_bn_scale           fold BatchNorm/Scale into the preceding
 *                            Convolution/InnerProduct
 *   merge_input_mean         fold mean subtraction into the first layer
 *   merge_input_scale        fold input_scale into the first layer
 *   merge_dropout            remove Dropout layers
 *   merge_inplace_memory     make activation/BatchNorm/Scale in place
 *   mean_R, mean_G, mean_B   per-channel means when there is no mean file;
 *                            all three or none
 *   input_scale              x' = (x - mean) * input_scale
 *   H, W, C                  input height, width, channels (positive)
 *   pycaffe_path             meaningless for caffeopt: accepted, ignored
 *
 * Paths that are relative are taken from the ini's folder and stored joined
 * to it.  Booleans are yes/no, true/false, on/off or 1/0, in any case.
 * Numbers must be finite and use the whole value.
 *
 * What Debian's inih (r55) does to the text, and what we add:
 * - A line is read through a 200-byte buffer: one longer than 198
 *   characters (newline not counted) would be cut, its tail read as another
 *   line.  config_read refuses such a file, naming the line.
 * - Leading and trailing blanks around names and values are dropped
 *   ("merge_bn_scale = yes " reads as "yes").
 * - ';' after a blank starts a comment ("yes ; fold" reads as "yes"); '#'
 *   starts one only at the start of a line.
 * - An indented line continues the previous value (configparser's rule); we
 *   refuse it rather than read "H = 224" as a value.
 * A key given twice is an error (configparser's strict mode); an unknown key
 * or another section is a warning.
 */
#ifndef CAFFEOPT_CONFIG_H
#define CAFFEOPT_CONFIG_H

#include <stddef.h>
#include "caffeopt/error.h"

struct config {
	char *ini_path;      /* as given to config_read */
	char *prototxt;      /* resolved paths; NULL when not in the file */
	char *model;
	char *out_prototxt;
	char *out_model;
	char *mean_path;
	/* -1 unset, 0 no, 1 yes: the CLI's flags override what is set here */
	int merge_bn_scale;
	int merge_input_scale;
	int merge_input_mean;
	int merge_dropout;
	int merge_inplace_memory;
	int has_mean_rgb;    /* mean_R, mean_G and mean_B were all given */
	double mean_r, mean_g, mean_b;
	int has_input_scale;
	double input_scale;
	int h, w, c;         /* 0 unset */
	int saw_pycaffe;     /* pycaffe_path was given (and ignored) */
	char **warnings;     /* "file:line: message", nwarnings of them */
	size_t nwarnings;
};

/* Read the ini at path into cfg (all of cfg is overwritten).  Returns 0, or
 * -1 with err at the offending file:line; on failure cfg owns nothing, and
 * config_free(cfg) is still safe. */
int config_read(struct config *cfg, const char *path, caffeopt_error *err);

/* Free what cfg owns and reset it to the unset state. */
void config_free(struct config *cfg);

#endif
