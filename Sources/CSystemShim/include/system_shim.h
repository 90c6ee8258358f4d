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

#include <stddef.h>

/// Maps `length` bytes of the open file `fd` read-only and populated, and guards the mapping: a
/// SIGBUS on an address inside it (the file was truncated while mapped) maps a page of zeros there
/// and is counted, instead of killing the process. Returns the mapping, or NULL with errno.
/// `*guard` receives the guard's slot (-1 when all are in use: the mapping is then made without a
/// guard, and the caller should read the file instead).
const void *updater_map_guarded(int fd, size_t length, int *guard);

/// Unmaps what updater_map_guarded mapped and frees its guard; returns how many faults the guard
/// caught (0: every byte read came from the file).
int updater_unmap_guarded(const void *address, size_t length, int guard);

/// Line ends in the `n` bytes at `p`: each line feed, and each carriage return not followed by a
/// line feed (a carriage return in the last byte counts). `*has_quote` is set to 1 when a `"`
/// occurs, else 0. One pass, 64 bytes a step with AVX2 where the processor has it (a CSV file's
/// rows are counted before it is parsed; three memchr passes for quotes, carriage returns and line
/// feeds took 7 % of reading a 1M-row file).
size_t updater_line_ends(const unsigned char *p, size_t n, int *has_quote);

#endif
