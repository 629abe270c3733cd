// A few polling assertions on playwright-core locators (playwright-core ships no
// `expect`): each waits up to 10 s for the page to get there, then fails naming
// what it saw last.
import type { Locator } from 'playwright-core'
export type { BrowserContext, Page } from 'playwright-core'

const DEADLINE_MS = 10_000

async function until (what: string, read: () => Promise<unknown>, ok: (value: unknown) => boolean): Promise<void> {
  const end = Date.now() + DEADLINE_MS
  let last: unknown
  for (;;) {
    last = await read().catch((err: unknown) => err)
    if (ok(last)) return
    if (Date.now() > end) throw new Error(`expected ${what}, got ${JSON.stringify(last instanceof Error ? last.message : last)}`)
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
}

const matches = (expected: string | RegExp, text: unknown) => typeof text === 'string' && (typeof expected === 'string' ? text.trim() === expected : expected.test(text.trim()))

export function expect (locator: Locator) {
  const text = () => locator.allTextContents().then((all) => all.length === 1 ? all[0] : all)
  const assertions = (negate: boolean) => ({
    toHaveText: (expected: string | RegExp | string[]) => until(`${locator} ${negate ? 'not ' : ''}to have text ${String(expected)}`, text, (value) => {
      const ok = Array.isArray(expected)
        ? Array.isArray(value) ? value.length === expected.length && value.every((v, i) => matches(expected[i]!, v)) : expected.length === 1 && matches(expected[0]!, value)
        : matches(expected, value)
      return ok !== negate
    }),
    toHaveCount: (expected: number) => until(`${locator} ${negate ? 'not ' : ''}to count ${expected}`, () => locator.count(), (value) => (value === expected) !== negate)
  })
  return { ...assertions(false), not: assertions(true) }
}
