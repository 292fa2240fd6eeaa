/* The kernel floor for bench/checkers.sh: the least a TCP_CHECK or HTTP_GET prober can do
 * per probe, with the system calls keepalived-rs makes (socket, non-blocking connect,
 * epoll_ctl add, epoll_wait, getsockopt SO_ERROR, getpeername; HTTP: write the request,
 * read to EOF, look at the status; epoll_ctl del, close), and nothing else: no timers beyond
 * one epoll timeout, no allocation per probe, no logging. Run against the same real servers
 * at the same rate, its CPU time is the baseline our daemon's CPU time is compared with.
 *
 *   checkers-floor SERVERS SECONDS INTERVAL TIMEOUT [HTTP_REQUEST_PATH]
 *
 * SERVERS: lines "IPV4 PORT ANY". Every server is probed once per INTERVAL seconds, the
 * probes spread evenly over the interval (started in batches of at most 1 ms, as a 1 ms
 * timer wheel does); a server whose probe is still running when it is due again is skipped
 * that round. A probe not finished after TIMEOUT seconds is closed (a timeout). With a path,
 * each probe is `GET PATH HTTP/1.0` and succeeds on status 200.
 * Prints one line: probes started, succeeded, failed, timed out, skipped, and this
 * process's user and system CPU seconds (getrusage) and wall seconds.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct target {
    struct sockaddr_in addr;
    int fd;
    int sent;    /* HTTP: the request is written */
    size_t got;  /* HTTP: response bytes kept (the status line) */
    char head[16];
    double started;
};

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long ok, failed, timed_out;
/* FLOOR_RST=1 in the environment: close with SO_LINGER {1, 0}, i.e. a reset instead of a
 * FIN (no FIN exchange, no TIME_WAIT): what a cheaper close would save. */
static int rst_close;

static void finish(int ep, struct target *t, int success) {
    if (rst_close) {
        struct linger li = {.l_onoff = 1, .l_linger = 0};
        setsockopt(t->fd, SOL_SOCKET, SO_LINGER, &li, sizeof li);
    }
    epoll_ctl(ep, EPOLL_CTL_DEL, t->fd, NULL);
    close(t->fd);
    t->fd = -1;
    if (success)
        ok++;
    else
        failed++;
}

