/*
 * demo: the self-contained demo (see demo.h). The parent only starts,
 * watches and stops: Prosody and nabrabbit are exec'd, the proxy is a
 * forked child running run_daemon() on the given config with the demo's
 * overrides (listen on a free loopback port, upstream the throwaway
 * Prosody, state in the temp dir, [vm] log on stderr, profile auto).
 */
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <sys/prctl.h>

#include <errno.h>
#include <pwd.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "chain.h"
#include "config.h"
#include "demo.h"
#include "main-int.h"

#define DEMO_DOMAIN	"almacska"
#define SEED_USER	"f81edfee27c1"	/* the seed log's rabbit */
#define SEED_PASSWORD	"83279de2ea5c"
#define DEMO_FW_MAC	"0013d3000001"

struct demo {
	char		 dir[PATH_MAX];
	char		 pconf[PATH_MAX + 32];	/* Prosody's config */
	char		 rabbit_exe[PATH_MAX];
	pid_t		 prosody, proxy, rabbit;
	int		 logfd;		/* the proxy's stderr, read end */
	int		 rfd;		/* nabrabbit's stdout, read end */
	char		 line[8192];	/* the proxy's partial log line */
	size_t		 linelen;
	char		 rout[16384];	/* what nabrabbit printed */
	size_t		 routlen;
	unsigned long	 accepted, closed; /* the last session's id, if */
	unsigned short	 sport, pport;	/* Prosody's and the proxy's */
};

static volatile sig_atomic_t	demo_signal;

static void
on_signal(int sig)
{
	demo_signal = sig;
}

