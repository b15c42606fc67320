/* Test shim for tests/checkpoint (CrashSafety), loaded with LD_PRELOAD into mpiexec and every
 * rank: fsync(2) of a checkpoint's temporary file (a path containing ".tmp.") first sleeps
 * FIREFLIES_TEST_FSYNC_DELAY seconds. Every writer fsyncs its part before worker 0 seals and
 * renames the file, so a test that sees the temporary file grow can SIGKILL the run while the
 * checkpoint is written but not yet in place, every time: the parallel writer puts a 1000 x 1000
 * checkpoint on disk in milliseconds, too fast to be caught by polling. Nothing else changes. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int fsync(int fd) {
    static int (*real_fsync)(int) = NULL;
    if (!real_fsync) real_fsync = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
    const char* delay = getenv("FIREFLIES_TEST_FSYNC_DELAY");
    char link[64], target[4096];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    const ssize_t n = readlink(link, target, sizeof target - 1);
    if (delay && n > 0) {
        target[n] = '\0';
        if (strstr(target, ".tmp.")) {
            const double s = atof(delay);
            struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
            while (nanosleep(&ts, &ts) != 0) {
            }
        }
    }
    return real_fsync(fd);
}
