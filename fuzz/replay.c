/*
 * Runs a fuzz target over files without libFuzzer: every regular file
 * named on the command line, or found (non-recursively) in a directory
 * named there, is read into an exact-size heap buffer (so ASan catches
 * overreads) and passed to LLVMFuzzerTestOneInput().  Exits non-zero if
 * an argument cannot be read or nothing was replayed.
 */

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "gn_fuzz.h"


static int
replay_file(const char *path)
{
    FILE     *f;
    uint8_t  *buf;
    long      size;

    f = fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
        return -1;
    }

    if (fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0
        || fseek(f, 0, SEEK_SET) != 0)
    {
        fprintf(stderr, "replay: %s: cannot size\n", path);
        fclose(f);
        return -1;
    }

    /* malloc(0) may return NULL; the target still gets a valid pointer */
    buf = malloc(size ? (size_t) size : 1);
    if (buf == NULL
        || (size && fread(buf, 1, (size_t) size, f) != (size_t) size))
    {
        fprintf(stderr, "replay: %s: read failed\n", path);
        free(buf);
        fclose(f);
        return -1;
    }

    fclose(f);

    LLVMFuzzerTestOneInput(buf, (size_t) size);

    free(buf);

    return 0;
}


static int
replay_dir(const char *dir, int *count)
{
    DIR            *d;
    struct dirent  *de;
    struct stat     st;
    char            path[4096];
    int             rc = 0;

    d = opendir(dir);
    if (d == NULL) {
        fprintf(stderr, "replay: %s: %s\n", dir, strerror(errno));
        return -1;
    }

    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.') {
            continue;
        }

        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);

        if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
            continue;
        }

        if (replay_file(path) != 0) {
            rc = -1;
            continue;
        }

        (*count)++;
    }

    closedir(d);

    return rc;
}


int
main(int argc, char **argv)
{
    struct stat  st;
    int          i, count = 0, rc = 0;

    for (i = 1; i < argc; i++) {

        if (stat(argv[i], &st) != 0) {
            fprintf(stderr, "replay: %s: %s\n", argv[i], strerror(errno));
            rc = 1;
            continue;
        }

        if (S_ISDIR(st.st_mode)) {
            if (replay_dir(argv[i], &count) != 0) {
                rc = 1;
            }
            continue;
        }

        if (replay_file(argv[i]) != 0) {
            rc = 1;
            continue;
        }

        count++;
    }

    fprintf(stderr, "%s: replayed %d inputs\n", argv[0], count);

    return (rc || count == 0) ? 1 : 0;
}
