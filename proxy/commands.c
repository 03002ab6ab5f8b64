/*
 * commands: the offline subcommands that are not the daemon:
 * --check-config, credentials (add/remove/list/allow-register; the
 * password read without echo from a terminal), tls-pin (list/forget) and
 * filters (every filter's settings, filter ABI 1.4); the demo is demo.c. As root with `user` set, credentials and tls-pin
 * act as that user.
 * Each prints to stdout/stderr and returns an exit status; none touches
 * the network.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "chain.h"
#include "config.h"
#include "creds.h"
#include "ctlreg.h"
#include "daemon.h"
#include "harden.h"
#include "main-int.h"
#include "metrics.h"
#include "tls_pin.h"
#include "webauth.h"

/* watch, http-listen and its token, which only the daemon reads: 0, or
   -1 (err). */
static int
cmd_check_ctl(const struct config *cfg, char *err, size_t errlen)
{
	struct ctlreg	*reg;
	char		 tok[WEBAUTH_TOKEN_MAX + 1];
	int		 rc = 0;

	if (webauth_token(cfg, tok, sizeof(tok), err, errlen) == -1)
		return -1;
	rc = cfg->http_listen != NULL && cfg->http_listen[0] != '\0' &&
	    metrics_check(cfg->http_listen, tok[0] != '\0', err, errlen) == -1;
	explicit_bzero(tok, sizeof(tok));
	if (rc)
		return -1;
	if ((reg = ctlreg_new()) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	rc = ctlreg_set_watch(reg, cfg->watch, err, errlen);
	ctlreg_free(reg);
	return rc;
}

int
cmd_check(struct config *cfg)
{
	struct harden_user	 u;
	struct chainset		*cs;
	struct creds		*cr;
	char			 err[4096];
	int			 rc = 0;

	if ((cs = daemon_chains(cfg, err, sizeof(err))) == NULL) {
		fputs(err, stderr);
		rc = 1;
	} else
		chainset_unref(cs);
	/*
	 * The store belongs to the user the daemon runs as: `user`, resolved
	 * as root would (whoever checks), or else whoever checks.
	 */
	u.hu_uid = geteuid();
	if (cfg->user[0] != '\0' && harden_user_resolve(cfg->user, 0, &u, err,
	    sizeof(err)) == -1) {
		fprintf(stderr, "%s\n", err);
		rc = 1;
	} else if (access(cfg->credentials, F_OK) == 0) {
		/* creds_open's messages start with the path already. */
		if ((cr = creds_open_owner(cfg->credentials, u.hu_uid, err,
		    sizeof(err))) == NULL) {
			fprintf(stderr, "%s\n", err);
			rc = 1;
		} else
			creds_close(cr);
	}
	if (cmd_check_ctl(cfg, err, sizeof(err)) == -1) {
		fprintf(stderr, "%s\n", err);
		rc = 1;
	}
	if (rc == 0)
		printf("configuration OK\n");
	config_free(cfg);
	return rc;
}

/* The terminal as it was before the prompt, for the signal handler. */
static struct termios	pw_saved;
static volatile sig_atomic_t pw_echo_off;

/* A signal during the prompt: echo back on, then die of the signal. */
static void
pw_on_signal(int sig)
{
	if (pw_echo_off)
		(void)tcsetattr(STDIN_FILENO, TCSAFLUSH, &pw_saved);
	signal(sig, SIG_DFL);
	raise(sig);
}

/*
 * Echo off on the terminal on stdin, with signal handlers that turn it
 * back on. Returns 0, or -1 with errno set (nothing changed).
 */
static int
pw_noecho(struct sigaction *old)
{
	static const int	 sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT,
	    SIGTSTP };
	struct sigaction	 sa;
	struct termios		 t;
	size_t			 i;

	if (tcgetattr(STDIN_FILENO, &pw_saved) == -1)
		return -1;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = pw_on_signal;
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &sa, &old[i]);
	t = pw_saved;
	t.c_lflag &= ~(tcflag_t)(ECHO | ECHOE | ECHOK | ECHONL);
	t.c_lflag |= ICANON;
	pw_echo_off = 1;
	if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &t) == -1) {
		pw_echo_off = 0;
		for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
			sigaction(sigs[i], &old[i], NULL);
		return -1;
	}
	return 0;
}

