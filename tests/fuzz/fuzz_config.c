/*
 * libFuzzer target for nabproxy.conf: the input is the main file, written
 * in a private temporary directory beside a fixed include, and read with
 * config_load() (both layers: syntax and meaning). Every run must end in
 * a config or in at least one error, each one line "file:..." or
 * "...: ...". Inputs with an include line naming a path ('/') are
 * skipped, so the target reads nothing outside its directory and stays
 * deterministic; "include = *.conf" still reaches the loop check.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "chain.h"
#include "config.h"
#include "fuzzutil.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static int	escapes(const uint8_t *, size_t);
static void	override(struct config *, const uint8_t *, size_t);

static const char inc[] =
	"[profile inc]\nfilters = auth register bind\n"
	"match-mac = 00:13:d3:*\n";

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config_errors	 errs;
	struct config		*cfg;
	const char		*path;
	size_t			 i;

	if (escapes(data, size))
		return 0;
	(void)fz_write(1, "inc.conf", inc, sizeof(inc) - 1);
	path = fz_write(0, "main.conf", data, size);
	config_errors_init(&errs);
	cfg = config_load(path, chain_builtin_names(), &errs);
	if (cfg == NULL && errs.ce_count == 0 && errs.ce_dropped == 0)
		abort();
	for (i = 0; i < errs.ce_count; i++)
		if (strchr(errs.ce_msg[i], '\n') != NULL)
			abort();
	if (cfg != NULL &&
	    config_profile_select(cfg, "0013d3000001", "a@b", "simulator") ==
	    NULL)
		abort();
	if (cfg != NULL)
		override(cfg, data, size);
	config_free(cfg);
	config_errors_free(&errs);
	return 0;
}

/* Does a line holding "include" also hold a '/' (a path elsewhere)? */
static int
escapes(const uint8_t *p, size_t n)
{
	const uint8_t	*end = p + n, *nl;
	size_t		 len;

	for (; p < end; p = nl + 1) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL)
			nl = end;
		len = (size_t)(nl - p);
		if (memmem(p, len, "include", 7) != NULL &&
		    memchr(p, '/', len) != NULL)
			return 1;
		if (nl == end)
			break;
	}
	return 0;
}

/*
 * The input's last line as a command-line override "KEY=VALUE" (through
 * config_set) and as "HOST:PORT"; a refusal must say why.
 */
static void
override(struct config *cfg, const uint8_t *p, size_t n)
{
	char		 line[512], host[CONFIG_HOST_MAX], err[512], *eq;
	const uint8_t	*nl = p + n;
	unsigned short	 port;
	size_t		 len;

	while (nl > p && nl[-1] != '\n')
		nl--;
	len = (size_t)(p + n - nl);
	if (len >= sizeof(line) || memchr(nl, '\0', len) != NULL)
		return;
	memcpy(line, nl, len);
	line[len] = '\0';
	(void)config_parse_hostport(line, host, sizeof(host), &port);
	if ((eq = strchr(line, '=')) == NULL)
		return;
	*eq = '\0';
	err[0] = '\0';
	if (config_set(cfg, line, eq + 1, err, sizeof(err)) == -1 &&
	    err[0] == '\0')
		abort();
}
