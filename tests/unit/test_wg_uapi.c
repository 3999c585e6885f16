/*
 * clawnexus-wg: UAPI request building and reply parsing (wireguard-go and
 * boringtun flavours, broken replies) and the socket client against a
 * scripted server.  Reply layouts follow the cross-platform UAPI
 * description (wireguard.com/xplatform) and what wireguard-go 0.0.20220316
 * and boringtun's device/api.rs emit.
 */

#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sodium.h>

#include "backend.h"
#include "uapi.h"

#define HEX0 "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
#define HEX1 "1111111111111111111111111111111111111111111111111111111111111111"
#define HEXZ "0000000000000000000000000000000000000000000000000000000000000000"

START_TEST(test_build_set)
{
	struct wg_device dev;
	struct wg_peer *p;
	struct wg_allowedip ip;
	char *out;
	size_t len;

	wg_device_init(&dev, "wg0");
	p = wg_device_add_peer(&dev);
	wg_key_from_hex(p->public_key, HEX0, 64);
	p->flags = WGPEER_REPLACE_ALLOWEDIPS | WGPEER_HAS_KEEPALIVE |
		   WGPEER_HAS_ENDPOINT | WGPEER_HAS_PRESHARED_KEY;
	p->keepalive = 25;
	wg_key_from_hex(p->preshared_key, HEX1, 64);
	wg_endpoint_parse_numeric(&p->endpoint, "[2001:db8::1]:51820");
	wg_allowedip_parse(&ip, "10.0.0.2/32", 11);
	wg_peer_add_ip(p, &ip);
	wg_allowedip_parse(&ip, "fd00::/64", 9);
	wg_peer_add_ip(p, &ip);
	p = wg_device_add_peer(&dev);
	wg_key_from_hex(p->public_key, HEX1, 64);
	p->flags = WGPEER_REMOVE_ME;
	wg_peer_add_ip(p, &ip);	/* ignored for a removal */

	ck_assert_int_eq(wg_uapi_build_set(&dev, &out, &len), 0);
	ck_assert_str_eq(out,
		"set=1\n"
		"public_key=" HEX0 "\n"
		"preshared_key=" HEX1 "\n"
		"endpoint=[2001:db8::1]:51820\n"
		"persistent_keepalive_interval=25\n"
		"replace_allowed_ips=true\n"
		"allowed_ip=10.0.0.2/32\n"
		"allowed_ip=fd00::/64\n"
		"public_key=" HEX1 "\n"
		"remove=true\n"
		"\n");
	ck_assert_uint_eq(len, strlen(out));
	free(out);

	/* device fields come before the first peer; no replace_peers
	 * unless asked */
	wg_device_clear(&dev);
	wg_device_init(&dev, "wg0");
	dev.flags = WGDEV_HAS_LISTEN_PORT | WGDEV_HAS_FWMARK;
	dev.listen_port = 51820;
	dev.fwmark = 7;
	p = wg_device_add_peer(&dev);
	wg_key_from_hex(p->public_key, HEX0, 64);
	p->flags = WGPEER_UPDATE_ONLY;
	ck_assert_int_eq(wg_uapi_build_set(&dev, &out, &len), 0);
	ck_assert_str_eq(out, "set=1\nlisten_port=51820\nfwmark=7\n"
			 "public_key=" HEX0 "\nupdate_only=true\n\n");
	ck_assert_ptr_null(strstr(out, "replace_peers"));
	free(out);
	wg_device_clear(&dev);
}
END_TEST

/* wireguard-go: private key, psk zeros, protocol_version, negative errno */
static const char go_reply[] =
	"private_key=" HEX0 "\n"
	"listen_port=51820\n"
	"public_key=" HEX1 "\n"
	"preshared_key=" HEXZ "\n"
	"protocol_version=1\n"
	"endpoint=[2001:db8::7]:4500\n"
	"last_handshake_time_sec=1700000000\n"
	"last_handshake_time_nsec=5\n"
	"tx_bytes=18446744073709551615\n"
	"rx_bytes=100\n"
	"persistent_keepalive_interval=25\n"
	"allowed_ip=10.0.0.2/32\n"
	"allowed_ip=fd00::2/128\n"
	"public_key=" HEX0 "\n"
	"preshared_key=" HEX1 "\n"
	"protocol_version=1\n"
	"last_handshake_time_sec=0\n"
	"last_handshake_time_nsec=0\n"
	"tx_bytes=0\n"
	"rx_bytes=0\n"
	"persistent_keepalive_interval=0\n"
	"errno=0\n"
	"\n";

