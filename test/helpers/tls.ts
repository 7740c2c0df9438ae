/** A self-signed certificate for 127.0.0.1 (made by the openssl CLI), for https test servers. */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { tempDir } from "./temp.ts";

export function selfSignedCert(): { key: string; cert: string } {
  const dir = tempDir("backapp-tls-");
  try {
    const key = join(dir.path, "key.pem");
    const cert = join(dir.path, "cert.pem");
    execFileSync(
      "openssl",
      [
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-days",
        "2",
      ].concat([
        "-keyout",
        key,
        "-out",
        cert,
        "-subj",
        "/CN=127.0.0.1",
        "-addext",
        "subjectAltName=IP:127.0.0.1",
      ]),
      { stdio: "ignore" },
    );
    return { key: readFileSync(key, "utf8"), cert: readFileSync(cert, "utf8") };
  } finally {
    dir.cleanup();
  }
}
