/*
 * clawnexus-wg: keys, prefixes, endpoints, names file and hosts block.
 */

#define _GNU_SOURCE
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "export.h"
#include "names.h"
#include "subcommands.h"

/* bytes 0..31, and 32 bytes of 0xff (python3 base64.b64encode) */
#define K0 "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
#define K0HEX "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
#define KF "//////////////////////////////////////////8="
#define K1 "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE="
#define K2 "AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI="

START_TEST(test_key_base64)
{
	uint8_t k[WG_KEY_LEN];
	char s[WG_KEY_B64_LEN + 1];
	int i;

	ck_assert_int_eq(wg_key_from_base64(k, K0), 0);
	for (i = 0; i < WG_KEY_LEN; i++)
		ck_assert_int_eq(k[i], i);
	wg_key_to_base64(s, k);
	ck_assert_str_eq(s, K0);
	ck_assert_int_eq(wg_key_from_base64(k, KF), 0);
	ck_assert_int_eq(k[31], 0xff);

	/* wrong length, missing '=', bad character, non-canonical bits */
	ck_assert_int_lt(wg_key_from_base64(k, ""), 0);
	ck_assert_int_lt(wg_key_from_base64(k, NULL), 0);
	ck_assert_int_lt(wg_key_from_base64(k, "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"), 0);
	ck_assert_int_lt(wg_key_from_base64(k, K0 "="), 0);
	ck_assert_int_lt(wg_key_from_base64(k, "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8A"), 0);
	ck_assert_int_lt(wg_key_from_base64(k, "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdH!8="), 0);
	ck_assert_int_lt(wg_key_from_base64(k, "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh9="), 0);
	ck_assert_int_lt(wg_key_from_base64(k, "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwd Hh8="), 0);
}
END_TEST

START_TEST(test_key_hex)
{
	uint8_t k[WG_KEY_LEN], all[256];
	char s[WG_KEY_HEX_LEN + 1], ref[WG_KEY_HEX_LEN + 1];
	int i, j;

	ck_assert_int_eq(wg_key_from_hex(k, K0HEX, 64), 0);
	for (i = 0; i < WG_KEY_LEN; i++)
		ck_assert_int_eq(k[i], i);
	wg_key_to_hex(s, k);
	ck_assert_str_eq(s, K0HEX);
	/* every byte value against libsodium's encoder */
	for (i = 0; i < 256; i++)
		all[i] = (uint8_t)i;
	for (j = 0; j < 256; j += WG_KEY_LEN) {
		wg_key_to_hex(s, all + j);
		sodium_bin2hex(ref, sizeof(ref), all + j, WG_KEY_LEN);
		ck_assert_str_eq(s, ref);
		ck_assert_int_eq(wg_key_from_hex(k, s, 64), 0);
		ck_assert_mem_eq(k, all + j, WG_KEY_LEN);
	}
	/* upper case accepted */
	ck_assert_int_eq(wg_key_from_hex(k, "000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F", 64), 0);
	ck_assert_int_eq(k[10], 10);
	ck_assert_int_lt(wg_key_from_hex(k, K0HEX, 63), 0);
	ck_assert_int_lt(wg_key_from_hex(k, "g00102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1", 64), 0);
	ck_assert_int_lt(wg_key_from_hex(k, "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e:f", 64), 0);
	memset(k, 0, sizeof(k));
	ck_assert(wg_key_is_zero(k));
	k[31] = 1;
	ck_assert(!wg_key_is_zero(k));
}
END_TEST

