const REDACTED = "[secret]";

/**
 * A value that never prints: toString, JSON and inspection all show "[secret]". Call reveal()
 * at the one place the real value is needed (deriving a key, signing a request).
 */
export class Secret {
  readonly #value: string;

  constructor(value: string) {
    this.#value = value;
  }

  reveal(): string {
    return this.#value;
  }

  toString(): string {
    return REDACTED;
  }

  toJSON(): string {
    return REDACTED;
  }

  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return REDACTED;
  }
}
