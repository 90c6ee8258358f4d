#include "curl_shim.h"

// Only libcurl's types and constants come from its header: its functions are looked up at run time.
#define CURL_DISABLE_TYPECHECK
#define CURL_DISABLE_DEPRECATION
#include <curl/curl.h>
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

// libcurl is loaded (dlopen) at the first request, not linked: linked, it and its dependencies
// (OpenSSL, GnuTLS, Kerberos, LDAP, SSH, ...) are mapped into every updater process, about 6 MB
// resident in the daemon (issue 18), though most daemons send no webhook. Without libcurl installed
// updater still runs; each webhook attempt fails with the reason (updater_http_load_error).
static struct {
    CURLcode (*global_init)(long flags);
    CURL *(*easy_init)(void);
    void (*easy_cleanup)(CURL *easy);
    void (*easy_reset)(CURL *easy);
    CURLcode (*easy_setopt)(CURL *easy, CURLoption option, ...);
    CURLcode (*easy_perform)(CURL *easy);
    CURLcode (*easy_getinfo)(CURL *easy, CURLINFO info, ...);
    const char *(*easy_strerror)(CURLcode code);
    struct curl_slist *(*slist_append)(struct curl_slist *list, const char *string);
    void (*slist_free_all)(struct curl_slist *list);
    curl_version_info_data *(*version_info)(CURLversion age);
} curl;

static unsigned int curl_version_num;  // of the library loaded, e.g. 0x075801 for 7.88.1
static int load_status = -1;
static char load_error[512];
static pthread_once_t load_once = PTHREAD_ONCE_INIT;

static void load_curl(void) {
    static const char library[] = "libcurl.so.4";
    void *handle = dlopen(library, RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
        const char *why = dlerror();
        snprintf(load_error, sizeof(load_error), "cannot load %s (Debian's libcurl4 package), which webhooks are sent with: %s",
                 library, why ? why : "unknown error");
        return;
    }
    const struct { const char *name; void **slot; } symbols[] = {
        {"curl_global_init", (void **)&curl.global_init},
        {"curl_easy_init", (void **)&curl.easy_init},
        {"curl_easy_cleanup", (void **)&curl.easy_cleanup},
        {"curl_easy_reset", (void **)&curl.easy_reset},
        {"curl_easy_setopt", (void **)&curl.easy_setopt},
        {"curl_easy_perform", (void **)&curl.easy_perform},
        {"curl_easy_getinfo", (void **)&curl.easy_getinfo},
        {"curl_easy_strerror", (void **)&curl.easy_strerror},
        {"curl_slist_append", (void **)&curl.slist_append},
        {"curl_slist_free_all", (void **)&curl.slist_free_all},
        {"curl_version_info", (void **)&curl.version_info},
    };
    for (size_t i = 0; i < sizeof(symbols) / sizeof(symbols[0]); i++) {
        *symbols[i].slot = dlsym(handle, symbols[i].name);
        if (!*symbols[i].slot) {
            snprintf(load_error, sizeof(load_error), "%s has no %s", library, symbols[i].name);
            return;  // the library stays loaded: harmless, and nothing else may use it
        }
    }
    curl_version_info_data *info = curl.version_info(CURLVERSION_NOW);
    curl_version_num = info ? info->version_num : 0;
    CURLcode rc = curl.global_init(CURL_GLOBAL_DEFAULT);
    if (rc != CURLE_OK) {
        snprintf(load_error, sizeof(load_error), "curl_global_init failed: %s", curl.easy_strerror(rc));
        return;
    }
    load_status = 0;
}

// Once per process, from any thread (curl_global_init is not thread-safe; pthread_once makes the
// other callers wait for the first).
int updater_http_global_init(void) {
    pthread_once(&load_once, load_curl);
    return load_status;
}

const char *updater_http_load_error(void) { return load_error; }

struct updater_http {
    CURL *easy;
};

updater_http *updater_http_new(void) {
    if (updater_http_global_init() != 0) return NULL;
    updater_http *h = calloc(1, sizeof(updater_http));
    if (!h) return NULL;
    h->easy = curl.easy_init();
    if (!h->easy) {
        free(h);
        return NULL;
    }
    return h;
}