START_TEST(test_names_and_ifnames)
{
	ck_assert(wg_name_valid("office"));
	ck_assert(wg_name_valid("a"));
	ck_assert(wg_name_valid("site-2"));
	ck_assert(wg_name_valid("012345678901234567890123456789012345678901234567890123456789012"));
	ck_assert(!wg_name_valid("0123456789012345678901234567890123456789012345678901234567890123"));
	ck_assert(!wg_name_valid(""));
	ck_assert(!wg_name_valid("Office"));
	ck_assert(!wg_name_valid("-office"));
	ck_assert(!wg_name_valid("office-"));
	ck_assert(!wg_name_valid("off ice"));
	ck_assert(!wg_name_valid("office.claw"));
	ck_assert(!wg_name_valid("off_ice"));
	ck_assert(wg_ifname_valid("wg0"));
	ck_assert(wg_ifname_valid("123456789012345"));
	ck_assert(!wg_ifname_valid("1234567890123456"));
	ck_assert(!wg_ifname_valid(""));
	ck_assert(!wg_ifname_valid("wg/0"));
	ck_assert(!wg_ifname_valid(".."));
	ck_assert(!wg_ifname_valid("wg 0"));
}
END_TEST

static void
check_ip(const char *in, int ok, const char *canon)
{
	struct wg_allowedip ip;
	char s[64];
	int r = wg_allowedip_parse(&ip, in, strlen(in));

	if (!ok) {
		ck_assert_msg(r < 0, "accepted bad prefix '%s'", in);
		return;
	}
	ck_assert_msg(r == 0, "refused good prefix '%s'", in);
	ck_assert_int_gt(wg_allowedip_format(s, sizeof(s), &ip), 0);
	ck_assert_str_eq(s, canon);
}

START_TEST(test_cidr)
{
	struct wg_peer p;
	const char *bad;
	size_t badlen;

	check_ip("10.0.0.2/32", 1, "10.0.0.2/32");
	check_ip("10.0.0.2", 1, "10.0.0.2/32");
	check_ip("10.1.2.3/8", 1, "10.0.0.0/8");	/* host bits cleared */
	check_ip("10.1.2.3/0", 1, "0.0.0.0/0");
	check_ip("192.168.7.255/23", 1, "192.168.6.0/23");
	check_ip("fd00::2/128", 1, "fd00::2/128");
	check_ip("fd00::2", 1, "fd00::2/128");
	check_ip("fd00:1:2:3::9/60", 1, "fd00:1:2::/60");
	check_ip("::/0", 1, "::/0");
	check_ip("10.0.0.2/33", 0, NULL);
	check_ip("fd00::/129", 0, NULL);
	check_ip("10.0.0/24", 0, NULL);
	check_ip("10.0.0.2/", 0, NULL);
	check_ip("10.0.0.2/-1", 0, NULL);
	check_ip("10.0.0.2/ 8", 0, NULL);
	check_ip("10.0.0.2/0008", 0, NULL);
	check_ip("/8", 0, NULL);
	check_ip("10.0.0.256/32", 0, NULL);
	check_ip("host.example/32", 0, NULL);
	check_ip("", 0, NULL);

	memset(&p, 0, sizeof(p));
	ck_assert_int_eq(wg_allowedips_parse_list(&p, "10.0.0.2/32, fd00::2/128 ,10.0.0.0/24", &bad, &badlen), 0);
	ck_assert_uint_eq(p.nips, 3);
	ck_assert(wg_allowedip_is_host(&p.ips[0]));
	ck_assert(wg_allowedip_is_host(&p.ips[1]));
	ck_assert(!wg_allowedip_is_host(&p.ips[2]));
	wg_peer_clear(&p);
	ck_assert_int_eq(wg_allowedips_parse_list(&p, "10.0.0.2/32,10.0.0.x/32", &bad, &badlen), -EINVAL);
	ck_assert_int_eq((int)badlen, 11);
	ck_assert(!strncmp(bad, "10.0.0.x/32", badlen));
	wg_peer_clear(&p);
	ck_assert_int_eq(wg_allowedips_parse_list(&p, "10.0.0.2/32,", &bad, &badlen), -EINVAL);
	wg_peer_clear(&p);
	ck_assert_int_eq(wg_allowedips_parse_list(&p, "", &bad, &badlen), 0);
	ck_assert_uint_eq(p.nips, 0);
	wg_peer_clear(&p);
}
END_TEST

