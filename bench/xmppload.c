/*
 * xmppload: XMPP round-trip load generator for nabproxy benchmarks.
 *
 * Load mode (default): open -c connections to -H:-p, each sends the seed
 * rabbit's stream header and waits for the server's header. When every
 * connection is ready the clock starts: each connection sends -n message
 * stanzas of exactly -s bytes, keeping at most -w of them in flight, and
 * expects each one back byte for byte (bench/echoserver echoes every
 * top-level stanza). The clock stops when the last echo arrives; then each
 * connection sends </stream:stream> and closes.
 *
 * Idle mode (-I 1,100,1000 -P PID): ramp up to each connection count; a
 * connection sends its header and one stanza and then idles. After each
 * level is reached (every echo back, a short settle), VmRSS and VmHWM of
 * PID are read from /proc/PID/status.
 *
 * Paced mode (-r RATE): as load mode, but the connections together send
 * RATE stanzas per second (round robin, a 1 ms tick), so latency is
 * measured on a proxy that is not saturated.
 *
 * Setup mode (-C): -c connections are opened (at most 200 connecting at
 * a time, as in idle mode) and each one's setup time is measured, from
 * the connect() call to the server's stream header having arrived:
 *   SETUP conns= p50_us= p99_us= max_us= errors=
 *
 * Output: one machine-readable line per run, key=value pairs:
 *   RESULT conns= stanzas= bytes= secs= stanzas_per_s= mb_per_s=
 *          p50_us= p99_us= max_us= errors= [cpu_s= cpu_us_per_stanza=]
 *   MEM conns= rss_kb= hwm_kb=
 * mb_per_s counts stanza bytes in one direction (client -> server); every
 * byte crosses a proxy twice (there and back). Latency is per stanza,
 * from queueing it for sending (the socket write follows in the same loop
 * turn) to the arrival of the last byte of its echo. cpu_s (with -P) is user+system CPU time of PID during the timed
 * phase, from /proc/PID/task/TID/schedstat (ns), else /proc/PID/stat.
 *
 * Build: gcc -O2 -o xmppload xmppload.c -levent_core
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/util.h>

static const char client_header[] =
    "<?xml version='1.0' encoding='UTF-8'?>\n"
    "<stream:stream to='almacska' xmlns='jabber:client' "
    "xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>";

enum cstate { C_CONNECTING, C_HEADER, C_READY, C_RUN, C_DONE, C_CLOSING,
    C_CLOSED };

struct conn {
	struct bufferevent	*bev;
	int			 idx;
	enum cstate		 st;
	unsigned		 sent, recvd, target;
	uint64_t		*t_sent;	/* ring of -w send times (ns) */
	uint64_t		 t_open;	/* connect() called (ns) */
	char			*expect;	/* stanza the next echo must be */
};

static struct {
	struct event_base	*base;
	struct sockaddr_in	 sin;
	unsigned		 conns, per_conn, size, window;
	double			 timeout;
	int			 pid;
	const char		*idle_levels;
	int			 verify;
	double			 rate;		/* -r: stanzas/s, all conns */
	int			 setup;		/* -C */
	unsigned long long	 sent_total;
	unsigned		 rr;
	struct event		*tick;
	double			 settle;	/* idle mode: seconds */
	/* run state */
	struct conn		*c;
	unsigned		 opened, ready, finished, closed, failed;
	unsigned		 want_ready;	/* idle mode: current level */
	uint64_t		*lat;		/* ns */
	size_t			 nlat;
	uint64_t		 t0, t1;
	unsigned long long	 errors;
	int			 phase_done;
	struct event		*deadline;
} g;

