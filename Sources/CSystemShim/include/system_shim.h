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

/// Maps `length` bytes of the open file `fd` read-only, and guards the mapping: a SIGBUS on an
/// address inside it (the file was truncated while mapped) maps a page of zeros there and is
/// counted, instead of killing the process. Returns the mapping, or NULL with errno.
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

#include <stdbool.h>
#include <stdint.h>

/// Where the CSV reader's number loop writes (Tabular's `Parser.rows`), per file column.
typedef struct {
    /// Its numeric column's rows; NULL when the column is not numeric.
    double *_Nullable const *_Nonnull columns;
    /// The first column at or after it that is not numeric: where its run of numeric columns ends.
    const intptr_t *_Nonnull run_end;
    /// Whether a missing value is an error there (the caller reports it).
    const bool *_Nonnull must_have;
} updater_number_run;

/// Reads the plain numbers and empty fields of consecutive numeric columns of row `row`, from
/// column `*column` (numeric) at `at`, into `run`'s columns, with SSE4.1. A plain number here is
/// an optional sign, then at most 15 digits with at most one point among them, ended by a comma
/// or a line end 32 bytes or more before `n`; its value is the mantissa divided by an exact power
/// of ten, which is correctly rounded (Clinger's fast path), as the general parser's.
///
/// Stops at a field that is not one of these (or empty where `must_have`), or after a field
/// followed by a line end or the end of the run (`*after_field` true). Returns the position where
/// it stopped (the delimiter after the last field read when `*after_field`, else the start of the
/// field it did not read); `*column` is that field's column. Without SSE4.1 it reads nothing.
intptr_t updater_read_numbers(const unsigned char *_Nonnull p, intptr_t n, intptr_t at, intptr_t *_Nonnull column,
                              intptr_t row, const updater_number_run *_Nonnull run, bool *_Nonnull after_field);

#endif
