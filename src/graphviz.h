/* graphviz.h - pictures of a model through Graphviz's C library (cgraph,
 * gvc), never by running `dot`.
 *
 * Layers are nodes (type, name, key parameters, output shapes when
 * shape_infer knows them, and the layers folded into them: absorb.h);
 * blobs are edges labelled with their names, one per reader of each
 * version, so an in-place layer sits on an edge whose name goes in and
 * comes out the same.  Network inputs given by input: fields and network
 * outputs (versions nobody reads) are small blob nodes.  Data, loss and
 * accuracy layers are styled apart.  Ranks run top to bottom.
 */
#ifndef CAFFEOPT_GRAPHVIZ_H
#define CAFFEOPT_GRAPHVIZ_H

#include <stddef.h>
#include "model.h"

struct graphviz_options {
	const char *format;    /* "svg", "png", "dot" (the graph source, no layout),
	                          or any other Graphviz output format */
	const char *title;     /* graph label, or NULL for the net's name */
};

/* Render m into a malloc'd buffer *out of *len bytes (NUL-terminated, the
 * NUL not counted).  Shapes Caffe would reject are drawn unknown, with a
 * warning through m's callback.  0, or -1 with err (a net whose blobs do
 * not bind, an unknown format, Graphviz failing).  Not thread-safe: Graphviz
 * keeps global state, and one Graphviz context serves the whole process. */
int graphviz_render(caffeopt_model *m, const struct graphviz_options *o, char **out, size_t *len,
                    caffeopt_error *err);

#endif
