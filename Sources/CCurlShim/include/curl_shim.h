// A small C shim over libcurl's easy interface: curl_easy_setopt is variadic, which Swift cannot
// call, so one typed function does a whole POST with the options updater needs.
#ifndef UPDATER_CURL_SHIM_H
#define UPDATER_CURL_SHIM_H

#include <stddef.h>

typedef struct updater_http updater_http;

/// What one request gave: the HTTP status (0 when there was no response), the transport error
/// (empty on success), the Retry-After header's value (empty when absent) and the start of the body.
typedef struct {
    long status;
    int curl_code;
    char error[256];
    char retry_after[64];
    char body[1024];
    size_t body_length;
    double seconds;
} updater_http_result;

/// Global initialisation; call once before any other function (thread-unsafe in libcurl).
int updater_http_global_init(void);

/// A handle that keeps its connections alive between requests; use it from one thread at a time.
updater_http *updater_http_new(void);
void updater_http_free(updater_http *h);

/// POSTs `body` to `url` with the `header_count` header lines in `headers` ("Name: value"). TLS
/// peers and host names are verified; redirects are not followed; only http and https; no
/// signals. Returns 0 when a response arrived (whatever its status), else the libcurl code.
int updater_http_post(updater_http *h, const char *url, const char *const *headers, int header_count,
                      const char *body, size_t body_length, long connect_timeout_ms, long timeout_ms,
                      const char *ca_file, updater_http_result *result);

#endif
