/*
 * xsmem: where each expat parser's memory lives.
 *
 * Every parser xmlstream makes allocates from a slab of its own: three
 * pages (mmap) until they are full, then malloc. Freed at a doze in one
 * piece, a slab goes back whole, where expat's dozen small heap blocks
 * would leave holes between other sessions' long-lived data. A few freed
 * slabs (32, 384 KiB) are kept for the next parsers, so a connection's
 * two parsers cost no mmap, munmap or page faults while 10,000 dozing
 * sessions still give theirs back.
 *
 * Expat's allocator takes no context: xsmem_enter() names the slab of the
 * parser about to be called, around every expat call that may allocate
 * or free (create, parse, resume, free); loop thread only. The salt keeps
 * expat from a getrandom() per parser (its hash tables' salt against
 * collision floods comes from one process secret instead).
 */
#ifndef NAB_XSMEM_H
#define NAB_XSMEM_H

#include <expat.h>

struct xs_slab;

/* A fresh (or kept) empty slab; NULL on ENOMEM. */
struct xs_slab	*xsmem_new(void);
/* Keep it for the next parser, or unmap it. NULL is fine. */
void		 xsmem_free(struct xs_slab *);
/* The allocator every slab-backed parser is created with. */
extern const XML_Memory_Handling_Suite xsmem_suite;
/* Allocations go to s (NULL: malloc) until xsmem_leave(the result). */
struct xs_slab	*xsmem_enter(struct xs_slab *s);
void		 xsmem_leave(struct xs_slab *prev);
/*
 * A hash salt for the next parser (XML_SetHashSalt before parsing):
 * one getrandom() per process, stepped per parser (splitmix64). 0 (expat
 * then salts it itself) if getrandom fails.
 */
unsigned long	 xsmem_salt(void);

#endif /* NAB_XSMEM_H */
