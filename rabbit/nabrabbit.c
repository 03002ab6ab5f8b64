/*
 * nabrabbit: plays Nabaztag rabbits against an XMPP server or nabproxy,
 * byte for byte: the seed log's simulator or bootcode 18673. One rabbit,
 * or --count of them started at --rate per second on one event loop (a
 * load generator). Prints one JSON line per rabbit and, for a load run, a
 * summary line; exits 0 only if every rabbit reached idle.
 * docs/nabrabbit.md is the reference.
 */
#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "rabbit.h"
#include "report.h"
#include "state.h"

#ifndef NABPROXY_VERSION
#define NABPROXY_VERSION "0.0"
#endif

static const char usage_text[] =
"usage: nabrabbit [--firmware simulator|18673] [--connect HOST:PORT]\n"
"                 [--mac MAC] [--domain DOMAIN] [--password PW]\n"
"                 [--state FILE] [--timeout SEC] [--count N] [--rate R]\n"
"                 [--events SCRIPT] [--source ADDR[/N]]\n"
"\n"
"Plays Nabaztag rabbits byte for byte and prints one JSON line per rabbit.\n"
"\n"
"  -f, --firmware NAME   simulator (the seed log's simulator, default) or\n"
"                        18673 (bootcode 18673, with its quirks)\n"
"  -c, --connect H:P     server or nabproxy (default 127.0.0.1:5222)\n"
"  -m, --mac MAC         12 hex digits (default f81edfee27c1 for the\n"
"                        simulator, 0013d3000001 for 18673); with --count\n"
"                        the first of N consecutive MACs\n"
"  -d, --domain DOMAIN   the XMPP domain (default almacska)\n"
"  -p, --password PW     the rabbit's password (simulator default: the\n"
"                        seed's 83279de2ea5c; 18673 default: from --state,\n"
"                        else it registers a new one)\n"
"  -s, --state FILE      18673: passwords kept between runs, like flash\n"
"  -t, --timeout SEC     each rabbit's time to reach idle (default 30)\n"
"  -n, --count N         rabbits to play (default 1)\n"
"  -r, --rate R          rabbits started per second (default 100)\n"
"  -e, --events SCRIPT   18673: once idle, play SCRIPT (\"click 1; click 2;\n"
"                        ears 3 12; wait 5\") and print each Violet packet\n"
"                        received meanwhile as a JSON line\n"
"  -S, --source ADDR[/N] connect from ADDR and the addresses after it,\n"
"                        rabbit i from ADDR + (i mod N) (N default: --count,\n"
"                        one address each), like rabbits behind different\n"
"                        routers; same family as --connect (Linux routes\n"
"                        all of 127.0.0.0/8 to lo: --source 127.1.0.1)\n"
"  -h, --help, -V, --version\n"
"\n"
"Exit status: 0 if every rabbit reached idle, 1 if not, 2 usage error.\n";

struct run {
	struct event_base	*base;
	struct rabbit_opts	 opts;
	struct state		 state;
	const char		*state_path;
	const char		*password;
	uint64_t		 mac0;
	unsigned		 count, started, ended;
	double			 rate;
	struct timespec		 t0;
	struct sockaddr_storage	 src;		/* --source: the first */
	socklen_t		 srclen;	/* 0: none */
	unsigned		 srcn;		/* addresses to cycle over */
	struct event		*tick;
	struct report_summary	 sum;
};

static void
usage_error(const char *msg, const char *arg)
{
	fprintf(stderr, "nabrabbit: %s%s%s\n(see nabrabbit --help)\n", msg,
	    arg ? ": " : "", arg ? arg : "");
	exit(2);
}

static double
num(const char *s, double lo, double hi, const char *what)
{
	char	*end;
	double	 v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end != '\0' || v < lo || v > hi)
		usage_error(what, s);
	return v;
}

