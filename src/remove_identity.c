/* remove_identity.c - layers whose output is exactly their input go: Split
 * (every top a copy), Concat and Eltwise of one input, 1x1 stride-1
 * unpadded Pooling, Power with power 1 scale 1 shift 0, Scale by all ones
 * (bias all zeros), Flatten and Reshape that keep the shape.  Readers read
 * the input instead; an output's name survives as in remove-dropout
 * (pass_bypass).  Dropout is remove-dropout's.
 * Requires: TEST semantics; bound weights for Scale; shapes for Flatten
 * and Reshape.  Keeps: output names and values, bit for bit.  Breaks: the
 * names of the removed copies (their readers now name the input). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bypass.h"
#include "pass.h"
#include "shape.h"

/* Why layer i is the identity: 1 with *what set; 0 when it is not one (no
 * note: an ordinary layer); -1 when it is one but cannot go, with why. */
static int
identity(struct pass_ctx *cx, const struct graph *g, int i, const char **what, char *why, size_t nwhy)
{
	const struct mlayer *ml = &cx->m->layers[i];
	const Caffe__LayerParameter *l = ml->p;
	size_t k;

	switch (g->layer[i].kind) {
	case KIND_SPLIT:
		if (l->n_bottom != 1)
			return 0;
		*what = "Split: each top a copy";
		return 1;
	case KIND_CONCAT:
		if (l->n_bottom != 1 || l->n_top != 1)
			return 0;
		*what = "Concat of one input";
		return 1;
	case KIND_ELTWISE: {
		const Caffe__EltwiseParameter *p = l->eltwise_param;
		if (l->n_bottom != 1 || l->n_top != 1)
			return 0;
		/* SUM of one input scales it by its coefficient. */
		if (p && p->operation == CAFFE__ELTWISE_PARAMETER__ELTWISE_OP__SUM && p->n_coeff &&
		    p->coeff[0] != 1.0f)
			return 0;
		*what = "Eltwise of one input";
		return 1;
	}
	case KIND_POOLING: {
		const Caffe__PoolingParameter *p = l->pooling_param;
		int k1, s1, p0;
		if (!p || p->global_pooling || l->n_bottom != 1)
			return 0;
		k1 = p->has_kernel_size ? !p->has_kernel_h && !p->has_kernel_w && p->kernel_size == 1
		                        : p->has_kernel_h && p->has_kernel_w && p->kernel_h == 1 && p->kernel_w == 1;
		s1 = p->has_stride_h || p->has_stride_w ? !p->has_stride && p->stride_h == 1 && p->stride_w == 1
		                                        : p->stride == 1;
		p0 = p->has_pad_h || p->has_pad_w ? !p->has_pad && p->pad_h == 0 && p->pad_w == 0 : p->pad == 0;
		if (!k1 || !s1 || !p0)
			return 0;
		if (p->pool != CAFFE__POOLING_PARAMETER__POOL_METHOD__MAX &&
		    p->pool != CAFFE__POOLING_PARAMETER__POOL_METHOD__AVE) {
			/* TEST-time stochastic pooling of one value x gives x*x/x,
			 * and 0 when x <= 0. */
			snprintf(why, nwhy, "1x1 STOCHASTIC pooling zeroes values <= 0");
			return -1;
		}
		if (l->n_top != 1) {
			snprintf(why, nwhy, "1x1 pooling with a mask top");
			return -1;
		}
		*what = "1x1 pooling, stride 1, no padding";
		return 1;
	}
	case KIND_POWER: {
		const Caffe__PowerParameter *p = l->power_param;
		if (l->n_bottom != 1 || l->n_top != 1)
			return 0;
		if (p && (p->power != 1.0f || p->scale != 1.0f || p->shift != 0.0f))
			return 0;
		*what = "Power 1, scale 1, shift 0";
		return 1;
	}
	case KIND_SCALE: {
		int nb = kind_weight_blobs(l);
		if (l->n_bottom != 1 || l->n_top != 1)
			return 0;
		/* Without weights it cannot be told from any other Scale. */
		if (!cx->m->has_weights || (int)ml->nblobs != nb || nb < 1)
			return 0;
		for (k = 0; k < ml->blobs[0].count; k++)
			if (ml->blobs[0].data[k] != 1.0f)
				return 0;
		if (nb > 1)
			for (k = 0; k < ml->blobs[1].count; k++)
				if (ml->blobs[1].data[k] != 0.0f)
					return 0;
		*what = nb > 1 ? "Scale by ones, bias zeros" : "Scale by ones";
		return 1;
	}
	case KIND_FLATTEN:
	case KIND_RESHAPE: {
		struct shape *s;
		caffeopt_error e = {0};
		int same;
		char a[96];
		if (l->n_bottom != 1 || l->n_top != 1)
			return 0;
		if (!(s = shape_infer(g, &e))) {
			snprintf(why, nwhy, "shapes cannot be inferred: %s", e.msg);
			return -1;
		}
		if (!s[g->layer[i].bottom[0]].known) {
			free(s);
			snprintf(why, nwhy, "the shape of '%s' is unknown", l->bottom[0]);
			return -1;
		}
		same = shape_equal(&s[g->layer[i].bottom[0]], &s[g->layer[i].top[0]]);
		shape_format(&s[g->layer[i].bottom[0]], a, sizeof a);
		free(s);
		if (!same)
			return 0;
		*what = g->layer[i].kind == KIND_FLATTEN ? "Flatten that keeps the shape" : "Reshape that keeps the shape";
		snprintf(why, nwhy, "%s", a);
		return 1;
	}
	default:
		return 0;
	}
}

/* Try layer i.  1 removed, 0 left (noted when it was an identity), -1
 * error. */
static int
try_remove(struct pass_ctx *cx, struct graph *g, int i)
{
	const Caffe__LayerParameter *l = cx->m->layers[i].p;
	const char *what = NULL;
	char why[1200] = "", rule[1300];
	int rc = identity(cx, g, i, &what, why, sizeof why);

	if (rc == -1)
		pass_refused(cx, l->name, "%s", why);
	if (rc <= 0)
		return 0;
	if (g->layer[i].frozen) {
		pass_refused(cx, l->name, "%s, but it carries fields caffeopt does not know", what);
		return 0;
	}
	if (why[0]) {
		/* Flatten/Reshape: say which shape it keeps. */
		snprintf(rule, sizeof rule, "%s %s", what, why);
		what = rule;
	}
	return pass_bypass(cx, g, i, 0, g->layer[i].kind == KIND_SPLIT ? -1 : 0, what);
}

int
remove_identity(struct pass_ctx *cx)
{
	struct graph *g = NULL;
	size_t i;
	int rc = 0;

	/* From the last layer up: removing layer i leaves the layers before it
	 * where they were.  One graph, built at the first candidate and kept
	 * up to date by pass_bypass. */
	for (i = cx->m->nlayers; i-- > 0 && rc >= 0;) {
		switch (kind_of(cx->m->layers[i].p->type)) {
		case KIND_SPLIT:
		case KIND_CONCAT:
		case KIND_ELTWISE:
		case KIND_POOLING:
		case KIND_POWER:
		case KIND_SCALE:
		case KIND_FLATTEN:
		case KIND_RESHAPE:
			break;
		default:
			continue;
		}
		if (!g && !(g = pass_graph(cx)))
			return -1;
		rc = try_remove(cx, g, (int)i);
	}
	graph_free(g);
	return rc < 0 ? -1 : 0;
}