static void PRINTF(1, 2)
say(const char *fmt, ...)
{
	va_list	ap;

	fputs("demo: ", stdout);
	va_start(ap, fmt);
	vfprintf(stdout, fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
	fflush(stdout);
}

static long
now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* One line of the proxy's log: shown, and what the demo waits for. */
static void
log_line(struct demo *d, const char *s)
{
	const char	*p;

	fputs(s, stdout);
	fputc('\n', stdout);
	if (d->pport == 0 && (p = strstr(s, "listening on 127.0.0.1:")))
		d->pport = (unsigned short)atoi(p + 23);
	/* Rabbits run one at a time: the last session's end is enough. */
	if ((p = strstr(s, "session ")) != NULL) {
		if (strstr(p, ": accepted from ") != NULL)
			d->accepted = strtoul(p + 8, NULL, 10);
		else if (strstr(p, " closed the connection") != NULL &&
		    strtoul(p + 8, NULL, 10) == d->accepted)
			d->closed = d->accepted;
	}
}

/* Read the proxy's log; 0 on EOF or error (the proxy is gone). */
static int
read_log(struct demo *d)
{
	char	*nl;
	ssize_t	 n;

	n = read(d->logfd, d->line + d->linelen, sizeof(d->line) - 1 -
	    d->linelen);
	if (n <= 0)
		return n == -1 && errno == EINTR;
	d->linelen += (size_t)n;
	d->line[d->linelen] = '\0';
	while ((nl = strchr(d->line, '\n')) != NULL ||
	    d->linelen == sizeof(d->line) - 1) {
		if (nl == NULL)
			nl = d->line + d->linelen - 1;
		*nl = '\0';
		log_line(d, d->line);
		d->linelen -= (size_t)(nl + 1 - d->line);
		memmove(d->line, nl + 1, d->linelen + 1);
	}
	fflush(stdout);
	return 1;
}

/*
 * Show the proxy's log (and collect nabrabbit's output) until done(d),
 * the deadline, a signal, or the proxy's end. 0 when done(d).
 */
static int
pump(struct demo *d, long deadline, int (*done)(const struct demo *))
{
	struct pollfd	pfd[2];
	ssize_t		n;
	int		np, left;

	while (!done(d)) {
		if (demo_signal || d->logfd == -1 ||
		    (left = (int)(deadline - now_ms())) <= 0)
			return -1;
		pfd[0].fd = d->logfd, pfd[0].events = POLLIN;
		pfd[1].fd = d->rfd, pfd[1].events = POLLIN;
		np = d->rfd == -1 ? 1 : 2;
		if (poll(pfd, (nfds_t)np, left) == -1)
			continue;	/* EINTR: demo_signal says why */
		if (pfd[0].revents && !read_log(d)) {
			close(d->logfd);
			d->logfd = -1;
		}
		if (np == 2 && pfd[1].revents) {
			n = read(d->rfd, d->rout + d->routlen,
			    sizeof(d->rout) - 1 - d->routlen);
			if (n > 0)
				d->routlen += (size_t)n;
			else if (n == 0 || errno != EINTR) {
				close(d->rfd);
				d->rfd = -1;
			}
			d->rout[d->routlen] = '\0';
		}
	}
	return 0;
}

static int
have_port(const struct demo *d)
{
	return d->pport != 0;
}

static int
rabbit_over(const struct demo *d)
{
	return d->rfd == -1;
}

static int
all_freed(const struct demo *d)
{
	return d->accepted > 0 && d->closed == d->accepted;
}

static int
log_closed(const struct demo *d)
{
	return d->logfd == -1;
}

int
demo_prosody_conf(char *out, size_t outlen, const char *dir,
    unsigned short port, const char *domain)
{
	int	n;

	n = snprintf(out, outlen,
	    "-- Throwaway Prosody config written by nabproxy demo\n"
	    "run_as_root = true\n"
	    "pidfile = \"%s/prosody.pid\"\n"
	    "data_path = \"%s/data\"\n"
	    "certificates = \"%s/certs\"\n"
	    "log = { { levels = { min = \"info\" }, to = \"file\", "
	    "filename = \"%s/prosody.log\" } }\n"
	    "interfaces = { \"127.0.0.1\" }\n"
	    "local_interfaces = { \"127.0.0.1\" }\n"
	    "c2s_ports = { %u }\n"
	    "c2s_direct_tls_ports = {}\n"
	    "legacy_ssl_ports = {}\n"
	    "s2s_ports = {}\n"
	    "s2s_direct_tls_ports = {}\n"
	    "http_ports = {}\n"
	    "https_ports = {}\n"
	    "component_ports = {}\n"
	    "modules_enabled = { \"roster\"; \"saslauth\"; \"disco\"; "
	    "\"register\"; \"ping\"; \"posix\" }\n"
	    "modules_disabled = { \"s2s\" }\n"
	    "authentication = \"internal_hashed\"\n"
	    "storage = \"internal\"\n"
	    "c2s_require_encryption = false\n"
	    "allow_unencrypted_plain_auth = true\n"
	    "allow_registration = true\n"
	    "\n"
	    "VirtualHost \"%s\"\n", dir, dir, dir, dir, (unsigned)port, domain);
	return n < 0 || (size_t)n >= outlen ? -1 : n;
}

int
demo_write_builtin_conf(const char *path)
{
	static const char	text[] =
	    "# nabproxy demo: the built-in profiles (etc/profiles/*.conf)\n"
	    "[nabproxy]\n"
	    "profile = auto\n"
	    "[profile bootcode-18673]\n"
	    "filters = firmware-guard digest-server auth register bind "
	    "presence-echo sources iq-answer\n"
	    "match-firmware = bootcode-18673\n"
	    "[profile simulator]\n"
	    "filters = auth register bind\n"
	    "match-firmware = simulator\n";
	FILE	*f;
	int	 bad;

	if ((f = fopen(path, "w")) == NULL)
		return -1;
	bad = fputs(text, f) == EOF;
	bad |= fclose(f) == EOF;
	return bad ? -1 : 0;
}

/* Copy the JSON string value after `key` (raw, escapes kept). */
static int
json_field(const char *line, const char *key, char *out, size_t outlen)
{
	const char	*p = strstr(line, key);
	size_t		 o = 0;

	if (outlen)
		out[0] = '\0';
	if (p == NULL || p[strlen(key)] != '"')
		return 0;
	for (p += strlen(key) + 1; *p && *p != '"'; p++) {
		if (*p == '\\' && p[1])
			p++;
		if (o + 1 < outlen)
			out[o++] = *p;
	}
	if (outlen)
		out[o] = '\0';
	return 1;
}

int
demo_rabbit_verdict(const char *line, char *jid, size_t jidlen,
    char *step, size_t steplen, char *reason, size_t reasonlen)
{
	if (strncmp(line, "{\"mac\":", 7) != 0)
		return -1;
	json_field(line, "\"jid\":", jid, jidlen);
	json_field(line, "\"failed\":", step, steplen);
	json_field(line, "\"reason\":", reason, reasonlen);
	return strstr(line, "\"idle\":true") != NULL;
}

/* The tail of a file of ours, to explain a failure. */
static void
show_tail(const struct demo *d, const char *name)
{
	char	path[PATH_MAX + 64], buf[2048];
	ssize_t	n;
	int	fd;
	off_t	end;

	snprintf(path, sizeof(path), "%s/%s", d->dir, name);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return;
	end = lseek(fd, 0, SEEK_END);
	(void)lseek(fd, end > (off_t)sizeof(buf) - 1 ?
	    end - (off_t)sizeof(buf) + 1 : 0, SEEK_SET);
	if ((n = read(fd, buf, sizeof(buf) - 1)) > 0) {
		buf[n] = '\0';
		say("--- %s (tail) ---\n%s", name, buf);
	}
	close(fd);
}

/* A file of ours for a child's output; -1 after saying why. */
static int
out_file(const struct demo *d, const char *name)
{
	char	path[PATH_MAX + 64];
	int	fd;

	snprintf(path, sizeof(path), "%s/%s", d->dir, name);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
	    0600)) == -1)
		say("%s: %s", path, strerror(errno));
	return fd;
}

