#define _GNU_SOURCE
#include <fcntl.h>
#include <unistd.h>
#include "system_shim.h"

int updater_pipe_cloexec_nonblock(int fds[2]) { return pipe2(fds, O_CLOEXEC | O_NONBLOCK); }
