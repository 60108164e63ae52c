/* ssd.c - SSD's PriorBox and DetectionOutput, following Caffe-SSD
 * (prior_box_layer.cpp, detection_output_layer.cpp, bbox_util.cpp):
 * boxes decoded from the priors, per-class greedy NMS over the top_k most
 * confident, then the keep_top_k best over all classes.  Sorting is a
 * heap sort with index tie-breaks, so no allocation and a fixed order. */
#include <math.h>

#include "kernels.h"

void
k_priorbox(const cr_net *net, const cr_layer *l, float *arena)
{
	const struct cr_priorbox *p = &l->p.priorbox;
	const cr_blob *fb = BOTB(0), *ob = TOPB(0);
	int LH = cr_dim(fb, 2), LW = cr_dim(fb, 3), h, w, s, r, k;
	uint32_t dim = (uint32_t)ob->shape[2], i;
	float *y = TOP(0), *v = y + dim;

	for (h = 0; h < LH; h++)
		for (w = 0; w < LW; w++) {
			float cx = ((float)w + p->offset) * p->step_w;
			float cy = ((float)h + p->offset) * p->step_h;
			for (s = 0; s < p->nmin; s++) {
				float bw, bh;
#define BOX(BW, BH) do { \
					bw = (BW); bh = (BH); \
					*y++ = (float)((cx - bw / 2.) / p->img_w); \
					*y++ = (float)((cy - bh / 2.) / p->img_h); \
					*y++ = (float)((cx + bw / 2.) / p->img_w); \
					*y++ = (float)((cy + bh / 2.) / p->img_h); \
				} while (0)
				BOX(p->min_size[s], p->min_size[s]);
				if (p->nmax > 0) {
					float m = sqrtf(p->min_size[s] * p->max_size[s]);
					BOX(m, m);
				}
				for (r = 0; r < p->nar; r++) {
					float ar = p->ar[r];
					if (fabsf(ar - 1.f) < 1e-6f)
						continue;
					BOX(p->min_size[s] * sqrtf(ar), p->min_size[s] / sqrtf(ar));
				}
#undef BOX
			}
		}
	y = TOP(0);
	if (p->clip)
		for (i = 0; i < dim; i++)
			y[i] = y[i] < 0 ? 0 : y[i] > 1 ? 1 : y[i];
	for (i = 0; i < dim; i += 4)
		for (k = 0; k < 4; k++)
			v[i + k] = p->nvariance == 1 ? p->variance[0] : p->variance[k];
}

/* Top rows per image and the layout of the scratch space. */
static uint32_t
per_class(const struct cr_detection_output *p, uint32_t priors)
{
	return p->top_k > 0 && (uint32_t)p->top_k < priors ? (uint32_t)p->top_k : priors;
}

uint32_t
detection_rows(const struct cr_detection_output *p, uint32_t priors)
{
	uint32_t all = (uint32_t)p->num_classes * per_class(p, priors);

	if (p->keep_top_k > -1 && (uint32_t)p->keep_top_k < all)
		all = (uint32_t)p->keep_top_k;
	return all ? all : 1;
}

uint32_t
detection_scratch(const struct cr_detection_output *p, uint32_t priors)
{
	uint32_t L = p->share_location ? 1 : (uint32_t)p->num_classes;
	uint32_t C = (uint32_t)p->num_classes, K = per_class(p, priors);

	/* boxes, candidates (score, prior), kept per class and their counts,
	 * all kept (score, class * priors + prior) */
	return priors * L * 4 + 2 * priors + C * K + C + 2 * C * K;
}

/* Pairs (score, key), ordered by score descending then key ascending. */
static int
before(const float *a, const float *b)
{
	return a[0] > b[0] || (a[0] == b[0] && a[1] < b[1]);
}

static void
sift(float *v, uint32_t i, uint32_t n)
{
	for (;;) {
		uint32_t c = 2 * i + 1, m = i;
		float t0, t1;
		/* a max-heap on "after": the root is the pair that goes last */
		if (c < n && before(v + 2 * m, v + 2 * c))
			m = c;
		if (c + 1 < n && before(v + 2 * m, v + 2 * (c + 1)))
			m = c + 1;
		if (m == i)
			return;
		t0 = v[2 * i], t1 = v[2 * i + 1];
		v[2 * i] = v[2 * m], v[2 * i + 1] = v[2 * m + 1];
		v[2 * m] = t0, v[2 * m + 1] = t1;
		i = m;
	}
}

static void
sort_pairs(float *v, uint32_t n)
{
	uint32_t i;

	for (i = n / 2; i-- > 0;)
		sift(v, i, n);
	while (n > 1) {
		float t0 = v[0], t1 = v[1];
		n--;
		v[0] = v[2 * n], v[1] = v[2 * n + 1];
		v[2 * n] = t0, v[2 * n + 1] = t1;
		sift(v, 0, n);
	}
}

