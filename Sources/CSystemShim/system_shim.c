#define _GNU_SOURCE
#include <fcntl.h>
#include <malloc.h>
#include <unistd.h>
#include "system_shim.h"

int updater_pipe_cloexec_nonblock(int fds[2]) { return pipe2(fds, O_CLOEXEC | O_NONBLOCK); }

int updater_limit_malloc_arenas(int count) { return mallopt(M_ARENA_MAX, count); }
