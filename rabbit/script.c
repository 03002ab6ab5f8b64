/*
 * script: the rabbits' own bytes (see script.h). The seed's four stanzas
 * are kept exactly as the seed log has them, white space included: the
 * proxy must cope with them as they are.
 */
#include <string.h>

#include "script.h"

const char script_a1[] = "<?xml version='1.0' encoding='UTF-8'?>\n"
    "<stream:stream to='{DOM}' xmlns='jabber:client' "
    "xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>\n";
const char script_a2[] =
    "<iq type='get' id='{N}'><query xmlns='violet:iq:register'/></iq>";
const char script_a3[] = "<iq to='{DOM}' type='set' id='{N}'><query "
    "xmlns=\"violet:iq:register\"><username>{MAC}</username><password>"
    "{XPW}</password></query></iq>";
const char script_a4[] = "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' "
    "mechanism='DIGEST-MD5'/>";
const char script_a5[] = "<response xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>"
    "{B64}</response>";
const char script_a6[] = "<response xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>";
const char script_a7[] = "<iq from=\"{MAC}@{DOM}/{PREV}\" to=\"{DOM}\" "
    "type='set' id='{N}'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'>"
    "<resource>{RES}</resource></bind></iq>";
const char script_a8[] = "<iq from='{JID}' to='{DOM}' type='set' id='{N}'>"
    "<session xmlns='urn:ietf:params:xml:ns:xmpp-session'/></iq>";
const char script_a9[] = "<iq from='{JID}' to='net.violet.platform@{DOM}/"
    "sources' type='get' id='{N}'><query xmlns=\"violet:iq:sources\">"
    "<packet xmlns=\"violet:packet\" format=\"1.0\"/></query></iq>";
const char script_a10[] = "<presence from='{JID}' id='{N}'></presence>";
const char script_a11[] = "<iq from='{MAC}@{DOM}/{PREV}' to='{DOM}' "
    "type='set' id='{N}'><unbind xmlns='urn:ietf:params:xml:ns:xmpp-bind'>"
    "<resource>{PREV}</resource></unbind></iq>";

const char *const script_seed[SCRIPT_SEED_PARTS] = {
	"<iq type='get' id='1'><query xmlns='jabber:iq:register'/></iq>",
	"\n<iq to='{DOM}' type='set' id='2'>\n"
	"\t<query xmlns=\"jabber:iq:register\">\n"
	"\t\t<username>{MAC}</username>\n"
	"\t\t<password>{PW}</password>\n"
	"\t\t<name>{MAC}</name>\n"
	"\t\t<email>{MAC}@bunny.lab</email>\n"
	"\t</query>\n"
	"</iq>",
	"\n<iq from=\"{MAC}@{DOM}\" to=\"{DOM}\" type='set' id='3'>\n"
	"\t<bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'>\n"
	"\t\t<resource>idle</resource>\n"
	"\t</bind>\n"
	"</iq>",
	"\n<iq from='{DOM}/d4379d2a' to='{DOM}' type='set' id='4'>\n"
	"\t<session xmlns='urn:ietf:params:xml:ns:xmpp-session'/>\n"
	"</iq>",
};

int
script_fill(const char *t, const struct script_var *vars, size_t n,
    char *out, size_t outlen)
{
	size_t		o = 0, i, nl, vl;
	const char	*end;

	while (*t != '\0') {
		if (*t == '{' && (end = strchr(t, '}')) != NULL) {
			nl = (size_t)(end - t - 1);
			for (i = 0; i < n; i++)
				if (strlen(vars[i].sv_name) == nl &&
				    memcmp(vars[i].sv_name, t + 1, nl) == 0)
					break;
			if (i < n) {
				vl = strlen(vars[i].sv_value);
				if (o + vl >= outlen)
					return -1;
				memcpy(out + o, vars[i].sv_value, vl);
				o += vl;
				t = end + 1;
				continue;
			}
		}
		if (o + 1 >= outlen)
			return -1;
		out[o++] = *t++;
	}
	out[o] = '\0';
	return (int)o;
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
script_xor_hex(const char *pw, const char *mac, char out[13])
{
	int	i, a, b;

	for (i = 0; i < 12; i++) {
		if ((a = hexval(pw[i])) == -1 || (b = hexval(mac[i])) == -1)
			return -1;
		out[i] = "0123456789abcdef"[a ^ b];
	}
	out[12] = '\0';
	return 0;
}
