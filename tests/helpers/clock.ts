/**
 * Fakes only the clock (`Date`), so a test can move time past a cooldown, a max-age or a
 * grant's delay without waiting, while the servers' timers and sockets keep working.
 */
export function fakeClockOnly(): void {
  jest.useFakeTimers({
    doNotFake: [
      "nextTick",
      "queueMicrotask",
      "setImmediate",
      "clearImmediate",
      "setTimeout",
      "clearTimeout",
      "setInterval",
      "clearInterval",
      "performance",
      "hrtime",
    ],
  });
}
