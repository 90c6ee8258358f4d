#include "curl_shim.h"

#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct updater_http {
    CURL *easy;
};

int updater_http_global_init(void) { return (int)curl_global_init(CURL_GLOBAL_DEFAULT); }

updater_http *updater_http_new(void) {
    updater_http *h = calloc(1, sizeof(updater_http));
    if (!h) return NULL;
    h->easy = curl_easy_init();
    if (!h->easy) {
        free(h);
        return NULL;
    }
    return h;
}

void updater_http_free(updater_http *h) {
    if (!h) return;
    curl_easy_cleanup(h->easy);
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
    curl_easy_reset(e);  // keeps the connection cache
    struct curl_slist *list = NULL;
    for (int i = 0; i < header_count; i++) list = curl_slist_append(list, headers[i]);
    list = curl_slist_append(list, "Expect:");  // no 100-continue round trip
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
#else
    curl_easy_setopt(e, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
    if (ca_file && ca_file[0]) curl_easy_setopt(e, CURLOPT_CAINFO, ca_file);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, connect_timeout_ms);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(e, CURLOPT_POST, 1L);
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_length);
    curl_easy_setopt(e, CURLOPT_COPYPOSTFIELDS, body);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, list);
    curl_easy_setopt(e, CURLOPT_USERAGENT, "updater-webhooks/1");
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, result);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, result);
    char error[CURL_ERROR_SIZE];
    error[0] = 0;
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, error);
    CURLcode rc = curl_easy_perform(e);
    result->curl_code = (int)rc;
    if (rc == CURLE_OK) {
        curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &result->status);
    } else {
        const char *text = error[0] ? error : curl_easy_strerror(rc);
        strncpy(result->error, text, sizeof(result->error) - 1);
    }
    curl_easy_getinfo(e, CURLINFO_TOTAL_TIME, &result->seconds);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, NULL);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, NULL);
    curl_slist_free_all(list);
    return (int)rc;
}
