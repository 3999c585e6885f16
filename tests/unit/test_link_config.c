/*
 * clawnexus-link's pure parsers: relay URLs, HOST:PORT, claw ids, the
 * configuration file and clawnexus-wg export files.
 */

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "link_config.h"
#include "link.h"
#include "names_export.h"
#include "net.h"
#include "tailscale.h"

START_TEST(url_defaults)
{
    link_url_t u;

    ck_assert_int_eq(link_url_parse("ws://relay.example", &u), 0);
    ck_assert_int_eq(u.tls, 0);
    ck_assert_str_eq(u.host, "relay.example");
    ck_assert_str_eq(u.port, "80");
    ck_assert_str_eq(u.path, "/relay");
    ck_assert_str_eq(u.hostport, "relay.example");

    ck_assert_int_eq(link_url_parse("WSS://relay.example/relay", &u), 0);
    ck_assert_int_eq(u.tls, 1);
    ck_assert_str_eq(u.port, "443");
    ck_assert_str_eq(u.path, "/relay");
    ck_assert_str_eq(u.hostport, "relay.example");
}
END_TEST

START_TEST(url_ports_paths)
{
    link_url_t u;

    ck_assert_int_eq(link_url_parse("ws://127.0.0.1:18800/relay", &u), 0);
    ck_assert_str_eq(u.host, "127.0.0.1");
    ck_assert_str_eq(u.port, "18800");
    ck_assert_str_eq(u.hostport, "127.0.0.1:18800");

    ck_assert_int_eq(link_url_parse("wss://h:8443/a/b?x=1#frag", &u), 0);
    ck_assert_str_eq(u.path, "/a/b?x=1");
    ck_assert_str_eq(u.hostport, "h:8443");

    ck_assert_int_eq(link_url_parse("ws://h?q", &u), 0);
    ck_assert_str_eq(u.path, "/?q");

    ck_assert_int_eq(link_url_parse("ws://[::1]:9/relay", &u), 0);
    ck_assert_str_eq(u.host, "::1");
    ck_assert_str_eq(u.port, "9");
    ck_assert_str_eq(u.hostport, "[::1]:9");

    ck_assert_int_eq(link_url_parse("ws://[fe80::1]/r", &u), 0);
    ck_assert_str_eq(u.port, "80");
    ck_assert_str_eq(u.hostport, "[fe80::1]:80");
}
END_TEST

START_TEST(url_bad)
{
    static const char *bad[] = {
        "", "relay", "http://h/relay", "ws:/h", "ws://", "ws:///relay",
        "ws://h:", "ws://h:0", "ws://h:65536", "ws://h:12ab", "ws://u@h/",
        "ws://[::1", "ws://[::1]x/", "ws://[]/", "ws://h h/", "ws://h/a b",
        "ws://h/\x7f", "ws://h%20/", "ws://h:-1/", "ws://h:1234567/",
    };
    link_url_t u;
    size_t     i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ck_assert_msg(link_url_parse(bad[i], &u) == -1, "accepted '%s'",
                      bad[i]);
    }
}
END_TEST

START_TEST(url_too_long)
{
    char       buf[4096];
    link_url_t u;

    memset(buf, 'a', sizeof(buf));
    memcpy(buf, "ws://", 5);
    buf[sizeof(buf) - 1] = '\0';
    ck_assert_int_eq(link_url_parse(buf, &u), -1);
    memcpy(buf, "ws://h/", 7);
    ck_assert_int_eq(link_url_parse(buf, &u), -1);
}
END_TEST

