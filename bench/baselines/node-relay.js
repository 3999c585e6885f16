'use strict';
// Baseline relay for the benchmarks: the ClawNexus relay protocol v1 (plus
// the binary DATA extension and peer_claw_id in JOINED) on Node's `ws`, the
// stack the original ClawNexus relay is built on.  Same rules as the nginx
// module: HS256 JWT at REGISTER and JOIN, newest REGISTER owns a name,
// JOINED to the initiator first, DATA only to the other member of an active
// room, PEER_LEFT on close, PING -> PONG.  Written for measurement: no
// per-message logging.
//
// usage: node node-relay.js --port N [--host 127.0.0.1] --secret-file F
//                           [--issuer ISS] [--leeway S] [--max-message BYTES]
//                           [--fault drop|dup|corrupt|reorder|echo]
//                           [--cert PEM --key PEM]
// --cert/--key serve wss (Node's https) instead of ws.
// --fault makes the relay misbehave on purpose, once every 50 DATA, so that
// the load generator's delivery checks can be shown to catch it.
// `ws` is found through NODE_PATH (tests/node/node_modules).

const http = require('http');
const https = require('https');
const crypto = require('crypto');
const fs = require('fs');
const { WebSocketServer } = require('ws');

function arg(name, def) {
  const i = process.argv.indexOf('--' + name);
  return i > 0 && i + 1 < process.argv.length ? process.argv[i + 1] : def;
}

const port = parseInt(arg('port', '18800'), 10);
const host = arg('host', '127.0.0.1');
const secretFile = arg('secret-file', null);
const issuer = arg('issuer', null);
const leeway = parseInt(arg('leeway', '30'), 10);
const maxMessage = parseInt(arg('max-message', String(1 << 20)), 10);
const fault = arg('fault', null);
const certFile = arg('cert', null);
const keyFile = arg('key', null);
const HIGH_WATER = 1 << 20;          // bytes queued to a receiver before
                                     // the sender is paused
if (!secretFile) {
  process.stderr.write('node-relay: --secret-file is required\n');
  process.exit(2);
}
const secret = fs.readFileSync(secretFile).toString().replace(/\s+$/, '');

function b64urlDecode(s) {
  if (!/^[A-Za-z0-9_-]*$/.test(s)) return null;
  return Buffer.from(s, 'base64url');
}

// Returns the claims, or null when the token must be refused.
function verifyJwt(tok, sub) {
  if (typeof tok !== 'string' || tok.length > 4096) return null;
  const parts = tok.split('.');
  if (parts.length !== 3) return null;
  let hdr, claims;
  try {
    hdr = JSON.parse(b64urlDecode(parts[0]).toString());
    claims = JSON.parse(b64urlDecode(parts[1]).toString());
  } catch (e) {
    return null;
  }
  if (!hdr || hdr.alg !== 'HS256') return null;
  const sig = b64urlDecode(parts[2]);
  if (!sig || sig.length !== 32) return null;
  const mac = crypto.createHmac('sha256', secret)
    .update(parts[0] + '.' + parts[1]).digest();
  if (!crypto.timingSafeEqual(mac, sig)) return null;
  const now = Math.floor(Date.now() / 1000);
  if (typeof claims.exp !== 'number' || now > claims.exp + leeway) return null;
  if (typeof claims.nbf === 'number' && claims.nbf > now + leeway) return null;
  if (claims.sub !== sub) return null;
  if (issuer !== null && claims.iss !== issuer) return null;
  return claims;
}

const names = new Map();   // claw_id -> ws (newest REGISTER)
const rooms = new Map();   // room_id -> {init, target, active}

function send(ws, obj) {
  if (ws.readyState === 1) ws.send(JSON.stringify(obj));
}

function error(ws, code, message) {
  send(ws, { type: 'ERROR', code, message });
}

// Stop reading the sender while the receiver has too much queued.
function backpressure(from, to) {
  if (to.bufferedAmount > HIGH_WATER && !from.cnxPaused && from._socket) {
    from.cnxPaused = true;
    from._socket.pause();
    to._socket.once('drain', () => {
      from.cnxPaused = false;
      if (from.readyState === 1) from._socket.resume();
    });
  }
}

function closeRooms(ws) {
  for (const id of ws.cnxRooms) {
    const r = rooms.get(id);
    if (!r) continue;
    rooms.delete(id);
    const other = r.init === ws ? r.target : r.init;
    other.cnxRooms.delete(id);
    send(other, { type: 'PEER_LEFT', room_id: id });
  }
  ws.cnxRooms.clear();
}