/* Undoes pw_noecho. */
static void
pw_echo(const struct sigaction *old)
{
	static const int	sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT,
	    SIGTSTP };
	size_t			i;

	(void)tcsetattr(STDIN_FILENO, TCSAFLUSH, &pw_saved);
	pw_echo_off = 0;
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &old[i], NULL);
	fputc('\n', stderr);
}

/*
 * Read a password from stdin (one line, its LF or CR LF stripped; a CR
 * elsewhere is part of it). On a terminal the prompt goes to stderr and
 * the typed password is not echoed (echo comes back on every exit,
 * signals included); otherwise (a pipe, a file) the line is read as it
 * is. -1 with a message when there is none or the line does not fit in
 * buf: a longer password is refused, never stored cut short.
 */
static int
read_password(char *buf, size_t len)
{
	struct sigaction	 old[5];
	size_t			 n;
	char			*got;
	int			 tty = isatty(STDIN_FILENO), noecho = 0;

	if (tty) {
		/*
		 * Echo off before the prompt: what is typed after the prompt
		 * is never echoed. Never echo a password: refuse rather.
		 */
		if (pw_noecho(old) == -1) {
			fprintf(stderr, "nabproxy: cannot turn echo off: %s\n",
			    strerror(errno));
			return -1;
		}
		noecho = 1;
		fprintf(stderr, "password (not echoed): ");
		fflush(stderr);
	}
	got = fgets(buf, (int)len, stdin);
	if (noecho)
		pw_echo(old);
	if (got == NULL) {
		fprintf(stderr, "nabproxy: no password given\n");
		return -1;
	}
	n = strcspn(buf, "\n");
	if (buf[n] == '\0' && n == len - 1) {
		fprintf(stderr, "nabproxy: password longer than %d bytes\n",
		    CREDS_PASSWORD_MAX);
		return -1;
	}
	if (n > 0 && buf[n - 1] == '\r')
		n--;
	buf[n] = '\0';
	if (n == 0) {
		fprintf(stderr, "nabproxy: no password given\n");
		return -1;
	}
	return 0;
}

/* "-c CONF" or "--config CONF" in front of a subcommand's words. */
static const char *
conf_arg(int argc, char **argv, int *a)
{
	*a = 1;
	if (argc > 2 && (strcmp(argv[1], "-c") == 0 ||
	    strcmp(argv[1], "--config") == 0)) {
		*a = 3;
		return argv[2];
	}
	return NAB_DEFAULT_CONF;
}

/* The config a subcommand works on; NULL with its errors printed. */
static struct config *
load_config(const char *conf)
{
	struct config_errors	 errs;
	struct config		*cfg;
	size_t			 i;

	config_errors_init(&errs);
	if ((cfg = config_load(conf, chain_builtin_names(), &errs)) == NULL)
		for (i = 0; i < errs.ce_count; i++)
			fprintf(stderr, "%s\n", errs.ce_msg[i]);
	config_errors_free(&errs);
	return cfg;
}

/*
 * As root with `user = NAME`: become NAME before touching the store or
 * the pin file, so that they stay the daemon's (owner and mode checked at
 * its start). Returns 0, or -1 after printing why.
 */
static int
become_user(const struct config *cfg)
{
	struct harden_user	u;
	char			err[512];

	if (geteuid() != 0 || cfg->user[0] == '\0')
		return 0;
	if (harden_user_resolve(cfg->user, 0, &u, err, sizeof(err)) == -1 ||
	    harden_drop(&u, "", err, sizeof(err)) == -1) {
		fprintf(stderr, "nabproxy: %s\n", err);
		return -1;
	}
	return 0;
}

/*
 * The one JID of the store whose local part is mac (12 hex digits, any
 * case), or arg itself when it is a JID. NULL with a message if there is
 * none or more than one.
 */
