/* The stock-zlib bound of exact ZIP-FIT: one raw deflate of x⊕t per (pool, target) pair, nothing else.
 *
 * Build:  gcc -O2 -o zipfit_bound zipfit_bound.c -lz
 * Run:    zipfit_bound TEXTS LEVEL [FIRST END [SIZES_OUT]]
 *
 * TEXTS is the file bench_zipfit.py writes: "ZFB1" u32 N, u32 M, then N pool texts and M target texts,
 * each as u32 length + UTF-8 bytes (little-endian). The program deflates x_i⊕t_j for pool rows
 * FIRST <= i < END (default: all) and every target j, with one z_stream made once
 * (deflateInit2(LEVEL, Z_DEFLATED, -15 raw, memLevel 8, Z_DEFAULT_STRATEGY), i.e. exactly what
 * zlib.compress(data, LEVEL, -15) does) and, per pair: memcpy of x and t into one buffer, deflateReset,
 * deflate(Z_FINISH). It prints `pairs seconds pairs_per_second checksum` on stdout, seconds being the loop
 * alone. With SIZES_OUT it also writes each pair's gzip size (raw deflate + 18) as int32, row-major, so the
 * caller can check them against the Python side.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

#define GZIP_FRAME_BYTES 18

typedef struct {
    const unsigned char *data;
    uint32_t len;
} text_t;

static uint32_t read_u32(FILE *f) {
    unsigned char b[4];
    if (fread(b, 1, 4, f) != 4) {
        fprintf(stderr, "zipfit_bound: truncated input\n");
        exit(2);
    }
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

static text_t *read_texts(FILE *f, uint32_t count, size_t *max_len) {
    text_t *texts = calloc(count ? count : 1, sizeof *texts);
    for (uint32_t i = 0; i < count; i++) {
        uint32_t len = read_u32(f);
        unsigned char *data = malloc(len ? len : 1);
        if (!texts || !data || fread(data, 1, len, f) != len) {
            fprintf(stderr, "zipfit_bound: cannot read text %u\n", i);
            exit(2);
        }
        texts[i].data = data;
        texts[i].len = len;
        if (len > *max_len) *max_len = len;
    }
    return texts;
}

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: %s TEXTS LEVEL [FIRST END [SIZES_OUT]]\n", argv[0]);
        return 2;
    }
    FILE *f = fopen(argv[1], "rb");
    if (!f) {
        perror(argv[1]);
        return 2;
    }
    char magic[4];
    if (fread(magic, 1, 4, f) != 4 || memcmp(magic, "ZFB1", 4) != 0) {
        fprintf(stderr, "zipfit_bound: %s is not a ZFB1 texts file\n", argv[1]);
        return 2;
    }
    uint32_t n = read_u32(f), m = read_u32(f);
    size_t max_pool = 0, max_target = 0;
    text_t *pool = read_texts(f, n, &max_pool);
    text_t *targets = read_texts(f, m, &max_target);
    fclose(f);

    int level = atoi(argv[2]);
    uint32_t first = argc > 3 ? (uint32_t)strtoul(argv[3], NULL, 10) : 0;
    uint32_t end = argc > 4 ? (uint32_t)strtoul(argv[4], NULL, 10) : n;
    if (end > n) end = n;
    if (first > end) first = end;
    FILE *sizes_out = NULL;
    if (argc > 5 && !(sizes_out = fopen(argv[5], "wb"))) {
        perror(argv[5]);
        return 2;
    }

    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (deflateInit2(&zs, level, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
        fprintf(stderr, "zipfit_bound: deflateInit2 failed for level %d\n", level);
        return 2;
    }
    size_t in_cap = max_pool + max_target;
    size_t out_cap = deflateBound(&zs, (uLong)in_cap) + 64;
    unsigned char *in = malloc(in_cap ? in_cap : 1), *out = malloc(out_cap);
    int32_t *row = malloc((m ? m : 1) * sizeof *row);
    if (!in || !out || !row) return 2;

    uint64_t pairs = 0, checksum = 0;
    double start = now();
    for (uint32_t i = first; i < end; i++) {
        for (uint32_t j = 0; j < m; j++) {
            memcpy(in, pool[i].data, pool[i].len);
            memcpy(in + pool[i].len, targets[j].data, targets[j].len);
            deflateReset(&zs);
            zs.next_in = in;
            zs.avail_in = pool[i].len + targets[j].len;
            zs.next_out = out;
            zs.avail_out = (uInt)out_cap;
            if (deflate(&zs, Z_FINISH) != Z_STREAM_END) {
                fprintf(stderr, "zipfit_bound: deflate did not finish\n");
                return 1;
            }
            row[j] = (int32_t)(zs.total_out + GZIP_FRAME_BYTES);
            checksum += (uint64_t)row[j];
            pairs++;
        }
        if (sizes_out && fwrite(row, sizeof *row, m, sizes_out) != m) {
            perror("zipfit_bound: writing sizes");
            return 1;
        }
    }
    double seconds = now() - start;
    deflateEnd(&zs);
    if (sizes_out) fclose(sizes_out);
    printf("%llu %.6f %.1f %llu\n", (unsigned long long)pairs, seconds, seconds > 0 ? pairs / seconds : 0.0,
           (unsigned long long)checksum);
    return 0;
}
