// The dashboard in a real browser (Debian's chromium, driven by playwright-core), against
// real disco servers with the local backend that tests/browser/run.sh starts:
// DISCO_URL (auth.mode = none) and DISCO_STATIC_URL (auth.mode = static, user alice with
// password DISCO_STATIC_PASSWORD, sessions of DISCO_STATIC_SESSION_SECS seconds).
// Screenshots go to DISCO_SCREENSHOTS.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync, chmodSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";

const DISCO = process.env.DISCO_URL;
const STATIC = process.env.DISCO_STATIC_URL;
const SHOTS = process.env.DISCO_SCREENSHOTS || "target/screenshots";
const KIND = 'disco; scheme="http://schemas.cloudcomplab.ch/occi/sm#"; class="kind";';
const work = mkdtempSync(join(tmpdir(), "disco-browser-"));
mkdirSync(SHOTS, { recursive: true });

let browser;
before(async () => {
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
});
after(async () => { await browser?.close(); });

/** A fresh browser context (its own cookies) with a page that fails the test on a dialog. */
async function newPage(options = {}) {
  const context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1280, height: 900 }, ...options });
  const page = await context.newPage();
  page.dialogs = [];
  page.on("dialog", async (dialog) => { page.dialogs.push(dialog.message()); await dialog.dismiss(); });
  page.scriptErrors = [];
  page.on("pageerror", (error) => page.scriptErrors.push(String(error)));
  // A refused form answers 400 on purpose (the form again, with the message); any other
  // console error (a missing file, a script error, a CSP violation) counts.
  page.on("console", (message) => {
    if (message.type() === "error" && !/status of 400/.test(message.text())) page.scriptErrors.push(message.text());
  });
  return page;
}

async function signInAsTenant(page, tenant) {
  await page.goto(`${DISCO}/`);
  assert.match(page.url(), /\/dashboard\/sign-in$/, "a browser at / lands on the dashboard's sign-in");
  await page.getByLabel("Tenant").fill(tenant);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForURL(`${DISCO}/dashboard/`);
}

/** Creates a cluster through the OCCI API, as curl would. */
async function apiCreate(tenant, attributes) {
  const response = await fetch(`${DISCO}/disco/`, {
    method: "POST",
    headers: { Category: KIND, "Content-Type": "text/occi", "X-Tenant-Name": tenant, "X-OCCI-Attribute": attributes },
  });
  assert.equal(response.status, 201, await response.text());
  return response.headers.get("location").split("/").pop();
}

async function apiDelete(tenant, id) {
  await fetch(`${DISCO}/disco/${id}`, { method: "DELETE", headers: { "X-Tenant-Name": tenant } });
}

/** Marks the page so that a reload (which forgets the mark) is noticed. */
async function markNoReload(page) { await page.evaluate(() => { window.__disco_no_reload = true; }); }
async function assertNoReload(page) {
  assert.equal(await page.evaluate(() => window.__disco_no_reload === true), true, "the page was not reloaded");
}

async function stateIs(page, word, timeout) {
  await page.locator('[data-field="state"]').first().filter({ hasText: new RegExp(`^${word}$`) }).waitFor({ timeout });
}

async function shoot(page, name) {
  for (const [width, height] of [[1280, 900], [390, 844]]) {
    await page.setViewportSize({ width, height });
    await page.screenshot({ path: join(SHOTS, `${name}-${width}.png`), fullPage: true });
  }
  await page.setViewportSize({ width: 1280, height: 900 });
}