START_TEST(test_parse_wireguard_go)
{
	struct wg_device dev;
	uint8_t pub[WG_KEY_LEN], priv[WG_KEY_LEN];
	char s[64];

	wg_device_init(&dev, "wg0");
	ck_assert_int_eq(wg_uapi_parse_get(&dev, go_reply, sizeof(go_reply) - 1), 0);
	ck_assert(dev.flags & WGDEV_HAS_PRIVATE_KEY);
	ck_assert(dev.flags & WGDEV_HAS_PUBLIC_KEY);
	wg_key_from_hex(priv, HEX0, 64);
	crypto_scalarmult_base(pub, priv);
	ck_assert_mem_eq(dev.public_key, pub, WG_KEY_LEN);
	ck_assert_int_eq(dev.listen_port, 51820);
	ck_assert_uint_eq(dev.npeers, 2);
	ck_assert_uint_eq(dev.peers[0].nips, 2);
	ck_assert(!(dev.peers[0].flags & WGPEER_HAS_PRESHARED_KEY));
	ck_assert(dev.peers[0].flags & WGPEER_HAS_ENDPOINT);
	wg_endpoint_format(s, sizeof(s), &dev.peers[0].endpoint);
	ck_assert_str_eq(s, "[2001:db8::7]:4500");
	ck_assert_int_eq(dev.peers[0].last_handshake_sec, 1700000000);
	ck_assert_uint_eq(dev.peers[0].tx_bytes, UINT64_MAX);
	ck_assert_uint_eq(dev.peers[0].rx_bytes, 100);
	ck_assert_int_eq(dev.peers[0].keepalive, 25);
	wg_allowedip_format(s, sizeof(s), &dev.peers[0].ips[1]);
	ck_assert_str_eq(s, "fd00::2/128");
	ck_assert(dev.peers[1].flags & WGPEER_HAS_PRESHARED_KEY);
	ck_assert_uint_eq(dev.peers[1].nips, 0);
	wg_device_clear(&dev);
}
END_TEST

/* boringtun: own_public_key, no psk line, no handshake lines, positive
 * errno; unknown keys ignored */
START_TEST(test_parse_boringtun)
{
	static const char bt[] =
		"own_public_key=" HEX1 "\n"
		"listen_port=40000\n"
		"fwmark=3\n"
		"some_future_key=1\n"
		"public_key=" HEX0 "\n"
		"endpoint=192.0.2.9:51820\n"
		"allowed_ip=10.0.0.0/24\n"
		"rx_bytes=1\n"
		"tx_bytes=2\n"
		"errno=0\n"
		"\n";
	static const char bt_err[] = "errno=22\n\n";
	struct wg_device dev;

	wg_device_init(&dev, "wg0");
	ck_assert_int_eq(wg_uapi_parse_get(&dev, bt, sizeof(bt) - 1), 0);
	ck_assert(!(dev.flags & WGDEV_HAS_PRIVATE_KEY));
	ck_assert(dev.flags & WGDEV_HAS_PUBLIC_KEY);
	ck_assert_int_eq(dev.public_key[0], 0x11);
	ck_assert_int_eq(dev.fwmark, 3);
	ck_assert_uint_eq(dev.npeers, 1);
	ck_assert_int_eq(dev.peers[0].last_handshake_sec, 0);
	ck_assert_uint_eq(dev.peers[0].nips, 1);
	wg_device_clear(&dev);

	/* errno 22 (boringtun) and -22 (wireguard-go) mean the same */
	wg_device_init(&dev, "wg0");
	ck_assert_int_eq(wg_uapi_parse_get(&dev, bt_err, sizeof(bt_err) - 1), -EINVAL);
	wg_device_clear(&dev);
	ck_assert_int_eq(wg_uapi_parse_errno("errno=22\n\n", 10), -EINVAL);
	ck_assert_int_eq(wg_uapi_parse_errno("errno=-22\n\n", 11), -EINVAL);
	ck_assert_int_eq(wg_uapi_parse_errno("errno=0\n\n", 9), 0);
	ck_assert_int_eq(wg_uapi_parse_errno("errno=-55\n\n", 11), -55);
}
END_TEST

