#include "clawnexus.h"

const char *
cnx_version(void)
{
    return CNX_VERSION;
}
