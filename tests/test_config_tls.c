/*
 * test_config_tls: the TLS trust keys of nabproxy.conf (upstream-verify,
 * upstream-pin) from files in a scratch directory and through
 * config_set(), with the exact "file:line: message" of each error; and
 * the key text and pin store lines of tls_pin.c they rely on.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "config.h"
#include "testutil.h"
#include "tls_pin.h"

#define H64	"0123456789abcdef0123456789abcdef" \
		"0123456789abcdef0123456789abcdef"
#define HFF	"ffffffffffffffffffffffffffffffff" \
		"ffffffffffffffffffffffffffffffff"
#define ALLOWED_PIN	"allowed sha256: and 64 hex digits, the SHA-256 of" \
			" the server key's DER SubjectPublicKeyInfo"

static const char *const builtins[] = { "auth", NULL };

/* Scratch directory of the running test. */
static char	dir[64];

static int
setup(void **state UNUSED)
{
	tu_mkdtemp(dir, sizeof(dir), "test_config_tls");
	return 0;
}

static int
teardown(void **state UNUSED)
{
	return tu_rmtree(dir) == 0 ? 0 : -1;
}

/* dir/t.conf holding text, loaded; errs must be empty iff ok. */
static struct config *
load(const char *text, struct config_errors *errs, int ok)
{
	char		 path[PATH_MAX];
	struct config	*cfg;

	tu_put(dir, "t.conf", text);
	snprintf(path, sizeof(path), "%s/t.conf", dir);
	config_errors_init(errs);
	cfg = config_load(path, builtins, errs);
	if (ok)
		EXPECT(cfg != NULL && errs->ce_count == 0, "%s: %zu errors,"
		    " first: %s", text, errs->ce_count,
		    errs->ce_count ? errs->ce_msg[0] : "-");
	else
		EXPECT(cfg == NULL && errs->ce_count == 1,
		    "%s: loaded, or %zu errors", text, errs->ce_count);
	return cfg;
}

/* tofu by default, no pins; yes is chain; the main file is kept. */
static void
test_values(void **state UNUSED)
{
	static const struct {
		const char	*text;
		int		 verify;
	} v[] = {
		{ "[nabproxy]\n", CONFIG_VERIFY_TOFU },
		{ "[nabproxy]\nupstream-verify = yes\n", CONFIG_VERIFY_CHAIN },
		{ "[nabproxy]\nupstream-verify = chain\n", CONFIG_VERIFY_CHAIN },
		{ "[nabproxy]\nupstream-verify = no\n", CONFIG_VERIFY_NO },
		{ "[nabproxy]\nupstream-verify = tofu\n", CONFIG_VERIFY_TOFU },
	};
	struct config_errors	 errs;
	struct config		*cfg;
	unsigned char		 k[TLS_PIN_LEN];
	char			 path[PATH_MAX];
	size_t			 i;

	snprintf(path, sizeof(path), "%s/t.conf", dir);
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		cfg = load(v[i].text, &errs, 1);
		assert_int_equal(cfg->upstream_verify, v[i].verify);
		assert_int_equal(cfg->nupstream_pins, 0);
		assert_string_equal(cfg->path, path);
		config_free(cfg);
		config_errors_free(&errs);
	}
	cfg = load("[nabproxy]\nupstream-verify = pin\nupstream-pin = sha256:"
	    H64 "\nupstream-pin = sha256:" HFF "\n", &errs, 1);
	assert_int_equal(cfg->upstream_verify, CONFIG_VERIFY_PIN);
	assert_int_equal(cfg->nupstream_pins, 2);
	assert_int_equal(tls_pin_parse("sha256:" H64, k), 0);
	assert_memory_equal(cfg->upstream_pins[0], k, TLS_PIN_LEN);
	memset(k, 0xff, sizeof(k));
	assert_memory_equal(cfg->upstream_pins[1], k, TLS_PIN_LEN);
	config_free(cfg);
	config_errors_free(&errs);
}