/* HOST:PORT or [V6]:PORT, resolved now (before the loop runs). */
static void
resolve(const char *hp, struct rabbit_opts *o)
{
	char		 host[256];
	const char	*colon = strrchr(hp, ':');
	struct addrinfo	 hints, *ai;
	size_t		 hl;

	if (colon == NULL || colon == hp || colon[1] == '\0')
		usage_error("--connect wants HOST:PORT", hp);
	hl = (size_t)(colon - hp);
	if (hp[0] == '[' && hl > 2 && hp[hl - 1] == ']')
		hp++, hl -= 2;
	if (hl >= sizeof(host))
		usage_error("--connect: host too long", hp);
	memcpy(host, hp, hl);
	host[hl] = '\0';
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(host, colon + 1, &hints, &ai) != 0)
		usage_error("--connect: cannot resolve", hp);
	memcpy(&o->ro_addr, ai->ai_addr, ai->ai_addrlen);
	o->ro_addrlen = ai->ai_addrlen;
	freeaddrinfo(ai);
}

static uint64_t
parse_mac(const char *s)
{
	char		 hex[13];
	size_t		 o = 0;
	char		*end;

	for (; *s != '\0'; s++) {
		if (*s == ':' || *s == '-')
			continue;
		if (o == 12)
			usage_error("--mac wants 12 hex digits", s);
		hex[o++] = *s;
	}
	hex[o] = '\0';
	if (o != 12 || strspn(hex, "0123456789abcdefABCDEF") != 12)
		usage_error("--mac wants 12 hex digits", hex);
	return strtoull(hex, &end, 16);
}

/*
 * --source ADDR[/N]: a numeric IPv4 or IPv6 address and how many
 * consecutive ones to use (0: one per rabbit, fixed once --count is known).
 */
