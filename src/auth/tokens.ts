/**
 * Split tokens: a public id (used to find the row) plus a secret of which only the SHA-256 is
 * stored. A stolen database therefore yields no usable token, and comparing hashes in constant
 * time leaks nothing about the secret. Ids and secrets are 160 random bits each, base32.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { newId } from "../util/ids.ts";

export interface SplitToken {
  id: string;
  secret: string;
  /** SHA-256 of the secret, hex: what the database keeps. */
  secretHash: string;
}

const PART = /^[a-z2-7]{32}$/;

export function sha256Hex(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

export function newSplitToken(): SplitToken {
  const secret = newId();
  return { id: newId(), secret, secretHash: sha256Hex(secret) };
}

/** True when `secret` hashes to `storedHash`; constant time in the secret. */
export function secretMatches(secret: string, storedHash: string): boolean {
  const a = Buffer.from(sha256Hex(secret), "hex");
  const b = Buffer.from(storedHash, "hex");
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Constant-time equality of two strings (e.g. CSRF tokens). */
export function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(sha256Hex(a), "hex");
  const y = Buffer.from(sha256Hex(b), "hex");
  return timingSafeEqual(x, y) && a.length === b.length;
}

/** "<id>.<secret>": session cookies, password reset and invite links. */
export function formatDotToken(t: { id: string; secret: string }): string {
  return `${t.id}.${t.secret}`;
}

/** Parses "<id>.<secret>"; null for anything malformed. */
export function parseDotToken(value: string | undefined | null): { id: string; secret: string } | null {
  if (!value) return null;
  const [id, secret, extra] = value.split(".");
  if (extra !== undefined || !id || !secret || !PART.test(id) || !PART.test(secret)) return null;
  return { id, secret };
}

export const API_TOKEN_PREFIX = "bk_";

/** "bk_<id>_<secret>": recognisable by secret scanners and in logs. */
export function formatApiToken(t: { id: string; secret: string }): string {
  return `${API_TOKEN_PREFIX}${t.id}_${t.secret}`;
}

export function parseApiToken(value: string | undefined | null): { id: string; secret: string } | null {
  if (!value?.startsWith(API_TOKEN_PREFIX)) return null;
  const [id, secret, extra] = value.slice(API_TOKEN_PREFIX.length).split("_");
  if (extra !== undefined || !id || !secret || !PART.test(id) || !PART.test(secret)) return null;
  return { id, secret };
}
