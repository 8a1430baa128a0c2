// Two browser contexts (two separate users) play a lobby to gameStart and exchange a DM on the
// demo page. Usage: node browser_demo.mjs <base url> <screenshot dir>
import { join } from "node:path";
import { launch, open, report, text } from "./browser.mjs";

const [url, shots] = process.argv.slice(2);

async function fill(page, selector, value) {
  await page.$eval(selector, (el) => { el.value = ""; });
  await page.type(selector, value);
}

const waitText = (page, selector, expected) => page.waitForFunction(
  (sel, want) => document.querySelector(sel)?.textContent.includes(want), {}, selector, expected);

report(async () => {
  const { browser, close } = await launch();
  const problems = [];
  try {
    const ada = await open(await browser.createBrowserContext(), url, problems);
    const bob = await open(await browser.createBrowserContext(), url, problems);
    await ada.waitForSelector("#conn.on");
    await bob.waitForSelector("#conn.on");

    // Lobby: Ada creates, Bob joins by code, Bob is ready, Ada starts.
    await fill(ada, "#nickname", "Ada");
    await ada.click("#create");
    await ada.waitForSelector("#room:not([hidden])");
    const code = await text(ada, "#room-code");
    await fill(bob, "#nickname", "Bob");
    await fill(bob, "#code", code);
    await bob.click("#join");
    await ada.waitForFunction(() => document.querySelectorAll("#players li").length === 2);
    await bob.click("#ready");
    await ada.waitForSelector("#start:not([disabled])");
    await fill(bob, "#say-text", "good luck!");
    await bob.click("#say button");
    await waitText(ada, "#messages", "good luck!");
    const players = await ada.$$eval("#players li", (lis) => lis.map((li) => [li.textContent, li.className.trim()]));
    await ada.click("#start");
    await ada.waitForSelector("#game:not([hidden])");
    await bob.waitForSelector("#game:not([hidden])");
    const lobby = { code, players, adaGame: await text(ada, "#game"), bobGame: await text(bob, "#game"),
                    adaMessages: await text(ada, "#messages") };

    // Messenger: Ada DMs Bob; Bob sees the badge, opens the chat, reads; Bob types, Ada sees it.
    await fill(ada, "#user-id", "ada");
    await ada.click("#login button");
    await fill(bob, "#user-id", "bob");
    await bob.click("#login button");
    await ada.waitForSelector("#inbox:not([hidden])");
    await bob.waitForSelector("#inbox:not([hidden])");
    await fill(ada, "#dm-to", "bob");
    await fill(ada, "#dm-text", "hello bob");
    await ada.click("#dm button");
    await waitText(bob, "#total-unread", "1");
    await bob.waitForSelector("#chats li .badge:not(.zero)");
    const bobBadge = { total: await text(bob, "#total-unread"), chat: await text(bob, "#chats li") };
    await bob.click("#chats li");
    await waitText(bob, "#chat-messages", "hello bob");
    await waitText(bob, "#total-unread", "0");
    await ada.waitForSelector("#chats li");
    await ada.click("#chats li");
    await ada.waitForSelector("#chat:not([hidden])");
    await bob.type("#chat-text", "hi");
    await waitText(ada, "#typing", "bob is typing");
    const typing = await text(ada, "#typing");
    await bob.click("#chat-send button");
    await waitText(ada, "#chat-messages", "hi");
    // Sending ends the typing notice.
    await ada.waitForFunction(() => document.querySelector("#typing").textContent === "");
    const messenger = { bobBadge, bobRead: await text(bob, "#total-unread"), typing,
                        adaChat: await text(ada, "#chat-messages"), bobOnline: await text(bob, "#online") };
    await ada.screenshot({ path: join(shots, "demo.png") });
    return { lobby, messenger, problems };
  } finally {
    await close();
  }
});