/* Each broken file: exactly one error, at its file and line. */
static void
test_errors(void **state UNUSED)
{
	static const struct {
		const char	*text;
		unsigned int	 line;
		const char	*msg;
	} v[] = {
		{ "[nabproxy]\n\nupstream-pin = sha256:" H64 "0\n", 3,
		  "upstream-pin: 'sha256:" H64 "0' is not a key fingerprint, "
		  ALLOWED_PIN },
		{ "[nabproxy]\nupstream-pin = " H64 "\n", 2,
		  "upstream-pin: '" H64 "' is not a key fingerprint, "
		  ALLOWED_PIN },
		{ "[nabproxy]\nupstream-pin = sha256:" H64 "\nupstream-pin ="
		  " sha256:xy" H64 "\n", 3,
		  "upstream-pin: 'sha256:xy" H64 "' is not a key fingerprint, "
		  ALLOWED_PIN },
		{ "[nabproxy]\nupstream-pin = sha256:" H64 "\nupstream-pin ="
		  " sha256:" H64 "\n", 3,
		  "upstream-pin: 'sha256:" H64 "' is listed twice, allowed"
		  " once per key" },
		{ "[nabproxy]\nupstream-verify = maybe\n", 2,
		  "upstream-verify: 'maybe' is not a known value, allowed no,"
		  " chain, pin, tofu or yes" },
		{ "[nabproxy]\nupstream-verify = pin\n", 2,
		  "upstream-verify = pin needs at least one upstream-pin ="
		  " sha256:<64 hex digits>" },
	};
	struct config_errors	 errs;
	char			 want[1024];
	size_t			 i;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		assert_null(load(v[i].text, &errs, 0));
		snprintf(want, sizeof(want), "%s/t.conf:%u: %s", dir, v[i].line,
		    v[i].msg);
		assert_string_equal(errs.ce_msg[0], want);
		config_errors_free(&errs);
	}
}

/* The command line: the same checks, and nothing half-applied. */
static void
test_set(void **state UNUSED)
{
	struct config_errors	 errs;
	struct config		*cfg;
	char			 err[512];

	cfg = load("[nabproxy]\n", &errs, 1);
	assert_int_equal(config_set(cfg, "upstream-verify", "pin", err,
	    sizeof(err)), -1);
	assert_string_equal(err, "upstream-verify = pin needs at least one"
	    " upstream-pin = sha256:<64 hex digits>");
	assert_int_equal(cfg->upstream_verify, CONFIG_VERIFY_TOFU);
	assert_int_equal(config_set(cfg, "upstream-pin", "sha256:1", err,
	    sizeof(err)), -1);
	assert_string_equal(err, "upstream-pin: 'sha256:1' is not a key"
	    " fingerprint, " ALLOWED_PIN);
	assert_int_equal(cfg->nupstream_pins, 0);
	assert_int_equal(config_set(cfg, "upstream-pin", "sha256:" H64, err,
	    sizeof(err)), 0);
	assert_int_equal(config_set(cfg, "upstream-verify", "pin", err,
	    sizeof(err)), 0);
	assert_int_equal(cfg->upstream_verify, CONFIG_VERIFY_PIN);
	assert_int_equal(config_set(cfg, "upstream-verify", "yes", err,
	    sizeof(err)), 0);
	assert_int_equal(cfg->upstream_verify, CONFIG_VERIFY_CHAIN);
	config_free(cfg);
	config_errors_free(&errs);
}

/* Parsing and printing keys; a store's other lines survive a rewrite. */
static void
test_pin_text(void **state UNUSED)
{
	static const char	*const bad[] = { "", "sha256:", "sha1:00",
	    "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde",
	    "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdeg",
	    "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0" };
	unsigned char	 k[TLS_PIN_LEN];
	char		 h[TLS_PIN_TEXT], up[64], file[160], err[512];
	size_t		 i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK(tls_pin_parse(bad[i], k) == -1, "parsed '%s'", bad[i]);
	CHECK(tls_pin_parse("SHA256:0123456789abcdef0123456789abcdef"
	    "0123456789abcdef0123456789abcdef", k) == -1, "SHA256: parsed");
	CHECK(tls_pin_parse("sha256:0123456789ABCDEF0123456789abcdef"
	    "0123456789abcdef0123456789abcdef", k) == 0 &&
	    strcmp(tls_pin_format(k, h), "sha256:0123456789abcdef0123456789"
	    "abcdef0123456789abcdef0123456789abcdef") == 0, "format %s", h);
	tls_pin_upstream("::1", 5222, up, sizeof(up));
	CHECK(strcmp(up, "[::1]:5222") == 0, "upstream %s", up);
	tu_put(dir, "pins-text", "# mine\nb:1 sha256:0123456789abcdef"
	    "0123456789abcdef0123456789abcdef0123456789abcdef starttls\n");
	(void)snprintf(file, sizeof(file), "%s/pins-text", dir);
	CHECK(tls_pin_store(file, "a:1", k, err, sizeof(err)) == 0 &&
	    tls_pin_lookup(file, "b:1", k, err, sizeof(err)) == 1 &&
	    tls_pin_lookup(file, "a:1", k, err, sizeof(err)) == 1 &&
	    tls_pin_lookup(file, "c:1", k, err, sizeof(err)) == 0, "%s", err);
}

int
main(void)
{
#define T(f)	cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_values),
		T(test_errors),
		T(test_set),
		T(test_pin_text),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
