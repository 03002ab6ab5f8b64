/*
 * main: the command line. Runs the daemon (parse and validate the config,
 * build the filter chains, bind, serve, drain on SIGTERM, reload on
 * SIGHUP) or one of the other commands: render, credentials, tls-pin,
 * --check-config, demo (demo.c, also what runs with no upstream). Knows
 * nothing about parsing XMPP or about filters beyond handing the config
 * to chain.c.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/dns.h>
#include <event2/event.h>

#include "chain.h"
#include "config.h"
#include "creds.h"
#include "ctl.h"
#include "demo.h"
#include "harden.h"
#include "listener.h"
#include "log.h"
#include "main-int.h"
#include "proxy.h"
#include "session.h"

#ifndef NABPROXY_VERSION
#define NABPROXY_VERSION "0.0"
#endif

static const char usage_text[] =
"usage: nabproxy [-c FILE] [options]          run the proxy\n"
"       nabproxy --check-config [-c FILE]     validate, load filters, exit\n"
"       nabproxy render [--from-server|--from-rabbit] [--format vm|raw|both]\n"
"                [--prefix STR] [--one-read] < capture\n"
"       nabproxy credentials [-c FILE] add JID [PASSWORD] | remove JID | list\n"
"                | allow-register MAC|JID [MINUTES]\n"
"       nabproxy tls-pin [-c FILE] list | forget HOST:PORT\n"
"       nabproxy ctl [-c FILE] [-s SOCKET] list [--json] | history [MAC]\n"
"                [--json] | tap all|ID|MAC [--format vm|raw|both] |\n"
"                kick ID | stats | reload\n"
"       nabproxy demo [-c FILE]               the self-contained demo\n"
"       nabproxy filters [-c FILE] [FILE.so ...]  filters and their settings\n"
"\n"
"Transparent XMPP proxy and fixer for Nabaztag rabbits.\n"
"\n"
"options:\n"
"  -c, --config FILE      configuration file (default: " NAB_DEFAULT_CONF ")\n"
"  -l, --listen ADDR:PORT listen here instead of the file's listen lines;\n"
"                         repeat for several ([::1]:5222 for IPv6)\n"
"  -u, --upstream HOST:PORT  the real XMPP server (resolved asynchronously)\n"
"  -f, --foreground       stay in the foreground (default: daemonize,\n"
"                         which needs a log file)\n"
"  -L, --log-file FILE    daemon and traffic log (default: stderr)\n"
"  -F, --log-format FMT   vm (the firmware's [vm] tree), raw (SEND:/RECEIVE:\n"
"                         blocks), both, or none\n"
"  -v, --verbose          debug messages\n"
"      --check-config     validate everything and exit 0 or 1\n"
"  -h, --help             this text\n"
"  -V, --version          print the version\n"
"\n"
"signals: SIGTERM drains (stops accepting, lets rabbits finish up to\n"
"drain-timeout), SIGINT exits at once, SIGHUP reopens log-file and reloads\n"
"config, profiles, filters and credentials (a broken new config is\n"
"refused, the old stays).\n"
"\n"
"As root the daemon needs user = NAME in the config and drops to it once\n"
"its sockets and files are open; core dumps are always off.\n"
"\n"
"examples:\n"
"  nabproxy -c etc/nabproxy.conf --foreground\n"
"  nabproxy -f --listen 0.0.0.0:5222 --upstream openfire.lan:5222\n"
"  nabproxy --check-config -c /etc/nabproxy/nabproxy.conf\n"
"  nabproxy render --from-server < server-bytes.xml\n"
"  nabproxy credentials add f81edfee27c1@almacska   (password on stdin,\n"
"                                   not echoed on a terminal)\n"
"  nabproxy tls-pin forget openfire.lan:5222   (trust the server's new key)\n"
"  nabproxy ctl tap 0013d3840001 --format both   (live, until Ctrl-C)\n";

static struct cli	the_cli;

static void
usage(FILE *f, int code)
{
	fputs(usage_text, f);
	exit(code);
}

static void
parse_cli(int argc, char **argv, struct cli *c)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "listen", required_argument, NULL, 'l' },
		{ "upstream", required_argument, NULL, 'u' },
		{ "foreground", no_argument, NULL, 'f' },
		{ "log-file", required_argument, NULL, 'L' },
		{ "log-format", required_argument, NULL, 'F' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "check-config", no_argument, NULL, 'C' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	int	ch;

	memset(c, 0, sizeof(*c));
	c->config = NAB_DEFAULT_CONF;
	while ((ch = getopt_long(argc, argv, "c:l:u:fL:F:vhV", opts,
	    NULL)) != -1) {
		switch (ch) {
		case 'c': c->config = optarg; break;
		case 'l':
			if (c->nlisten == 16)
				errx_usage("too many --listen (at most 16)");
			c->listen[c->nlisten++] = optarg;
			break;
		case 'u': c->upstream = optarg; break;
		case 'f': c->foreground = 1; break;
		case 'L': c->log_file = optarg; break;
		case 'F': c->log_format = optarg; break;
		case 'v': c->verbose = 1; break;
		case 'C': c->check = 1; break;
		case 'h': usage(stdout, 0); break;
		case 'V':
			printf("nabproxy %s (filter ABI %d.%d)\n",
			    NABPROXY_VERSION, NAB_ABI_MAJOR, NAB_ABI_MINOR);
			exit(0);
		default: usage(stderr, 2);
		}
	}
	if (optind != argc)
		errx_usage("unexpected argument '%s'", argv[optind]);
}

void
errx_usage(const char *fmt, ...)
{
	va_list	ap;

	fputs("nabproxy: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\n(see nabproxy --help)\n", stderr);
	exit(2);
}

/*
 * A configuration error: bare `file:line: message` lines for --check-config
 * (a tool's output), the daemon's log otherwise (start-up and reloads).
 */
