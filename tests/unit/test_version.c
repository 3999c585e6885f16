#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "clawnexus.h"

START_TEST(test_version_matches_header)
{
    ck_assert_str_eq(cnx_version(), CNX_VERSION);
    ck_assert_int_gt((int) strlen(cnx_version()), 0);
}
END_TEST

int
main(void)
{
    Suite   *s = suite_create("version");
    TCase   *tc = tcase_create("core");
    SRunner *sr;
    int      failed;

    tcase_add_test(tc, test_version_matches_header);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