static int
parse_str(const char *s)
{
	struct wg_device dev;
	int r;

	wg_device_init(&dev, "wg0");
	r = wg_uapi_parse_get(&dev, s, strlen(s));
	wg_device_clear(&dev);
	return r;
}

START_TEST(test_parse_broken)
{
	size_t i;

	/* every truncation of a good reply is refused, never accepted */
	for (i = 0; i < sizeof(go_reply) - 1; i++) {
		struct wg_device dev;

		wg_device_init(&dev, "wg0");
		ck_assert_int_eq(wg_uapi_parse_get(&dev, go_reply, i), -EPROTO);
		wg_device_clear(&dev);
	}
	ck_assert_int_eq(parse_str(""), -EPROTO);
	ck_assert_int_eq(parse_str("\n"), -EPROTO);		/* no errno */
	ck_assert_int_eq(parse_str("listen_port=1\n\n"), -EPROTO);
	ck_assert_int_eq(parse_str("errno=x\n\n"), -EPROTO);
	ck_assert_int_eq(parse_str("errno=\n\n"), -EPROTO);
	ck_assert_int_eq(parse_str("errno=99999999999999999999999\n\n"), -EPROTO);
	ck_assert_int_eq(parse_str("errno=0\nlisten_port=1\n\n"), -EPROTO);
	ck_assert_int_eq(parse_str("noequals\nerrno=0\n\n"), -EPROTO);
	ck_assert_int_eq(parse_str("listen_port=65536\nerrno=0\n\n"), -EPROTO);
	ck_assert_int_eq(parse_str("listen_port=-1\nerrno=0\n\n"), -EPROTO);
	ck_assert_int_eq(parse_str("public_key=" HEX0 "x\nerrno=0\n\n"), -EPROTO);
	ck_assert_int_eq(parse_str("public_key=zz\nerrno=0\n\n"), -EPROTO);
	ck_assert_int_eq(parse_str("public_key=" HEX0 "\nallowed_ip=10.0.0.1/33\nerrno=0\n\n"), -EPROTO);
	ck_assert_int_eq(parse_str("public_key=" HEX0 "\nendpoint=nohost\nerrno=0\n\n"), -EPROTO);
	ck_assert_int_eq(parse_str("public_key=" HEX0 "\ntx_bytes=18446744073709551616\nerrno=0\n\n"), -EPROTO);
	ck_assert_int_eq(parse_str("public_key=" HEX0 "\nprivate_key=" HEX0 "\nerrno=0\n\n"), -EPROTO);
	/* peer fields before any public_key are ignored like unknown keys */
	ck_assert_int_eq(parse_str("rx_bytes=5\nerrno=0\n\n"), 0);
	ck_assert_int_eq(wg_uapi_parse_errno("", 0), -EPROTO);
	ck_assert_int_eq(wg_uapi_parse_errno("errno=0\n", 8), -EPROTO);
	ck_assert_int_eq(wg_uapi_parse_errno("erno=0\n\n", 8), -EPROTO);
}
END_TEST

/* ---- the socket client against a scripted server ---- */

static char sockdir[64];

/* Serve one connection: read the request up to the blank line, write it
 * to reqfile, answer reply. */
static pid_t
fake_server(const char *ifname, const char *reply, const char *reqfile)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int ls, c;
	pid_t pid;

	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/%s.sock", sockdir,
		 ifname);
	unlink(sun.sun_path);
	ls = socket(AF_UNIX, SOCK_STREAM, 0);
	ck_assert_int_ge(ls, 0);
	ck_assert_int_eq(bind(ls, (struct sockaddr *)&sun, sizeof(sun)), 0);
	ck_assert_int_eq(listen(ls, 4), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		char buf[65536];
		size_t len = 0;
		ssize_t n;
		FILE *f;

		/* the existence probe connects and closes first */
		for (;;) {
			c = accept(ls, NULL, NULL);
			if (c < 0)
				_exit(1);
			len = 0;
			while ((n = read(c, buf + len, sizeof(buf) - len)) > 0) {
				len += (size_t)n;
				if (len >= 2 && buf[len - 1] == '\n' &&
				    buf[len - 2] == '\n')
					break;
			}
			if (len)
				break;
			close(c);
		}
		f = fopen(reqfile, "w");
		fwrite(buf, 1, len, f);
		fclose(f);
		if (write(c, reply, strlen(reply)) < 0)
			_exit(1);
		close(c);
		_exit(0);
	}
	close(ls);
	return pid;
}

