// The real clawnexus@0.4.0 RelayConnector as the far end of
// `clawnexus-link chat`:
//   node link-chat.js URL SECRET ISSUER ID [--join TARGET] [--send TEXT]...
//                     [--expect N] [--until-left]
// Registers ID (token minted here as the ClawNexus registry does), JOINs
// TARGET when asked (otherwise auto-accepts), sends every --send text once
// the keys are exchanged, prints every message received as "got: TEXT",
// and exits 0 once N messages arrived (and, with --until-left, the peer
// left).  Exit 1 on timeout or relay error.
'use strict';

const crypto = require('node:crypto');
const path = require('node:path');
const { RelayConnector } = require(path.join(__dirname,
    'node_modules/clawnexus/dist/relay/connector.js'));

const argv = process.argv.slice(2);
const [url, secret, issuer, id] = argv;
if (!url || !secret || !id) {
    console.error('usage: link-chat.js URL SECRET ISSUER ID [options]');
    process.exit(2);
}
let join = null;
let expect = 0;
let untilLeft = false;
const send = [];
for (let i = 4; i < argv.length; i++) {
    if (argv[i] === '--join') join = argv[++i];
    else if (argv[i] === '--send') send.push(argv[++i]);
    else if (argv[i] === '--expect') expect = Number(argv[++i]);
    else if (argv[i] === '--until-left') untilLeft = true;
    else { console.error(`unknown option ${argv[i]}`); process.exit(2); }
}

function b64url(buf) {
    return Buffer.from(buf).toString('base64url');
}

function mint(sub, ttl = 300) {
    const now = Math.floor(Date.now() / 1000);
    const head = b64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
    const claims = { sub, iat: now, exp: now + ttl };
    if (issuer) claims.iss = issuer;
    const body = b64url(JSON.stringify(claims));
    const mac = crypto.createHmac('sha256', secret)
        .update(`${head}.${body}`).digest();
    return `${head}.${body}.${b64url(mac)}`;
}

// The connector logs decrypt failures with console.log; keep stdout for
// the messages so the test can compare them exactly.
const log = console.log;
console.log = (...a) => console.error(...a);

const c = new RelayConnector({ relayUrl: url, clawId: id,
    authToken: mint(id), autoAccept: true });
let got = 0;
let left = false;
let finished = false;

function finish(code, why) {
    if (finished) return;
    finished = true;
    if (why) console.error(why);
    c.disconnect();
    setTimeout(() => process.exit(code), 100);
}

function maybeDone() {
    if (got >= expect && (!untilLeft || left)) finish(0);
}

const timer = setTimeout(() => finish(1, `timeout: ${got}/${expect} messages, left=${left}`), 20000);
timer.unref();

c.on('registered', (cid) => {
    console.error(`registered ${cid}`);
    if (join) c.join(join);
});
c.on('key_exchanged', (room) => {
    console.error(`key exchanged in ${room}`);
    for (const t of send) c.sendData(room, t);
    maybeDone();
});
c.on('data', (room, text) => {
    log(`got: ${text}`);
    got++;
    maybeDone();
});
c.on('peer_left', () => {
    console.error('peer left');
    left = true;
    maybeDone();
});
c.on('relay_error', (code, msg) => finish(1, `relay error ${code}: ${msg}`));
c.connect();
