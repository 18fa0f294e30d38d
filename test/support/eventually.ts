/** Retries an assertion until it passes or the time is up; for state that settles asynchronously. */
export async function eventually<T>(
  assertion: () => T | Promise<T>,
  timeoutMs = 3000,
  everyMs = 20,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await assertion();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((resolve) => setTimeout(resolve, everyMs));
    }
  }
}
