/*
 * libclawnexus: the session layer and codecs shared by every ClawNexus Edge
 * carrier (the nginx relay module, clawnexus-link, clawnexus-wg).
 */

#ifndef CLAWNEXUS_H
#define CLAWNEXUS_H

#define CNX_VERSION "0.1.0"

const char *cnx_version(void);

#endif