START_TEST(test_endpoint)
{
	union wg_endpoint ep, ep2;
	char s[64];

	ck_assert_int_eq(wg_endpoint_parse_numeric(&ep, "192.0.2.1:51820"), 0);
	ck_assert_int_eq(ep.addr.sa_family, AF_INET);
	ck_assert_int_eq(ntohs(ep.addr4.sin_port), 51820);
	ck_assert_int_gt(wg_endpoint_format(s, sizeof(s), &ep), 0);
	ck_assert_str_eq(s, "192.0.2.1:51820");
	ck_assert_int_eq(wg_endpoint_parse_numeric(&ep, "[2001:db8::1]:443"), 0);
	ck_assert_int_eq(ep.addr.sa_family, AF_INET6);
	ck_assert_int_gt(wg_endpoint_format(s, sizeof(s), &ep), 0);
	ck_assert_str_eq(s, "[2001:db8::1]:443");
	ck_assert_int_eq(wg_endpoint_parse_numeric(&ep2, s), 0);
	ck_assert(wg_endpoint_equal(&ep, &ep2));
	ck_assert_int_lt(wg_endpoint_parse_numeric(&ep, "2001:db8::1:443"), 0);
	ck_assert_int_lt(wg_endpoint_parse_numeric(&ep, "192.0.2.1"), 0);
	ck_assert_int_lt(wg_endpoint_parse_numeric(&ep, "192.0.2.1:0"), 0);
	ck_assert_int_lt(wg_endpoint_parse_numeric(&ep, "192.0.2.1:65536"), 0);
	ck_assert_int_lt(wg_endpoint_parse_numeric(&ep, "192.0.2.1:x"), 0);
	ck_assert_int_lt(wg_endpoint_parse_numeric(&ep, "[::1:443"), 0);
	ck_assert(wg_endpoint_syntax_ok("vpn.example.org:51820"));
	ck_assert(!wg_endpoint_syntax_ok("vpn.example.org"));
	ck_assert(!wg_endpoint_syntax_ok(":51820"));
	ck_assert(!wg_endpoint_syntax_ok("a b:51820"));
	/* localhost resolves without a network */
	ck_assert_int_eq(wg_endpoint_resolve(&ep, "127.0.0.1:9"), 0);
}
END_TEST

static const char good_file[] =
	"# a comment\n"
	"\n"
	"[wg0]\n"
	"office key=" K0 " allowed-ips=10.0.0.2/32,fd00::2/128 "
	"endpoint=vpn.example.org:51820 keepalive=25\n"
	"  laptop\tkey=" KF "   \r\n"
	"[wg1]\n"
	"nas key=" K0 " allowed-ips=10.1.0.0/24,10.1.0.7/32 psk-file=/etc/clawnexus/nas.psk\n";