START_TEST(hostport)
{
    char host[64], port[8];

    ck_assert_int_eq(link_hostport_parse("10.7.0.2:7473", host, sizeof(host),
                                         port, sizeof(port)), 0);
    ck_assert_str_eq(host, "10.7.0.2");
    ck_assert_str_eq(port, "7473");
    ck_assert_int_eq(link_hostport_parse("[fd00::2]:22", host, sizeof(host),
                                         port, sizeof(port)), 0);
    ck_assert_str_eq(host, "fd00::2");
    ck_assert_str_eq(port, "22");
    ck_assert_int_eq(link_hostport_parse("localhost:1", host, sizeof(host),
                                         port, sizeof(port)), 0);

    ck_assert_int_eq(link_hostport_parse("h", host, 64, port, 8), -1);
    ck_assert_int_eq(link_hostport_parse("h:", host, 64, port, 8), -1);
    ck_assert_int_eq(link_hostport_parse(":80", host, 64, port, 8), -1);
    ck_assert_int_eq(link_hostport_parse("h:0", host, 64, port, 8), -1);
    ck_assert_int_eq(link_hostport_parse("h:70000", host, 64, port, 8), -1);
    ck_assert_int_eq(link_hostport_parse("fd00::2:22", host, 64, port, 8),
                     -1);
    ck_assert_int_eq(link_hostport_parse("[fd00::2]22", host, 64, port, 8),
                     -1);
    ck_assert_int_eq(link_hostport_parse("", host, 64, port, 8), -1);
    ck_assert_int_eq(link_hostport_parse(NULL, host, 64, port, 8), -1);
    /* host longer than the caller's buffer */
    ck_assert_int_eq(link_hostport_parse("abcdefgh:1", host, 8, port, 8),
                     -1);
}
END_TEST

START_TEST(claw_ids)
{
    char long_id[300];

    ck_assert_int_eq(link_id_valid("office.claw"), 1);
    ck_assert_int_eq(link_id_valid("home.alan.id.claw"), 1);
    ck_assert_int_eq(link_id_valid("é.claw"), 1);
    ck_assert_int_eq(link_id_valid(""), 0);
    ck_assert_int_eq(link_id_valid("a b"), 0);
    ck_assert_int_eq(link_id_valid("a\"b"), 0);
    ck_assert_int_eq(link_id_valid("a\\b"), 0);
    ck_assert_int_eq(link_id_valid("a\nb"), 0);
    memset(long_id, 'a', 255);
    long_id[255] = '\0';
    ck_assert_int_eq(link_id_valid(long_id), 1);
    long_id[255] = 'a';
    long_id[256] = '\0';
    ck_assert_int_eq(link_id_valid(long_id), 0);
}
END_TEST

/* Pins use one form per name: "office" is "office.claw". */
START_TEST(canonical_names)
{
    char out[300];

    ck_assert_int_eq(link_name_canon("office", out, sizeof(out)), 0);
    ck_assert_str_eq(out, "office.claw");
    ck_assert_int_eq(link_name_canon("office.claw", out, sizeof(out)), 0);
    ck_assert_str_eq(out, "office.claw");
    ck_assert_int_eq(link_name_canon("node.example", out, sizeof(out)), 0);
    ck_assert_str_eq(out, "node.example");
    ck_assert_int_eq(link_name_canon("office", out, 11), -1);
    ck_assert_int_eq(link_name_canon("office", out, 12), 0);
}
END_TEST

static int
parse(link_config_t *c, const char *s, char *why)
{
    return link_config_parse(c, s, strlen(s), why, 128);
}

