/* gemm.c - single-precision matrix multiply, row-major: OpenBLAS's
 * cblas_sgemm when built with CR_USE_CBLAS, and a portable C one that is
 * always built (firmware runs it; the unit tests hold it to the BLAS one).
 * Requires: no aliasing between C and A or B. */
#include <string.h>

#include "caffeopt/runtime.h"

#ifdef CR_USE_CBLAS
#include <cblas.h>
#endif

#ifdef CR_CBLAS_LAZY
/* OpenBLAS loaded at the first GEMM, not at start-up (CMakeLists.txt's
 * caffeopt_runtime_lazy, for the CLI): by its soname, else by the path
 * CR_CBLAS_LAZY found at build time.  When neither loads, the portable
 * GEMM runs. */
#include <dlfcn.h>
#include <pthread.h>

static __typeof__(cblas_sgemm) *blas_sgemm;
static void (*blas_threads)(int);
static pthread_once_t blas_once = PTHREAD_ONCE_INIT;

static void
blas_load(void)
{
	void *h = dlopen("libopenblas.so.0", RTLD_NOW | RTLD_LOCAL);

	if (!h && !(h = dlopen(CR_CBLAS_LAZY, RTLD_NOW | RTLD_LOCAL)))
		return;
	/* POSIX's way from an object pointer to a function pointer. */
	*(void **)(void *)&blas_threads = dlsym(h, "openblas_set_num_threads");
	*(void **)(void *)&blas_sgemm = dlsym(h, "cblas_sgemm");
}

/* 1 when OpenBLAS is loaded (loading it the first time). */
static int
blas_ready(void)
{
	pthread_once(&blas_once, blas_load);
	return blas_sgemm != NULL;
}
#elif defined(CR_USE_CBLAS)
#define blas_sgemm cblas_sgemm
#define blas_ready() 1
#endif

/* Column and depth blocks of the portable GEMM: 4 rows of a C block
 * (4 x NB floats) and a B block (KB x NB) stay in L1/L2. */
enum { NB = 256, KB = 128 };

#define AT(i, k) (ta ? A[(size_t)(k) * lda + (i)] : A[(size_t)(i) * lda + (k)])

static void
scale_c(int M, int N, float beta, float *C, int ldc)
{
	int i, j;

	for (i = 0; i < M; i++) {
		float *c = C + (size_t)i * ldc;
		if (beta == 0)
			memset(c, 0, (size_t)N * sizeof *c);
		else if (beta != 1)
			for (j = 0; j < N; j++)
				c[j] *= beta;
	}
}

/* C += alpha op(A) B with B [K,N] row-major: each row of B is read once
 * per four rows of C, the inner loop is a contiguous multiply-add. */
static void
gemm_nn(int ta, int M, int N, int K, float alpha, const float *A, int lda,
        const float *B, int ldb, float *C, int ldc)
{
	int i, j, k, j0, k0;

	for (j0 = 0; j0 < N; j0 += NB) {
		int jn = N - j0 < NB ? N - j0 : NB;
		for (k0 = 0; k0 < K; k0 += KB) {
			int kn = K - k0 < KB ? K - k0 : KB;
			for (i = 0; i + 4 <= M; i += 4) {
				/* four distinct rows of C, none of them in B */
				float *restrict c0 = C + (size_t)i * ldc + j0;
				float *restrict c1 = c0 + ldc;
				float *restrict c2 = c1 + ldc;
				float *restrict c3 = c2 + ldc;
				for (k = k0; k < k0 + kn; k++) {
					const float *restrict b = B + (size_t)k * ldb + j0;
					float a0 = alpha * AT(i, k), a1 = alpha * AT(i + 1, k);
					float a2 = alpha * AT(i + 2, k), a3 = alpha * AT(i + 3, k);
					for (j = 0; j < jn; j++) {
						float bj = b[j];
						c0[j] += a0 * bj;
						c1[j] += a1 * bj;
						c2[j] += a2 * bj;
						c3[j] += a3 * bj;
					}
				}
			}
			for (; i < M; i++) {
				float *restrict c = C + (size_t)i * ldc + j0;
				for (k = k0; k < k0 + kn; k++) {
					const float *restrict b = B + (size_t)k * ldb + j0;
					float a = alpha * AT(i, k);
					for (j = 0; j < jn; j++)
						c[j] += a * b[j];
				}
			}
		}
	}
}

/* C += alpha op(A) B^T with B [N,K]: dot products of rows of B, eight
 * partial sums so the compiler can keep them in vector lanes. */
static void
gemm_nt(int ta, int M, int N, int K, float alpha, const float *A, int lda,
        const float *B, int ldb, float *C, int ldc)
{
	int i, j, k, r;

	for (i = 0; i < M; i++) {
		const float *a = A + (size_t)i * lda;
		for (j = 0; j < N; j++) {
			const float *b = B + (size_t)j * ldb;
			float s[8] = {0}, sum;
			if (!ta) {
				for (k = 0; k + 8 <= K; k += 8)
					for (r = 0; r < 8; r++)
						s[r] += a[k + r] * b[k + r];
				sum = ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
				for (; k < K; k++)
					sum += a[k] * b[k];
			} else {
				sum = 0;
				for (k = 0; k < K; k++)
					sum += AT(i, k) * b[k];
			}
			C[(size_t)i * ldc + j] += alpha * sum;
		}
	}
}

void
cr_sgemm_portable(int ta, int tb, int M, int N, int K, float alpha, const float *A,
                  int lda, const float *B, int ldb, float beta, float *C, int ldc)
{
	if (M <= 0 || N <= 0)
		return;
	scale_c(M, N, beta, C, ldc);
	if (K <= 0 || alpha == 0)
		return;
	if (tb)
		gemm_nt(ta, M, N, K, alpha, A, lda, B, ldb, C, ldc);
	else
		gemm_nn(ta, M, N, K, alpha, A, lda, B, ldb, C, ldc);
}

void
cr_sgemm(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda,
         const float *B, int ldb, float beta, float *C, int ldc)
{
#ifdef CR_USE_CBLAS
	if (M <= 0 || N <= 0)
		return;
	if (blas_ready()) {
		blas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
		           M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
		return;
	}
#endif
	cr_sgemm_portable(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

void
cr_set_threads(int n)
{
#if defined(CR_CBLAS_LAZY)
	if (blas_ready() && blas_threads)
		blas_threads(n > 0 ? n : 1);
#elif defined(CR_USE_CBLAS) && defined(OPENBLAS_VERSION)
	openblas_set_num_threads(n > 0 ? n : 1);
#else
	(void)n;
#endif
}

const char *
cr_gemm_name(void)
{
#ifdef CR_USE_CBLAS
	if (blas_ready())
		return "openblas";
#endif
	return "portable";
}
