/*
 * rabbitlog: one traffic log file per rabbit (the log-dir option), in the
 * exact seed format, so a rabbit can be debugged from its own file.
 *
 * The file is named after the rabbit's MAC, which is known only after a
 * few stanzas: lines are kept in memory (bounded) until then, and written
 * to "unknown-ADDRESS.log" if the session ends before the MAC is known.
 * Write errors and overflow drop lines with one note, never the session.
 */
#ifndef NAB_RABBITLOG_H
#define NAB_RABBITLOG_H

#include <stddef.h>

#include "attrib.h"

/* Lines kept while the file name is not known yet. */
#define RABBITLOG_PENDING_MAX	(256 * 1024)

struct rabbitlog;

/* New log for one session in dir. NULL on ENOMEM. */
struct rabbitlog *rabbitlog_new(const char *dir, const char *peer_ip) WUNRES;
/* Append formatted lines; mac is "" while unknown. */
void	rabbitlog_add(struct rabbitlog *, const char *mac, const char *buf,
	    size_t len);
/* Flush (to the unknown-ADDRESS file if no MAC came) and free. */
void	rabbitlog_close(struct rabbitlog *, const char *mac);

#endif /* NAB_RABBITLOG_H */