START_TEST(test_names_parse_good)
{
	struct wg_names db, db2;
	struct wg_name *e;
	char err[256], *out;
	size_t len;

	ck_assert_int_eq(wg_names_parse(&db, good_file, sizeof(good_file) - 1, err, sizeof(err)), 0);
	ck_assert_uint_eq(db.n, 3);
	e = wg_names_find(&db, "office");
	ck_assert_ptr_nonnull(e);
	ck_assert_str_eq(e->iface, "wg0");
	ck_assert_uint_eq(e->peer.nips, 2);
	ck_assert_str_eq(e->endpoint, "vpn.example.org:51820");
	ck_assert_int_eq(e->peer.keepalive, 25);
	ck_assert(e->peer.flags & WGPEER_HAS_KEEPALIVE);
	e = wg_names_find(&db, "laptop");
	ck_assert_ptr_nonnull(e);
	ck_assert_ptr_null(wg_name_address(e));
	e = wg_names_find(&db, "nas");
	ck_assert_str_eq(e->iface, "wg1");
	ck_assert_str_eq(e->psk_file, "/etc/clawnexus/nas.psk");
	/* resolve uses the first single-host prefix */
	ck_assert_int_eq(wg_name_address(e)->cidr, 32);
	ck_assert_int_eq(((uint8_t *)&wg_name_address(e)->ip4)[3], 7);
	/* the same key may appear on two interfaces */
	ck_assert_ptr_eq(wg_names_find_key(&db, "wg1", e->peer.public_key), e);
	ck_assert_ptr_null(wg_names_find(&db, "nobody"));

	/* canonical output parses back to the same content */
	ck_assert_int_eq(wg_names_format(&db, &out, &len), 0);
	ck_assert_int_eq(wg_names_parse(&db2, out, len, err, sizeof(err)), 0);
	ck_assert_uint_eq(db2.n, 3);
	ck_assert_str_eq(db2.v[0].name, "office");
	ck_assert_str_eq(db2.v[2].name, "nas");
	ck_assert_uint_eq(db2.v[2].peer.nips, 2);
	ck_assert_ptr_nonnull(strstr(out, "[wg0]\noffice key=" K0
		" allowed-ips=10.0.0.2/32,fd00::2/128 endpoint=vpn.example.org:51820 keepalive=25\n"));
	free(out);

	ck_assert_int_eq(wg_names_remove(&db, "laptop"), 0);
	ck_assert_int_eq(wg_names_remove(&db, "laptop"), -ENOENT);
	ck_assert_uint_eq(db.n, 2);
	ck_assert_str_eq(db.v[1].name, "nas");
	wg_names_clear(&db2);
	wg_names_clear(&db);

	/* an empty file is an empty database */
	ck_assert_int_eq(wg_names_parse(&db, "", 0, err, sizeof(err)), 0);
	ck_assert_uint_eq(db.n, 0);
	wg_names_clear(&db);
}
END_TEST

static void
check_bad(const char *text, const char *want)
{
	struct wg_names db;
	char err[256] = "";

	ck_assert_int_eq(wg_names_parse(&db, text, strlen(text), err, sizeof(err)), -EINVAL);
	ck_assert_msg(strstr(err, want) != NULL, "error '%s' lacks '%s'", err, want);
	ck_assert_uint_eq(db.n, 0);
}

START_TEST(test_names_parse_bad)
{
	static char big[WG_NAMES_MAX_LINE + 64];

	check_bad("office key=" K0 "\n", "line 1: peer before any [INTERFACE]");
	check_bad("[wg0]\nOffice key=" K0 "\n", "line 2: bad name 'Office'");
	check_bad("[wg0]\noffice key=" K0 "\noffice key=" KF "\n", "line 3: duplicate name 'office'");
	check_bad("[wg0]\noffice key=" K0 "\n[wg1]\noffice key=" KF "\n", "line 4: duplicate name");
	check_bad("[wg0]\na key=" K0 "\nb key=" K0 "\n", "line 3: the key of 'b' is already named 'a'");
	check_bad("[wg0]\noffice\n", "has no key=");
	check_bad("[wg0]\noffice key=abc\n", "bad key for 'office'");
	check_bad("[wg0]\noffice key=" K0 " key=" KF "\n", "bad key");
	check_bad("[wg0]\noffice key=" K0 " allowed-ips=10.0.0.1/40\n", "bad allowed IP '10.0.0.1/40'");
	check_bad("[wg0]\noffice key=" K0 " endpoint=nowhere\n", "bad endpoint");
	check_bad("[wg0]\noffice key=" K0 " keepalive=65536\n", "bad keepalive");
	check_bad("[wg0]\noffice key=" K0 " psk-file=relative\n", "bad psk-file");
	check_bad("[wg0]\noffice key=" K0 " colour=blue\n", "unknown field 'colour'");
	check_bad("[wg0]\noffice key=" K0 " stray\n", "expected key=value");
	check_bad("[wg/0]\n", "line 1: bad interface name");
	check_bad("[]\n", "bad section");
	check_bad("[wg0\n", "bad section");
	check_bad("[0123456789abcdef]\n", "bad section");
	check_bad("[wg0]\nof\0fice key=" K0 "\n", "");
	{
		static const char nul[] = "[wg0]\nof\0fice\n";
		struct wg_names db;
		char err[128];

		ck_assert_int_eq(wg_names_parse(&db, nul, sizeof(nul) - 1, err, sizeof(err)), -EINVAL);
		ck_assert_ptr_nonnull(strstr(err, "line 2: NUL"));
	}
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	check_bad(big, "line 1: longer than");
}
END_TEST