test("happy path: sign in, create, watch it build, log, scale, suspend, resume, ssh, delete", { timeout: 600_000 }, async () => {
  const page = await newPage();
  await signInAsTenant(page, "happy");
  await assert.doesNotReject(page.getByText("You have no clusters yet").waitFor());
  await shoot(page, "list-empty");

  await page.getByRole("link", { name: "New cluster" }).first().click();
  await page.waitForURL(`${DISCO}/dashboard/new`);
  await page.locator("#fw-shell").check();
  await page.locator('[id="p.shell.command"]').fill("echo hello from $DISCO_NODE_NAME");
  await page.getByLabel("Title").fill("happy path");
  await shoot(page, "create-form");
  // Too many slaves: the API's own message comes back next to the field, the rest kept.
  await page.locator("#slavecount").fill("9");
  await page.getByRole("button", { name: "Create cluster" }).click();
  const error = page.locator("#slavecount-error");
  await error.waitFor();
  assert.match(await error.textContent(), /slavecount/);
  assert.equal(await page.getByLabel("Title").inputValue(), "happy path");
  await error.scrollIntoViewIfNeeded();
  await page.screenshot({ path: join(SHOTS, "create-form-error-1280.png") });
  await page.locator("#slavecount").fill("2");
  await page.getByRole("button", { name: "Create cluster" }).click();
  await page.waitForURL(/\/dashboard\/clusters\/[0-9a-f-]+$/);
  const id = page.url().split("/").pop();
  await markNoReload(page);
  await stateIs(page, "ready", 180_000);
  await assertNoReload(page);
  assert.equal(await page.locator("#node-rows tr").count(), 3, "master and 2 slaves");
  // The history filled in live too.
  await page.locator("#events li").filter({ hasText: "ready" }).first().waitFor();
  await page.locator("#ssh-command").waitFor({ timeout: 10_000 });
  await shoot(page, "cluster");

  // The deployment log, through the gateway.
  const logHref = await page.locator("#log-link").getAttribute("href");
  const log = await page.context().newPage();
  await log.goto(logHref);
  assert.match(await log.content(), /deployment\.log/);
  await log.close();

  // Scale to 3: the new node appears without a reload.
  await page.locator('form[data-action="scale"] input[name="slavecount"]').fill("3");
  await page.locator('form[data-action="scale"] button').click();
  await page.waitForURL(`${DISCO}/dashboard/clusters/${id}`);
  await markNoReload(page);
  await page.locator("#node-rows tr").nth(3).waitFor({ timeout: 120_000 });
  await stateIs(page, "ready", 120_000);
  await assertNoReload(page);
  assert.equal(await page.locator("#node-rows tr").count(), 4);

  // Suspend, then resume; while suspended, suspend is disabled and says why.
  await page.locator('form[data-action="suspend"] button').click();
  await markNoReload(page);
  await stateIs(page, "suspended", 120_000);
  assert.equal(await page.locator('form[data-action="suspend"] button').isDisabled(), true);
  assert.match(await page.locator("#why-suspend").textContent(), /suspended already/);
  await page.locator('form[data-action="resume"] button').click();
  await stateIs(page, "ready", 120_000);

  // The key, downloaded, logs in over ssh with the known_hosts line shown.
  const [download] = await Promise.all([page.waitForEvent("download"), page.locator("#key-link").click()]);
  const keyFile = join(work, download.suggestedFilename());
  await download.saveAs(keyFile);
  chmodSync(keyFile, 0o600);
  const knownHosts = join(work, "known_hosts");
  writeFileSync(knownHosts, (await page.locator("#known-hosts").textContent()).trim() + "\n");
  const command = (await page.locator("#ssh-command").textContent()).trim().split(/\s+/);
  assert.equal(command[0], "ssh");
  const args = command.slice(1).map((arg) => arg
    .replace(/^cluster-[0-9a-f]{8}\.key$/, keyFile)
    .replace(/^UserKnownHostsFile=.*$/, `UserKnownHostsFile=${knownHosts}`));
  const out = execFileSync("ssh", ["-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes", ...args, "echo logged-in-as-$(id -un)"], { encoding: "utf8", timeout: 30_000 });
  assert.match(out, /logged-in-as-/);

  // Delete behind a confirmation; the list shows it going away.
  await page.locator("#delete-link").click();
  await page.getByRole("button", { name: "Delete the cluster" }).click();
  await page.waitForURL(`${DISCO}/dashboard/`);
  await markNoReload(page);
  await page.locator(`tr[data-id="${id}"]`).waitFor({ state: "detached", timeout: 120_000 });
  await assertNoReload(page);
  await page.getByText("You have no clusters yet").waitFor();
  assert.deepEqual(page.dialogs, []);
  assert.deepEqual(page.scriptErrors, []);
});

