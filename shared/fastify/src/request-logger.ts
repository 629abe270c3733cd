import type { FastifyBaseLogger } from 'fastify'

type Bindings = Record<string, unknown>
type ChildOptions = Parameters<FastifyBaseLogger['child']>[1]
type LogArgs = Parameters<FastifyBaseLogger['info']>
type Method = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace'

/** pino's numeric levels, when the parent is pino (Fastify's own logger is). */
const levelValues = (logger: FastifyBaseLogger): Record<string, number> | undefined =>
  (logger as { levels?: { values?: Record<string, number> } }).levels?.values

/**
 * A request's logger that becomes a real pino child (bindings serialised,
 * redaction set up) only when something is logged at an enabled level. Fastify
 * makes one child per request; below LOG_LEVEL=info nothing is logged for most
 * requests, and building the child was ~4% of the resource service's CPU per
 * request (bench/, issue 19). Lines, when there are any, are the same as the
 * eager child's: same bindings, same options.
 */
class LazyRequestLogger {
  readonly #parent: FastifyBaseLogger
  readonly #bindings: Bindings
  readonly #options: ChildOptions
  readonly #values: Record<string, number>
  #real: FastifyBaseLogger | undefined
  #threshold: number

  constructor (parent: FastifyBaseLogger, bindings: Bindings, options: ChildOptions, values: Record<string, number>) {
    this.#parent = parent
    this.#bindings = bindings
    this.#options = options
    this.#values = values
    this.#threshold = this.#valueOf(options?.level ?? parent.level)
  }

  #valueOf (level: string): number {
    return this.#values[level] ?? Infinity // 'silent' has no value: nothing is enabled
  }

  #logger (): FastifyBaseLogger {
    this.#real ??= this.#parent.child(this.#bindings, this.#options)
    return this.#real
  }

  #log (method: Method, args: LogArgs): void {
    if ((this.#values[method] ?? -Infinity) >= this.#threshold) (this.#logger()[method] as (...a: LogArgs) => void)(...args)
  }

  get level (): string { return this.#real?.level ?? this.#options?.level ?? this.#parent.level }
  set level (level: string) {
    this.#logger().level = level
    this.#threshold = this.#valueOf(level)
  }

  fatal (...args: LogArgs): void { this.#log('fatal', args) }
  error (...args: LogArgs): void { this.#log('error', args) }
  warn (...args: LogArgs): void { this.#log('warn', args) }
  info (...args: LogArgs): void { this.#log('info', args) }
  debug (...args: LogArgs): void { this.#log('debug', args) }
  trace (...args: LogArgs): void { this.#log('trace', args) }
  silent (..._args: LogArgs): void {}

  child (bindings: Bindings, options?: ChildOptions): FastifyBaseLogger {
    return this.#logger().child(bindings, options)
  }
}

/** Fastify's `childLoggerFactory`: a lazy child for a pino parent, the usual child otherwise. */
export function lazyRequestLogger (logger: FastifyBaseLogger, bindings: Bindings, options: ChildOptions): FastifyBaseLogger {
  const values = levelValues(logger)
  if (values === undefined) return logger.child(bindings, options)
  return new LazyRequestLogger(logger, bindings, options, values) as unknown as FastifyBaseLogger
}