START_TEST(config_full)
{
    static const char text[] =
        "{\n"
        "  \"relay\": { \"url\": \"wss://relay.example/relay\","
        " \"enabled\": true },\n"
        "  \"other\": [1, {\"x\": null}],\n"
        "  \"edge\": {\n"
        "    \"id\": \"home.claw\", \"secret_file\": \"/etc/s\",\n"
        "    \"token_file\": \"/t\", \"issuer\": \"iss\", \"ca_file\": \"/ca\",\n"
        "    \"names_file\": \"/n.json\",\n"
        "    \"registry\": \"https://reg.example/clawnexus\",\n"
        "    \"peers\": {\n"
        "      \"office.claw\": { \"direct\": \"10.7.0.2:7473\",\n"
        "        \"key\": \"SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU\" },\n"
        "      \"lab\": { \"cross_network\": true, \"note\": {\"a\": [1]} },\n"
        "      \"caf\\u00e9.claw\": {}\n"
        "    }\n"
        "  }\n"
        "}\n";
    link_config_t *c = malloc(sizeof(*c));
    char           why[128];

    ck_assert_int_eq(parse(c, text, why), 0);
    ck_assert_str_eq(c->relay_url, "wss://relay.example/relay");
    ck_assert_int_eq(c->relay_enabled, 1);
    ck_assert_str_eq(c->id, "home.claw");
    ck_assert_str_eq(c->secret_file, "/etc/s");
    ck_assert_str_eq(c->token_file, "/t");
    ck_assert_str_eq(c->issuer, "iss");
    ck_assert_str_eq(c->ca_file, "/ca");
    ck_assert_str_eq(c->export_file, "/n.json");   /* the older key */
    ck_assert_int_eq(c->tailscale, 1);
    ck_assert_str_eq(c->registry, "https://reg.example/clawnexus");
    ck_assert_uint_eq(c->npeers, 3);
    ck_assert_str_eq(c->peers[0].name, "office.claw");
    ck_assert_str_eq(c->peers[0].direct, "10.7.0.2:7473");
    ck_assert_int_eq(c->peers[0].cross_network, 0);
    ck_assert_str_eq(c->peers[0].key,
                     "SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU");
    ck_assert_str_eq(c->peers[1].key, "");
    ck_assert_str_eq(c->peers[1].name, "lab");
    ck_assert_int_eq(c->peers[1].cross_network, 1);
    ck_assert_str_eq(c->peers[2].name, "caf\xc3\xa9.claw");

    /* ".claw" is optional on either side */
    ck_assert_ptr_eq(link_config_peer(c, "office"), &c->peers[0]);
    ck_assert_ptr_eq(link_config_peer(c, "office.claw"), &c->peers[0]);
    ck_assert_ptr_eq(link_config_peer(c, "lab.claw"), &c->peers[1]);
    ck_assert_ptr_null(link_config_peer(c, "offic"));
    ck_assert_ptr_null(link_config_peer(c, "nobody.claw"));
    free(c);
}
END_TEST

START_TEST(config_defaults)
{
    link_config_t *c = malloc(sizeof(*c));
    char           why[128];

    ck_assert_int_eq(link_config_parse(c, "", 0, why, sizeof(why)), 0);
    ck_assert_int_eq(c->relay_enabled, 1);
    ck_assert_str_eq(c->relay_url, "");
    ck_assert_int_eq(parse(c, "{}", why), 0);
    ck_assert_uint_eq(c->npeers, 0);
    ck_assert_int_eq(c->tailscale, 1);
    ck_assert_int_eq(parse(c, "{\"relay\":{\"enabled\":false}}", why), 0);
    ck_assert_int_eq(c->relay_enabled, 0);
    ck_assert_int_eq(parse(c, "{\"edge\":{\"tailscale\":false,"
                              "\"export_file\":\"/e.json\"}}", why), 0);
    ck_assert_int_eq(c->tailscale, 0);
    ck_assert_str_eq(c->export_file, "/e.json");
    free(c);
}
END_TEST

START_TEST(config_bad)
{
    static const struct {
        const char *text;
        const char *why;
    } bad[] = {
        { "[]", "top level" },
        { "{", "not valid JSON" },
        { "{\"relay\": 1}", "\"relay\" must be an object" },
        { "{\"relay\": {\"url\": 5}}", "\"url\" must be a string" },
        { "{\"relay\": {\"enabled\": \"yes\"}}", "true or false" },
        { "{\"edge\": []}", "\"edge\" must be an object" },
        { "{\"edge\": {\"id\": null}}", "\"id\" must be a string" },
        { "{\"edge\": {\"peers\": []}}", "\"peers\" must be an object" },
        { "{\"edge\": {\"peers\": {\"a\": 1}}}", "peer \"a\" must be" },
        { "{\"edge\": {\"peers\": {\"\": {}}}}", "bad peer name" },
        { "{\"edge\": {\"peers\": {\"a\": {\"direct\": 1}}}}", "\"direct\"" },
        { "{\"edge\": {\"id\": \"a\\u0000b\"}}", "\"id\"" },
        { "{\"a\":1} x", "not valid JSON" },
        { "{\"edge\": {\"peers\": {\"a\": {\"key\": \"abc\"}}}}",
          "must be a fingerprint" },
    };
    link_config_t *c = malloc(sizeof(*c));
    char           why[128];
    size_t         i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        why[0] = '\0';
        ck_assert_msg(parse(c, bad[i].text, why) == -1, "accepted %s",
                      bad[i].text);
        ck_assert_msg(strstr(why, bad[i].why) != NULL,
                      "%s: reason '%s' lacks '%s'", bad[i].text, why,
                      bad[i].why);
    }
    free(c);
}
END_TEST