/* format(parse(x)) is a fixed point and comments stay with their entry */
static void
check_fixed_point(const char *in, const char *want_sub)
{
	struct wg_names a, b;
	char err[256], *t1, *t2;
	size_t l1, l2;

	ck_assert_int_eq(wg_names_parse(&a, in, strlen(in), err, sizeof(err)), 0);
	ck_assert_int_eq(wg_names_format(&a, &t1, &l1), 0);
	ck_assert_int_eq(wg_names_parse(&b, t1, l1, err, sizeof(err)), 0);
	ck_assert_int_eq(wg_names_format(&b, &t2, &l2), 0);
	ck_assert_str_eq(t1, t2);
	if (want_sub)
		ck_assert_msg(strstr(t1, want_sub) != NULL, "'%s' lacks '%s'", t1, want_sub);
	free(t1);
	free(t2);
	wg_names_clear(&a);
	wg_names_clear(&b);
}

START_TEST(test_names_comments)
{
	static const char in[] =
		"# my peers\n# (hand-written)\n"
		"[wg0]\n"
		"  # the office box, under the desk\n"
		"office key=" K0 "\n"
		"\n"
		"# laptop: travels\n"
		"laptop key=" KF "\n"
		"# the end\n";
	struct wg_names db;
	struct wg_name e;
	char err[256], *out;
	size_t len;

	ck_assert_int_eq(wg_names_parse(&db, in, sizeof(in) - 1, err, sizeof(err)), 0);
	ck_assert_str_eq(db.header, "# my peers\n# (hand-written)\n");
	ck_assert_str_eq(wg_names_find(&db, "office")->comment, "# the office box, under the desk\n");
	ck_assert_str_eq(wg_names_find(&db, "laptop")->comment, "# laptop: travels\n");
	ck_assert_str_eq(db.trailer, "# the end\n");
	/* an update keeps the comment, a removal drops it */
	memset(&e, 0, sizeof(e));
	strcpy(e.iface, "wg0");
	strcpy(e.name, "office");
	wg_key_from_base64(e.peer.public_key, K0);
	ck_assert_int_eq(wg_names_put(&db, &e), 0);
	ck_assert_int_eq(wg_names_remove(&db, "laptop"), 0);
	ck_assert_int_eq(wg_names_format(&db, &out, &len), 0);
	ck_assert_str_eq(out, "# my peers\n# (hand-written)\n\n[wg0]\n"
			 "# the office box, under the desk\noffice key=" K0 "\n"
			 "\n# the end\n");
	free(out);
	wg_names_clear(&db);

	check_fixed_point(in, "# laptop: travels\nlaptop key=");
	check_fixed_point("", "# clawnexus-wg names");
	check_fixed_point("# only a comment\n", "# only a comment\n");
	check_fixed_point("[wg0]\n# after an empty section\n", "# after an empty section\n");
	check_fixed_point("# h\n[wg0]\n# moves to the next entry\n[wg1]\nx key=" K0 "\n",
			  "[wg1]\n# moves to the next entry\nx key=");
}
END_TEST

