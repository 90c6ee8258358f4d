// A small C shim over libcurl's easy interface: curl_easy_setopt is variadic, which Swift cannot
// call, so one typed function does a whole POST with the options updater needs. libcurl
// (libcurl.so.4) is loaded at the first use, not linked, so that processes that send no webhook
// never map it and its dependencies.
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

/// Loads libcurl and initialises it, the first time from any thread (the others wait); later calls
/// return the first one's answer. 0 on success, else -1 and updater_http_load_error() says why.
int updater_http_global_init(void);

/// Why libcurl could not be loaded or initialised ("cannot load libcurl.so.4 (...): ..."); empty
/// before updater_http_global_init and after it succeeded.
const char *updater_http_load_error(void);

/// A handle that keeps its connections alive between requests; use it from one thread at a time.
/// Loads libcurl if needed; NULL when it cannot be loaded (see updater_http_load_error) or on failure.
updater_http *updater_http_new(void);
void updater_http_free(updater_http *h);

/// POSTs `body` to `url` with the `header_count` header lines in `headers` ("Name: value"). TLS
/// peers and host names are verified; redirects are not followed; only http and https; no
/// signals. Returns 0 when a response arrived (whatever its status), else the libcurl code.
int updater_http_post(updater_http *h, const char *url, const char *const *headers, int header_count,
                      const char *body, size_t body_length, long connect_timeout_ms, long timeout_ms,
                      const char *ca_file, updater_http_result *result);

#endif