int main(int argc, char **argv) {
    if (argc < 5) {
        fprintf(stderr, "usage: %s SERVERS SECONDS INTERVAL TIMEOUT [PATH]\n", argv[0]);
        return 2;
    }
    FILE *f = fopen(argv[1], "r");
    if (!f) {
        perror(argv[1]);
        return 1;
    }
    rst_close = getenv("FLOOR_RST") && strcmp(getenv("FLOOR_RST"), "1") == 0;
    double seconds = atof(argv[2]), interval = atof(argv[3]), timeout = atof(argv[4]);
    char request[512] = "";
    if (argc > 5)
        snprintf(request, sizeof request, "GET %s HTTP/1.0\r\nUser-Agent: KeepAliveClient\r\n\r\n", argv[5]);
    size_t request_len = strlen(request);

    struct target *ts = NULL;
    long n = 0, cap = 0;
    char ip[64], rest[64];
    int port;
    while (fscanf(f, "%63s %d %63s", ip, &port, rest) == 3) {
        if (n == cap) {
            cap = cap ? 2 * cap : 1024;
            ts = realloc(ts, (size_t)cap * sizeof *ts);
            if (!ts)
                return 1;
        }
        memset(&ts[n], 0, sizeof ts[n]);
        ts[n].addr.sin_family = AF_INET;
        ts[n].addr.sin_port = htons((unsigned short)port);
        if (inet_pton(AF_INET, ip, &ts[n].addr.sin_addr) != 1) {
            fprintf(stderr, "bad address %s\n", ip);
            return 1;
        }
        ts[n].fd = -1;
        n++;
    }
    fclose(f);
    if (n == 0)
        return 1;
    /* Probes in flight in start order: the timeout is the same for all, so the oldest
     * expires first. Each server is in flight at most once: n slots suffice. */
    long *queue = malloc((size_t)n * sizeof *queue);
    double *queued_at = malloc((size_t)n * sizeof *queued_at);
    long head = 0, len = 0;
    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event events[256];
    long started = 0, skipped = 0, next = 0;
    double t0 = now(), end = t0 + seconds;
    char buf[4096];

    for (;;) {
        double t = now();
        if (t >= end)
            break;
        /* Start what is due within the next millisecond. */
        while (t0 + (double)next * interval / (double)n <= t + 0.001) {
            long i = next % n;
            struct target *x = &ts[i];
            next++;
            if (x->fd >= 0) {
                skipped++;
                continue;
            }
            int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
            if (fd < 0) {
                perror("socket");
                return 1;
            }
            started++;
            if (connect(fd, (struct sockaddr *)&x->addr, sizeof x->addr) < 0 && errno != EINPROGRESS) {
                close(fd);
                failed++;
                continue;
            }
            struct epoll_event e = {.events = EPOLLOUT, .data.u64 = (unsigned long)i};
            epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e);
            x->fd = fd;
            x->sent = 0;
            x->got = 0;
            x->started = t;
            queue[(head + len) % n] = i;
            queued_at[(head + len) % n] = t;
            len++;
        }
        /* Timeouts. */
        while (len > 0 && queued_at[head] + timeout <= t) {
            struct target *x = &ts[queue[head]];
            if (x->fd >= 0 && x->started == queued_at[head]) {
                epoll_ctl(ep, EPOLL_CTL_DEL, x->fd, NULL);
                close(x->fd);
                x->fd = -1;
                timed_out++;
            }
            head = (head + 1) % n;
            len--;
        }
        double due = t0 + (double)next * interval / (double)n;
        int ms = (int)((due - now()) * 1000.0 + 0.999);
        if (ms < 1)
            ms = 1;
        int k = epoll_wait(ep, events, 256, ms);
        for (int j = 0; j < k; j++) {
            struct target *x = &ts[events[j].data.u64];
            if (x->fd < 0)
                continue;
            if (!x->sent) {
                int err = 0;
                socklen_t el = sizeof err;
                struct sockaddr_in peer;
                socklen_t pl = sizeof peer;
                if (getsockopt(x->fd, SOL_SOCKET, SO_ERROR, &err, &el) < 0 || err != 0 ||
                    getpeername(x->fd, (struct sockaddr *)&peer, &pl) < 0) {
                    finish(ep, x, 0);
                    continue;
                }
                if (request_len == 0) {
                    finish(ep, x, 1);
                    continue;
                }
                if (write(x->fd, request, request_len) != (ssize_t)request_len) {
                    finish(ep, x, 0);
                    continue;
                }
                x->sent = 1;
                struct epoll_event e = {.events = EPOLLIN, .data.u64 = events[j].data.u64};
                epoll_ctl(ep, EPOLL_CTL_MOD, x->fd, &e);
                continue;
            }
            for (;;) {
                ssize_t r = read(x->fd, buf, sizeof buf);
                if (r > 0) {
                    size_t keep = sizeof x->head - x->got;
                    if ((size_t)r < keep)
                        keep = (size_t)r;
                    memcpy(x->head + x->got, buf, keep);
                    x->got += keep;
                    continue;
                }
                if (r < 0 && (errno == EAGAIN || errno == EINTR))
                    break;
                /* EOF (or an error): "HTTP/1.1 200 " */
                finish(ep, x, r == 0 && x->got >= 13 && memcmp(x->head + 8, " 200 ", 5) == 0);
                break;
            }
        }
    }
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("started %ld ok %ld failed %ld timeout %ld skipped %ld user %.3f sys %.3f wall %.3f\n", started, ok,
           failed, timed_out, skipped, (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6,
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6, now() - t0);
    return 0;
}