/* Errors say where (LINE:COLUMN); unknown keys of our sections are
 * reported, not fatal (a typo must not pass silently). */
START_TEST(config_positions)
{
    static const struct {
        const char *text;
        const char *why;
    } bad[] = {
        { "{\n  \"relay\": 1\n}", "2:12: \"relay\" must be an object" },
        { "{\"edge\": {\n\t\"id\": 7}}", "2:8: \"id\" must be a string" },
        { "{\"relay\": {\"url\": \"x\",,}}", "1:23: not valid JSON" },
        { "{\n\"edge\": {\"caf\u00e9\": tru}}", "2:18: not valid JSON" },
        { "{\"relay\": ", "1:11: not valid JSON (it ends too early)" },
    };
    static const char typo[] =
        "{\"something\": 1, \"relay\": {\"url\": \"ws://r\", \"x\": 1},\n"
        " \"edge\": {\"id\": \"a\", \"secert_file\": \"/s\",\n"
        "  \"peers\": {\"b\": {\"direkt\": \"1.2.3.4:5\"}}}}";
    link_config_t *c = malloc(sizeof(*c));
    char           why[128];
    size_t         i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        why[0] = '\0';
        ck_assert_int_eq(parse(c, bad[i].text, why), -1);
        ck_assert_msg(strncmp(why, bad[i].why, strlen(bad[i].why)) == 0,
                      "%s: '%s', not '%s'",
                      bad[i].text, why, bad[i].why);
    }
    ck_assert_int_eq(parse(c, typo, why), 0);
    ck_assert_uint_eq(c->nwarn, 2);
    ck_assert_str_eq(c->warn[0],
                     "2:22: unknown key \"secert_file\" in \"edge\" (ignored)");
    ck_assert_str_eq(c->warn[1],
                     "3:19: unknown key \"direkt\" in a peer (ignored)");
    ck_assert_int_eq(parse(c, "{\"edge\": {\"id\": \"a\"}}", why), 0);
    ck_assert_uint_eq(c->nwarn, 0);
    free(c);
}
END_TEST

START_TEST(config_limits)
{
    /* a string longer than its field, too many peers, a depth bomb */
    link_config_t *c = malloc(sizeof(*c));
    char          *big = malloc(70000);
    char           why[128];
    size_t         n = 0;
    int            i;

    n += (size_t) sprintf(big, "{\"edge\":{\"id\":\"");
    memset(big + n, 'a', 300);
    n += 300;
    n += (size_t) sprintf(big + n, "\"}}");
    ck_assert_int_eq(link_config_parse(c, big, n, why, sizeof(why)), -1);

    n = (size_t) sprintf(big, "{\"edge\":{\"peers\":{");
    for (i = 0; i < LINK_CFG_PEERS + 1; i++) {
        n += (size_t) sprintf(big + n, "%s\"p%d\":{}", i ? "," : "", i);
    }
    n += (size_t) sprintf(big + n, "}}}");
    ck_assert_int_eq(link_config_parse(c, big, n, why, sizeof(why)), -1);
    ck_assert_ptr_nonnull(strstr(why, "too many peers"));

    n = 0;
    for (i = 0; i < 100; i++) {
        big[n++] = '[';
    }
    for (i = 0; i < 100; i++) {
        big[n++] = ']';
    }
    ck_assert_int_eq(link_config_parse(c, big, n, why, sizeof(why)), -1);
    free(big);
    free(c);
}
END_TEST

