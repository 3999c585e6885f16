/*
 * cnx_relay_dir: the room table of one relay worker (the relay core's,
 * cnx_relay_core.h; names live in a directory shared by the workers).
 *
 * Members are opaque pointers owned by the caller; each embeds a
 * cnx_dir_member_t that links the rooms it belongs to, so closing one
 * visits only its rooms.  Rooms are created PENDING by a JOIN (member 0 =
 * initiator, member 1 = target), become ACTIVE after ACCEPT and are
 * removed on REJECT or when a member leaves.
 */

#ifndef CNX_RELAY_DIR_H
#define CNX_RELAY_DIR_H

#include <stddef.h>
#include <stdint.h>

#define CNX_DIR_NAME_MAX     255
#define CNX_DIR_ROOM_ID_MAX  64

typedef enum {
    CNX_DIR_ROOM_PENDING = 0,
    CNX_DIR_ROOM_ACTIVE
} cnx_dir_room_state_e;

typedef struct cnx_dir_s       cnx_dir_t;
typedef struct cnx_dir_room_s  cnx_dir_room_t;

/* Embedded in every session; zero it (cnx_dir_member_init) before use. */
typedef struct {
    void            *session;    /* back pointer handed out by lookups */
    cnx_dir_room_t  *rooms;      /* intrusive list of this member's rooms */
    unsigned         nrooms;     /* rooms of any state */
    unsigned         npending;   /* PENDING rooms this member initiated */
    unsigned         nopened;    /* rooms of any state it initiated */
    unsigned         nincoming;  /* PENDING rooms where it is the target */
} cnx_dir_member_t;

struct cnx_dir_room_s {
    char                   id[CNX_DIR_ROOM_ID_MAX + 1];
    size_t                 id_len;
    cnx_dir_room_state_e   state;
    cnx_dir_member_t      *member[2];      /* 0 initiator, 1 target */
    char                   name[2][CNX_DIR_NAME_MAX + 1];
    size_t                 name_len[2];
    cnx_dir_room_t        *hnext;          /* hash chain */
    cnx_dir_room_t        *next[2];        /* per-member list links */
    cnx_dir_room_t        *prev[2];
    unsigned char          full[2];        /* member i takes no more DATA
                                              for now (cnx_relay_core) */
    unsigned char          held[2];        /* member i waits until the
                                              other one drains */
};

/* A new empty directory, or NULL when out of memory. */
cnx_dir_t *cnx_dir_new(void);

/* Frees the directory and its rooms (members are not touched). */
void cnx_dir_free(cnx_dir_t *d);

void cnx_dir_member_init(cnx_dir_member_t *m, void *session);

/* Number of rooms. */
size_t cnx_dir_room_count(const cnx_dir_t *d);

/*
 * Creates a PENDING room with the given id (1..64 bytes) between the
 * initiator (named iname) and the target (named tname).  Returns NULL if
 * the id exists already (caller draws a new one) or out of memory.
 */
cnx_dir_room_t *cnx_dir_room_create(cnx_dir_t *d, const char *id,
    size_t id_len, cnx_dir_member_t *initiator, const char *iname,
    size_t ilen, cnx_dir_member_t *target, const char *tname, size_t tlen);

/* The room with that id, or NULL. */
cnx_dir_room_t *cnx_dir_room_get(cnx_dir_t *d, const char *id,
    size_t id_len);

/* Index (0 or 1) of m in the room, or -1 if m is not a member. */
int cnx_dir_room_side(const cnx_dir_room_t *r, const cnx_dir_member_t *m);

/* The other member of the room (NULL if m is not a member). */
cnx_dir_member_t *cnx_dir_room_peer(const cnx_dir_room_t *r,
    const cnx_dir_member_t *m);

/* PENDING -> ACTIVE. */
void cnx_dir_room_activate(cnx_dir_room_t *r);

/* Unlinks the room from both members and frees it. */
void cnx_dir_room_remove(cnx_dir_t *d, cnx_dir_room_t *r);

/* The first room of a member (iterate with cnx_dir_room_next), or NULL. */
cnx_dir_room_t *cnx_dir_member_first(const cnx_dir_member_t *m);
cnx_dir_room_t *cnx_dir_room_next(const cnx_dir_room_t *r,
    const cnx_dir_member_t *m);

#endif /* CNX_RELAY_DIR_H */