void updater_http_free(updater_http *h) {
    if (!h) return;
    curl.easy_cleanup(h->easy);
    free(h);
}

static size_t on_body(char *data, size_t size, size_t count, void *context) {
    updater_http_result *r = context;
    size_t n = size * count;
    size_t room = sizeof(r->body) - 1 - r->body_length;
    size_t take = n < room ? n : room;
    memcpy(r->body + r->body_length, data, take);
    r->body_length += take;
    r->body[r->body_length] = 0;
    return n;  // read (and drop) the rest
}

static size_t on_header(char *data, size_t size, size_t count, void *context) {
    updater_http_result *r = context;
    size_t n = size * count;
    static const char name[] = "retry-after:";
    size_t len = sizeof(name) - 1;
    if (n > len && strncasecmp(data, name, len) == 0) {
        const char *v = data + len;
        size_t vn = n - len;
        while (vn > 0 && (*v == ' ' || *v == '\t')) { v++; vn--; }
        while (vn > 0 && (v[vn - 1] == '\r' || v[vn - 1] == '\n' || v[vn - 1] == ' ')) vn--;
        if (vn >= sizeof(r->retry_after)) vn = sizeof(r->retry_after) - 1;
        memcpy(r->retry_after, v, vn);
        r->retry_after[vn] = 0;
    } else if (n >= 5 && strncmp(data, "HTTP/", 5) == 0) {
        r->retry_after[0] = 0;  // a new response (after a 100 Continue, say)
    }
    return n;
}

int updater_http_post(updater_http *h, const char *url, const char *const *headers, int header_count,
                      const char *body, size_t body_length, long connect_timeout_ms, long timeout_ms,
                      const char *ca_file, updater_http_result *result) {
    memset(result, 0, sizeof(*result));
    CURL *e = h->easy;
    curl.easy_reset(e);  // keeps the connection cache
    struct curl_slist *list = NULL;
    for (int i = 0; i < header_count; i++) list = curl.slist_append(list, headers[i]);
    list = curl.slist_append(list, "Expect:");  // no 100-continue round trip
    curl.easy_setopt(e, CURLOPT_URL, url);
    curl.easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl.easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    // The library loaded decides (CURLOPT_PROTOCOLS_STR came with 7.85.0), not the header built with.
#if LIBCURL_VERSION_NUM >= 0x075500
    if (curl_version_num >= 0x075500)
        curl.easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    else
#endif
        curl.easy_setopt(e, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
    curl.easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
    curl.easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
    if (ca_file && ca_file[0]) curl.easy_setopt(e, CURLOPT_CAINFO, ca_file);
    curl.easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, connect_timeout_ms);
    curl.easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl.easy_setopt(e, CURLOPT_POST, 1L);
    curl.easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_length);
    curl.easy_setopt(e, CURLOPT_COPYPOSTFIELDS, body);
    curl.easy_setopt(e, CURLOPT_HTTPHEADER, list);
    curl.easy_setopt(e, CURLOPT_USERAGENT, "updater-webhooks/1");
    curl.easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl.easy_setopt(e, CURLOPT_WRITEDATA, result);
    curl.easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl.easy_setopt(e, CURLOPT_HEADERDATA, result);
    char error[CURL_ERROR_SIZE];
    error[0] = 0;
    curl.easy_setopt(e, CURLOPT_ERRORBUFFER, error);
    CURLcode rc = curl.easy_perform(e);
    result->curl_code = (int)rc;
    if (rc == CURLE_OK) {
        curl.easy_getinfo(e, CURLINFO_RESPONSE_CODE, &result->status);
    } else {
        const char *text = error[0] ? error : curl.easy_strerror(rc);
        strncpy(result->error, text, sizeof(result->error) - 1);
    }
    curl.easy_getinfo(e, CURLINFO_TOTAL_TIME, &result->seconds);
    curl.easy_setopt(e, CURLOPT_ERRORBUFFER, NULL);
    curl.easy_setopt(e, CURLOPT_HTTPHEADER, NULL);
    curl.slist_free_all(list);
    return (int)rc;
}