START_TEST(names_file)
{
    static const char text[] =
        "{\"version\":1,\"peers\":["
        "{\"name\":\"lab\",\"address\":null,\"allowed_ips\":[]},"
        "{\"name\":\"office\",\"interface\":\"wg0\",\"address\":\"10.7.0.2\","
        "\"allowed_ips\":[\"10.7.0.2/32\"],\"public_key\":\"k\","
        "\"endpoint\":null,\"status\":\"direct\",\"latest_handshake\":1},"
        "{\"name\":\"nas\",\"address\":\"10.7.0.3\",\"status\":\"stale\"},"
        "{\"name\":\"new\",\"address\":\"10.7.0.4\",\"status\":\"never\"},"
        "{\"name\":\"gone\",\"address\":\"10.7.0.5\",\"status\":\"absent\"},"
        "{\"name\":\"down\",\"address\":\"10.7.0.6\",\"status\":\"unknown\"},"
        "{\"name\":\"v6\",\"address\":\"fd00::7\"}]}";
    char out[128];
    size_t n = strlen(text);

    ck_assert_int_eq(link_export_parse(text, n, "office", out, sizeof(out)),
                     LINK_WG_DIRECT);
    ck_assert_str_eq(out, "10.7.0.2:7473");
    ck_assert_int_eq(link_export_parse(text, n, "office.claw", out,
                                       sizeof(out)), LINK_WG_DIRECT);
    ck_assert_str_eq(out, "10.7.0.2:7473");
    ck_assert_int_eq(link_export_parse(text, n, "nas", out, sizeof(out)),
                     LINK_WG_UNSURE);
    ck_assert_int_eq(link_export_parse(text, n, "down", out, sizeof(out)),
                     LINK_WG_UNSURE);
    /* no handshake yet, or not on the interface: no direct attempt */
    ck_assert_int_eq(link_export_parse(text, n, "new", out, sizeof(out)),
                     LINK_WG_DOWN);
    ck_assert_int_eq(link_export_parse(text, n, "gone", out, sizeof(out)),
                     LINK_WG_DOWN);
    /* an export without status (older clawnexus-wg) */
    ck_assert_int_eq(link_export_parse(text, n, "v6", out, sizeof(out)),
                     LINK_WG_UNSURE);
    ck_assert_str_eq(out, "[fd00::7]:7473");
    /* a name without an address is not a direct path */
    ck_assert_int_eq(link_export_parse(text, n, "lab", out, sizeof(out)),
                     LINK_WG_NONE);
    ck_assert_int_eq(link_export_parse(text, n, "nobody", out, sizeof(out)),
                     LINK_WG_NONE);
    ck_assert_int_eq(link_export_parse("{}", 2, "office", out, sizeof(out)),
                     -1);
    ck_assert_int_eq(link_export_parse("{\"peers\":", 9, "office", out,
                                       sizeof(out)), -1);
}
END_TEST

/* An export of 2,000 peers (the old reader stopped at 4,096 tokens). */
START_TEST(names_file_large)
{
    size_t cap = 2000 * 200 + 64, n = 0;
    char  *text = malloc(cap), out[64];
    int    i;

    n += (size_t) sprintf(text + n, "{\"version\":1,\"peers\":[");
    for (i = 0; i < 2000; i++) {
        n += (size_t) sprintf(text + n, "%s{\"name\":\"n%d\",\"interface\":"
                              "\"wg0\",\"address\":\"10.1.%d.%d\",\"allowed_ips\":"
                              "[\"10.1.%d.%d/32\"],\"status\":\"direct\"}",
                              i ? "," : "", i, i / 256, i % 256, i / 256,
                              i % 256);
    }
    n += (size_t) sprintf(text + n, "]}");
    ck_assert_int_eq(link_export_parse(text, n, "n1999", out, sizeof(out)),
                     LINK_WG_DIRECT);
    ck_assert_str_eq(out, "10.1.7.207:7473");
    free(text);
}
END_TEST

/*
 * `tailscale status --json`, built from the fields of Tailscale's public
 * ipnstate types (ipn/ipnstate/ipnstate.go: Status.BackendState,
 * Status.Peer keyed by node key, PeerStatus.HostName, DNSName ending in a
 * dot, Online, TailscaleIPs), with other members around them.
 */
