// Headless Debian Chromium driven by puppeteer-core (no browser download): the launch flags
// keep it off the network (this machine has none) and a fresh profile per run.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import puppeteer from "puppeteer-core";

export const WAIT_MS = 10000;

export async function launch() {
  const profile = mkdtempSync(join(tmpdir(), "huddle-chromium-"));
  const browser = await puppeteer.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    args: [
      "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync",
      `--user-data-dir=${profile}`,
    ],
    defaultViewport: { width: 1280, height: 860 },
  });
  const close = async () => {
    await browser.close();
    rmSync(profile, { recursive: true, force: true });
  };
  return { browser, close };
}

// A page that fails the run on any uncaught error or failed request of its own origin.
export async function open(context, url, problems) {
  const page = await context.newPage();
  page.setDefaultTimeout(WAIT_MS);
  page.on("pageerror", (err) => problems.push(`pageerror: ${err.message}`));
  page.on("requestfailed", (req) => problems.push(`requestfailed: ${req.url()}`));
  page.on("response", (res) => {
    if (res.status() >= 400) problems.push(`HTTP ${res.status()}: ${res.url()}`);
  });
  await page.goto(url, { waitUntil: "load" });
  return page;
}

export const text = (page, selector) => page.$eval(selector, (el) => el.textContent.trim());

// Runs main() and prints one JSON line: what it returned, or {error}.
export async function report(main) {
  let result;
  try {
    result = await main();
  } catch (err) {
    result = { error: String(err && err.stack ? err.stack : err) };
  }
  console.log(JSON.stringify(result));
  process.exit(0);
}
