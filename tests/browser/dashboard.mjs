// Drives Debian's Chromium (headless, through playwright-core) against a
// running lanswarm-web and checks what a person would see. Started by
// tests/integration/test_web_browser.py, which runs the peers and checks the
// files on disk afterwards.
//
//   node dashboard.mjs PLAN.json
//
// PLAN: {url, out, slow, peers:[tag], files:[name], search:{query, expect:[name]},
//        download: name, late_peer:{tag, argv:[...]}, add:{path, name}}
// Exit status 0: every check passed; 1: a check failed (the reason on stderr).
import { spawn } from "node:child_process";
import { readFileSync, mkdirSync } from "node:fs";
import { chromium } from "playwright-core";

const plan = JSON.parse(readFileSync(process.argv[2], "utf8"));
const SLOW = plan.slow || 1;
const T = (ms) => ms * SLOW;
mkdirSync(plan.out, { recursive: true });

const FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync"];

function check(cond, what) {
  if (!cond) throw new Error("check failed: " + what);
  console.log("ok: " + what);
}

const pageErrors = [];
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || "/usr/bin/chromium", args: FLAGS });
let late = null;
try {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 860 }, colorScheme: "light" });
  const page = await ctx.newPage();
  page.on("pageerror", (e) => pageErrors.push(String(e)));
  page.on("console", (m) => { if (m.type() === "error") pageErrors.push("console: " + m.text()); });
  // Nothing but the dashboard itself may be asked for (no CDN, no fonts).
  const foreign = [];
  page.on("request", (r) => { if (!r.url().startsWith(new URL(plan.url).origin)) foreign.push(r.url()); });

  await page.goto(plan.url);
  check(!(await page.url()).includes("token="), "the token leaves the address bar");

  // Files on the LAN: every file of the other peers appears.
  for (const name of plan.files)
    await page.locator(`#files-table tbody tr[data-name="${name}"]`).waitFor({ timeout: T(15000) });
  check(true, "files of the other peers appear: " + plan.files.join(", "));

  // Peers: the others, live, without a reload.
  await page.getByRole("tab", { name: /Peers/ }).click();
  for (const tag of plan.peers) await page.locator(`#peers-table tbody tr[data-peer="${tag}"]`).waitFor({ timeout: T(15000) });
  check(true, "peers appear: " + plan.peers.join(", "));
  if (plan.late_peer) {
    late = spawn(plan.late_peer.argv[0], plan.late_peer.argv.slice(1), { stdio: "ignore" });
    const row = page.locator(`#peers-table tbody tr[data-peer="${plan.late_peer.tag}"]`);
    await row.waitFor({ timeout: T(10000) });
    check(true, "a peer that starts later appears without a reload");
    await page.screenshot({ path: plan.out + "/peers.png" });
    late.kill("SIGKILL"); // no goodbye: it must fade, then go
    await page.locator(`#peers-table tbody tr.quiet[data-peer="${plan.late_peer.tag}"]`).waitFor({ timeout: T(10000) });
    check(true, "a silent peer fades (quiet)");
    await row.waitFor({ state: "detached", timeout: T(20000) });
    check(true, "a silent peer drops out");
  } else {
    await page.screenshot({ path: plan.out + "/peers.png" });
  }

  // Search filters as one types; sorting by size puts the biggest first.
  await page.getByRole("tab", { name: /Files/ }).click();
  const rows = page.locator("#files-table tbody tr");
  const before = await rows.count();
  await page.locator("#search").pressSequentially(plan.search.query, { delay: 40 });
  await page.waitForFunction((n) => document.querySelectorAll("#files-table tbody tr").length === n,
    plan.search.expect.length, { timeout: T(5000) });
  const shown = await rows.evaluateAll((rs) => rs.map((r) => r.dataset.name));
  check(JSON.stringify(shown.sort()) === JSON.stringify([...plan.search.expect].sort()),
    `search "${plan.search.query}" shows ${shown.join(", ")} of ${before}`);
  await page.screenshot({ path: plan.out + "/files-search.png" });
  await page.locator("#search").fill("");
  await page.waitForFunction((n) => document.querySelectorAll("#files-table tbody tr").length === n, before);
  await page.locator('button.sort[data-sort="size"]').click();
  const sizes = await rows.evaluateAll((rs) => rs.map((r) => Number(r.dataset.size)));
  check(sizes.length === before && sizes.every((v, i) => i === 0 || sizes[i - 1] >= v),
    "sorted by size, biggest first: " + sizes.join(" >= "));
  await page.locator('button.sort[data-sort="size"]').click();
  const up = await rows.evaluateAll((rs) => rs.map((r) => Number(r.dataset.size)));
  check(up.every((v, i) => i === 0 || up[i - 1] <= v), "a second click sorts smallest first");
  await page.locator('button.sort[data-sort="holders"]').click();
  const holders = await rows.evaluateAll((rs) => rs.map((r) => Number(r.dataset.holders)));
  check(holders[0] === Math.max(...holders), "sorted by holders: " + holders.join(", "));
  await page.locator('button.sort[data-sort="size"]').click();
  await page.screenshot({ path: plan.out + "/files.png" });

  // Download: the progress bar moves, the row lands in the history.
  await page.locator(`#files-table tbody tr[data-name="${plan.download}"]`).getByRole("button", { name: /Download/ }).click();
  await page.getByRole("tab", { name: /Transfers/ }).click();
  const bar = page.locator(`.transfer[data-name="${plan.download}"] [role=progressbar]`);
  await bar.waitFor({ timeout: T(10000) });
  const seen = new Set();
  const t0 = Date.now();
  let shot = false;
  while (Date.now() - t0 < T(60000)) {
    // Read without waiting: the card goes once the download is done.
    const v = await page.evaluate((name) => {
      const e = document.querySelector(`.transfer[data-name="${name}"] [role=progressbar]`);
      return e ? e.getAttribute("aria-valuenow") : null;
    }, plan.download);
    if (v !== null) seen.add(Number(v));
    if (!shot && v !== null && Number(v) >= 20 && Number(v) < 90) {
      await page.screenshot({ path: plan.out + "/transfers-running.png" });
      shot = true;
    }
    if (await page.locator(`#history-table tbody tr[data-name="${plan.download}"][data-result="ok"]`).count()) break;
    await page.waitForTimeout(100);
  }
  const partial = [...seen].filter((v) => v > 0 && v < 100);
  check(partial.length >= 2, "the progress bar moved through " + [...seen].sort((a, b) => a - b).join(", ") + " %");
  await page.locator(`#history-table tbody tr[data-name="${plan.download}"][data-result="ok"]`).waitFor({ timeout: T(30000) });
  check(true, "the finished download shows in the history as verified");
  await page.locator(".toast.ok", { hasText: plan.download + ": downloaded and verified" }).waitFor({ timeout: T(5000) })
    .catch(async (e) => { throw new Error(e.message + "\ntoasts: " + (await page.locator(".toast").allTextContents()).join(" | ")); });
  check(true, "a toast says the download ended");
  await page.screenshot({ path: plan.out + "/transfers.png" });

  // My share: add a file; it is listed once the catalog has it.
  await page.getByRole("tab", { name: /My share/ }).click();
  if (plan.add) {
    await page.locator("#add-path").fill(plan.add.path);
    await page.locator("#add-name").fill(plan.add.name);
    await page.getByRole("button", { name: "Add", exact: true }).click();
    const added = page.locator(`#share-table tbody tr[data-name="${plan.add.name}"]`);
    await added.or(page.locator(".toast.bad")).first().waitFor({ timeout: T(15000) });
    if (!(await added.count())) throw new Error("Add file refused: " + (await page.locator(".toast.bad").first().textContent()));
    check(true, "Add file puts " + plan.add.name + " in the share");
  }
  await page.locator(`#share-table tbody tr[data-name="${plan.download}"]`).waitFor({ timeout: T(15000) });
  await page.screenshot({ path: plan.out + "/share.png" });
  if (plan.add) {
    // Remove asks first; accepted, the file leaves the list (and the share).
    page.once("dialog", (d) => d.accept());
    const row = page.locator(`#share-table tbody tr[data-name="${plan.add.name}"]`);
    await row.getByRole("button", { name: /Remove/ }).click();
    await row.waitFor({ state: "detached", timeout: T(15000) });
    check(true, "Remove takes " + plan.add.name + " out of the share, after asking");
  }

  await page.getByRole("tab", { name: /Server/ }).click();
  await page.locator("#server-tiles .tile").first().waitFor();
  await page.screenshot({ path: plan.out + "/server.png" });

  check(foreign.length === 0, "no request left the dashboard's origin " + foreign.join(" "));

  // A phone, in dark mode.
  const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, colorScheme: "dark", isMobile: true, hasTouch: true });
  const pp = await phone.newPage();
  pp.on("pageerror", (e) => pageErrors.push(String(e)));
  await pp.goto(plan.url);
  await pp.locator(`#files-table tbody tr[data-name="${plan.files[0]}"]`).waitFor({ timeout: T(15000) });
  const overflow = await pp.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  check(overflow <= 1, "no sideways scrolling on a 390 px screen (overflow " + overflow + " px)");
  const bg = await pp.evaluate(() => getComputedStyle(document.body).backgroundColor);
  check(bg !== "rgb(246, 247, 249)", "dark mode changes the colours (" + bg + ")");
  await pp.screenshot({ path: plan.out + "/phone-dark.png" });
  await phone.close();

  // Without the token: the page asks for it, refuses a wrong one, takes the right one.
  const fresh = await browser.newContext({ viewport: { width: 1000, height: 700 } });
  const fp = await fresh.newPage();
  fp.on("pageerror", (e) => pageErrors.push(String(e)));
  const origin = new URL(plan.url).origin;
  const token = new URL(plan.url).hash.replace("#token=", "");
  await fp.goto(origin + "/");
  await fp.locator("#login").waitFor({ timeout: T(5000) });
  check(await fp.locator("#panel-files").isHidden(), "without a token the page asks for one and shows nothing else");
  await fp.locator("#token-input").fill("not-the-token-at-all");
  await fp.getByRole("button", { name: "Open" }).click();
  await fp.locator("#login-error", { hasText: /wrong token/ }).waitFor({ timeout: T(5000) });
  check(true, "a wrong token is refused with a clear message");
  await fp.locator("#token-input").fill(token);
  await fp.getByRole("button", { name: "Open" }).click();
  await fp.locator(`#files-table tbody tr[data-name="${plan.files[0]}"]`).waitFor({ timeout: T(10000) });
  check(true, "the right token opens the dashboard");
  await fresh.close();

  check(pageErrors.length === 0, "no script error in the page " + pageErrors.join("; "));
} catch (e) {
  console.error(String(e && e.stack || e));
  process.exitCode = 1;
} finally {
  if (late && late.exitCode === null) late.kill("SIGKILL");
  await browser.close();
}