test("without JavaScript, sign-in, the list, create, an action and delete still work", { timeout: 240_000 }, async () => {
  const page = await newPage({ javaScriptEnabled: false });
  await signInAsTenant(page, "nojs");
  await page.getByText("You have no clusters yet").waitFor();
  await page.getByRole("link", { name: "New cluster" }).first().click();
  await page.locator("#fw-shell").check();
  await page.locator("#slavecount").fill("0");
  await page.getByLabel("Title").fill("plain html");
  await page.getByRole("button", { name: "Create cluster" }).click();
  await page.waitForURL(/\/dashboard\/clusters\/[0-9a-f-]+$/);
  const id = page.url().split("/").pop();
  // No live updates: the user reloads, as with any plain page.
  for (let i = 0; i < 600; i++) {
    if ((await page.locator('[data-field="state"]').first().textContent()) === "ready") break;
    await page.waitForTimeout(300);
    await page.reload();
  }
  assert.equal(await page.locator('[data-field="state"]').first().textContent(), "ready");
  await page.locator('form[data-action="suspend"] button').click();
  await page.waitForURL(`${DISCO}/dashboard/clusters/${id}`);
  assert.match(await page.locator('[data-field="state"]').first().textContent(), /^(ready|suspending|suspended)$/);
  await page.getByRole("link", { name: "Clusters" }).first().click();
  assert.equal(await page.locator(`tr[data-id="${id}"] [data-field="name"]`).textContent(), "plain html");
  await page.goto(`${DISCO}/dashboard/clusters/${id}`);
  await page.locator("#delete-link").click();
  await page.getByRole("button", { name: "Delete the cluster" }).click();
  await page.waitForURL(`${DISCO}/dashboard/`);
  for (let i = 0; i < 600 && (await page.locator(`tr[data-id="${id}"]`).count()) > 0; i++) {
    await page.waitForTimeout(300);
    await page.reload();
  }
  assert.equal(await page.locator(`tr[data-id="${id}"]`).count(), 0);
});

test("the list and a cluster page at both widths, with clusters in several states", { timeout: 240_000 }, async () => {
  const tenant = "gallery";
  const ids = [];
  ids.push(await apiCreate(tenant, `icclab.disco.components.heat.slavecount="1", occi.core.title="analytics", icclab.disco.lifetime="2h", icclab.disco.dependencies.inject="{'shell': ''}"`));
  ids.push(await apiCreate(tenant, `icclab.disco.components.heat.slavecount="0", occi.core.title="a cluster with a rather long title that has to wrap on a phone"`));
  const page = await newPage();
  await signInAsTenant(page, tenant);
  await page.locator(`tr[data-id="${ids[0]}"] [data-field="state"]`).filter({ hasText: /^ready$/ }).waitFor({ timeout: 180_000 });
  await shoot(page, "list");
  await page.goto(`${DISCO}/dashboard/clusters/${ids[1]}`);
  await stateIs(page, "ready", 180_000);
  await page.locator("#ssh-command").waitFor();
  await shoot(page, "cluster-small");
  for (const id of ids) await apiDelete(tenant, id);
});

test("titles that look like markup stay text and open no dialog", { timeout: 120_000 }, async () => {
  const tenant = "xss";
  const payloads = ["<script>alert(1)</script>", '"><img src=x onerror=alert(1)>'];
  const ids = [];
  for (const title of payloads) {
    ids.push(await apiCreate(tenant, `icclab.disco.components.heat.slavecount="0", occi.core.title="${title.replace(/"/g, '\\"')}"`));
  }
  const page = await newPage();
  await signInAsTenant(page, tenant);
  for (const [i, id] of ids.entries()) {
    assert.equal(await page.locator(`tr[data-id="${id}"] [data-field="name"]`).textContent(), payloads[i]);
  }
  assert.equal(await page.locator("main img").count(), 0, "no image element was injected");
  await page.waitForTimeout(1000);
  for (const [i, id] of ids.entries()) {
    await page.goto(`${DISCO}/dashboard/clusters/${id}`);
    assert.equal(await page.locator("#cluster-title").textContent(), payloads[i]);
    assert.equal(await page.locator("main img").count(), 0);
  }
  await page.waitForTimeout(1000);
  assert.deepEqual(page.dialogs, [], "no dialog opened");
  for (const id of ids) await apiDelete(tenant, id);
});