static const char *
allow_target(struct creds *cr, const char *arg, char *jid, size_t cap)
{
	const char	*j;
	size_t		 i, n = 0, ml = strlen(arg);

	if (strchr(arg, '@') != NULL)
		return arg;
	if (ml != 12 || strspn(arg, "0123456789abcdefABCDEF") != 12) {
		fprintf(stderr, "nabproxy: %s: neither a MAC (12 hex digits) "
		    "nor a JID\n", arg);
		return NULL;
	}
	for (i = 0; (j = creds_jid(cr, i)) != NULL; i++)
		if (strncasecmp(j, arg, 12) == 0 && j[12] == '@' && n++ == 0)
			snprintf(jid, cap, "%s", j);
	if (n == 1)
		return jid;
	if (n == 0)
		fprintf(stderr, "nabproxy: no password stored for %s@...: "
		    "nabproxy must know the server's password to log the "
		    "rabbit in; add it first: nabproxy credentials add "
		    "%s@DOMAIN\n", arg, arg);
	else
		fprintf(stderr, "nabproxy: %s has accounts in several domains: "
		    "give the JID\n", arg);
	return NULL;
}

/*
 * allow-register MAC|JID [MINUTES]: for MINUTES (default 10), the next
 * registration of that rabbit sets its own password, while nabproxy
 * keeps logging in upstream with the server's (creds_put_rabbit).
 */
static int
cred_allow(struct creds *cr, int n, char **args)
{
	const char	*jid;
	char		 buf[CREDS_JID_MAX + 1], err[512], *end, when[32];
	long		 minutes = 10;
	time_t		 until;

	if (n == 2) {
		errno = 0;
		minutes = strtol(args[1], &end, 10);
		if (errno != 0 || *end != '\0' || minutes < 1 ||
		    minutes > 7 * 24 * 60) {
			fprintf(stderr, "nabproxy: allow-register: MINUTES must "
			    "be 1..10080\n");
			return 1;
		}
	}
	if ((jid = allow_target(cr, args[0], buf, sizeof(buf))) == NULL)
		return 1;
	until = time(NULL) + minutes * 60;
	if (creds_allow_register(cr, jid, (long long)until, err,
	    sizeof(err)) == -1) {
		fprintf(stderr, "nabproxy: %s\n", err);
		return 1;
	}
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime(&until));
	printf("%s may register a new password until %s (%ld min, one "
	    "registration): it becomes the rabbit's own; nabproxy keeps "
	    "logging in upstream with the stored server password\n", jid,
	    when, minutes);
	return 0;
}

/* list: the JIDs, with what the operator opened for them. */
static void
cred_list(struct creds *cr)
{
	const char	*j;
	char		 when[32];
	time_t		 until;
	size_t		 i;

	for (i = 0; (j = creds_jid(cr, i)) != NULL; i++) {
		printf("%s", j);
		if (creds_get_rabbit(cr, j) != creds_get(cr, j))
			printf(" (rabbit's own password, from allow-register)");
		if ((until = (time_t)creds_window(cr, j)) > time(NULL)) {
			strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ",
			    gmtime(&until));
			printf(" (allow-register open until %s)", when);
		}
		printf("\n");
	}
}

static const char	cred_use[] = "credentials: add JID [PASSWORD] | "
    "remove JID | list | allow-register MAC|JID [MINUTES]";

int
cmd_credentials(int argc, char **argv)
{
	struct config		*cfg;
	struct creds		*cr;
	const char		*conf, *op, *pass = NULL;
	/* The longest password creds_put takes, CR LF and NUL. */
	char			 err[512], pw[CREDS_PASSWORD_MAX + 3];
	int			 a, rc = 0;

	conf = conf_arg(argc, argv, &a);
	if (a >= argc)
		errx_usage("%s", cred_use);
	op = argv[a++];
	if ((cfg = load_config(conf)) == NULL)
		return 1;
	if (become_user(cfg) == -1) {
		config_free(cfg);
		return 1;
	}
	if ((cr = creds_open(cfg->credentials, err, sizeof(err))) == NULL) {
		fprintf(stderr, "nabproxy: %s\n", err);
		config_free(cfg);
		return 1;
	}
	if (strcmp(op, "list") == 0 && a == argc)
		cred_list(cr);
	else if (strcmp(op, "allow-register") == 0 && (argc - a == 1 ||
	    argc - a == 2))
		rc = cred_allow(cr, argc - a, argv + a);
	else if (strcmp(op, "add") == 0 && (argc - a == 1 || argc - a == 2)) {
		/* creds_put checks the length: no copy that could cut it. */
		if (argc - a == 2)
			pass = argv[a + 1];
		else if (read_password(pw, sizeof(pw)) == 0)
			pass = pw;
		else
			rc = 1;
		if (rc == 0 && creds_put(cr, argv[a], pass, err, sizeof(err)) == -1) {
			fprintf(stderr, "nabproxy: %s\n", err);
			rc = 1;
		}
		explicit_bzero(pw, sizeof(pw));
	} else if (strcmp(op, "remove") == 0 && argc - a == 1) {
		switch (creds_remove(cr, argv[a], err, sizeof(err))) {
		case -1:
			fprintf(stderr, "nabproxy: %s\n", err);
			rc = 1;
			break;
		case 2:
			fprintf(stderr, "nabproxy: %s: no such JID\n", argv[a]);
			rc = 1;
			break;
		}
	} else
		errx_usage("%s", cred_use);
	creds_close(cr);
	config_free(cfg);
	return rc;
}

