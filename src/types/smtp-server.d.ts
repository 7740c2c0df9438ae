// The part of smtp-server (npm, test-only) the tests use.
declare module "smtp-server" {
  import type { Server } from "node:net";
  import type { Readable } from "node:stream";

  export interface SMTPSession {
    envelope: { mailFrom: { address: string } | false; rcptTo: { address: string }[] };
    secure: boolean;
    user?: unknown;
  }
  export interface SMTPServerOptions {
    secure?: boolean;
    authOptional?: boolean;
    allowInsecureAuth?: boolean;
    disabledCommands?: string[];
    hideSTARTTLS?: boolean;
    logger?: boolean;
    onAuth?(
      auth: { method: string; username: string; password: string },
      session: SMTPSession,
      callback: (error: Error | null, response?: { user: unknown }) => void,
    ): void;
    onData?(stream: Readable, session: SMTPSession, callback: (error?: Error | null) => void): void;
    onRcptTo?(
      address: { address: string },
      session: SMTPSession,
      callback: (error?: Error | null) => void,
    ): void;
  }
  export class SMTPServer {
    constructor(options?: SMTPServerOptions);
    server: Server;
    listen(port: number, host: string, callback?: () => void): Server;
    close(callback?: () => void): void;
  }
}
