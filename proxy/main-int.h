/*
 * The commands main.c dispatches to (daemon.c, render.c, commands.c,
 * demo.c).
 */
#ifndef NAB_MAIN_INT_H
#define NAB_MAIN_INT_H

#include "attrib.h"

#ifndef NAB_DEFAULT_CONF
#define NAB_DEFAULT_CONF	"/etc/nabproxy/nabproxy.conf"
#endif

struct config;

/* Parsed command line for the daemon. */
struct cli {
	const char	*config;
	const char	*listen[16];
	int		 nlisten;
	const char	*upstream;
	const char	*log_file;
	const char	*log_format;
	int		 foreground;
	int		 verbose;
	int		 check;
};

/* main.c: the config file plus command-line overrides; NULL (logged). */
struct config	*main_load_config(void);
void		 errx_usage(const char *, ...) PRINTF(1, 2)
		    __attribute__((noreturn));

/* daemon.c: serve until SIGTERM/SIGINT; takes cfg. Exit status. */
int	run_daemon(struct config *cfg, int foreground,
	    struct config *(*reload)(void));
/* commands.c */
int	cmd_check(struct config *cfg);
int	cmd_credentials(int argc, char **argv);
int	cmd_tls_pin(int argc, char **argv);
int	cmd_filters(int argc, char **argv);
/* demo.c: nabproxy demo [-c FILE] */
int	cmd_demo(int argc, char **argv);
/* render.c */
int	cmd_render(int argc, char **argv);

#endif /* NAB_MAIN_INT_H */
