#ifndef UPDATER_SYSTEM_SHIM_H
#define UPDATER_SYSTEM_SHIM_H

/// pipe2(fds, O_CLOEXEC | O_NONBLOCK): a pipe whose ends no child process inherits, even one spawned
/// by another thread at the same moment (pipe2 is not in Swift's Glibc module). 0, or -1 with errno.
int updater_pipe_cloexec_nonblock(int fds[2]);

/// mallopt(M_ARENA_MAX, count): glibc's malloc keeps at most `count` arenas (each thread that
/// allocates otherwise gets one of up to 8 per core, and each arena keeps its freed memory). Takes
/// effect for threads that have no arena yet, so call it before the process starts its threads.
/// 1 on success, 0 on failure (malloc.h is not in Swift's Glibc module).
int updater_limit_malloc_arenas(int count);

#endif
