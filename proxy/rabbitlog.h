/*
 * rabbitlog: one traffic log file per rabbit (the log-dir option), in the
 * exact seed format, so a rabbit can be debugged from its own file.
 *
 * The file is named after the rabbit's MAC, which is known only after a
 * few stanzas: lines are kept in memory (bounded) until then, and written
 * to "unknown-ADDRESS.log" if the session ends before the MAC is known.
 * Nothing here touches a file on the caller's thread: lines go to the
 * process's writer thread (rlwriter.c, started with the first rabbitlog),
 * which drops what does not fit its bounded queue and counts it. A
 * session's file says, in its next line that fits, how many lines it
 * lost. Overflow and write errors never end a session.
 *
 * The writer is the one piece of process-wide state here (like the
 * daemon's log, log.c): every session writes through it, and SIGUSR1
 * reopens its files.
 */
#ifndef NAB_RABBITLOG_H
#define NAB_RABBITLOG_H

#include <stddef.h>

#include "attrib.h"

/* Lines kept while the file name is not known yet. */
#define RABBITLOG_PENDING_MAX	(256 * 1024)
/* Seconds rabbitlog_shutdown waits for the writer. */
#define RABBITLOG_EXIT_WAIT	5

struct rabbitlog;

/* New log for one session in dir. NULL on ENOMEM or if the writer
   thread cannot start (logged once). */
struct rabbitlog *rabbitlog_new(const char *dir, const char *peer_ip) WUNRES;
/* Append formatted lines; mac is "" while unknown. */
void	rabbitlog_add(struct rabbitlog *, const char *mac, const char *buf,
	    size_t len);
/* Queue what waits (to the unknown-ADDRESS file if no MAC came); free. */
void	rabbitlog_close(struct rabbitlog *, const char *mac);

/* Process-wide: every file is opened again by name (SIGUSR1). */
void	rabbitlog_reopen(void);
/* Wait until every line given so far is written (tests, shutdown). */
void	rabbitlog_sync(void);
/* Stop the writer after writing what is queued (daemon exit), waiting
   at most RABBITLOG_EXIT_WAIT seconds for a stalled disk. */
void	rabbitlog_shutdown(void);
/* Lines the writer dropped since start (for /metrics). */
unsigned long long rabbitlog_dropped(void);

#endif /* NAB_RABBITLOG_H */