/* 1 if the file of ours says its port was taken (case-insensitive). */
static int
port_taken(const struct demo *d, const char *name)
{
	char	path[PATH_MAX + 64], buf[16384];
	ssize_t	n;
	int	fd;

	snprintf(path, sizeof(path), "%s/%s", d->dir, name);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	return strcasestr(buf, "address already in use") != NULL ||
	    strcasestr(buf, "failed to open server port") != NULL;
}

static void
stop_prosody(struct demo *d)
{
	if (d->prosody <= 0)
		return;
	(void)kill(-d->prosody, SIGKILL);	/* its own session */
	(void)kill(d->prosody, SIGKILL);
	(void)demo_reap(d->prosody, 5000, 0);
	d->prosody = 0;
}

/*
 * One try on a free port: 0 once our Prosody listens there, 1 if it lost
 * the port to somebody else (try another), -1 on any other failure.
 */
static int
try_prosody(struct demo *d)
{
	char	 text[4096];
	int	 fd, st;
	long	 deadline;
	FILE	*f;

	if ((d->sport = demo_free_port()) == 0 ||
	    demo_prosody_conf(text, sizeof(text), d->dir, d->sport,
	    DEMO_DOMAIN) == -1)
		return -1;
	snprintf(d->pconf, sizeof(d->pconf), "%s/prosody.cfg.lua", d->dir);
	if ((f = fopen(d->pconf, "w")) == NULL || fputs(text, f) == EOF ||
	    fclose(f) == EOF)
		return -1;
	if ((fd = out_file(d, "prosody.out")) == -1)
		return -1;
	/* NEVER `prosody --version`: it starts a server on 5222. */
	d->prosody = demo_spawn((const char *[]){ "prosody", "-F", "--config",
	    d->pconf, NULL }, d->dir, fd);
	close(fd);
	if (d->prosody == -1)
		return -1;
	deadline = now_ms() + 30000;
	while (!demo_signal && now_ms() < deadline) {
		if (demo_owns_listener(d->prosody, d->sport))
			return 0;
		if (waitpid(d->prosody, &st, WNOHANG) == d->prosody)
			d->prosody = 0;
		if (port_taken(d, "prosody.log") ||
		    port_taken(d, "prosody.out")) {
			stop_prosody(d);
			return 1;
		}
		if (d->prosody == 0)
			return -1;
		(void)poll(NULL, 0, 20);	/* a condition with a deadline */
	}
	return -1;
}

