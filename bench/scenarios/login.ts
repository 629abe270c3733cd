import type { Ctx } from '../lib/context.js'
import type { Section } from '../lib/model.js'

export async function loginScenario (_ctx: Ctx): Promise<Section> {
  throw new Error('not written yet')
}
