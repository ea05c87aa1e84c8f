// Sets up the replica set and its admin user; run by install-master.sh with mongosh --file,
// connected to the master's own mongod over its loopback interface, without credentials
// (MongoDB's localhost exception allows that until the first user exists). Runs again without
// changing anything once done.
//
// Every value comes from the environment, never from this file's text:
//   DISCO_MONGODB_ADMIN_PASSWORD  password of the user `admin` (role root)
//   DISCO_MONGODB_REPLICA_SET     name of the replica set
//   DISCO_MONGODB_MEMBERS         host:port of every member, space-separated, this node first
//   DISCO_MONGODB_SETUP_TIMEOUT   seconds to wait for an election and for the members
'use strict';

const password = process.env.DISCO_MONGODB_ADMIN_PASSWORD || '';
const setName = process.env.DISCO_MONGODB_REPLICA_SET || '';
const members = (process.env.DISCO_MONGODB_MEMBERS || '').split(' ').filter((m) => m !== '');
const timeoutMs = 1000 * Number(process.env.DISCO_MONGODB_SETUP_TIMEOUT || '600');
const user = 'admin';
if (password === '' || setName === '' || members.length === 0) {
  throw new Error('DISCO_MONGODB_ADMIN_PASSWORD, DISCO_MONGODB_REPLICA_SET and DISCO_MONGODB_MEMBERS must be set');
}
const admin = db.getSiblingDB('admin');
const deadline = Date.now() + timeoutMs;

function waitFor(what, done) {
  while (!done()) {
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    }
    sleep(1000);
  }
}

function authenticate() {
  try {
    admin.auth(user, password);
    return true;
  } catch (e) {
    return false;
  }
}

if (authenticate()) {
  print(`the user ${user} exists: replica set ${setName} was set up before`);
} else {
  const hello = db.hello();
  if (hello.setName === undefined) {
    const config = {
      _id: setName,
      // The master (first) is preferred as primary, where the admin user is created.
      members: members.map((host, i) => ({ _id: i, host: host, priority: i === 0 ? 2 : 1 })),
    };
    rs.initiate(config);
    print(`replica set ${setName} initiated with ${members.join(', ')}`);
  } else if (hello.setName !== setName) {
    throw new Error(`this mongod belongs to replica set ${hello.setName}, not ${setName}`);
  }
  waitFor('this node to be elected primary', () => db.hello().isWritablePrimary === true);
  try {
    admin.createUser({ user: user, pwd: password, roles: [{ role: 'root', db: 'admin' }] });
  } catch (e) {
    throw new Error(
      `cannot create the user ${user} (${e.codeName || e.message}); if it exists already, ` +
        "the cluster's generated password does not match it");
  }
  admin.auth(user, password);
  print(`user ${user} created`);
}

waitFor(`every member of ${setName} to be PRIMARY or SECONDARY`, () => {
  let status;
  try {
    status = admin.runCommand({ replSetGetStatus: 1 });
  } catch (e) {
    return false;
  }
  const healthy = new Set(
    (status.members || []).filter((m) => m.state === 1 || m.state === 2).map((m) => m.name));
  return members.every((m) => healthy.has(m));
});
print(`replica set ${setName}: ${members.join(', ')} are up`);