static void
parse_source(const char *arg, struct run *run)
{
	char		 buf[INET6_ADDRSTRLEN + 16], *slash;
	struct sockaddr_in	*sin = (struct sockaddr_in *)&run->src;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)&run->src;

	if (strlen(arg) >= sizeof(buf))
		usage_error("--source wants ADDR or ADDR/N", arg);
	snprintf(buf, sizeof(buf), "%s", arg);
	run->srcn = 0;
	if ((slash = strchr(buf, '/')) != NULL) {
		*slash = '\0';
		run->srcn = (unsigned)num(slash + 1, 1, 1000000,
		    "--source: N wants 1 .. 1000000");
	}
	memset(&run->src, 0, sizeof(run->src));
	if (inet_pton(AF_INET, buf, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		run->srclen = sizeof(*sin);
	} else if (inet_pton(AF_INET6, buf, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		run->srclen = sizeof(*sin6);
	} else
		usage_error("--source wants a numeric IPv4 or IPv6 address",
		    arg);
}

/*
 * The address of rabbit i: the first plus i mod srcn, added to the last
 * 32 bits (checked not to wrap by source_check()).
 */
static void
source_of(const struct run *run, unsigned i, struct sockaddr_storage *out)
{
	uint32_t	 v, add = i % run->srcn;
	unsigned char	*p;

	memcpy(out, &run->src, sizeof(*out));
	p = out->ss_family == AF_INET ?
	    (unsigned char *)&((struct sockaddr_in *)out)->sin_addr :
	    (unsigned char *)&((struct sockaddr_in6 *)out)->sin6_addr + 12;
	memcpy(&v, p, 4);
	v = htonl(ntohl(v) + add);
	memcpy(p, &v, 4);
}

static void
source_check(struct run *run, const char *arg)
{
	unsigned char	*p;
	uint32_t	 v;

	if (run->srclen == 0)
		return;
	if (run->src.ss_family != run->opts.ro_addr.ss_family)
		usage_error("--source and --connect must be the same address "
		    "family", arg);
	if (run->srcn == 0 || run->srcn > run->count)
		run->srcn = run->count;
	p = run->src.ss_family == AF_INET ?
	    (unsigned char *)&((struct sockaddr_in *)&run->src)->sin_addr :
	    (unsigned char *)&((struct sockaddr_in6 *)&run->src)->sin6_addr +
	    12;
	memcpy(&v, p, 4);
	if ((uint64_t)ntohl(v) + run->srcn - 1 > 0xffffffffULL)
		usage_error("--source + N addresses run past the last address",
		    arg);
}

/* --events: each Violet packet the rabbit got, as one JSON line. */
static void
on_packet(const char *mac, const unsigned char *pkt, size_t n, void *arg)
{
	char	line[16384];
	int	len;

	(void)arg;
	if ((len = rabbit_packet_json(mac, pkt, n, line, sizeof(line))) == -1)
		return;
	printf("%.*s\n", len, line);
	fflush(stdout);
}

static void
parse_cli(int argc, char **argv, struct run *run)
{
	static const struct option opts[] = {
		{ "firmware", required_argument, NULL, 'f' },
		{ "connect", required_argument, NULL, 'c' },
		{ "mac", required_argument, NULL, 'm' },
		{ "domain", required_argument, NULL, 'd' },
		{ "password", required_argument, NULL, 'p' },
		{ "state", required_argument, NULL, 's' },
		{ "timeout", required_argument, NULL, 't' },
		{ "count", required_argument, NULL, 'n' },
		{ "rate", required_argument, NULL, 'r' },
		{ "events", required_argument, NULL, 'e' },
		{ "source", required_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	const char	*connect = "127.0.0.1:5222", *mac = NULL, *src = NULL;
	int		 ch;

	run->opts.ro_timeout = 30;
	run->count = 1;
	run->rate = 100;
	snprintf(run->opts.ro_domain, sizeof(run->opts.ro_domain), "almacska");
	while ((ch = getopt_long(argc, argv, "f:c:m:d:p:s:t:n:r:e:S:hV", opts,
	    NULL)) != -1) {
		switch (ch) {
		case 'f':
			if (strcmp(optarg, "simulator") == 0)
				run->opts.ro_firmware = RABBIT_SIMULATOR;
			else if (strcmp(optarg, "18673") == 0)
				run->opts.ro_firmware = RABBIT_18673;
			else
				usage_error("--firmware is simulator or 18673",
				    optarg);
			break;
		case 'c': connect = optarg; break;
		case 'm': mac = optarg; break;
		case 'd':
			if (strlen(optarg) == 0 || strlen(optarg) > 255 ||
			    strpbrk(optarg, "'\"<>&/@ "))
				usage_error("--domain: not a domain", optarg);
			snprintf(run->opts.ro_domain,
			    sizeof(run->opts.ro_domain), "%s", optarg);
			break;
		case 'p':
			if (strlen(optarg) >= STATE_PW_MAX ||
			    strpbrk(optarg, "'\"<>& \t\n"))
				usage_error("--password: empty, too long or "
				    "with XML characters", NULL);
			run->password = optarg;
			break;
		case 's': run->state_path = optarg; break;
		case 't': run->opts.ro_timeout = num(optarg, 0.1, 3600,
		    "--timeout wants seconds (0.1 .. 3600)"); break;
		case 'n': run->count = (unsigned)num(optarg, 1, 1000000,
		    "--count wants 1 .. 1000000"); break;
		case 'r': run->rate = num(optarg, 0.01, 1e6,
		    "--rate wants rabbits per second (0.01 .. 1e6)"); break;
		case 'e': run->opts.ro_events = optarg; break;
		case 'S': parse_source(optarg, run); src = optarg; break;
		case 'h': fputs(usage_text, stdout); exit(0);
		case 'V': printf("nabrabbit %s\n", NABPROXY_VERSION); exit(0);
		default: fputs(usage_text, stderr); exit(2);
		}
	}
	if (optind != argc)
		usage_error("unexpected argument", argv[optind]);
	if (run->opts.ro_events != NULL) {
		char	err[256];

		if (run->opts.ro_firmware != RABBIT_18673)
			usage_error("--events needs --firmware 18673", NULL);
		if (rabbit_events_check(run->opts.ro_events, err,
		    sizeof(err)) == -1)
			usage_error(err, NULL);
		run->opts.ro_packet = on_packet;
	}
	if (mac == NULL)
		mac = run->opts.ro_firmware == RABBIT_18673 ? "0013d3000001" :
		    "f81edfee27c1";
	run->mac0 = parse_mac(mac);
	if (run->mac0 + run->count - 1 > 0xffffffffffffULL)
		usage_error("--mac + --count runs past ffffffffffff", mac);
	resolve(connect, &run->opts);
	source_check(run, src);
}

static double
elapsed_ms(const struct timespec *t0)
{
	struct timespec	now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - t0->tv_sec) * 1e3 +
	    (double)(now.tv_nsec - t0->tv_nsec) / 1e6;
}

static void
on_done(const struct report_rabbit *rep, const char *pw, void *arg)
{
	struct run	*run = arg;
	char		 line[8192];
	int		 n;

	if ((n = report_rabbit_json(rep, line, sizeof(line))) != -1) {
		fwrite(line, 1, (size_t)n, stdout);
		fputc('\n', stdout);
		fflush(stdout);
	}
	if (report_summary_add(&run->sum, rep) == -1 ||
	    (run->opts.ro_firmware == RABBIT_18673 &&
	    state_set(&run->state, rep->rr_mac, pw) == -1))
		fprintf(stderr, "nabrabbit: out of memory\n");
	if (++run->ended == run->count) {
		run->sum.su_elapsed_ms = elapsed_ms(&run->t0);
		event_base_loopexit(run->base, NULL);
	}
}

/* Start every rabbit that is due; re-arm for the next one. */
static void
on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct run	*run = arg;
	char		 mac[13];
	const char	*pw;
	double		 now = elapsed_ms(&run->t0), next;
	struct timeval	 tv;

	while (run->started < run->count &&
	    (double)run->started * 1e3 / run->rate <= now) {
		snprintf(mac, sizeof(mac), "%012" PRIx64,
		    run->mac0 + run->started);
		run->started++;
		pw = run->password;
		if (pw == NULL && run->opts.ro_firmware == RABBIT_18673)
			pw = state_get(&run->state, mac);
		else if (pw == NULL)
			pw = "83279de2ea5c";	/* the seed's */
		if (run->srclen > 0) {
			struct sockaddr_storage	sa;

			source_of(run, run->started - 1, &sa);
			(void)rabbit_start_from(run->base, &run->opts,
			    (struct sockaddr *)&sa, run->srclen, mac, pw,
			    on_done, run);
		} else
			(void)rabbit_start(run->base, &run->opts, mac, pw,
			    on_done, run);
	}
	if (run->started == run->count)
		return;
	next = (double)run->started * 1e3 / run->rate - now;
	tv.tv_sec = (time_t)(next / 1e3);
	tv.tv_usec = (suseconds_t)((next - (double)tv.tv_sec * 1e3) * 1e3);
	evtimer_add(run->tick, &tv);
}

int
main(int argc, char **argv)
{
	struct run	run;
	char		err[4096], line[4096];
	int		n;

	memset(&run, 0, sizeof(run));
	parse_cli(argc, argv, &run);
	signal(SIGPIPE, SIG_IGN);
	if (run.state_path && state_load(&run.state, run.state_path, err,
	    sizeof(err)) == -1) {
		fprintf(stderr, "nabrabbit: %s\n", err);
		return 2;
	}
	if ((run.base = event_base_new()) == NULL ||
	    (run.tick = evtimer_new(run.base, on_tick, &run)) == NULL) {
		fprintf(stderr, "nabrabbit: cannot start the event loop\n");
		return 1;
	}
	clock_gettime(CLOCK_MONOTONIC, &run.t0);
	on_tick(-1, 0, &run);
	if (run.ended < run.count)
		event_base_dispatch(run.base);
	if (run.count > 1 &&
	    (n = report_summary_json(&run.sum, line, sizeof(line))) != -1)
		printf("%.*s\n", n, line);
	if (run.state_path && state_save(&run.state, run.state_path, err,
	    sizeof(err)) == -1)
		fprintf(stderr, "nabrabbit: %s\n", err);
	n = run.sum.su_idle == run.count ? 0 : 1;
	report_summary_free(&run.sum);
	state_free(&run.state);
	event_free(run.tick);
	event_base_free(run.base);
	return n;
}