test("a form posted without its CSRF token is refused", { timeout: 60_000 }, async () => {
  const page = await newPage();
  await signInAsTenant(page, "csrf");
  // The session cookie goes along (same browser), the token does not.
  const refused = await page.request.post(`${DISCO}/dashboard/new`, {
    form: { framework: "shell", slavecount: "0", do: "create" }, maxRedirects: 0,
  });
  assert.equal(refused.status(), 403);
  assert.match(await refused.text(), /security token/);
  const api = await page.request.post(`${DISCO}/disco/`, {
    headers: { Category: KIND, "X-OCCI-Attribute": 'icclab.disco.components.heat.slavecount="0"' },
  });
  assert.equal(api.status(), 403, "the API refuses a cookie-only change too");
  await page.goto(`${DISCO}/dashboard/`);
  await page.getByText("You have no clusters yet").waitFor();
});

test("tenants are kept apart in the UI and by direct URL", { timeout: 60_000 }, async () => {
  const id = await apiCreate("owner", `icclab.disco.components.heat.slavecount="0", occi.core.title="owner's secret project"`);
  const owner = await newPage();
  await signInAsTenant(owner, "owner");
  await owner.getByText("owner's secret project").waitFor();
  const other = await newPage();
  await signInAsTenant(other, "stranger");
  assert.equal(await other.getByText("owner's secret project").count(), 0);
  for (const path of ["", "/key", "/secrets", "/delete"]) {
    const response = await other.goto(`${DISCO}/dashboard/clusters/${id}${path}`);
    assert.equal(response.status(), 404, path);
    assert.equal(await other.getByText("owner's secret project").count(), 0);
  }
  const ui = await other.goto(`${DISCO}/disco/${id}/ui/log/`);
  assert.equal(ui.status(), 404, "nor through the gateway");
  await apiDelete("owner", id);
});

test("static sign-in: a wrong password shows an error, and a session expires", { timeout: 60_000 }, async () => {
  const page = await newPage();
  await page.goto(`${STATIC}/dashboard/`);
  await page.getByLabel("User").fill("alice");
  await page.getByLabel("Password").fill("not the password");
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("alert").filter({ hasText: "Wrong user name or password." }).waitFor();
  assert.equal(await page.getByLabel("Password").inputValue(), "", "the password is not sent back");
  await page.getByLabel("Password").fill(process.env.DISCO_STATIC_PASSWORD);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForURL(`${STATIC}/dashboard/`);
  await page.getByText("You have no clusters yet").waitFor();
  const secs = Number(process.env.DISCO_STATIC_SESSION_SECS || "3");
  await page.waitForTimeout(secs * 1000 + 500);
  await page.goto(`${STATIC}/dashboard/new`);
  // The browser dropped the cookie at its Max-Age; the server forgot the session as well.
  assert.match(page.url(), /\/dashboard\/sign-in(\?expired=1)?$/);
  await page.getByRole("button", { name: "Sign in" }).waitFor();
});

test("a Spark cluster's UI link opens Spark's master page through the gateway", { timeout: 600_000 }, async (t) => {
  try {
    execFileSync("python3", ["-c", "import pyspark"], { stdio: "ignore" });
    execFileSync("java", ["-version"], { stdio: "ignore" });
  } catch {
    if (process.env.DISCO_REQUIRE_SPARK === "1") throw new Error("pyspark or java missing");
    t.skip("pyspark or Java 17 is not installed");
    return;
  }
  const page = await newPage();
  await signInAsTenant(page, "spark");
  await page.goto(`${DISCO}/dashboard/new`);
  await page.locator("#fw-shell").uncheck();
  await page.locator("#fw-spark").check();
  await page.locator('[id="p.spark.worker_memory"]').fill("768m");
  await page.locator("#slavecount").fill("1");
  await page.getByRole("button", { name: "Create cluster" }).click();
  await page.waitForURL(/\/dashboard\/clusters\/[0-9a-f-]+$/);
  const id = page.url().split("/").pop();
  await stateIs(page, "ready", 420_000);
  const link = page.locator('a[data-ui="spark-master"]');
  await link.waitFor({ timeout: 10_000 });
  await link.click();
  await page.waitForURL(new RegExp(`/disco/${id}/ui/spark-master/`));
  await page.getByText("Spark Master at spark://").first().waitFor({ timeout: 30_000 });
  await page.screenshot({ path: join(SHOTS, "spark-master-1280.png") });
  await apiDelete("spark", id);
});