/* Start Prosody on a free port and wait until it listens there. */
static int
start_prosody(struct demo *d)
{
	char	path[PATH_MAX + 64];
	int	i, rc = -1;

	snprintf(path, sizeof(path), "%s/data", d->dir);
	(void)mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/certs", d->dir);
	(void)mkdir(path, 0700);
	for (i = 0; i < 3 && (rc = try_prosody(d)) == 1; i++) {
		snprintf(path, sizeof(path), "%s/prosody.log", d->dir);
		(void)unlink(path);
		snprintf(path, sizeof(path), "%s/prosody.out", d->dir);
		(void)unlink(path);
		say("port %u was taken; trying another", d->sport);
	}
	return rc == 0 ? 0 : -1;
}

/* prosodyctl register: the seed's account, as the seed log has it. */
static int
add_seed_account(struct demo *d)
{
	pid_t	pid;
	int	fd, st;

	if ((fd = out_file(d, "prosodyctl.out")) == -1)
		return -1;
	pid = demo_spawn((const char *[]){ "prosodyctl", "--config", d->pconf,
	    "register", SEED_USER, DEMO_DOMAIN, SEED_PASSWORD, NULL },
	    d->dir, fd);
	close(fd);
	if (pid == -1)
		return -1;
	st = demo_reap(pid, 30000, SIGTERM);
	return st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

static struct config *
no_reload(void)
{
	return NULL;	/* the demo's overrides live only in this process */
}

/* The demo's overrides of cfg's [nabproxy] keys; -1 after saying why. */
static int
override(struct demo *d, struct config *cfg)
{
	char	up[32], state[PATH_MAX + 16], creds[PATH_MAX + 32], err[512];
	char	self[256];
	const char *const kv[][2] = {
		{ "listen", "127.0.0.1:0" }, { "upstream", up },
		{ "state-dir", state }, { "credentials", creds },
		{ "log-file", "" }, { "log-dir", "" }, { "log-format", "vm" },
		{ "profile", "auto" }, { "redact", "yes" },
		{ "upstream-tls", "no" },	/* its Prosody has no TLS */
		/* A throwaway run on loopback: as whoever runs the demo. */
		{ "user", self }, { "pid-file", "" }, { "chroot", "" },
	};
	const struct passwd	*pw = getpwuid(geteuid());
	size_t	i;

	snprintf(self, sizeof(self), "%s", pw != NULL ? pw->pw_name : "root");
	snprintf(up, sizeof(up), "127.0.0.1:%u", (unsigned)d->sport);
	snprintf(state, sizeof(state), "%s/state", d->dir);
	snprintf(creds, sizeof(creds), "%s/credentials", state);
	if (mkdir(state, 0700) == -1) {
		say("%s: %s", state, strerror(errno));
		return -1;
	}
	for (i = 0; i < sizeof(kv) / sizeof(kv[0]); i++)
		if (config_set(cfg, kv[i][0], kv[i][1], err, sizeof(err))) {
			say("cannot set %s: %s", kv[i][0], err);
			return -1;
		}
	return 0;
}

/* Fork the proxy (takes cfg) and wait for its listening line. */
static int
start_proxy(struct demo *d, struct config *cfg)
{
	pid_t	parent = getpid();
	int	p[2], devnull;

	if (override(d, cfg) == -1 || pipe2(p, O_CLOEXEC) == -1) {
		config_free(cfg);
		return -1;
	}
	fflush(stdout);
	fflush(stderr);
	if ((d->proxy = fork()) == 0) {
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) == -1 ||
		    getppid() != parent)
			_exit(1);
		(void)setsid();
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGHUP, SIG_DFL);
		close(p[0]);
		if ((devnull = open("/dev/null", O_RDONLY)) == -1 ||
		    dup2(devnull, 0) == -1 || dup2(p[1], 1) == -1 ||
		    dup2(p[1], 2) == -1)
			_exit(1);
		_exit(run_daemon(cfg, 1, no_reload));
	}
	close(p[1]);
	config_free(cfg);
	d->logfd = p[0];
	if (d->proxy == -1)
		return -1;
	return pump(d, now_ms() + 20000, have_port);
}