START_TEST(test_names_save_load)
{
	char dir[] = "test_wg_names.XXXXXX", path[256], err[256];
	struct wg_names db, db2;
	struct stat st;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/wg-names.conf", dir);
	/* missing file: empty */
	ck_assert_int_eq(wg_names_load(&db, path, err, sizeof(err)), 0);
	ck_assert_uint_eq(db.n, 0);
	wg_names_clear(&db);
	ck_assert_int_eq(wg_names_parse(&db, good_file, sizeof(good_file) - 1, err, sizeof(err)), 0);
	umask(022);
	ck_assert_int_eq(wg_names_save(&db, path), 0);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0600);
	ck_assert_int_eq(wg_names_load(&db2, path, err, sizeof(err)), 0);
	ck_assert_uint_eq(db2.n, 3);
	wg_names_clear(&db2);
	/* a broken file names itself and the line */
	{
		FILE *f = fopen(path, "w");

		fputs("[wg0]\nbad_name key=x\n", f);
		fclose(f);
	}
	ck_assert_int_eq(wg_names_load(&db2, path, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, path));
	ck_assert_ptr_nonnull(strstr(err, "line 2"));
	/* no temporary file is left behind */
	ck_assert_int_eq(wg_names_save(&db, path), 0);
	{
		char cmd[512];

		snprintf(cmd, sizeof(cmd), "test $(ls -A %s | wc -l) -eq 1", dir);
		ck_assert_int_eq(system(cmd), 0);
		snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
		ck_assert_int_eq(system(cmd), 0);
	}
	wg_names_clear(&db);
}
END_TEST

START_TEST(test_hosts_edit)
{
	char *out;
	size_t len;
	const char *base = "127.0.0.1 localhost\n::1 localhost\n";
	const char *blk = "10.0.0.2 office.claw office\n";

	/* append to a file without a block (and without a final newline) */
	ck_assert_int_eq(wg_hosts_edit("127.0.0.1 localhost", 19, "wg0", blk, &out, &len), 0);
	ck_assert_str_eq(out, "127.0.0.1 localhost\n"
		"# BEGIN clawnexus-wg wg0 (written by clawnexus-wg; edits here are lost)\n"
		"10.0.0.2 office.claw office\n"
		"# END clawnexus-wg wg0\n");
	/* replace: the block keeps its place, others' lines stay */
	{
		char *in = NULL, *out2;
		size_t l2;

		ck_assert_int_gt(asprintf(&in, "%s%s# other\n", out, base), 0);
		free(out);
		ck_assert_int_eq(wg_hosts_edit(in, strlen(in), "wg0", "10.0.0.3 nas.claw nas\n", &out2, &l2), 0);
		ck_assert_str_eq(out2, "127.0.0.1 localhost\n"
			"# BEGIN clawnexus-wg wg0 (written by clawnexus-wg; edits here are lost)\n"
			"10.0.0.3 nas.claw nas\n"
			"# END clawnexus-wg wg0\n" "127.0.0.1 localhost\n::1 localhost\n# other\n");
		/* another interface's block is not ours */
		ck_assert_int_eq(wg_hosts_edit(out2, l2, "wg1", "", &out, &len), 0);
		ck_assert_str_eq(out, out2);
		free(out);
		ck_assert_int_eq(wg_hosts_edit(out2, l2, "wg", "", &out, &len), 0);
		ck_assert_str_eq(out, out2);
		free(out);
		/* an empty block removes ours */
		ck_assert_int_eq(wg_hosts_edit(out2, l2, "wg0", "", &out, &len), 0);
		ck_assert_str_eq(out, "127.0.0.1 localhost\n127.0.0.1 localhost\n::1 localhost\n# other\n");
		free(out);
		free(out2);
		free(in);
	}
	/* only one marker, or two blocks: refused */
	ck_assert_int_eq(wg_hosts_edit("# BEGIN clawnexus-wg wg0\n1.2.3.4 x\n", 35, "wg0", blk, &out, &len), -EINVAL);
	ck_assert_int_eq(wg_hosts_edit("# END clawnexus-wg wg0\n", 23, "wg0", blk, &out, &len), -EINVAL);
	{
		const char *two = "# BEGIN clawnexus-wg wg0\n# END clawnexus-wg wg0\n"
				  "# BEGIN clawnexus-wg wg0\n# END clawnexus-wg wg0\n";

		ck_assert_int_eq(wg_hosts_edit(two, strlen(two), "wg0", blk, &out, &len), -EINVAL);
	}
	/* empty input, empty block */
	ck_assert_int_eq(wg_hosts_edit("", 0, "wg0", NULL, &out, &len), 0);
	ck_assert_uint_eq(len, 0);
	free(out);
}
END_TEST

