/*
 * identity: who a rabbit is and how we know it.
 *
 * One struct identity per session holds the MAC, domain, bare JID and
 * firmware the rabbit has shown (claims: any peer can say them, they only
 * name log files and choose a profile) and the proof: how this connection
 * proved an account's password. Once proven, the MAC and bare JID name the
 * proven account and never change again; claims after that are ignored.
 * Nothing here does I/O: the session feeds it what it sees and asks it.
 *
 * The detection rules (firmware from the stream header and the first
 * stanza, MAC from a register username, the SASL username of a rabbit that
 * authenticates itself) are pure functions of the parsed units.
 *
 * struct idguard is the process-wide guard on password proofs by login
 * probe: per-account and per-source exponential backoff after failures and
 * a cap on probes running at once, so the 409 repair is no password
 * guessing oracle.
 */
#ifndef NAB_IDENTITY_H
#define NAB_IDENTITY_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <nabproxy/filter.h>

struct st_node;

#define ID_JID_MAX	288
#define ID_DOMAIN_MAX	256
#define ID_USER_MAX	256

struct identity {
	struct nab_identity	 pub;		/* what filters read */
	char			 mac[16];
	/* Where it is: the upstream keeps this array's address. */
	char			 domain[ID_DOMAIN_MAX];
	/*
	 * Strings on demand (most sessions never need 540 bytes here):
	 * never NULL, "" until set, cut to ID_JID_MAX and ID_USER_MAX - 1
	 * bytes. Only identity.c writes them; identity_free() gives them
	 * back (pub.bare_jid follows).
	 */
	char			*bare_jid;
	char			 firmware[32];
	char			 proof[16];	/* "" until proven */
	/* SHA-256 of the last password a login probe proved here. */
	unsigned char		 probed[32];
	int			 has_probed;
	/* The rabbit's own SASL exchange going upstream, for "server". */
	char			 sasl_mech[24];
	char			*sasl_user;
};

void	identity_init(struct identity *, const char *peer, uint64_t session_id);
/* Free what the identity holds; it is as after identity_init() again. */
void	identity_free(struct identity *);
/*
 * Record a claim; NULL leaves a field. A MAC must be 12 hex digits (kept in
 * lower case); after proof the MAC and the domain no longer change.
 */
void	identity_claim(struct identity *, const char *mac, const char *domain,
	    const char *firmware);
/*
 * The connection proved the password of user@(the identity's domain) by
 * `how`. 0, or -1 if another account was proven already (nothing changes).
 */
int	identity_prove(struct identity *, const char *user, const char *how);
int	identity_proven(const struct identity *);
/* 1 if jid (user@domain) is the proven account. */
int	identity_is(const struct identity *, const char *jid);

/* 1 if the stream header has the exact shape both Nabaztag firmwares send. */
int	identity_nabaztag_header(const char *bytes, size_t len);
/*
 * The firmware a stanza from the rabbit reveals ("simulator",
 * "bootcode-18673") or NULL. `nabaztag_header`: the stream header was the
 * Nabaztag one (a DIGEST-MD5 <auth> then means the real firmware).
 */
const char *identity_detect(const struct st_node *, int nabaztag_header);
/* The MAC (12 lower-case hex digits) of a register set's username, or -1. */
int	identity_register_mac(const struct st_node *, char mac[13]);
/*
 * Follow the rabbit's own SASL exchange upstream: remember the mechanism
 * of <auth> and the username its initial response or <response> carries
 * (PLAIN authcid, SCRAM n=, DIGEST-MD5 username=). Nothing else is kept.
 */
void	identity_note_sasl(struct identity *, const struct st_node *);
/* The username the rabbit's SASL exchange used, "" if none seen. */
const char *identity_sasl_user(const struct identity *);

/* ---- the proof guard ---- */

struct idguard;

struct idguard_opts {
	unsigned	backoff_min;	/* seconds after the first failure */
	unsigned	backoff_max;
	unsigned	max_running;	/* probes at once, all sessions */
};

struct idguard *idguard_new(const struct idguard_opts *);
void	idguard_free(struct idguard *);
/*
 * May a probe for jid from source start now? 0 yes (counted as running),
 * -1 no with *wait (seconds, 0 when the cap is the reason).
 */
int	idguard_begin(struct idguard *, const char *jid, const char *source,
	    time_t now, unsigned *wait);
/* A probe begun ended: ok 1 succeeded, 0 failed, -1 judged nothing. */
void	idguard_end(struct idguard *, const char *jid, const char *source,
	    int ok, time_t now);
/*
 * For attempts that cost nothing (a stored password compared, a
 * DIGEST-MD5 response checked here): check: 0, or -1 while the account
 * or the source backs off (*wait seconds); note: its outcome, as end()
 * but with nothing running to count down.
 */
int	idguard_check(struct idguard *, const char *jid, const char *source,
	    time_t now, unsigned *wait);
void	idguard_note(struct idguard *, const char *jid, const char *source,
	    int ok, time_t now);
unsigned idguard_running(const struct idguard *);

#endif /* NAB_IDENTITY_H */