function onText(ws, text) {
  let m;
  try {
    m = JSON.parse(text);
  } catch (e) {
    return error(ws, 'BAD_MESSAGE', 'malformed JSON');
  }
  if (m === null || typeof m !== 'object' || typeof m.type !== 'string') {
    return error(ws, 'BAD_MESSAGE', 'missing type');
  }
  switch (m.type) {
  case 'PING':
    return send(ws, { type: 'PONG' });
  case 'REGISTER':
    if (typeof m.claw_id !== 'string' || m.claw_id.length === 0 ||
        m.claw_id.length > 255) {
      return error(ws, 'BAD_MESSAGE', 'bad claw_id');
    }
    if (!verifyJwt(m.auth_token, m.claw_id)) {
      return error(ws, 'AUTH_FAILED', 'token refused');
    }
    if (ws.cnxId && names.get(ws.cnxId) === ws) names.delete(ws.cnxId);
    ws.cnxId = m.claw_id;
    ws.cnxBinary = m.binary === true;
    names.set(m.claw_id, ws);
    return send(ws, ws.cnxBinary
      ? { type: 'REGISTERED', claw_id: m.claw_id, binary: true }
      : { type: 'REGISTERED', claw_id: m.claw_id });
  case 'JOIN': {
    if (!ws.cnxId) return error(ws, 'NOT_REGISTERED', 'REGISTER first');
    if (m.claw_id !== ws.cnxId || typeof m.target_claw_id !== 'string') {
      return error(ws, 'BAD_MESSAGE', 'bad JOIN');
    }
    if (!verifyJwt(m.auth_token, ws.cnxId)) {
      return error(ws, 'AUTH_FAILED', 'token refused');
    }
    const target = names.get(m.target_claw_id);
    if (!target || target === ws) {
      return error(ws, 'TARGET_OFFLINE', 'target not connected');
    }
    const id = crypto.randomBytes(16).toString('base64url');
    rooms.set(id, { init: ws, target, active: false });
    ws.cnxRooms.add(id);
    target.cnxRooms.add(id);
    return send(target, { type: 'INCOMING', room_id: id,
                          from_claw_id: ws.cnxId, from_pubkey: '' });
  }
  case 'ACCEPT':
  case 'REJECT': {
    const r = rooms.get(m.room_id);
    if (!r || r.target !== ws || r.active) {
      return error(ws, 'ROOM_NOT_FOUND', 'no such pending room');
    }
    if (m.type === 'REJECT') {
      rooms.delete(m.room_id);
      r.init.cnxRooms.delete(m.room_id);
      ws.cnxRooms.delete(m.room_id);
      return send(r.init, { type: 'PEER_LEFT', room_id: m.room_id });
    }
    r.active = true;
    send(r.init, { type: 'JOINED', room_id: m.room_id,
                   peer_claw_id: ws.cnxId });
    return send(ws, { type: 'JOINED', room_id: m.room_id,
                      peer_claw_id: r.init.cnxId });
  }
  case 'DATA': {
    const r = rooms.get(m.room_id);
    if (!r || !r.active || (r.init !== ws && r.target !== ws)) {
      return error(ws, 'ROOM_NOT_FOUND', 'not in this room');
    }
    if (typeof m.payload !== 'string') {
      return error(ws, 'BAD_MESSAGE', 'payload must be a string');
    }
    const to = r.init === ws ? r.target : r.init;
    if (fault && faulty(ws, to, m)) return undefined;
    send(to, { type: 'DATA', room_id: m.room_id, payload: m.payload });
    return backpressure(ws, to);
  }
  default:
    return error(ws, 'BAD_MESSAGE', 'unknown type');
  }
}

// --fault: returns true when the message was handled (or lost) here.
let faultCount = 0;
function faulty(from, to, m) {
  if (++faultCount % 50 !== 0) return false;
  switch (fault) {
  case 'drop':
    return true;
  case 'dup':
    send(to, { type: 'DATA', room_id: m.room_id, payload: m.payload });
    return false;
  case 'corrupt': {
    const p = m.payload;
    const i = p.length - 1;
    m.payload = p.slice(0, i) + (p[i] === 'A' ? 'B' : 'A');
    return false;
  }
  case 'reorder':
    if (from.cnxHeld) {
      send(to, { type: 'DATA', room_id: m.room_id, payload: m.payload });
      send(to, from.cnxHeld);
      from.cnxHeld = null;
      return true;
    }
    faultCount--;      // hold this one, send it after the next
    from.cnxHeld = { type: 'DATA', room_id: m.room_id, payload: m.payload };
    return true;
  case 'echo':
    send(from, { type: 'DATA', room_id: m.room_id, payload: m.payload });
    return false;
  default:
    return false;
  }
}

// Binary DATA: 0x01, room id length L, L bytes of room id, payload.
function onBinary(ws, buf) {
  if (buf.length < 2 || buf[0] !== 1 || buf[1] < 1 || buf[1] > 64 ||
      buf.length < 2 + buf[1]) {
    return error(ws, 'BAD_MESSAGE', 'bad binary frame');
  }
  const id = buf.toString('latin1', 2, 2 + buf[1]);
  const r = rooms.get(id);
  if (!r || !r.active || (r.init !== ws && r.target !== ws)) {
    return error(ws, 'ROOM_NOT_FOUND', 'not in this room');
  }
  const to = r.init === ws ? r.target : r.init;
  if (!to.cnxBinary) {
    // A v1 peer never sees binary frames.
    return error(ws, 'BAD_MESSAGE', 'peer does not take binary DATA');
  }
  if (to.readyState === 1) to.send(buf, { binary: true });
  return backpressure(ws, to);
}

const notFound = (req, res) => {
  res.writeHead(404, { 'Content-Length': '0', Connection: 'close' });
  res.end();
};
const server = certFile
  ? https.createServer({ cert: fs.readFileSync(certFile),
                         key: fs.readFileSync(keyFile) }, notFound)
  : http.createServer(notFound);
const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false,
                                  maxPayload: maxMessage });
server.on('upgrade', (req, socket, head) => {
  if (req.url !== '/relay') {
    socket.end('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n' +
               'Connection: close\r\n\r\n');
    return;
  }
  wss.handleUpgrade(req, socket, head, (ws) => {
    ws.cnxRooms = new Set();
    ws.cnxId = null;
    ws.cnxBinary = false;
    ws.on('message', (data, isBinary) => {
      if (isBinary) onBinary(ws, data);
      else onText(ws, data.toString());
    });
    ws.on('close', () => {
      closeRooms(ws);
      if (ws.cnxId && names.get(ws.cnxId) === ws) names.delete(ws.cnxId);
    });
    ws.on('error', () => {});
  });
});
server.listen(port, host, () => {
  process.stdout.write(`node-relay listening on ${host}:${port}\n`);
});
process.on('SIGTERM', () => process.exit(0));