/* Interfaces whose peers another program applies: names only. */
START_TEST(test_names_managed)
{
	static const char text[] =
		"[ts0 managed-elsewhere]\nphone key=" K0 "\n"
		"[wg0]\noffice key=" KF " allowed-ips=10.0.0.2/32\n"
		"[nb0 managed-elsewhere]\n";
	struct wg_names db, db2;
	char err[256] = "", *out, *out2;
	size_t len, len2;

	ck_assert_int_eq(wg_names_parse(&db, text, sizeof(text) - 1, err, sizeof(err)), 0);
	ck_assert(wg_names_managed(&db, "ts0"));
	ck_assert(wg_names_managed(&db, "nb0"));
	ck_assert(!wg_names_managed(&db, "wg0"));
	ck_assert_uint_eq(db.n, 2);
	ck_assert(wg_name_only_key(wg_names_find(&db, "phone")));
	/* the mark survives a rewrite, also on a section without names */
	ck_assert_int_eq(wg_names_format(&db, &out, &len), 0);
	ck_assert_ptr_nonnull(strstr(out, "\n[ts0 managed-elsewhere]\nphone key=" K0 "\n"));
	ck_assert_ptr_nonnull(strstr(out, "\n[nb0 managed-elsewhere]\n"));
	ck_assert_ptr_nonnull(strstr(out, "\n[wg0]\noffice"));
	ck_assert_int_eq(wg_names_parse(&db2, out, len, err, sizeof(err)), 0);
	ck_assert_int_eq(wg_names_format(&db2, &out2, &len2), 0);
	ck_assert_uint_eq(len, len2);
	ck_assert_mem_eq(out, out2, len);
	ck_assert_int_eq(wg_names_mark_managed(&db2, "wg1"), 0);
	ck_assert_int_eq(wg_names_mark_managed(&db2, "wg1"), 0);
	ck_assert_uint_eq(db2.nmanaged, 3);
	ck_assert_int_eq(wg_names_mark_managed(&db2, "a/b"), -EINVAL);
	free(out);
	free(out2);
	wg_names_clear(&db);
	wg_names_clear(&db2);

	check_bad("[ts0 managed-elsewhere]\nphone key=" K0 " allowed-ips=10.0.0.2/32\n",
		  "line 2: 'phone' is on ts0, which is managed elsewhere");
	check_bad("[ts0 managed-elsewhere]\nphone key=" K0 " endpoint=a:1\n", "managed elsewhere");
	check_bad("[ts0 managed-elsewhere]\nphone key=" K0 " keepalive=5\n", "managed elsewhere");
	check_bad("[ts0]\n[ts0 managed-elsewhere]\n", "line 2: interface ts0 is marked managed-elsewhere in one section and not in another");
	check_bad("[ts0 managed-elsewhere]\n[ts0]\n", "line 2: interface ts0 is marked");
	check_bad("[ts0 managed]\n", "line 1: bad section");
	check_bad("[ts0 managed-elsewhere x]\n", "bad section");
	check_bad("[ a]\n", "bad section");
}
END_TEST

