import { Hono } from "hono";
import type { AppEnv } from "../context.ts";

export function snapshotsPageRoutes() {
  return new Hono<AppEnv>();
}