static uint64_t
now_ns(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Body filler: the alphabet repeated; a stanza's body starts at seq % 26. */
static char	*pattern;

/* Fill buf with a message stanza of exactly size bytes, id unique-ish. */
static void
make_stanza(char *buf, size_t size, unsigned conn, unsigned seq)
{
	static const char tail[] = "</body></message>";
	int	hn;
	size_t	pad;

	hn = snprintf(buf, size, "<message to='echo@almacska/bench' "
	    "id='c%u-%u' type='chat'><body>", conn, seq);
	pad = size - (size_t)hn - (sizeof(tail) - 1);
	memcpy(buf + hn, pattern + seq % 26, pad);
	memcpy(buf + hn + pad, tail, sizeof(tail) - 1);
}

static size_t
min_size(void)
{
	char	head[160];

	return (size_t)snprintf(head, sizeof(head), "<message to='echo@almacska/"
	    "bench' id='c%u-%u' type='chat'><body>", 4294967295u,
	    4294967295u) + 17 + 1;
}

static void	try_send(struct conn *);
static void	conn_close(struct conn *);
static void	check_phase(void);

static void
fail_conn(struct conn *c, const char *why)
{
	if (g.failed < 10)
		fprintf(stderr, "xmppload: connection %d: %s\n", c->idx, why);
	g.failed++;
	g.errors++;
	if (c->st == C_RUN || c->st == C_READY || c->st == C_HEADER ||
	    c->st == C_CONNECTING)
		g.finished++;
	c->st = C_CLOSED;
	if (c->bev != NULL) {
		bufferevent_free(c->bev);
		c->bev = NULL;
	}
	g.closed++;
	check_phase();
}

static void
send_one(struct conn *c)
{
	struct evbuffer_iovec	v;

	/* Build the stanza straight into the output buffer. */
	if (evbuffer_reserve_space(bufferevent_get_output(c->bev), g.size,
	    &v, 1) < 1 || v.iov_len < g.size) {
		fprintf(stderr, "xmppload: out of memory\n");
		exit(1);
	}
	make_stanza(v.iov_base, g.size, (unsigned)c->idx, c->sent);
	v.iov_len = g.size;
	evbuffer_commit_space(bufferevent_get_output(c->bev), &v, 1);
	c->t_sent[c->sent % g.window] = now_ns();
	c->sent++;
}

static void
try_send(struct conn *c)
{
	if (g.rate > 0)
		return;		/* paced: tick_cb sends */
	while (c->sent < c->target && c->sent - c->recvd < g.window)
		send_one(c);
}

/* Paced mode: send what the schedule says is due by now. */
static void
tick_cb(evutil_socket_t fd, short what, void *arg)
{
	unsigned long long due;
	unsigned	 i;
	struct conn	*c;

	if (g.t0 == 0 || g.t1 != 0)
		return;
	due = (unsigned long long)((double)(now_ns() - g.t0) / 1e9 * g.rate) + 1;
	while (g.sent_total < due) {
		for (i = 0; i < g.conns; i++) {
			c = &g.c[(g.rr + i) % g.conns];
			if (c->st == C_RUN && c->sent < c->target &&
			    c->sent - c->recvd < g.window)
				break;
		}
		if (i == g.conns)
			break;	/* every window full: the proxy lags */
		g.rr = (g.rr + i + 1) % g.conns;
		send_one(c);
		g.sent_total++;
	}
}

static void
conn_close(struct conn *c)
{
	c->st = C_CLOSING;
	bufferevent_write(c->bev, "</stream:stream>", 16);
}

static void
readcb(struct bufferevent *bev, void *arg)
{
	struct conn		*c = arg;
	struct evbuffer		*in = bufferevent_get_input(bev);
	struct evbuffer_ptr	 p, q;
	uint64_t		 t;
	unsigned char		*data;

	if (c->st == C_HEADER) {
		p = evbuffer_search(in, "<stream:stream", 14, NULL);
		if (p.pos == -1)
			return;
		q = evbuffer_search(in, ">", 1, &p);
		if (q.pos == -1)
			return;
		evbuffer_drain(in, (size_t)q.pos + 1);
		c->st = C_READY;
		g.ready++;
		if (g.setup && g.lat != NULL)
			g.lat[g.nlat++] = now_ns() - c->t_open;
		if (g.idle_levels != NULL) {
			c->st = C_RUN;
			c->target = 1;
			try_send(c);
		}
		check_phase();
		if (c->st != C_RUN)
			return;
	}
	if (c->st == C_CLOSING) {
		/* Server's </stream:stream>, maybe after late bytes. */
		if (evbuffer_search(in, "</stream:stream>", 16, NULL).pos != -1)
			evbuffer_drain(in, evbuffer_get_length(in));
		return;
	}
	while (c->st == C_RUN && evbuffer_get_length(in) >= g.size) {
		t = now_ns();
		data = evbuffer_pullup(in, g.size);
		if (g.verify) {
			make_stanza(c->expect, g.size, (unsigned)c->idx, c->recvd);
			if (memcmp(data, c->expect, g.size) != 0) {
				g.errors++;
				if (g.errors < 5)
					fprintf(stderr, "xmppload: connection %d "
					    "stanza %u: wrong echo: %.*s\n", c->idx,
					    c->recvd, (int)(g.size < 120 ?
					    g.size : 120), data);
			}
		}
		evbuffer_drain(in, g.size);
		if (g.lat != NULL)
			g.lat[g.nlat++] = t - c->t_sent[c->recvd % g.window];
		c->recvd++;
		if (c->recvd == c->target) {
			c->st = C_DONE;
			g.finished++;
			check_phase();
			return;
		}
		try_send(c);
	}
}

static void
eventcb(struct bufferevent *bev, short what, void *arg)
{
	struct conn	*c = arg;
	int		 on = 1;

	if (what & BEV_EVENT_CONNECTED) {
		setsockopt(bufferevent_getfd(bev), IPPROTO_TCP, TCP_NODELAY,
		    &on, sizeof(on));
		c->st = C_HEADER;
		bufferevent_write(bev, client_header, sizeof(client_header) - 1);
		return;
	}
	if (c->st == C_CLOSING) {
		bufferevent_free(c->bev);
		c->bev = NULL;
		c->st = C_CLOSED;
		g.closed++;
		check_phase();
		return;
	}
	fail_conn(c, (what & BEV_EVENT_EOF) ? "unexpected EOF" :
	    evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
}

static void
open_conn(unsigned i)
{
	struct conn	*c = &g.c[i];

	c->idx = (int)i;
	c->st = C_CONNECTING;
	c->t_sent = calloc(g.window, sizeof(*c->t_sent));
	c->expect = malloc(g.size);
	if ((c->bev = bufferevent_socket_new(g.base, -1,
	    BEV_OPT_CLOSE_ON_FREE)) == NULL) {
		fprintf(stderr, "xmppload: out of memory\n");
		exit(1);
	}
	bufferevent_setcb(c->bev, readcb, NULL, eventcb, c);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	g.opened++;
	c->t_open = now_ns();
	if (bufferevent_socket_connect(c->bev, (struct sockaddr *)&g.sin,
	    sizeof(g.sin)) == -1)
		fail_conn(c, "connect failed");
}

/* Connections open in batches so a 511 listen backlog is never hit. */
#define BATCH	200

static void
open_more(void)
{
	unsigned	target = g.want_ready;

	while (g.opened < target && g.opened - g.ready - g.failed < BATCH)
		open_conn(g.opened);
}

/*
 * CPU time of every thread of pid: the first field of each
 * /proc/PID/task/TID/schedstat (nanoseconds on CPU). Falls back to
 * utime+stime from /proc/PID/stat (clock ticks) without schedstat.
 */
static int
read_cpu(int pid, double *secs)
{
	char		 path[300], buf[1024], *p;
	unsigned long long ut, st, ns, total = 0;
	struct dirent	*de;
	DIR		*d;
	FILE		*f;
	size_t		 n;
	int		 found = 0;

	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	if ((d = opendir(path)) != NULL) {
		while ((de = readdir(d)) != NULL) {
			if (de->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "/proc/%d/task/%s/schedstat",
			    pid, de->d_name);
			if ((f = fopen(path, "r")) == NULL)
				continue;
			if (fscanf(f, "%llu", &ns) == 1) {
				total += ns;
				found = 1;
			}
			fclose(f);
		}
		closedir(d);
		if (found) {
			*secs = (double)total / 1e9;
			return 0;
		}
	}
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	if ((p = strrchr(buf, ')')) == NULL)
		return -1;
	/* fields after ")": state(3) ... utime(14) stime(15) */
	if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
	    &ut, &st) != 2)
		return -1;
	*secs = (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
	return 0;
}

static int
read_mem(int pid, long *rss, long *hwm)
{
	char	path[64], line[256];
	FILE	*f;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	*rss = *hwm = -1;
	while (fgets(line, sizeof(line), f) != NULL) {
		sscanf(line, "VmRSS: %ld", rss);
		sscanf(line, "VmHWM: %ld", hwm);
	}
	fclose(f);
	return 0;
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t	x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static double	cpu0;

static void
start_run(void)
{
	unsigned	i;

	if (g.pid > 0)
		read_cpu(g.pid, &cpu0);
	g.t0 = now_ns();
	if (g.rate > 0) {
		struct timeval	ms = { 0, 1000 };

		g.tick = event_new(g.base, -1, EV_PERSIST, tick_cb, NULL);
		event_add(g.tick, &ms);
	}
	for (i = 0; i < g.conns; i++) {
		if (g.c[i].st != C_READY)
			continue;
		g.c[i].st = C_RUN;
		g.c[i].target = g.per_conn;
		if (g.per_conn == 0) {
			g.c[i].st = C_DONE;
			g.finished++;
		} else
			try_send(&g.c[i]);
	}
}

static void
report_run(void)
{
	double		secs = (double)(g.t1 - g.t0) / 1e9, cpu1 = 0;
	unsigned long long n = g.nlat;
	uint64_t	p50 = 0, p99 = 0, mx = 0;

	if (g.nlat > 0) {
		qsort(g.lat, g.nlat, sizeof(*g.lat), cmp_u64);
		p50 = g.lat[g.nlat / 2];
		p99 = g.lat[(size_t)((double)g.nlat * 0.99)];
		mx = g.lat[g.nlat - 1];
	}
	if (g.tick != NULL)
		event_del(g.tick);
	if (g.setup) {
		printf("SETUP conns=%u p50_us=%.1f p99_us=%.1f max_us=%.1f "
		    "errors=%llu\n", g.conns, (double)p50 / 1e3,
		    (double)p99 / 1e3, (double)mx / 1e3, g.errors);
		fflush(stdout);
		return;
	}
	printf("RESULT conns=%u size=%u window=%u stanzas=%llu bytes=%llu "
	    "secs=%.3f stanzas_per_s=%.0f mb_per_s=%.2f p50_us=%.1f "
	    "p99_us=%.1f max_us=%.1f errors=%llu", g.conns, g.size, g.window,
	    n, n * g.size, secs, secs > 0 ? (double)n / secs : 0,
	    secs > 0 ? (double)n * g.size / secs / 1e6 : 0, (double)p50 / 1e3,
	    (double)p99 / 1e3, (double)mx / 1e3, g.errors);
	if (g.pid > 0 && read_cpu(g.pid, &cpu1) == 0)
		printf(" cpu_s=%.4f cpu_us_per_stanza=%.2f", cpu1 - cpu0,
		    n > 0 ? (cpu1 - cpu0) * 1e6 / (double)n : 0);
	printf("\n");
	fflush(stdout);
}

static void
close_all(void)
{
	unsigned	i;

	for (i = 0; i < g.conns; i++)
		if (g.c[i].st == C_DONE || g.c[i].st == C_READY ||
		    g.c[i].st == C_RUN)
			conn_close(&g.c[i]);
}

static void settle_cb(evutil_socket_t, short, void *);

/* Idle mode: the next level of connections. */
static const char	*idle_next;

static int
next_level(void)
{
	char	*end;
	unsigned long v;

	if (idle_next == NULL || *idle_next == '\0')
		return 0;
	v = strtoul(idle_next, &end, 10);
	idle_next = *end == ',' ? end + 1 : end;
	if (v > g.conns)
		v = g.conns;
	g.want_ready = (unsigned)v;
	return 1;
}

static void
settle_cb(evutil_socket_t fd, short what, void *arg)
{
	long	rss, hwm;

	if (g.pid > 0 && read_mem(g.pid, &rss, &hwm) == 0)
		printf("MEM conns=%u rss_kb=%ld hwm_kb=%ld\n", g.ready, rss,
		    hwm);
	else
		printf("MEM conns=%u rss_kb=-1 hwm_kb=-1\n", g.ready);
	fflush(stdout);
	if (next_level()) {
		open_more();
		return;
	}
	g.phase_done = 1;
	close_all();
	check_phase();
}

static struct event	*settle_ev;

static void
check_phase(void)
{
	struct timeval	 tv;

	tv.tv_sec = (time_t)g.settle;
	tv.tv_usec = (suseconds_t)((g.settle - (double)tv.tv_sec) * 1e6);
	if (g.idle_levels != NULL) {
		if (!g.phase_done) {
			open_more();
			if (g.finished >= g.want_ready &&
			    !evtimer_pending(settle_ev, NULL))
				evtimer_add(settle_ev, &tv);
		} else if (g.closed >= g.opened)
			event_base_loopexit(g.base, NULL);
		return;
	}
	if (g.t0 == 0) {
		open_more();
		if (g.ready + g.failed >= g.conns)
			start_run();
	}
	if (g.t0 != 0 && g.t1 == 0 && g.finished >= g.conns) {
		g.t1 = now_ns();
		report_run();
		close_all();
	}
	if (g.t1 != 0 && g.closed >= g.opened)
		event_base_loopexit(g.base, NULL);
}

static void
deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	fprintf(stderr, "xmppload: timeout (%.0f s): ready %u/%u, finished "
	    "%u, closed %u/%u\n", g.timeout, g.ready, g.conns, g.finished,
	    g.closed, g.opened);
	if (g.t0 != 0 && g.t1 == 0) {
		g.t1 = now_ns();
		g.errors++;
		report_run();
	}
	exit(3);
}

static void
usage(void)
{
	fprintf(stderr,
	    "usage: xmppload -p PORT [-H 127.0.0.1] [-c CONNS] [-n STANZAS/CONN]\n"
	    "                [-s SIZE] [-w WINDOW] [-t TIMEOUT_S] [-P PID] [-V]\n"
	    "       xmppload -p PORT -I 1,100,1000 -P PID [-S SETTLE_S]   (idle memory)\n"
	    "       xmppload -p PORT -c CONNS -n N -r RATE ...   (paced latency)\n"
	    "       xmppload -p PORT -c CONNS -C   (connection setup times)\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	struct timeval	tv;
	const char	*host = "127.0.0.1";
	int		ch, port = 0;

	g.conns = 1;
	g.per_conn = 1000;
	g.size = 256;
	g.window = 1;
	g.timeout = 120;
	g.verify = 1;
	g.settle = 0.3;
	while ((ch = getopt(argc, argv, "H:p:c:n:s:w:t:P:I:S:Vr:C")) != -1) {
		switch (ch) {
		case 'H': host = optarg; break;
		case 'p': port = atoi(optarg); break;
		case 'c': g.conns = (unsigned)atoi(optarg); break;
		case 'n': g.per_conn = (unsigned)atoi(optarg); break;
		case 's': g.size = (unsigned)atoi(optarg); break;
		case 'w': g.window = (unsigned)atoi(optarg); break;
		case 't': g.timeout = atof(optarg); break;
		case 'P': g.pid = atoi(optarg); break;
		case 'I': g.idle_levels = optarg; break;
		case 'S': g.settle = atof(optarg); break;
		case 'V': g.verify = 0; break;
		case 'r': g.rate = atof(optarg); break;
		case 'C': g.setup = 1; g.per_conn = 0; break;
		default: usage();
		}
	}
	if (port <= 0 || g.conns == 0 || g.window == 0)
		usage();
	if (g.size < min_size()) {
		fprintf(stderr, "xmppload: -s must be at least %zu\n", min_size());
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	if ((pattern = malloc(g.size + 26)) == NULL)
		return 1;
	for (size_t i = 0; i < g.size + 26; i++)
		pattern[i] = (char)('a' + i % 26);
	memset(&g.sin, 0, sizeof(g.sin));
	g.sin.sin_family = AF_INET;
	g.sin.sin_port = htons((unsigned short)port);
	if (inet_pton(AF_INET, host, &g.sin.sin_addr) != 1)
		usage();
	if ((g.base = event_base_new()) == NULL)
		return 1;
	if (g.idle_levels != NULL) {
		/* the largest level is the connection count */
		const char	*s = g.idle_levels;
		char		*end;
		unsigned long	 v;

		g.conns = 0;
		while (*s != '\0') {
			v = strtoul(s, &end, 10);
			if (end == s)
				usage();
			if (v > g.conns)
				g.conns = (unsigned)v;
			s = *end == ',' ? end + 1 : end;
		}
		idle_next = g.idle_levels;
		next_level();
		g.per_conn = 1;
		g.window = 1;
		settle_ev = evtimer_new(g.base, settle_cb, NULL);
	} else if ((g.lat = calloc((size_t)g.conns * (g.per_conn + 1) + 1,
	    sizeof(*g.lat))) == NULL) {
		fprintf(stderr, "xmppload: out of memory\n");
		return 1;
	} else
		g.want_ready = g.conns;
	g.c = calloc(g.conns, sizeof(*g.c));
	tv.tv_sec = (time_t)g.timeout;
	tv.tv_usec = 0;
	g.deadline = evtimer_new(g.base, deadline_cb, NULL);
	evtimer_add(g.deadline, &tv);
	open_more();
	event_base_dispatch(g.base);
	return g.errors > 0 ? 1 : 0;
}
