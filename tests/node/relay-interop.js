// Drives the real clawnexus@0.4.0 RelayConnector against a relay:
//   node relay-interop.js ws://127.0.0.1:PORT/relay SECRET ISSUER [URL_B [URL_A2]]
// Two connectors register, pair, exchange keys and encrypted messages both
// ways; a peer leaves (PEER_LEFT), re-registers, and a newer connector
// takes over a name while the old socket is still open (token refresh).
// With URL_B, B connects there (another relay node of a cluster); with
// URL_A2, the newer connector taking over A's name connects there.
// Exit 0 when every step was observed, 1 otherwise.
'use strict';

const crypto = require('node:crypto');
const path = require('node:path');
const { RelayConnector } = require(path.join(__dirname,
    'node_modules/clawnexus/dist/relay/connector.js'));

const [url, secret, issuer, urlB, urlA2] = process.argv.slice(2);
if (!url || !secret) {
    console.error('usage: relay-interop.js URL SECRET [ISSUER]');
    process.exit(2);
}

function b64url(buf) {
    return Buffer.from(buf).toString('base64url');
}

// HS256 JWT as the ClawNexus registry mints it: sub, iss, iat, exp.
function mint(sub, ttl = 300, key = secret) {
    const now = Math.floor(Date.now() / 1000);
    const head = b64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
    const claims = { sub, iat: now, exp: now + ttl };
    if (issuer) claims.iss = issuer;
    const body = b64url(JSON.stringify(claims));
    const mac = crypto.createHmac('sha256', key).update(`${head}.${body}`)
        .digest();
    return `${head}.${body}.${b64url(mac)}`;
}

function connector(id, token, at = url) {
    const c = new RelayConnector({ relayUrl: at, clawId: id,
        authToken: token ?? mint(id), autoAccept: true });
    c.errors = [];
    c.on('relay_error', (code, msg) => c.errors.push(code));
    return c;
}

function once(emitter, ev, ms = 5000) {
    return new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`timeout waiting for ${ev}`)), ms);
        emitter.once(ev, (...args) => { clearTimeout(t); resolve(args); });
    });
}

function check(cond, what) {
    if (!cond) throw new Error(`check failed: ${what}`);
    console.log(`ok - ${what}`);
}

async function pair(a, b, bId) {
    const inc = once(b, 'incoming');
    const ja = once(a, 'joined');
    const jb = once(b, 'joined');
    const ka = once(a, 'key_exchanged');
    const kb = once(b, 'key_exchanged');
    a.join(bId);
    const [room] = await inc;
    const [ra] = await ja;
    const [rb] = await jb;
    check(room.room_id === ra && ra === rb, `both sides joined room ${ra}`);
    check(/^[A-Za-z0-9_-]{22,64}$/.test(ra), 'room id is long and url-safe');
    await ka;
    await kb;
    check(true, 'keys exchanged both ways');
    return ra;
}

async function exchange(a, b, room, n) {
    const gotB = [];
    const gotA = [];
    const doneB = new Promise((res) => {
        b.on('data', (r, text) => { if (r === room) { gotB.push(text); if (gotB.length === n) res(); } });
    });
    const doneA = new Promise((res) => {
        a.on('data', (r, text) => { if (r === room) { gotA.push(text); if (gotA.length === n) res(); } });
    });
    const sent = [];
    for (let i = 0; i < n; i++) {
        const msg = `msg ${i} "quoted" \\ é ✓ ${'x'.repeat(i * 97)}`;
        sent.push(msg);
        if (!a.sendData(room, msg) || !b.sendData(room, `reply ${i}`)) {
            throw new Error('sendData refused: no session key');
        }
    }
    await Promise.race([Promise.all([doneA, doneB]),
        new Promise((_, rej) => setTimeout(() => rej(new Error('data timeout')), 5000))]);
    check(JSON.stringify(gotB) === JSON.stringify(sent),
        `B decrypted ${n} messages from A in order, byte-exact`);
    check(gotA.every((t, i) => t === `reply ${i}`),
        `A decrypted ${n} replies from B in order`);
    a.removeAllListeners('data');
    b.removeAllListeners('data');
}

async function main() {
    const A = connector('alice.id.claw');
    const B = connector('bob.id.claw', undefined, urlB || url);
    const regA = once(A, 'registered');
    const regB = once(B, 'registered');
    A.connect();
    B.connect();
    check((await regA)[0] === 'alice.id.claw', 'A registered');
    check((await regB)[0] === 'bob.id.claw', 'B registered');

    const room = await pair(A, B, 'bob.id.claw');
    await exchange(A, B, room, 20);

    // B leaves: A gets PEER_LEFT for that room
    const left = once(A, 'peer_left');
    B.disconnect();
    check((await left)[0] === room, 'A saw PEER_LEFT for the room');

    // B comes back with a new connector and the same name
    const B2 = connector('bob.id.claw', undefined, urlB || url);
    const regB2 = once(B2, 'registered');
    B2.connect();
    check((await regB2)[0] === 'bob.id.claw', 'B re-registered');
    const room2 = await pair(A, B2, 'bob.id.claw');
    check(room2 !== room, 'a new room id');
    await exchange(A, B2, room2, 3);

    // token refresh: a newer connector takes alice while the old is open
    const A2 = connector('alice.id.claw', undefined, urlA2 || url);
    const regA2 = once(A2, 'registered');
    A2.connect();
    await regA2;
    const leftOld = once(B2, 'peer_left');
    A.disconnect();
    check((await leftOld)[0] === room2,
        'old socket closing ends its room with PEER_LEFT');
    // the name still belongs to the newer socket
    const room3 = await pair(B2, A2, 'alice.id.claw');
    await exchange(B2, A2, room3, 2);

    // a token signed with another secret is refused
    const bad = connector('mallory.id.claw', mint('mallory.id.claw', 300, 'wrong-secret'));
    const err = once(bad, 'relay_error');
    bad.connect();
    check((await err)[0] === 'AUTH_FAILED', 'a bad signature gets AUTH_FAILED');
    // an expired token too
    const old = connector('eve.id.claw', mint('eve.id.claw', -3600));
    const err2 = once(old, 'relay_error');
    old.connect();
    check((await err2)[0] === 'AUTH_FAILED', 'an expired token gets AUTH_FAILED');

    check(A2.errors.length === 0 && B2.errors.length === 0,
        'no ERROR reached the well-behaved clients');
    for (const c of [A2, B2, bad, old]) c.disconnect();
}

main().then(() => { console.log('relay interop: all passed'); process.exit(0); },
    (e) => { console.error(`FAIL: ${e.message}`); process.exit(1); });