START_TEST(tailscale_status)
{
    static const char text[] =
        "{\"Version\":\"1.80.0\",\"TUN\":true,\"BackendState\":\"Running\","
        "\"TailscaleIPs\":[\"100.64.0.1\",\"fd7a:115c:a1e0::1\"],"
        "\"Self\":{\"HostName\":\"home\",\"DNSName\":\"home.example.ts.net.\","
        "\"TailscaleIPs\":[\"100.64.0.1\"],\"Online\":true},"
        "\"MagicDNSSuffix\":\"example.ts.net\","
        "\"Peer\":{"
        "\"nodekey:aa\":{\"ID\":\"n1\",\"HostName\":\"Office\","
        "\"DNSName\":\"office.example.ts.net.\",\"OS\":\"linux\","
        "\"TailscaleIPs\":[\"100.64.0.2\",\"fd7a:115c:a1e0::2\"],"
        "\"Addrs\":[\"198.51.100.7:41641\"],\"Online\":true,\"Active\":true},"
        "\"nodekey:bb\":{\"HostName\":\"laptop-1\","
        "\"DNSName\":\"nas.example.ts.net.\","
        "\"TailscaleIPs\":[\"fd7a:115c:a1e0::3\"],\"Online\":true},"
        "\"nodekey:cc\":{\"HostName\":\"lab\",\"DNSName\":\"lab.example.ts.net.\","
        "\"TailscaleIPs\":[\"100.64.0.4\"],\"Online\":false},"
        "\"nodekey:dd\":{\"HostName\":\"empty\",\"DNSName\":\"\","
        "\"TailscaleIPs\":[],\"Online\":true},"
        "\"nodekey:ee\":{\"HostName\":\"evil\",\"DNSName\":\"evil.x.\","
        "\"TailscaleIPs\":[\"1.2.3.4:99/x\"],\"Online\":true}"
        "},\"User\":{}}";
    size_t n = strlen(text);
    char   out[128];

    /* HostName, without regard to case */
    ck_assert_int_eq(link_tailscale_parse(text, n, "office.claw", out,
                                          sizeof(out)), 1);
    ck_assert_str_eq(out, "100.64.0.2:7473");
    /* the first label of the MagicDNS name; IPv6 in brackets */
    ck_assert_int_eq(link_tailscale_parse(text, n, "nas", out, sizeof(out)),
                     1);
    ck_assert_str_eq(out, "[fd7a:115c:a1e0::3]:7473");
    ck_assert_int_eq(link_tailscale_parse(text, n, "laptop-1", out,
                                          sizeof(out)), 1);
    /* offline, no address, a malformed address, unknown, ourselves */
    ck_assert_int_eq(link_tailscale_parse(text, n, "lab", out, sizeof(out)),
                     0);
    ck_assert_int_eq(link_tailscale_parse(text, n, "empty", out, sizeof(out)),
                     0);
    ck_assert_int_eq(link_tailscale_parse(text, n, "evil", out, sizeof(out)),
                     0);
    ck_assert_int_eq(link_tailscale_parse(text, n, "nobody", out,
                                          sizeof(out)), 0);
    ck_assert_int_eq(link_tailscale_parse(text, n, "home", out, sizeof(out)),
                     0);
    /* not running: nothing is used */
    ck_assert_int_eq(link_tailscale_parse(
        "{\"BackendState\":\"Stopped\",\"Peer\":{\"k\":{\"HostName\":"
        "\"office\",\"TailscaleIPs\":[\"100.64.0.2\"],\"Online\":true}}}",
        105, "office", out, sizeof(out)), 0);
    /* no peers (Peer is null) */
    ck_assert_int_eq(link_tailscale_parse(
        "{\"BackendState\":\"Running\",\"Peer\":null}", 38, "office", out,
        sizeof(out)), 0);
    ck_assert_int_eq(link_tailscale_parse("[]", 2, "office", out,
                                          sizeof(out)), -1);
    ck_assert_int_eq(link_tailscale_parse("{\"Peer\":", 8, "office", out,
                                          sizeof(out)), -1);
}
END_TEST

static Suite *
suite(void)
{
    Suite *s = suite_create("link_config");
    TCase *t = tcase_create("parsers");

    tcase_add_test(t, url_defaults);
    tcase_add_test(t, url_ports_paths);
    tcase_add_test(t, url_bad);
    tcase_add_test(t, url_too_long);
    tcase_add_test(t, hostport);
    tcase_add_test(t, claw_ids);
    tcase_add_test(t, canonical_names);
    tcase_add_test(t, config_full);
    tcase_add_test(t, config_defaults);
    tcase_add_test(t, config_bad);
    tcase_add_test(t, config_limits);
    tcase_add_test(t, config_positions);
    tcase_add_test(t, names_file);
    tcase_add_test(t, names_file_large);
    tcase_add_test(t, tailscale_status);
    suite_add_tcase(s, t);
    return s;
}

int
main(void)
{
    SRunner *r = srunner_create(suite());
    int      failed;

    srunner_run_all(r, CK_NORMAL);
    failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed == 0 ? 0 : 1;
}
