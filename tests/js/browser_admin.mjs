// The Socket.IO Admin UI, served by Huddle at /admin-ui/: log in through its connection form,
// then read the servers and sockets tables. Usage: node browser_admin.mjs <base url> <user>
// <password> <screenshot dir> <server ids, comma-separated> <socket id>...
import { join } from "node:path";
import { launch, open, report } from "./browser.mjs";

const [url, user, password, shots, serverIds, ...expected] = process.argv.slice(2);

// Vuetify animates route changes: screenshot once no transition is running.
const settled = (page) => page.waitForFunction(
  () => !document.querySelector('[class*="-transition-enter"], [class*="-transition-leave"]'));

report(async () => {
  const { browser, close } = await launch();
  const problems = [];
  try {
    const page = await open(await browser.createBrowserContext(), `${url}/admin-ui/`, problems);
    await page.waitForSelector(".v-dialog--active input[type=password]", { visible: true });
    const texts = await page.$$(".v-dialog--active input[type=text]");
    await texts[0].type(url);  // server URL
    await texts[1].type(user);
    await page.type(".v-dialog--active input[type=password]", password);
    await page.click(".v-dialog--active button[type=submit]");
    await page.waitForSelector(".v-dialog--active", { hidden: true });

    // Dashboard: the servers card fills from server_stats.
    await page.waitForFunction(() => document.body.innerText.includes("Servers"));
    await page.evaluate(() => { window.location.hash = "#/servers/"; });
    await page.waitForFunction(
      (ids) => ids.every((id) => document.querySelector(".v-data-table")?.innerText.includes(id)),
      {}, serverIds.split(","));
    const servers = await page.$$eval(".v-data-table tbody tr", (rows) => rows.map((r) => r.innerText));

    await page.evaluate(() => { window.location.hash = "#/sockets/"; });
    await page.waitForFunction(
      (ids) => ids.every((id) => document.querySelector(".v-data-table")?.innerText.includes(id)),
      {}, expected);
    const sockets = await page.$$eval(".v-data-table tbody tr", (rows) => rows.map((r) => r.innerText));
    await settled(page);
    await page.screenshot({ path: join(shots, "admin-sockets.png") });
    await page.evaluate(() => { window.location.hash = "#/"; });
    await page.waitForFunction(() => document.querySelector("canvas") !== null);
    await settled(page);
    await page.screenshot({ path: join(shots, "admin-dashboard.png") });
    return { servers, sockets, problems };
  } finally {
    await close();
  }
});
