import { parseKeyFile } from "../engine/crypto/keys.ts";
import type { RepositoryImpl } from "../engine/repository/index.ts";
import { decodeIndex } from "../engine/repository/index.ts";
import { NotFoundError, ValidationError } from "../util/errors.ts";
import { parseFlags, UsageError } from "./args.ts";
import type { Command } from "./io.ts";
import { withCancellation } from "./repo/cancel.ts";
import {
  REPO_FLAGS,
  REPO_FLAGS_USAGE,
  resolveTarget,
  snapshotArg,
  takePositionals,
  warnDamaged,
  withRepository,
} from "./repo/options.ts";

const usage = `Usage: backapp cat --repo REPO config
       backapp cat --repo REPO snapshot|index|key|tree ID

Prints one repository object, decrypted, as one JSON document (for debugging and scripts).
ID is a full id or a unique prefix of 8+ hex characters ("latest" too for snapshot). Secrets
are never printed: a key object shows its wrapped (encrypted) master key, the config of an
unencrypted repository leaves out its id key.

${REPO_FLAGS_USAGE}`;

const KINDS = ["config", "snapshot", "index", "key", "tree"] as const;
type Kind = (typeof KINDS)[number];

/** The one object name under `dir` that starts with `prefix`. */
async function pickObject(repo: RepositoryImpl, dir: string, prefix: string, signal: AbortSignal) {
  if (!/^[0-9a-f]{8,64}$/.test(prefix)) {
    throw new UsageError(`"${prefix}" is not an id or a prefix of at least 8 hex characters`);
  }
  const hits: string[] = [];
  for await (const o of repo.backend.list(`${dir}/`, { signal })) {
    const id = o.name.slice(dir.length + 1);
    if (id.startsWith(prefix)) hits.push(id);
  }
  if (hits.length === 0) throw new NotFoundError(`${dir} ${prefix} not found`);
  if (hits.length > 1)
    throw new ValidationError(`${dir} prefix ${prefix} is ambiguous: give more characters`);
  return hits[0]!;
}

async function load(
  repo: RepositoryImpl,
  kind: Kind,
  id: string,
  signal: AbortSignal,
  io: Parameters<Command["run"]>[1],
) {
  switch (kind) {
    case "config": {
      const { id_key: _secret, ...config } = repo.config;
      return config;
    }
    case "snapshot": {
      const { id: full, ...stored } = await repo.findSnapshot(
        snapshotArg(id),
        signal,
        undefined,
        warnDamaged(io),
      );
      return { id: full, ...stored };
    }
    case "index": {
      const name = await pickObject(repo, "index", id.toLowerCase(), signal);
      const index = decodeIndex(await repo.backend.get(`index/${name}`, { signal }), repo.masterKeys);
      const packs = index.packs.map((p) => ({ ...p, salt: Buffer.from(p.salt).toString("hex") }));
      return { id: name, supersedes: index.supersedes, packs };
    }
    case "key": {
      const name = await pickObject(repo, "keys", id.toLowerCase(), signal);
      return { id: name, ...parseKeyFile(await repo.backend.get(`keys/${name}`, { signal })) };
    }
    case "tree": {
      if (!/^[0-9a-f]{64}$/.test(id))
        throw new UsageError("cat tree needs a full tree id (64 hex characters)");
      return { id, ...(await repo.loadTree(id, signal)) };
    }
  }
}

export const catCommand: Command = {
  name: "cat",
  summary: "print a repository object as JSON (config, snapshot, index, key, tree)",
  usage,
  async run(argv, io) {
    const { flags, positionals } = parseFlags(argv, REPO_FLAGS);
    const [kind, id] = takePositionals(positionals, ["OBJECT"], ["ID"]);
    if (!KINDS.includes(kind as Kind)) {
      throw new UsageError(`cannot cat "${kind}": give config, snapshot, index, key or tree`);
    }
    if (kind === "config" && id !== undefined) throw new UsageError(`unexpected argument "${id}"`);
    if (kind !== "config" && id === undefined) throw new UsageError(`missing ID (which ${kind})`);
    const target = resolveTarget(flags, io);
    const value = await withCancellation((signal) =>
      withRepository(target, { lock: "none", signal }, (repo) =>
        load(repo, kind as Kind, id ?? "", signal, io),
      ),
    );
    io.stdout(`${JSON.stringify(value, null, 2)}\n`);
    return 0;
  },
};