/* Run nabrabbit through the proxy; 1 if it reached idle. */
static int
run_rabbit(struct demo *d, const char *firmware, const char *what)
{
	char	 port[16], state[PATH_MAX + 16], jid[320], step[64];
	char	 reason[512], *line;
	int	 p[2], idle = 0;

	snprintf(port, sizeof(port), "127.0.0.1:%u", (unsigned)d->pport);
	snprintf(state, sizeof(state), "%s/rabbit-state", d->dir);
	say("nabrabbit --firmware %s --connect %s (%s)", firmware, port, what);
	if (pipe2(p, O_CLOEXEC) == -1)
		return 0;
	d->routlen = 0;
	d->rout[0] = '\0';
	d->rabbit = demo_spawn((const char *[]){ d->rabbit_exe, "--firmware",
	    firmware, "--connect", port, "--mac", strcmp(firmware,
	    "simulator") ? DEMO_FW_MAC : SEED_USER, "--domain", DEMO_DOMAIN,
	    "--state", state, "--timeout", "30", NULL }, d->dir, p[1]);
	close(p[1]);
	d->rfd = p[0];
	if (d->rabbit == -1 || pump(d, now_ms() + 60000, rabbit_over) == -1)
		return 0;
	(void)demo_reap(d->rabbit, 5000, SIGTERM);
	d->rabbit = 0;
	(void)pump(d, now_ms() + 10000, all_freed);	/* the session's log */
	for (line = strtok(d->rout, "\n"); line; line = strtok(NULL, "\n")) {
		if (demo_rabbit_verdict(line, jid, sizeof(jid), step,
		    sizeof(step), reason, sizeof(reason)) == -1)
			continue;
		say("nabrabbit: %s", line);
		if ((idle = strstr(line, "\"idle\":true") != NULL))
			say("%s is online as %s: idle", what, jid);
		else
			say("%s FAILED at step %s: %s", what, step, reason);
		return idle;
	}
	say("%s: nabrabbit printed no result: %s", what, d->rout);
	return 0;
}

/* Stop what we started, newest first; remove the temp dir. */
static void
cleanup(struct demo *d)
{
	if (d->rabbit > 0) {
		(void)kill(d->rabbit, SIGKILL);
		(void)demo_reap(d->rabbit, 5000, 0);
	}
	if (d->rfd != -1)
		close(d->rfd);
	if (d->proxy > 0) {
		(void)kill(d->proxy, SIGINT);	/* cuts at once */
		demo_signal = 0;
		(void)pump(d, now_ms() + 5000, log_closed);
		(void)demo_reap(d->proxy, 5000, SIGKILL);
	}
	if (d->logfd != -1)
		close(d->logfd);
	stop_prosody(d);
	if (d->dir[0] != '\0' && demo_rmtree(d->dir) == -1)
		say("could not remove %s: %s", d->dir, strerror(errno));
}

/* Everything between the temp dir and the verdict. */
static int
demo_body(struct demo *d, struct config *cfg)
{
	int	sim, fw;

	say("starting Prosody on loopback (domain %s, account %s)",
	    DEMO_DOMAIN, SEED_USER);
	if (start_prosody(d) == -1) {
		config_free(cfg);
		say("Prosody did not start on 127.0.0.1:%u", d->sport);
		show_tail(d, "prosody.out");
		show_tail(d, "prosody.log");
		return 1;
	}
	if (add_seed_account(d) == -1) {
		config_free(cfg);
		say("prosodyctl register failed");
		show_tail(d, "prosodyctl.out");
		return 1;
	}
	say("Prosody (pid %d) listens on 127.0.0.1:%u; starting nabproxy in "
	    "front of it (profile auto)", (int)d->prosody, d->sport);
	if (start_proxy(d, cfg) == -1) {
		say("nabproxy did not start");
		return 1;
	}
	say("nabproxy (pid %d) listens on 127.0.0.1:%u", (int)d->proxy,
	    d->pport);
	sim = run_rabbit(d, "simulator", "the seed's simulator");
	if (demo_signal)
		return 1;
	fw = run_rabbit(d, "18673", "firmware 18673");
	if (demo_signal)
		return 1;
	if (sim && fw)
		say("verdict: both rabbits reached idle through nabproxy");
	else
		say("verdict: FAILED (simulator %s, firmware 18673 %s)",
		    sim ? "idle" : "not idle", fw ? "idle" : "not idle");
	return sim && fw ? 0 : 1;
}

