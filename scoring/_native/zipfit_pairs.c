/* Optional native helper for exact ZIP-FIT with gzip (loaded by scoring/native.py; built by `make native`).
 *
 * zipfit_pair_sizes() computes C(x_i⊕t_j) = len(zlib.compress(x_i + t_j, level, -15)) + 18 for a block of
 * pool rows against all targets, with one z_stream reset per pair (the same loop as zipfit_bound.c). It is
 * called through ctypes, which releases the GIL for the whole call, so threads scale like processes.
 * zipfit_sizes() computes single sizes C(s) the same way.
 *
 * Build: gcc -O2 -shared -fPIC -o libzipfit_pairs.so zipfit_pairs.c -lz   (what `make native` runs)
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define GZIP_FRAME_BYTES 18

/* The zlib version this library runs with, to compare with Python's zlib.ZLIB_RUNTIME_VERSION. */
const char *zipfit_zlib_version(void) { return zlibVersion(); }

/* sizes of single texts: out[i] = C(text_i), the texts back to back as for zipfit_pair_sizes. */
int zipfit_sizes(const unsigned char *data, const int64_t *offsets, int64_t n, int level, int64_t *out) {
    int64_t max_len = 0;
    for (int64_t i = 0; i < n; i++)
        if (offsets[i + 1] - offsets[i] > max_len) max_len = offsets[i + 1] - offsets[i];
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (deflateInit2(&zs, level, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK) return -1;
    size_t out_cap = deflateBound(&zs, (uLong)max_len) + 64;
    unsigned char *buf = malloc(out_cap);
    int status = buf ? 0 : -1;
    for (int64_t i = 0; i < n && status == 0; i++) {
        deflateReset(&zs);
        zs.next_in = (unsigned char *)(data + offsets[i]);
        zs.avail_in = (uInt)(offsets[i + 1] - offsets[i]);
        zs.next_out = buf;
        zs.avail_out = (uInt)out_cap;
        if (deflate(&zs, Z_FINISH) != Z_STREAM_END) status = -2;
        else out[i] = (int64_t)zs.total_out + GZIP_FRAME_BYTES;
    }
    deflateEnd(&zs);
    free(buf);
    return status;
}

/* pool: the rows' bytes back to back, row i at [pool_offsets[i], pool_offsets[i + 1]); targets likewise.
 * out: rows × m int64, row-major. Returns 0, or -1 (bad level / out of memory) or -2 (deflate failed). */
int zipfit_pair_sizes(const unsigned char *pool, const int64_t *pool_offsets, int64_t rows,
                      const unsigned char *targets, const int64_t *target_offsets, int64_t m, int level,
                      int64_t *out) {
    int64_t max_x = 0, max_t = 0;
    for (int64_t i = 0; i < rows; i++)
        if (pool_offsets[i + 1] - pool_offsets[i] > max_x) max_x = pool_offsets[i + 1] - pool_offsets[i];
    for (int64_t j = 0; j < m; j++)
        if (target_offsets[j + 1] - target_offsets[j] > max_t) max_t = target_offsets[j + 1] - target_offsets[j];

    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (deflateInit2(&zs, level, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK) return -1;
    size_t in_cap = (size_t)(max_x + max_t), out_cap = deflateBound(&zs, (uLong)in_cap) + 64;
    unsigned char *in = malloc(in_cap ? in_cap : 1), *buf = malloc(out_cap);
    int status = in && buf ? 0 : -1;
    for (int64_t i = 0; i < rows && status == 0; i++) {
        size_t x_len = (size_t)(pool_offsets[i + 1] - pool_offsets[i]);
        memcpy(in, pool + pool_offsets[i], x_len);
        for (int64_t j = 0; j < m; j++) {
            size_t t_len = (size_t)(target_offsets[j + 1] - target_offsets[j]);
            memcpy(in + x_len, targets + target_offsets[j], t_len);
            deflateReset(&zs);
            zs.next_in = in;
            zs.avail_in = (uInt)(x_len + t_len);
            zs.next_out = buf;
            zs.avail_out = (uInt)out_cap;
            if (deflate(&zs, Z_FINISH) != Z_STREAM_END) {
                status = -2;
                break;
            }
            out[i * m + j] = (int64_t)zs.total_out + GZIP_FRAME_BYTES;
        }
    }
    deflateEnd(&zs);
    free(in);
    free(buf);
    return status;
}