static char *
slurp(const char *path)
{
	static char buf[65536];
	FILE *f = fopen(path, "r");
	size_t n;

	ck_assert_ptr_nonnull(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static void
reap(pid_t pid)
{
	int st;

	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

START_TEST(test_client)
{
	struct wg_device dev;
	struct wg_peer *p;
	char req[128];
	pid_t pid;

	strcpy(sockdir, "test_wg_uapi.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(sockdir));
	setenv("CLAWNEXUS_WG_SOCKET_DIR", sockdir, 1);
	snprintf(req, sizeof(req), "%s/request", sockdir);

	/* absent interface */
	ck_assert(!wg_uapi_exists("wgx0"));
	wg_device_init(&dev, "wgx0");
	ck_assert_int_eq(wg_uapi_get("wgx0", &dev), -ENODEV);

	/* get */
	pid = fake_server("wgx0", go_reply, req);
	ck_assert(wg_uapi_exists("wgx0"));
	ck_assert_int_eq(wg_uapi_get("wgx0", &dev), 0);
	reap(pid);
	ck_assert_str_eq(slurp(req), "get=1\n\n");
	ck_assert_uint_eq(dev.npeers, 2);
	ck_assert_str_eq(dev.name, "wgx0");
	wg_device_clear(&dev);

	/* set: the request as built, the errno checked */
	wg_device_init(&dev, "wgx0");
	p = wg_device_add_peer(&dev);
	wg_key_from_hex(p->public_key, HEX0, 64);
	p->flags = WGPEER_REMOVE_ME;
	pid = fake_server("wgx0", "errno=0\n\n", req);
	ck_assert_int_eq(wg_uapi_set(&dev), 0);
	reap(pid);
	ck_assert_str_eq(slurp(req), "set=1\npublic_key=" HEX0 "\nremove=true\n\n");
	pid = fake_server("wgx0", "errno=-22\n\n", req);
	ck_assert_int_eq(wg_uapi_set(&dev), -EINVAL);
	reap(pid);
	pid = fake_server("wgx0", "errno=1\n\n", req);	/* boringtun EPERM */
	ck_assert_int_eq(wg_uapi_set(&dev), -EPERM);
	reap(pid);
	pid = fake_server("wgx0", "", req);		/* closed, no answer */
	ck_assert_int_eq(wg_uapi_set(&dev), -EPROTO);
	reap(pid);
	pid = fake_server("wgx0", "errno=0\n", req);	/* no blank line */
	ck_assert_int_eq(wg_uapi_set(&dev), -EPROTO);
	reap(pid);
	wg_device_clear(&dev);

	/* a socket nobody listens on (dead daemon) is no interface */
	{
		struct sockaddr_un sun = { .sun_family = AF_UNIX };
		int s = socket(AF_UNIX, SOCK_STREAM, 0);

		snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/stale.sock",
			 sockdir);
		ck_assert_int_eq(bind(s, (struct sockaddr *)&sun, sizeof(sun)), 0);
		close(s);
		ck_assert(!wg_uapi_exists("stale"));
		ck_assert_int_eq(wg_uapi_get("stale", &dev), -ENODEV);
	}
	/* names that could escape the folder are refused */
	ck_assert_int_eq(wg_uapi_get("../x", &dev), -EINVAL);
	{
		char cmd[128];

		snprintf(cmd, sizeof(cmd), "rm -rf %s", sockdir);
		ck_assert_int_eq(system(cmd), 0);
	}
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("wg_uapi");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	if (sodium_init() < 0)
		return EXIT_FAILURE;
	signal(SIGPIPE, SIG_IGN);
	tcase_add_test(tc, test_build_set);
	tcase_add_test(tc, test_parse_wireguard_go);
	tcase_add_test(tc, test_parse_boringtun);
	tcase_add_test(tc, test_parse_broken);
	tcase_add_test(tc, test_client);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