/* The export: recorded and live fields, status, managed interfaces. */
START_TEST(test_export_format)
{
	static const char text[] =
		"[wg0]\noffice key=" K0 " allowed-ips=10.0.0.0/24,10.0.0.2/32 endpoint=vpn.example:51820\n"
		"gone key=" KF "\n"
		"[ts0 managed-elsewhere]\nphone key=" K1 "\n"
		"[wg9]\nlab key=" K2 "\n";
	struct wg_names db;
	struct wg_device devs[2];
	struct wg_peer *p;
	struct wg_allowedip ip;
	char err[256], *out = NULL;
	size_t len;
	FILE *f;

	ck_assert_int_eq(wg_names_parse(&db, text, sizeof(text) - 1, err, sizeof(err)), 0);
	wg_device_init(&devs[0], "wg0");
	wg_device_init(&devs[1], "ts0");
	/* a stranger first, so that the lookup is not by position */
	p = wg_device_add_peer(&devs[0]);
	memset(p->public_key, 7, WG_KEY_LEN);
	p = wg_device_add_peer(&devs[0]);
	wg_key_from_base64(p->public_key, K0);
	p->last_handshake_sec = 1000 - 30;
	p->flags |= WGPEER_HAS_ENDPOINT;
	wg_endpoint_parse_numeric(&p->endpoint, "198.51.100.7:51820");
	p = wg_device_add_peer(&devs[1]);
	wg_key_from_base64(p->public_key, K1);
	p->last_handshake_sec = 1000 - 500;
	wg_allowedip_parse(&ip, "100.64.0.9/32", 13);
	wg_peer_add_ip(p, &ip);

	f = open_memstream(&out, &len);
	ck_assert_int_eq(wg_export_format(f, &db, NULL, devs, 2, 1000), 0);
	fclose(f);
	ck_assert_ptr_nonnull(strstr(out, "{\"version\":1,\"peers\":[{\"name\":\"office\",\"interface\":\"wg0\","
		"\"address\":\"10.0.0.2\",\"allowed_ips\":[\"10.0.0.0/24\",\"10.0.0.2/32\"],"
		"\"public_key\":\"" K0 "\",\"endpoint\":\"198.51.100.7:51820\",\"status\":\"direct\","
		"\"latest_handshake\":970,\"managed_elsewhere\":false}"));
	ck_assert_ptr_nonnull(strstr(out, "{\"name\":\"gone\",\"interface\":\"wg0\",\"address\":null,"
		"\"allowed_ips\":[],\"public_key\":\"" KF "\",\"endpoint\":null,\"status\":\"absent\""));
	/* nothing recorded on a managed interface: the live prefixes */
	ck_assert_ptr_nonnull(strstr(out, "{\"name\":\"phone\",\"interface\":\"ts0\",\"address\":\"100.64.0.9\","
		"\"allowed_ips\":[\"100.64.0.9/32\"]"));
	ck_assert_ptr_nonnull(strstr(out, "\"status\":\"stale\",\"latest_handshake\":500,\"managed_elsewhere\":true}"));
	ck_assert_ptr_nonnull(strstr(out, "{\"name\":\"lab\",\"interface\":\"wg9\",\"address\":null,"
		"\"allowed_ips\":[],\"public_key\":\"" K2 "\",\"endpoint\":null,\"status\":\"unknown\""));
	ck_assert_uint_eq(len, strlen(out));
	ck_assert_int_eq(out[len - 1], '\n');
	free(out);

	/* one interface: it is named at the top, the others are left out */
	f = open_memstream(&out, &len);
	ck_assert_int_eq(wg_export_format(f, &db, "ts0", devs, 2, 1000), 0);
	fclose(f);
	ck_assert_ptr_nonnull(strstr(out, "{\"version\":1,\"interface\":\"ts0\",\"peers\":[{\"name\":\"phone\""));
	ck_assert_ptr_null(strstr(out, "office"));
	free(out);

	out = wg_names_ifaces(&db);
	ck_assert_str_eq(out, "wg0");
	ck_assert_str_eq(out + 4, "ts0");
	ck_assert_str_eq(out + 8, "wg9");
	ck_assert_str_eq(out + 12, "");
	free(out);
	wg_device_clear(&devs[0]);
	wg_device_clear(&devs[1]);
	wg_names_clear(&db);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("wg_names");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	if (sodium_init() < 0)
		return EXIT_FAILURE;
	tcase_add_test(tc, test_key_base64);
	tcase_add_test(tc, test_key_hex);
	tcase_add_test(tc, test_names_and_ifnames);
	tcase_add_test(tc, test_cidr);
	tcase_add_test(tc, test_endpoint);
	tcase_add_test(tc, test_names_parse_good);
	tcase_add_test(tc, test_names_parse_bad);
	tcase_add_test(tc, test_names_comments);
	tcase_add_test(tc, test_names_save_load);
	tcase_add_test(tc, test_hosts_edit);
	tcase_add_test(tc, test_names_managed);
	tcase_add_test(tc, test_export_format);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
