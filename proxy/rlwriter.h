/*
 * rlwriter: the per-rabbit log files' writer thread. The event loop hands
 * it (path, bytes) items and never touches those files itself: open(2)
 * and write(2) on a slow or sick disk stall the writer, not the rabbits.
 *
 * Threads: rlwriter_put, _reopen, _sync, _drain, _dropped, _error and _free are
 * called from one thread (the event loop); the writer thread does all
 * file I/O. The mutex is held only to move items, never across I/O.
 *
 * Guarantees: items are written in the order they were put (one FIFO, one
 * writer), each with O_APPEND in one write when the kernel allows; the
 * queue is bounded in bytes, and an item that does not fit is dropped and
 * counted (its lines), never waited for. Files are created 0640, never
 * through a symbolic link. Open files are cached (bounded, least recently
 * used closed first) until rlwriter_reopen(), after which every file is
 * opened again by name: rename the files, then reopen (logrotate).
 */
#ifndef NAB_RLWRITER_H
#define NAB_RLWRITER_H

#include <stddef.h>

#include "attrib.h"

#define RLWRITER_QUEUE_MAX	(4 * 1024 * 1024)	/* default, bytes */
#define RLWRITER_FILES		32	/* open files kept */

struct rlwriter;

/* Start the writer thread; queue_max bytes (0: RLWRITER_QUEUE_MAX). NULL
   with err set (ENOMEM, thread). */
struct rlwriter	*rlwriter_new(size_t queue_max, char *err, size_t errlen)
		    WUNRES;
/* Write what is queued, stop the thread and free. NULL-safe. */
void		 rlwriter_free(struct rlwriter *);
/*
 * Queue len bytes for the file at path. 0: queued (copied; nothing to
 * do when len is 0, buf may then be NULL); -1: dropped
 * (queue full or ENOMEM), counted in rlwriter_dropped(). Never blocks on
 * I/O.
 */
int		 rlwriter_put(struct rlwriter *, const char *path,
		    const char *buf, size_t len);
/* Close every cached file: later items open their path again. */
void		 rlwriter_reopen(struct rlwriter *);
/* Wait until everything put so far is written (tests). */
void		 rlwriter_sync(struct rlwriter *);
/* The same, for at most seconds: 0, or -1 if the writer is still busy
   (a stalled disk: then do not rlwriter_free it, it would wait too). */
int		 rlwriter_drain(struct rlwriter *, unsigned seconds);
/* Lines dropped since start: queue full, ENOMEM, open or write errors. */
unsigned long long rlwriter_dropped(struct rlwriter *);
/*
 * The writer's first error not yet reported ("DIR/x.log: Permission
 * denied"), copied to buf: 1, or 0 if none. Each error is reported once;
 * at most one is kept (the first).
 */
int		 rlwriter_error(struct rlwriter *, char *buf, size_t len);

#endif /* NAB_RLWRITER_H */
