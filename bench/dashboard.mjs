// The dashboard's two speed numbers (run by bench/dashboard.sh, which starts the servers):
//   1. GET /dashboard/ with 100 clusters: server time from disco's own request log (the
//      `micros` of each request) and the client's total, medians of RUNS requests;
//   2. how long a recorded state change takes to show in an open cluster page in chromium:
//      the event's own time (`at`, as disco recorded it) to the moment a MutationObserver in
//      the page sees the state word change, over suspend/resume cycles.
// Environment: DISCO_LIST_URL (server with the 100 clusters, tenant "bench", its log in
// DISCO_LIST_LOG), DISCO_LIVE_URL (server with real nodes), RUNS, CYCLES.

import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

// playwright-core as the browser tests install it (tests/browser/node_modules).
const { chromium } = createRequire(new URL("../tests/browser/package.json", import.meta.url))("playwright-core");

const KIND = 'disco; scheme="http://schemas.cloudcomplab.ch/occi/sm#"; class="kind";';
const ACTION = 'scheme="http://schemas.cloudcomplab.ch/occi/sm/disco/action#"; class="action"';
const runs = Number(process.env.RUNS || "50");
const cycles = Number(process.env.CYCLES || "10");

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};
const p90 = (values) => [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.round(values.length * 0.9))];
const fmt = (values) => `median ${median(values).toFixed(2)} ms, p90 ${p90(values).toFixed(2)} ms, n=${values.length}`;

async function signIn(base, tenant) {
  const form = await fetch(`${base}/dashboard/sign-in`);
  const csrf = (await form.text()).match(/name="csrf" value="([^"]+)"/)[1];
  const formCookie = form.headers.get("set-cookie").split(";")[0];
  const signedIn = await fetch(`${base}/dashboard/sign-in`, {
    method: "POST", redirect: "manual",
    headers: { "Content-Type": "application/x-www-form-urlencoded", Cookie: formCookie },
    body: new URLSearchParams({ csrf, tenant }),
  });
  const cookie = signedIn.headers.getSetCookie().find((c) => c.startsWith("disco_session="));
  return { name: "disco_session", value: cookie.split(";")[0].split("=")[1] };
}

async function listPage() {
  const base = process.env.DISCO_LIST_URL;
  const session = await signIn(base, "bench");
  const cookie = `${session.name}=${session.value}`;
  const first = await (await fetch(`${base}/dashboard/`, { headers: { Cookie: cookie } })).text();
  const rows = (first.match(/<tr data-id=/g) || []).length;
  const client = [];
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    const response = await fetch(`${base}/dashboard/`, { headers: { Cookie: cookie } });
    await response.text();
    client.push(performance.now() - started);
  }
  await new Promise((r) => setTimeout(r, 300));
  const server = readFileSync(process.env.DISCO_LIST_LOG, "utf8").split("\n")
    .filter((line) => line.includes('"path":"/dashboard/"') && line.includes('"status":200'))
    .map((line) => JSON.parse(line).fields.micros / 1000)
    .slice(-runs);
  console.log(`list page with ${rows} clusters: server ${fmt(server)}; client total ${fmt(client)}`);
}

async function act(base, id, term) {
  const response = await fetch(`${base}/disco/${id}?action=${term}`, {
    method: "POST", headers: { "X-Tenant-Name": "live", Category: `${term}; ${ACTION}` },
  });
  if (response.status !== 202) throw new Error(`${term}: ${response.status} ${await response.text()}`);
}

async function liveState() {
  const base = process.env.DISCO_LIVE_URL;
  const created = await fetch(`${base}/disco/`, {
    method: "POST",
    headers: { Category: KIND, "X-Tenant-Name": "live", "X-OCCI-Attribute": 'icclab.disco.components.heat.slavecount="1"' },
  });
  const id = created.headers.get("location").split("/").pop();
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  const context = await browser.newContext();
  await context.addCookies([{ ...(await signIn(base, "live")), url: base }]);
  const page = await context.newPage();
  await page.goto(`${base}/dashboard/clusters/${id}`);
  await page.evaluate(() => {
    window.__seen = [];
    const state = document.querySelector('[data-field="state"]');
    new MutationObserver(() => window.__seen.push({ at: Date.now(), state: state.textContent }))
      .observe(state, { childList: true, characterData: true, subtree: true });
  });
  const waitFor = (word) => page.locator('[data-field="state"]').filter({ hasText: new RegExp(`^${word}$`) }).waitFor({ timeout: 120_000 });
  await waitFor("ready");
  // Only the cycles' changes count: the build's happened before the page was watched.
  const from = Date.now();
  for (let i = 0; i < cycles; i++) {
    await act(base, id, "suspend");
    await waitFor("suspended");
    await act(base, id, "resume");
    await waitFor("ready");
  }
  await new Promise((r) => setTimeout(r, 500));
  const seen = await page.evaluate(() => window.__seen);
  const events = await (await fetch(`${base}/disco/${id}/events`, { headers: { "X-Tenant-Name": "live", Accept: "application/json" } })).json();
  const latencies = [];
  let missed = 0;
  for (const event of events.filter((e) => e.kind === "state" && Date.parse(e.at) >= from)) {
    const to = event.message.split("-> ").pop().trim();
    const at = Date.parse(event.at);
    const shown = seen.find((s) => s.state === to && s.at >= at - 5);
    if (shown && shown.at - at < 10_000) latencies.push(shown.at - at);
    else missed++;
  }
  console.log(`state change recorded -> shown in the open page: ${fmt(latencies)} (${missed} state(s) replaced before the page showed them)`);
  await browser.close();
  await fetch(`${base}/disco/${id}`, { method: "DELETE", headers: { "X-Tenant-Name": "live" } });
}

await listPage();
await liveState();
