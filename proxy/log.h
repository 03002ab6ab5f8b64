/*
 * log: the daemon log, never blocking the event loop.
 *
 * Lines are formatted into a bounded in-memory buffer and written by an
 * event on the loop; when the buffer is full (disk stalled, terminal
 * paused) lines are dropped and counted, and the count is logged once the
 * writer catches up. Before log_attach() lines go straight to stderr (start
 * up, --check-config). Levels follow relayd: log_warn appends strerror.
 */
#ifndef NAB_LOG_H
#define NAB_LOG_H

#include <stddef.h>

#include "attrib.h"

struct event_base;

enum log_level {
	LOG_LVL_ERR = 0,
	LOG_LVL_WARN,
	LOG_LVL_INFO,
	LOG_LVL_DEBUG
};

/* Open path for appending (NULL = stderr). -1 with errno on failure. */
int	log_open(const char *path, int verbose) WUNRES;
/*
 * Open the log file again by its name (after logrotate renamed it): lines
 * not yet written go to the new file. Returns 1 (reopened), 0 (the log is
 * stderr: nothing to do), or -1 with errno set and the old file kept.
 */
int	log_reopen(void) WUNRES;
/* The log file's path, or NULL for stderr. */
const char *log_path(void);
/*
 * The name log_reopen() uses from now on (after a chroot the same file
 * has another name); NULL: nothing to reopen. -1 on ENOMEM, unchanged.
 */
int	log_set_path(const char *path) WUNRES;
/* Switch to asynchronous writing on base. -1 on ENOMEM. */
int	log_attach(struct event_base *base) WUNRES;
/* Flush what is buffered (blocking) and close; for exit paths. */
void	log_close(void);
int	log_verbose(void);
size_t	log_dropped(void);

void	log_warn(const char *fmt, ...) PRINTF(1, 2);	/* + strerror(errno) */
void	log_warnx(const char *fmt, ...) PRINTF(1, 2);
void	log_info(const char *fmt, ...) PRINTF(1, 2);
void	log_debug(const char *fmt, ...) PRINTF(1, 2);
void	log_msg(enum log_level, const char *fmt, ...) PRINTF(2, 3);
/* Raw preformatted lines (the [vm] renderer's output). */
void	log_raw(const char *buf, size_t len);
/* Start-up only: log and exit(1). */
void	fatalx(const char *fmt, ...) PRINTF(1, 2) __attribute__((noreturn));

#endif /* NAB_LOG_H */
