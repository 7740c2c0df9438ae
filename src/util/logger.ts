import pino from "pino";

export type Logger = pino.Logger;

/**
 * JSON lines to stdout (pino transports run in workers, which crash inside the compiled binary;
 * pipe to pino-pretty in development instead). Secrets are redacted by key name.
 */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { app: "backapp" },
      redact: {
        paths: [
          "password",
          "*.password",
          "secret",
          "*.secret",
          "token",
          "*.token",
          "req.headers.cookie",
          "req.headers.authorization",
          "*.secretAccessKey",
        ],
        censor: "[redacted]",
      },
    },
    destination ?? pino.destination({ dest: 1, sync: true }),
  );
}