static void
decode(const float *prior, const float *var, const float *loc, int code, float *b)
{
	float pw = prior[2] - prior[0], ph = prior[3] - prior[1];

	if (code == CR_CODE_CORNER) {
		b[0] = prior[0] + var[0] * loc[0];
		b[1] = prior[1] + var[1] * loc[1];
		b[2] = prior[2] + var[2] * loc[2];
		b[3] = prior[3] + var[3] * loc[3];
	} else if (code == CR_CODE_CORNER_SIZE) {
		b[0] = prior[0] + var[0] * loc[0] * pw;
		b[1] = prior[1] + var[1] * loc[1] * ph;
		b[2] = prior[2] + var[2] * loc[2] * pw;
		b[3] = prior[3] + var[3] * loc[3] * ph;
	} else {
		float pcx = (prior[0] + prior[2]) / 2, pcy = (prior[1] + prior[3]) / 2;
		float cx = var[0] * loc[0] * pw + pcx, cy = var[1] * loc[1] * ph + pcy;
		float w = expf(var[2] * loc[2]) * pw, h = expf(var[3] * loc[3]) * ph;
		b[0] = cx - w / 2;
		b[1] = cy - h / 2;
		b[2] = cx + w / 2;
		b[3] = cy + h / 2;
	}
}

static float
box_size(const float *b)
{
	return b[2] < b[0] || b[3] < b[1] ? 0 : (b[2] - b[0]) * (b[3] - b[1]);
}

static float
jaccard(const float *a, const float *b)
{
	float in[4], s;

	if (b[0] > a[2] || b[2] < a[0] || b[1] > a[3] || b[3] < a[1])
		return 0;
	in[0] = a[0] > b[0] ? a[0] : b[0];
	in[1] = a[1] > b[1] ? a[1] : b[1];
	in[2] = a[2] < b[2] ? a[2] : b[2];
	in[3] = a[3] < b[3] ? a[3] : b[3];
	s = box_size(in);
	return s / (box_size(a) + box_size(b) - s);
}

void
k_detection_output(const cr_net *net, const cr_layer *l, float *arena)
{
	const struct cr_detection_output *p = &l->p.detection;
	const float *loc = BOT(0), *conf = BOT(1), *prior = BOT(2);
	const cr_blob *pb = BOTB(2);
	uint32_t P = (uint32_t)pb->shape[pb->ndim - 1] / 4, N = (uint32_t)cr_dim(BOTB(0), 0);
	uint32_t C = (uint32_t)p->num_classes, L = p->share_location ? 1 : C;
	uint32_t K = per_class(p, P), rows = TOPB(0)->count / 7;
	float *boxes = SCRATCH, *cand = boxes + P * L * 4, *kept = cand + 2 * P;
	float *nkept = kept + C * K, *all = nkept + C;
	float *y = TOP(0), *row = y;
	static const float one[4] = {1, 1, 1, 1};
	uint32_t n, c, i, j, k, out = 0;

	for (n = 0; n < N; n++) {
		const float *ln = loc + (size_t)n * P * L * 4, *cn = conf + (size_t)n * P * C;
		uint32_t nall = 0;
		for (i = 0; i < P; i++)
			for (j = 0; j < L; j++)
				decode(prior + 4 * i, p->variance_encoded_in_target ? one : prior + 4 * (P + i),
				       ln + (i * L + j) * 4, p->code_type, boxes + (i * L + j) * 4);
		for (c = 0; c < C; c++) {
			uint32_t ncand = 0, nk = 0, lc = p->share_location ? 0 : c;
			float thr = p->nms_threshold;
			nkept[c] = 0;
			if ((int32_t)c == p->background_label_id)
				continue;
			for (i = 0; i < P; i++)
				if (cn[i * C + c] > p->confidence_threshold) {
					cand[2 * ncand] = cn[i * C + c];
					cand[2 * ncand + 1] = (float)i;
					ncand++;
				}
			sort_pairs(cand, ncand);
			if (ncand > K)
				ncand = K;
			for (i = 0; i < ncand; i++) {
				uint32_t idx = (uint32_t)cand[2 * i + 1];
				const float *bi = boxes + (idx * L + lc) * 4;
				int keep = 1;
				for (k = 0; k < nk && keep; k++)
					keep = jaccard(bi, boxes + ((uint32_t)kept[c * K + k] * L + lc) * 4) <= thr;
				if (!keep)
					continue;
				kept[c * K + nk++] = (float)idx;
				all[2 * nall] = cand[2 * i];
				all[2 * nall + 1] = (float)(c * P + idx);
				nall++;
				if (p->eta < 1 && thr > 0.5f)
					thr *= p->eta;
			}
			nkept[c] = (float)nk;
		}
		if (p->keep_top_k > -1 && nall > (uint32_t)p->keep_top_k) {
			sort_pairs(all, nall);
			nall = (uint32_t)p->keep_top_k;
		} else {
			/* every kept box, in class then NMS order */
			nall = 0;
			for (c = 0; c < C; c++)
				for (k = 0; k < (uint32_t)nkept[c]; k++) {
					uint32_t idx = (uint32_t)kept[c * K + k];
					all[2 * nall] = 0;
					all[2 * nall + 1] = (float)(c * P + idx);
					nall++;
				}
		}
		/* by class ascending, then in the order of all[] */
		for (c = 0; c < C; c++)
			for (k = 0; k < nall && out < rows; k++) {
				uint32_t key = (uint32_t)all[2 * k + 1], idx = key % P;
				const float *b;
				if (key / P != c)
					continue;
				b = boxes + (idx * L + (p->share_location ? 0 : c)) * 4;
				row[0] = (float)n;
				row[1] = (float)c;
				row[2] = cn[idx * C + c];
				row[3] = b[0];
				row[4] = b[1];
				row[5] = b[2];
				row[6] = b[3];
				row += 7;
				out++;
			}
	}
	for (; out < rows; out++, row += 7)
		for (k = 0; k < 7; k++)
			row[k] = -1;
}