static void
cfg_report(const char *fmt, ...)
{
	va_list	ap;
	char	buf[1024];

	va_start(ap, fmt);
	(void)vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (the_cli.check)
		fprintf(stderr, "%s\n", buf);
	else
		log_warnx("%s", buf);
}

/* Apply one command-line override; 1 (reported) if it is refused. */
static int
override(struct config *cfg, const char *key, const char *val)
{
	char	err[512];

	if (val == NULL || config_set(cfg, key, val, err, sizeof(err)) == 0)
		return 0;
	cfg_report("command line: %s", err);
	return 1;
}

/* Load the file and apply command-line overrides; NULL after printing. */
struct config *
main_load_config(void)
{
	const struct cli	*c = &the_cli;
	struct config_errors	 errs;
	struct config		*cfg;
	size_t			 i;
	int			 bad = 0;

	config_errors_init(&errs);
	cfg = config_load(c->config, chain_builtin_names(), &errs);
	if (cfg == NULL) {
		for (i = 0; i < errs.ce_count; i++)
			cfg_report("%s", errs.ce_msg[i]);
		if (errs.ce_dropped)
			cfg_report("... and %zu more errors", errs.ce_dropped);
		config_errors_free(&errs);
		return NULL;
	}
	config_errors_free(&errs);
	for (i = 0; i < (size_t)c->nlisten; i++)
		bad |= override(cfg, "listen", c->listen[i]);
	bad |= override(cfg, "upstream", c->upstream);
	bad |= override(cfg, "log-file", c->log_file);
	bad |= override(cfg, "log-format", c->log_format);
	if (c->verbose)
		bad |= override(cfg, "verbose", "yes");
	if (bad) {
		config_free(cfg);
		return NULL;
	}
	return cfg;
}

int
main(int argc, char **argv)
{
	struct cli	*c = &the_cli;
	struct config	*cfg;
	char		 err[256];

	/* Every command may hold passwords: no core file, no ptrace. */
	if (harden_nocore(err, sizeof(err)) == -1) {
		fprintf(stderr, "nabproxy: %s\n", err);
		return 1;
	}
	if (argc > 1 && strcmp(argv[1], "render") == 0)
		return cmd_render(argc - 1, argv + 1);
	if (argc > 1 && strcmp(argv[1], "credentials") == 0)
		return cmd_credentials(argc - 1, argv + 1);
	if (argc > 1 && strcmp(argv[1], "tls-pin") == 0)
		return cmd_tls_pin(argc - 1, argv + 1);
	if (argc > 1 && strcmp(argv[1], "ctl") == 0)
		return cmd_ctl(argc - 1, argv + 1);
	if (argc > 1 && strcmp(argv[1], "filters") == 0)
		return cmd_filters(argc - 1, argv + 1);
	if (argc > 1 && strcmp(argv[1], "demo") == 0)
		return cmd_demo(argc - 1, argv + 1);
	parse_cli(argc, argv, c);
	if ((cfg = main_load_config()) == NULL)
		return 1;
	if (c->check)
		return cmd_check(cfg);
	if (cfg->upstream_host[0] == '\0')
		return demo_run(cfg);	/* no upstream: the demo */
	return run_daemon(cfg, c->foreground, main_load_config);
}
