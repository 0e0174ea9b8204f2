// The synthetic generator's events are shaped like an SDK's (README: "What the KPIs count"): none
// after the clock it is given, each device's uninstall after all its other events, sessions spread
// over the 90 days before, several currencies.
import { describe, expect, it } from "vitest";
import { generateEvents, generateUser, Random } from "../../service/synthetic.ts";

const NOW = Date.UTC(2026, 10, 1);
const DAY = 86_400_000;

describe("generateEvents", () => {
  it("never goes past its clock, puts an uninstall after the device's other events, and spreads sessions over 90 days", () => {
    const random = new Random(11);
    let uninstalls = 0;
    const days = new Set<number>();
    const currencies = new Set<string>();
    for (let index = 0; index < 3_000; index++) {
      for (const device of generateUser(random, index).devices) {
        const events = generateEvents(random, device, 12, NOW);
        const times = events.map((event) => Date.parse(event.timestamp));
        expect(Math.max(...times), device.install_id).toBeLessThanOrEqual(NOW);
        expect(Math.min(...times)).toBeGreaterThanOrEqual(NOW - 90 * DAY);
        expect(events[0]!.type).toBe("session_start");
        const uninstall = events.findIndex((event) => event.type === "uninstall");
        if (uninstall >= 0) {
          uninstalls++;
          expect(uninstall, "the last event").toBe(events.length - 1);
          expect(times[uninstall], device.install_id).toBeGreaterThan(Math.max(...times.slice(0, uninstall)));
        }
        for (const time of times) days.add(Math.floor(time / DAY));
        for (const event of events) if (event.type === "purchase") currencies.add(event.currency);
      }
    }
    // Long histories: hundreds of thousands of sessions, some starting in the clock's last half hour.
    for (let index = 0; index < 300; index++) {
      const [device] = generateUser(random, index, 0).devices;
      const times = generateEvents(random, device!, 2_000, NOW).map((event) => Date.parse(event.timestamp));
      expect(Math.max(...times), device!.install_id).toBeLessThanOrEqual(NOW);
    }
    expect(uninstalls).toBeGreaterThan(20);
    expect(days.size).toBeGreaterThanOrEqual(90);
    expect(currencies.size).toBe(5);
  });
});