/* The temp dir, private to us; -1 after saying why. */
static int
make_dir(struct demo *d)
{
	const char	*tmp = getenv("TMPDIR");

	if (tmp == NULL || *tmp != '/')
		tmp = "/tmp";
	snprintf(d->dir, sizeof(d->dir), "%s/nabproxy-demo-XXXXXX", tmp);
	if (mkdtemp(d->dir) == NULL) {
		say("mkdtemp %s: %s", d->dir, strerror(errno));
		d->dir[0] = '\0';
		return -1;
	}
	say("working directory %s (removed at the end)", d->dir);
	return 0;
}

/* The built-in profiles, for a binary with no config file. */
static struct config *
builtin_config(const struct demo *d)
{
	struct config_errors	 errs;
	struct config		*cfg;
	char			 path[PATH_MAX + 32];
	size_t			 i;

	snprintf(path, sizeof(path), "%s/nabproxy.conf", d->dir);
	if (demo_write_builtin_conf(path) == -1)
		return NULL;
	config_errors_init(&errs);
	cfg = config_load(path, chain_builtin_names(), &errs);
	for (i = 0; cfg == NULL && i < errs.ce_count; i++)
		say("%s", errs.ce_msg[i]);
	config_errors_free(&errs);
	return cfg;
}

int
demo_run(struct config *cfg)
{
	struct demo		d;
	struct sigaction	sa;
	int			rc = 1, sig;

	memset(&d, 0, sizeof(d));
	d.logfd = d.rfd = -1;
	if (!demo_in_path("prosody") || !demo_in_path("prosodyctl")) {
		config_free(cfg);
		say("the demo needs Prosody, which is not installed: "
		    "apt install prosody (or give nabproxy an upstream: "
		    "upstream = HOST:PORT)");
		return 1;
	}
	if (demo_find_exe("nabrabbit", d.rabbit_exe, sizeof(d.rabbit_exe))) {
		config_free(cfg);
		say("nabrabbit is neither next to nabproxy nor in PATH");
		return 1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;	/* no SA_RESTART: poll() returns */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (make_dir(&d) == 0) {
		if (cfg == NULL && (cfg = builtin_config(&d)) == NULL)
			say("the built-in demo config does not load");
		else
			rc = demo_body(&d, cfg);
	} else
		config_free(cfg);
	sig = demo_signal;
	cleanup(&d);
	if (sig != 0) {
		say("interrupted by signal %d; everything it started is "
		    "stopped", sig);
		return 128 + sig;
	}
	return rc;
}

/* nabproxy demo [-c FILE]: FILE's profiles, else the built-in ones. */
int
cmd_demo(int argc, char **argv)
{
	struct config_errors	 errs;
	struct config		*cfg = NULL;
	const char		*conf = NAB_DEFAULT_CONF;
	size_t			 i;
	int			 given = 0;

	if (argc == 3 && (strcmp(argv[1], "-c") == 0 ||
	    strcmp(argv[1], "--config") == 0))
		conf = argv[2], given = 1;
	else if (argc != 1) {
		fputs("usage: nabproxy demo [-c FILE]\n", stderr);
		return 2;
	}
	if (given || access(conf, F_OK) == 0) {
		config_errors_init(&errs);
		cfg = config_load(conf, chain_builtin_names(), &errs);
		for (i = 0; cfg == NULL && i < errs.ce_count; i++)
			fprintf(stderr, "%s\n", errs.ce_msg[i]);
		config_errors_free(&errs);
		if (cfg == NULL)
			return 1;
	}
	return demo_run(cfg);
}