/*
 * tls-pin [-c CONF] list | forget UPSTREAM: the pin store in state-dir
 * (tls_pin.c). forget makes the next connection pin the key it sees.
 */
int
cmd_tls_pin(int argc, char **argv)
{
	static const char	 use[] = "tls-pin: list | forget HOST:PORT";
	struct config		*cfg;
	const char		*conf, *op;
	char			 file[4096], err[4096];
	int			 a, rc = 0;

	conf = conf_arg(argc, argv, &a);
	if (a >= argc)
		errx_usage("%s", use);
	op = argv[a++];
	if (!(strcmp(op, "list") == 0 && a == argc) &&
	    !(strcmp(op, "forget") == 0 && argc - a == 1))
		errx_usage("%s", use);
	if ((cfg = load_config(conf)) == NULL)
		return 1;
	if (become_user(cfg) == -1) {
		config_free(cfg);
		return 1;
	}
	tls_pin_path(cfg->state_dir, file, sizeof(file));
	config_free(cfg);
	if (strcmp(op, "list") == 0)
		rc = tls_pin_list(file, stdout, err, sizeof(err));
	else if ((rc = tls_pin_store(file, argv[a], NULL, err,
	    sizeof(err))) == 1)
		snprintf(err, sizeof(err), "%s: no pin for %s", file, argv[a]);
	else if (rc == 0)
		printf("forgot %s: the next connection pins the key it sees\n",
		    argv[a]);
	if (rc != 0)
		fprintf(stderr, "nabproxy: %s\n", err);
	return rc != 0;
}

/*
 * nabproxy filters [-c FILE] [FILE.so ...]: every built-in filter with
 * its settings, then the external filters of FILE (with -c) and the
 * shared objects named; each is loaded but never initialised.
 */
int
cmd_filters(int argc, char **argv)
{
	const char *const	*names = chain_builtin_names();
	struct config		*cfg = NULL;
	const char		*conf;
	char			 err[4096];
	size_t			 i;
	int			 a, rc = 0;

	conf = conf_arg(argc, argv, &a);
	for (i = (size_t)a; i < (size_t)argc; i++)
		if (argv[i][0] == '-')
			errx_usage("filters: [-c FILE] [FILE.so ...]");
	if (a == 3 && (cfg = load_config(conf)) == NULL)
		return 1;
	for (i = 0; names[i] != NULL; i++) {
		if (chain_describe(stdout, names[i], NULL, err,
		    sizeof(err)) == -1) {
			fputs(err, stderr);
			rc = 1;
		}
		putchar('\n');
	}
	for (i = 0; cfg != NULL && i < cfg->nfilters; i++)
		if (cfg->filters[i].path != NULL) {
			if (chain_describe(stdout, cfg->filters[i].name,
			    cfg->filters[i].path, err, sizeof(err)) == -1) {
				fputs(err, stderr);
				rc = 1;
			}
			putchar('\n');
		}
	for (; a < argc; a++) {
		if (chain_describe(stdout, NULL, argv[a], err,
		    sizeof(err)) == -1) {
			fputs(err, stderr);
			rc = 1;
		}
		putchar('\n');
	}
	config_free(cfg);
	return rc;
}
