// Adds members to the replica set or removes them; run by the hooks with mongosh --file,
// connected to the replica set (its primary) from the master. Runs again without changing
// anything once done.
//
// Every value comes from the environment, never from this file's text:
//   DISCO_MONGODB_ADMIN_PASSWORD  password of the user `admin`
//   DISCO_MONGODB_ADD             host:port of the members to add, space-separated
//   DISCO_MONGODB_REMOVE          host:port of the members to remove, space-separated
//   DISCO_MONGODB_MEMBER_TIMEOUT  seconds to wait for each change (a new member's initial sync)
'use strict';

const password = process.env.DISCO_MONGODB_ADMIN_PASSWORD || '';
const list = (name) => (process.env[name] || '').split(' ').filter((m) => m !== '');
const add = list('DISCO_MONGODB_ADD');
const remove = list('DISCO_MONGODB_REMOVE');
const timeoutMs = 1000 * Number(process.env.DISCO_MONGODB_MEMBER_TIMEOUT || '3600');
// A replica set has at most 7 voting members; the others join without a vote.
const MAX_VOTING = 7;
if (password === '') {
  throw new Error('DISCO_MONGODB_ADMIN_PASSWORD must be set');
}
db.getSiblingDB('admin').auth('admin', password);

// Waits until done() holds, calling step() before each look; step's errors are retried (a
// reconfiguration is refused while the previous one is not committed yet).
function converge(what, done, step) {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (!done()) {
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}${last ? ` (last error: ${last})` : ''}`);
    }
    try {
      step();
    } catch (e) {
      last = e.message;
    }
    if (!done()) {
      sleep(1000);
    }
  }
}

const isMember = (host) => rs.conf().members.some((m) => m.host === host);
function stateOf(host) {
  const member = (rs.status().members || []).find((m) => m.name === host);
  return member ? member.stateStr : 'not a member';
}
const primary = () => db.hello().primary;

for (const host of remove) {
  converge(`${host} to leave the replica set`, () => !isMember(host), () => {
    if (primary() === host) {
      // A primary cannot remove itself: another member takes over first.
      db.adminCommand({ replSetStepDown: 60 });
    } else {
      rs.remove(host);
    }
  });
  print(`${host} removed from the replica set`);
}

for (const host of add) {
  converge(`${host} to join the replica set`, () => isMember(host), () => {
    const voting = rs.conf().members.filter((m) => m.votes > 0).length;
    rs.add(voting < MAX_VOTING ? { host: host } : { host: host, priority: 0, votes: 0 });
  });
  converge(`${host} to be SECONDARY (its initial sync)`,
    () => ['SECONDARY', 'PRIMARY'].includes(stateOf(host)), () => {});
  print(`${host} is a member of the replica set: ${stateOf(host)}`);
}
